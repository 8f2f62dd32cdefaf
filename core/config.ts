/**
 * Every environment variable bootwarden reads, in one place: the function's configuration
 * (`loadConfig`), the CLI's (`loadCliConfig`) and the response workflow's (read there with
 * sys.get_env, listed here so that docs/configuration.md is generated from one table). Both loaders
 * are pure (the environment is a parameter) and throw a ConfigError naming the variable at fault.
 */
import { RESPONSE_WORKFLOW_ID } from './contracts.js';
import { BootwardenError } from './errors.js';

export interface FunctionConfig {
  readonly project: string;
  readonly executions:
    | { readonly kind: 'workflows'; readonly location: string; readonly workflow: string }
    | { readonly kind: 'local'; readonly logFile: string; readonly workflow: string };
  readonly firestoreDatabase: string;
  readonly baselineCollection: string;
  /** The Firestore client reads FIRESTORE_EMULATOR_HOST itself; validated here so that a typo is named. */
  readonly firestoreEmulatorHost: string | null;
  readonly collectionPrefix: string;
  readonly dryRun: boolean;
  readonly stopOnEarlyBootFailure: boolean;
  readonly allowedProjects: readonly string[] | null;
  readonly claimLeaseSeconds: number;
  readonly waitForOwnerSeconds: number;
  readonly deadlineSeconds: number;
}

export class ConfigError extends BootwardenError {
  constructor(message: string) {
    super('config_invalid', message);
    this.name = 'ConfigError';
  }
}

/** Who reads a variable. */
export type ConfigReader = 'function' | 'cli' | 'workflow' | 'local stack';

export interface ConfigVariable {
  readonly readers: readonly ConfigReader[];
  readonly meaning: string;
  /** The default, as text; null when the variable has none (required, or off when unset). */
  readonly default: string | null;
}

/** Every variable bootwarden reads. docs/configuration.md is generated from this table (`npm run docs`). */
export const CONFIG_VARIABLES = {
  GOOGLE_CLOUD_PROJECT: {
    readers: ['function', 'cli'],
    meaning: 'project of the workflow and the Firestore database (set by Cloud Run functions)',
    default: null,
  },
  BOOTWARDEN_EXECUTIONS: {
    readers: ['function'],
    meaning: '`workflows` starts Cloud Workflows executions; `local` records them in a file (tests, benchmarks)',
    default: 'workflows',
  },
  BOOTWARDEN_WORKFLOW_LOCATION: {
    readers: ['function'],
    meaning: 'region of the response workflow (required with `workflows`)',
    default: null,
  },
  BOOTWARDEN_WORKFLOW: { readers: ['function'], meaning: 'name of the response workflow', default: RESPONSE_WORKFLOW_ID },
  BOOTWARDEN_LOCAL_EXECUTIONS_LOG: {
    readers: ['function'],
    meaning: 'with `BOOTWARDEN_EXECUTIONS=local`: JSON Lines file of started executions',
    default: '.bootwarden/executions.jsonl',
  },
  GCLOUD_PROJECT: { readers: ['function', 'cli'], meaning: 'older name of `GOOGLE_CLOUD_PROJECT`, read when that is unset', default: null },
  BOOTWARDEN_FIRESTORE_DATABASE: { readers: ['function', 'cli', 'workflow'], meaning: 'Firestore database id', default: '(default)' },
  BOOTWARDEN_BASELINE_COLLECTION: {
    readers: ['function', 'cli'],
    meaning: 'collection of known-good baselines',
    default: 'known_good_measurements',
  },
  BOOTWARDEN_COLLECTION_PREFIX: {
    readers: ['function'],
    meaning: "prefix of bootwarden's own collections: events, deliveries, instances, rejected_inputs",
    default: 'bootwarden_',
  },
  BOOTWARDEN_DRY_RUN: { readers: ['function'], meaning: '`true`: decide and notify, never stop or relearn', default: 'false' },
  BOOTWARDEN_STOP_ON_EARLY_BOOT: {
    readers: ['function'],
    meaning: '`true`: also stop VMs whose early-boot report fails',
    default: 'false',
  },
  BOOTWARDEN_ALLOWED_PROJECTS: {
    readers: ['function'],
    meaning: 'comma-separated projects whose VMs bootwarden may act on (unset: any)',
    default: null,
  },
  BOOTWARDEN_CLAIM_LEASE_SECONDS: {
    readers: ['function'],
    meaning: 'after this long a claimed event whose handler died is taken over (keep it above the function timeout)',
    default: '600',
  },
  BOOTWARDEN_WAIT_FOR_OWNER_SECONDS: {
    readers: ['function'],
    meaning: 'how long a duplicate delivery waits for the first one to finish before asking for redelivery',
    default: '10',
  },
  BOOTWARDEN_DEADLINE_SECONDS: {
    readers: ['function'],
    meaning: 'a delivery not handled within this time fails and is redelivered (keep it below the function timeout)',
    default: '50',
  },
  FIRESTORE_EMULATOR_HOST: {
    readers: ['function', 'cli'],
    meaning: 'host:port of a Firestore emulator: the Firestore client talks to it instead of Google',
    default: null,
  },
  BOOTWARDEN_BASELINES: {
    readers: ['cli'],
    meaning: 'the baselines directory or file of `--store dir` when `--baselines` is not given',
    default: null,
  },
  BOOTWARDEN_EXECUTIONS_DIR: {
    readers: ['cli'],
    meaning: 'where `workflows run` records executions and `workflows history` reads them',
    default: '.bootwarden/executions',
  },
  BOOTWARDEN_DEBUG: { readers: ['cli'], meaning: '`1`: print the stack trace of an internal error', default: null },
  USER: { readers: ['cli'], meaning: '`addedBy` of baselines added or imported without `--added-by`', default: 'unknown' },
  BOOTWARDEN_SLACK_APP_URL: {
    readers: ['workflow'],
    meaning: "base URL of the Slack app's internal endpoints (the workflow calls it with an OIDC token)",
    default: null,
  },
  BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: {
    readers: ['workflow'],
    meaning: 'how long a stopped VM waits for a decision before its approval expires',
    default: '86400',
  },
  PORT: { readers: ['local stack'], meaning: 'port of `npm run function` (and where `npm run post-event` posts)', default: '8080' },
  BOOTWARDEN_FIRESTORE_EMULATOR: {
    readers: ['local stack'],
    meaning: 'Firestore emulator the local stack, tests and bench start: `gcloud` or `npm` (unset: gcloud if installed)',
    default: null,
  },
} as const satisfies Record<string, ConfigVariable>;

type VariableName = keyof typeof CONFIG_VARIABLES;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: VariableName): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function bool(env: Env, name: VariableName): boolean {
  const v = value(env, name);
  if (v === undefined) return false;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)}`);
}

function seconds(env: Env, name: VariableName, fallback: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 86_400)
    throw new ConfigError(`${name} must be a whole number of seconds from 0 to 86400, got ${JSON.stringify(v)}`);
  return n;
}

function matching(env: Env, name: VariableName, fallback: string, pattern: RegExp, expected: string): string {
  const v = value(env, name) ?? fallback;
  if (!pattern.test(v)) throw new ConfigError(`${name} must be ${expected}, got ${JSON.stringify(v)}`);
  return v;
}

const PROJECT = /^(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

function projectOf(env: Env): string | undefined {
  const project = value(env, 'GOOGLE_CLOUD_PROJECT') ?? value(env, 'GCLOUD_PROJECT');
  if (project !== undefined && !PROJECT.test(project))
    throw new ConfigError(`GOOGLE_CLOUD_PROJECT ${JSON.stringify(project)} is not a valid project id`);
  return project;
}

const firestoreDatabase = (env: Env): string =>
  matching(env, 'BOOTWARDEN_FIRESTORE_DATABASE', '(default)', /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/, 'a Firestore database id');
const baselineCollection = (env: Env): string =>
  matching(env, 'BOOTWARDEN_BASELINE_COLLECTION', 'known_good_measurements', /^[A-Za-z0-9_-]{1,100}$/, 'a collection id');

/** `host:port` of a Firestore emulator, when one is set. */
function emulatorHost(env: Env): string | null {
  const host = value(env, 'FIRESTORE_EMULATOR_HOST');
  if (host === undefined) return null;
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(host))
    throw new ConfigError(`FIRESTORE_EMULATOR_HOST must be host:port, got ${JSON.stringify(host)}`);
  return host;
}

export function loadConfig(env: Env = process.env): FunctionConfig {
  const project = projectOf(env);
  if (project === undefined) throw new ConfigError('GOOGLE_CLOUD_PROJECT is not set: give the project of the workflow and Firestore');
  const workflow = matching(
    env,
    'BOOTWARDEN_WORKFLOW',
    RESPONSE_WORKFLOW_ID,
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'a workflow name (letters, digits, - and _)',
  );
  const kind = value(env, 'BOOTWARDEN_EXECUTIONS') ?? 'workflows';
  let executions: FunctionConfig['executions'];
  if (kind === 'workflows') {
    const location = value(env, 'BOOTWARDEN_WORKFLOW_LOCATION');
    if (location === undefined)
      throw new ConfigError('BOOTWARDEN_WORKFLOW_LOCATION is not set: give the region of the response workflow, e.g. us-central1');
    if (!/^[a-z]+-[a-z]+[0-9]+$/.test(location))
      throw new ConfigError(`BOOTWARDEN_WORKFLOW_LOCATION must be a region like us-central1, got ${JSON.stringify(location)}`);
    executions = { kind, location, workflow };
  } else if (kind === 'local') {
    executions = { kind, workflow, logFile: value(env, 'BOOTWARDEN_LOCAL_EXECUTIONS_LOG') ?? '.bootwarden/executions.jsonl' };
  } else {
    throw new ConfigError(`BOOTWARDEN_EXECUTIONS must be "workflows" or "local", got ${JSON.stringify(kind)}`);
  }
  const allowed = value(env, 'BOOTWARDEN_ALLOWED_PROJECTS');
  const allowedProjects =
    allowed === undefined
      ? null
      : allowed
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '');
  for (const p of allowedProjects ?? []) {
    if (!PROJECT.test(p)) throw new ConfigError(`BOOTWARDEN_ALLOWED_PROJECTS has ${JSON.stringify(p)}, which is not a valid project id`);
  }
  return {
    project,
    executions,
    firestoreDatabase: firestoreDatabase(env),
    baselineCollection: baselineCollection(env),
    firestoreEmulatorHost: emulatorHost(env),
    collectionPrefix: matching(
      env,
      'BOOTWARDEN_COLLECTION_PREFIX',
      'bootwarden_',
      /^[a-z][a-z0-9_]{0,40}$/,
      'lowercase letters, digits and _',
    ),
    dryRun: bool(env, 'BOOTWARDEN_DRY_RUN'),
    stopOnEarlyBootFailure: bool(env, 'BOOTWARDEN_STOP_ON_EARLY_BOOT'),
    allowedProjects: allowedProjects !== null && allowedProjects.length > 0 ? allowedProjects : null,
    claimLeaseSeconds: seconds(env, 'BOOTWARDEN_CLAIM_LEASE_SECONDS', 600),
    waitForOwnerSeconds: seconds(env, 'BOOTWARDEN_WAIT_FOR_OWNER_SECONDS', 10),
    deadlineSeconds: seconds(env, 'BOOTWARDEN_DEADLINE_SECONDS', 50),
  };
}

/** The CLI's configuration. Options given on the command line win over these. */
export interface CliConfig {
  /** Only `--store firestore` needs a project: null until then. */
  readonly project: string | null;
  readonly firestoreDatabase: string;
  readonly baselineCollection: string;
  readonly firestoreEmulatorHost: string | null;
  readonly baselines: string | null;
  readonly executionsDir: string;
  readonly debug: boolean;
  /** Who adds baselines when `--added-by` is not given. */
  readonly operator: string;
}

export function loadCliConfig(env: Env = process.env): CliConfig {
  const debug = value(env, 'BOOTWARDEN_DEBUG');
  return {
    project: projectOf(env) ?? null,
    firestoreDatabase: firestoreDatabase(env),
    baselineCollection: baselineCollection(env),
    firestoreEmulatorHost: emulatorHost(env),
    baselines: value(env, 'BOOTWARDEN_BASELINES') ?? null,
    executionsDir: value(env, 'BOOTWARDEN_EXECUTIONS_DIR') ?? '.bootwarden/executions',
    debug: debug === '1' || debug?.toLowerCase() === 'true',
    operator: value(env, 'USER') ?? 'unknown',
  };
}

/** The table of docs/configuration.md, generated from CONFIG_VARIABLES. */
export function configurationTable(): string {
  const rows = Object.entries(CONFIG_VARIABLES).map(([name, v]: [string, ConfigVariable]) => {
    const def = v.default === null ? '' : `\`${v.default}\``;
    return `| \`${name}\` | ${v.readers.join(', ')} | ${def} | ${v.meaning} |`;
  });
  return ['| variable | read by | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}
