/**
 * Every environment variable bootwarden reads, in one place: the function's configuration
 * (`loadConfig`), the CLI's (`loadCliConfig`) and the response workflow's (read there with
 * sys.get_env, listed here so that docs/configuration.md is generated from one table). Both loaders
 * are pure (the environment is a parameter) and throw a ConfigError naming the variable at fault.
 */
import { RESPONSE_WORKFLOW_ID } from './contracts.js';
import { DEFAULT_BLAST_RADIUS, type BlastRadiusLimits } from './blast-radius.js';
import { BootwardenError } from './errors.js';
import { PROJECT_ID } from './parse.js';

export interface FunctionConfig {
  readonly project: string;
  readonly executions: {
    readonly location: string;
    readonly workflow: string;
    /** BOOTWARDEN_WORKFLOWS_API_URL: the local engine's Executions API; null for Google's. */
    readonly apiUrl: string | null;
  };
  readonly firestoreDatabase: string;
  readonly baselineCollection: string;
  /** The Firestore client reads FIRESTORE_EMULATOR_HOST itself; validated here so that a typo is named. */
  readonly firestoreEmulatorHost: string | null;
  readonly collectionPrefix: string;
  readonly dryRun: boolean;
  readonly stopOnEarlyBootFailure: boolean;
  readonly allowedProjects: readonly string[] | null;
  /** `projects/P/topics/T`; null: messages of any topic are acted on (a warning says so). */
  readonly sourceTopic: string | null;
  readonly claimLeaseSeconds: number;
  readonly waitForOwnerSeconds: number;
  readonly deadlineSeconds: number;
  readonly blastRadius: BlastRadiusLimits;
  readonly maxBootCounterJump: number;
  readonly retentionDays: number;
}

export class ConfigError extends BootwardenError {
  constructor(message: string) {
    super('config_invalid', message);
    this.name = 'ConfigError';
  }
}

/** Who reads a variable. */
export type ConfigReader = 'function' | 'cli' | 'workflow' | 'slack app' | 'local stack';

export interface ConfigVariable {
  readonly readers: readonly ConfigReader[];
  readonly meaning: string;
  /** The default, as text; null when the variable has none (required, or off when unset). */
  readonly default: string | null;
}

/** Every variable bootwarden reads. docs/configuration.md is generated from this table (`npm run docs`). */
export const CONFIG_VARIABLES = {
  GOOGLE_CLOUD_PROJECT: {
    readers: ['function', 'cli', 'slack app'],
    meaning: 'project of the workflow and the Firestore database (set by Cloud Run functions)',
    default: null,
  },
  BOOTWARDEN_WORKFLOW_LOCATION: {
    readers: ['function', 'slack app', 'cli'],
    meaning: 'region of the response workflow (required by the function; the Slack app and `history`: its history)',
    default: null,
  },
  BOOTWARDEN_WORKFLOW: {
    readers: ['function', 'slack app', 'cli'],
    meaning: 'name of the response workflow',
    default: RESPONSE_WORKFLOW_ID,
  },
  BOOTWARDEN_WORKFLOWS_API_URL: {
    readers: ['function', 'slack app', 'cli'],
    meaning: "local stack only: the local engine's Executions API, `http://127.0.0.1:<port>/`, with local tokens; refused on Cloud Run",
    default: null,
  },
  BOOTWARDEN_COMPUTE_API_URL: {
    readers: ['cli'],
    meaning: "local stack only: the simulated fleet's Compute API, `http://127.0.0.1:<port>/compute/v1/`, with local tokens",
    default: null,
  },
  GCLOUD_PROJECT: { readers: ['function', 'cli'], meaning: 'older name of `GOOGLE_CLOUD_PROJECT`, read when that is unset', default: null },
  BOOTWARDEN_FIRESTORE_DATABASE: {
    readers: ['function', 'cli', 'workflow', 'slack app'],
    meaning: 'Firestore database id',
    default: '(default)',
  },
  BOOTWARDEN_BASELINE_COLLECTION: {
    readers: ['function', 'cli', 'workflow', 'slack app'],
    meaning: 'collection of known-good baselines',
    default: 'known_good_measurements',
  },
  BOOTWARDEN_COLLECTION_PREFIX: {
    readers: ['function', 'workflow', 'slack app', 'cli'],
    meaning: "prefix of bootwarden's own collections: events, deliveries, instances, rejected_inputs, approval_*",
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
  BOOTWARDEN_SOURCE_TOPIC: {
    readers: ['function'],
    meaning: "the log sink's topic, `projects/P/topics/T`: events from anywhere else are rejected (unset: any topic, with a warning)",
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
  BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: {
    readers: ['function', 'cli'],
    meaning: 'blast-radius guard: VMs with the same unknown measurements stopped per window; the rest are held (`0`: hold all)',
    default: String(DEFAULT_BLAST_RADIUS.perFingerprint),
  },
  BOOTWARDEN_MAX_STOPS_PER_PROJECT: {
    readers: ['function', 'cli'],
    meaning: 'blast-radius guard: at most this many VMs of one project are stopped per window',
    default: String(DEFAULT_BLAST_RADIUS.perProject),
  },
  BOOTWARDEN_MAX_STOPS: {
    readers: ['function', 'cli'],
    meaning: 'blast-radius guard: at most this many VMs are stopped per window in all',
    default: String(DEFAULT_BLAST_RADIUS.overall),
  },
  BOOTWARDEN_STOP_WINDOW_SECONDS: {
    readers: ['function', 'cli'],
    meaning: "blast-radius guard: the window's length, from 60; windows are aligned to the clock (on the hour by default)",
    default: String(DEFAULT_BLAST_RADIUS.windowSeconds),
  },
  BOOTWARDEN_RETENTION_DAYS: {
    readers: ['function', 'slack app'],
    meaning: 'days until events, rejected inputs (`expiresAt`) and approval records (`retainUntil`) may be deleted by a TTL policy',
    default: '400',
  },
  BOOTWARDEN_MAX_BOOT_COUNTER_JUMP: {
    readers: ['function'],
    meaning: "a boot report further beyond the VM's last boot is not recorded, never relearned (`implausible_boot_counter`)",
    default: '100',
  },
  FIRESTORE_EMULATOR_HOST: {
    readers: ['function', 'cli', 'slack app'],
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
    readers: ['workflow', 'slack app'],
    meaning: "base URL of the Slack app's internal endpoints, the audience of the workflow's OIDC tokens (trailing / dropped)",
    default: null,
  },
  BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: {
    readers: ['workflow'],
    meaning: 'how long a stopped VM waits for a decision: positive decimal seconds, at most 31536000 (else the workflow fails)',
    default: '86400',
  },
  BOOTWARDEN_HONOUR_DRY_RUN_LABEL: {
    readers: ['workflow'],
    meaning: '`true`: a VM labelled `bootwarden-dry-run=true` is only reported, never changed (anyone who may label the VM can use it)',
    default: 'false',
  },
  SLACK_SIGNING_SECRET: {
    readers: ['slack app'],
    meaning: "the Slack app's signing secret: every request to `/slack/events` must be signed with it (Secret Manager in the cloud)",
    default: null,
  },
  SLACK_BOT_TOKEN: { readers: ['slack app'], meaning: "the app's bot token, `xoxb-…` (Secret Manager in the cloud)", default: null },
  SLACK_API_URL: {
    readers: ['slack app'],
    meaning: 'base URL of the Slack Web API (a stand-in locally)',
    default: 'https://slack.com/api/',
  },
  BOOTWARDEN_SLACK_CHANNEL: { readers: ['slack app'], meaning: 'id of the channel approval messages go to (`C…`)', default: null },
  BOOTWARDEN_APPROVERS: {
    readers: ['slack app'],
    meaning: 'who may approve or reject: comma-separated `TEAM_ID:USER_ID` pairs',
    default: null,
  },
  BOOTWARDEN_APPROVER_GROUPS: {
    readers: ['slack app'],
    meaning: "comma-separated user-group ids (`S…`) of the app's workspace whose members may approve or reject",
    default: null,
  },
  BOOTWARDEN_REQUIRED_APPROVALS: {
    readers: ['slack app'],
    meaning: '`2`: an approval needs two distinct approvers (a rejection still needs one)',
    default: '1',
  },
  BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: {
    readers: ['slack app'],
    meaning: "workflow's service-account e-mail, sole caller of `/internal/approvals` and `/outcomes` (required unless local tokens)",
    default: null,
  },
  BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: {
    readers: ['slack app'],
    meaning: "the workflow account's `uniqueId` (21 digits): its ID tokens are accepted by `sub`, and must carry it",
    default: null,
  },
  BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT: {
    readers: ['slack app'],
    meaning: "Cloud Scheduler job's service-account e-mail: accepted on `/internal/deliver` only (unset: the workflow's alone)",
    default: null,
  },
  BOOTWARDEN_LOCAL_TOKENS: {
    readers: ['slack app'],
    meaning: "`1`: accept the local Workflows engine's unsigned tokens (loopback only; refused on Cloud Run)",
    default: null,
  },
  K_SERVICE: {
    readers: ['slack app'],
    meaning: 'set by Cloud Run: with it, `BOOTWARDEN_LOCAL_TOKENS` is refused',
    default: null,
  },
  HOST: {
    readers: ['slack app'],
    meaning: 'address `npm run slack-app` listens on (`127.0.0.1` with local tokens, which refuse any other)',
    default: '0.0.0.0',
  },
  PORT: {
    readers: ['slack app', 'local stack'],
    meaning: 'port of `npm run slack-app` (default 3000) and of `npm run function` (default 8080, where `npm run post-event` posts)',
    default: null,
  },
  INIT_CWD: {
    readers: ['local stack'],
    meaning: 'set by npm: the folder `npm run` was called from; `npm run function -- --fleet <file>` resolves the file from it',
    default: null,
  },
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

function projectOf(env: Env): string | undefined {
  const project = value(env, 'GOOGLE_CLOUD_PROJECT') ?? value(env, 'GCLOUD_PROJECT');
  if (project !== undefined && !PROJECT_ID.test(project))
    throw new ConfigError(`GOOGLE_CLOUD_PROJECT ${JSON.stringify(project)} is not a valid project id`);
  return project;
}

const firestoreDatabase = (env: Env): string =>
  matching(env, 'BOOTWARDEN_FIRESTORE_DATABASE', '(default)', /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/, 'a Firestore database id');
const baselineCollection = (env: Env): string =>
  matching(env, 'BOOTWARDEN_BASELINE_COLLECTION', 'known_good_measurements', /^[A-Za-z0-9_-]{1,100}$/, 'a collection id');

const collectionPrefix = (env: Env): string =>
  matching(env, 'BOOTWARDEN_COLLECTION_PREFIX', 'bootwarden_', /^[a-z][a-z0-9_]{0,40}$/, 'lowercase letters, digits and _');

const workflowName = (env: Env): string =>
  matching(env, 'BOOTWARDEN_WORKFLOW', RESPONSE_WORKFLOW_ID, /^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a workflow name (letters, digits, - and _)');

function workflowLocation(env: Env): string | undefined {
  const location = value(env, 'BOOTWARDEN_WORKFLOW_LOCATION');
  if (location !== undefined && !/^[a-z]+-[a-z]+[0-9]+$/.test(location))
    throw new ConfigError(`BOOTWARDEN_WORKFLOW_LOCATION must be a region like us-central1, got ${JSON.stringify(location)}`);
  return location;
}

function sourceTopic(env: Env): string | null {
  const topic = value(env, 'BOOTWARDEN_SOURCE_TOPIC');
  if (topic === undefined) return null;
  if (!/^projects\/[a-z][a-z0-9.:-]{3,99}\/topics\/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/.test(topic))
    throw new ConfigError(`BOOTWARDEN_SOURCE_TOPIC must be a full topic name, projects/PROJECT/topics/TOPIC, got ${JSON.stringify(topic)}`);
  return topic;
}

function count(env: Env, name: VariableName, fallback: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > max) throw new ConfigError(`${name} must be a whole number from 0 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Each allowed stop is a slot document, and a stop decision reads a scope's slots at once: keep them few. */
export const MAX_STOPS_LIMIT = 500;

/** The blast-radius guard's limits (function, and `bootwarden replay` to simulate it). */
export function blastRadiusOf(env: Env): BlastRadiusLimits {
  const d = DEFAULT_BLAST_RADIUS;
  const windowSeconds = count(env, 'BOOTWARDEN_STOP_WINDOW_SECONDS', d.windowSeconds, 86_400);
  if (windowSeconds < 60)
    throw new ConfigError(
      `BOOTWARDEN_STOP_WINDOW_SECONDS must be at least 60 seconds, got ${JSON.stringify(value(env, 'BOOTWARDEN_STOP_WINDOW_SECONDS'))}`,
    );
  return {
    perFingerprint: count(env, 'BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT', d.perFingerprint, MAX_STOPS_LIMIT),
    perProject: count(env, 'BOOTWARDEN_MAX_STOPS_PER_PROJECT', d.perProject, MAX_STOPS_LIMIT),
    overall: count(env, 'BOOTWARDEN_MAX_STOPS', d.overall, MAX_STOPS_LIMIT),
    windowSeconds,
  };
}

/** A count that must be at least 1: `unit` says what one is, in the message. */
function atLeastOne(env: Env, name: VariableName, fallback: number, max: number, unit: string): number {
  const n = count(env, name, fallback, max);
  if (n === 0) throw new ConfigError(`${name} must be at least 1 ${unit}, got "0"`);
  return n;
}

/** Where the Slack app's `/bootwarden history` reads executions: null without a region. */
function historyExecutions(env: Env): SlackAppConfig['executions'] {
  const location = workflowLocation(env);
  return location === undefined
    ? null
    : { location, workflow: workflowName(env), apiUrl: localApiUrl(env, 'BOOTWARDEN_WORKFLOWS_API_URL', '/') };
}

/** `host:port` of a Firestore emulator, when one is set. */
function emulatorHost(env: Env): string | null {
  const host = value(env, 'FIRESTORE_EMULATOR_HOST');
  if (host === undefined) return null;
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(host))
    throw new ConfigError(`FIRESTORE_EMULATOR_HOST must be host:port, got ${JSON.stringify(host)}`);
  return host;
}

const LOOPBACK_URL_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Checks that `url` (the value of `variable`) is an http URL on loopback whose path is
 * `pathSuffix`: the URL of a local stand-in of a Google API. Local tokens are unsigned and mean
 * nothing elsewhere, and no real credentials are ever sent to a local server.
 */
export function loopbackApiUrl(variable: string, url: string, pathSuffix: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${variable} must be a URL such as http://127.0.0.1:8090${pathSuffix}, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' || !LOOPBACK_URL_HOSTS.has(u.hostname) || u.port === '')
    throw new ConfigError(
      `${variable} must be http://127.0.0.1:<port>${pathSuffix} (a local stand-in of the API, on loopback), got ${JSON.stringify(url)}`,
    );
  if (u.pathname !== pathSuffix || u.search !== '' || u.hash !== '')
    throw new ConfigError(`${variable} must end in ${pathSuffix} with no query, got ${JSON.stringify(url)}`);
  return u;
}

/** A local API URL from the environment: null when unset; never on Cloud Run. */
export function localApiUrl(
  env: Env,
  name: 'BOOTWARDEN_WORKFLOWS_API_URL' | 'BOOTWARDEN_COMPUTE_API_URL',
  pathSuffix: string,
): string | null {
  const v = value(env, name);
  if (v === undefined) return null;
  if (value(env, 'K_SERVICE') !== undefined)
    throw new ConfigError(`${name} on Cloud Run (K_SERVICE is set): local APIs and their unsigned tokens are never used in the cloud`);
  loopbackApiUrl(name, v, pathSuffix);
  return v;
}

export function loadConfig(env: Env = process.env): FunctionConfig {
  const project = projectOf(env);
  if (project === undefined) throw new ConfigError('GOOGLE_CLOUD_PROJECT is not set: give the project of the workflow and Firestore');
  const workflow = workflowName(env);
  const location = workflowLocation(env);
  if (location === undefined)
    throw new ConfigError('BOOTWARDEN_WORKFLOW_LOCATION is not set: give the region of the response workflow, e.g. us-central1');
  const executions = { location, workflow, apiUrl: localApiUrl(env, 'BOOTWARDEN_WORKFLOWS_API_URL', '/') };
  const allowed = value(env, 'BOOTWARDEN_ALLOWED_PROJECTS');
  const allowedProjects =
    allowed === undefined
      ? null
      : allowed
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '');
  for (const p of allowedProjects ?? []) {
    if (!PROJECT_ID.test(p)) throw new ConfigError(`BOOTWARDEN_ALLOWED_PROJECTS has ${JSON.stringify(p)}, which is not a valid project id`);
  }
  return {
    project,
    executions,
    firestoreDatabase: firestoreDatabase(env),
    baselineCollection: baselineCollection(env),
    firestoreEmulatorHost: emulatorHost(env),
    collectionPrefix: collectionPrefix(env),
    dryRun: bool(env, 'BOOTWARDEN_DRY_RUN'),
    stopOnEarlyBootFailure: bool(env, 'BOOTWARDEN_STOP_ON_EARLY_BOOT'),
    allowedProjects: allowedProjects !== null && allowedProjects.length > 0 ? allowedProjects : null,
    sourceTopic: sourceTopic(env),
    claimLeaseSeconds: seconds(env, 'BOOTWARDEN_CLAIM_LEASE_SECONDS', 600),
    waitForOwnerSeconds: seconds(env, 'BOOTWARDEN_WAIT_FOR_OWNER_SECONDS', 10),
    deadlineSeconds: seconds(env, 'BOOTWARDEN_DEADLINE_SECONDS', 50),
    blastRadius: blastRadiusOf(env),
    maxBootCounterJump: atLeastOne(env, 'BOOTWARDEN_MAX_BOOT_COUNTER_JUMP', 100, 1_000_000, '(the next boot is one more)'),
    retentionDays: atLeastOne(env, 'BOOTWARDEN_RETENTION_DAYS', 400, 3650, 'day'),
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
  /** The function's blast-radius guard, which `replay` simulates. */
  readonly blastRadius: BlastRadiusLimits;
  /** BOOTWARDEN_COLLECTION_PREFIX: bootwarden's collections (`history`, `instances`, `relearn`). */
  readonly collectionPrefix: string;
  /** The response workflow, for `history`: its region (null until set), name and a local API. */
  readonly workflow: { readonly location: string | null; readonly name: string; readonly apiUrl: string | null };
  /** BOOTWARDEN_COMPUTE_API_URL: a local Compute API (`instances`, `relearn`); null for Google's. */
  readonly computeApiUrl: string | null;
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
    blastRadius: blastRadiusOf(env),
    collectionPrefix: collectionPrefix(env),
    workflow: {
      location: workflowLocation(env) ?? null,
      name: workflowName(env),
      apiUrl: localApiUrl(env, 'BOOTWARDEN_WORKFLOWS_API_URL', '/'),
    },
    computeApiUrl: localApiUrl(env, 'BOOTWARDEN_COMPUTE_API_URL', '/compute/v1/'),
  };
}

/** The Slack app's configuration (slack-app/). */
export interface SlackAppConfig {
  readonly project: string;
  readonly firestoreDatabase: string;
  readonly firestoreEmulatorHost: string | null;
  readonly collectionPrefix: string;
  readonly baselineCollection: string;
  /** Days the approval records are kept (`retainUntil`, for a Firestore TTL policy). */
  readonly retentionDays: number;
  readonly signingSecret: string;
  readonly botToken: string;
  /** With a trailing slash, as the Web API client wants it. */
  readonly slackApiUrl: string;
  readonly channel: string;
  readonly approvers: { readonly users: readonly { teamId: string; userId: string }[]; readonly userGroups: readonly string[] };
  /** Distinct approvers an approval needs: 1 or 2. */
  readonly requiredApprovals: 1 | 2;
  /** Where `/bootwarden history` reads executions from; null: the audit trail only. */
  readonly executions: { readonly location: string; readonly workflow: string; readonly apiUrl: string | null } | null;
  /** The OIDC audience of the internal endpoints: the app's base URL, without a trailing slash. */
  readonly appUrl: string;
  /** The workflow's service account: the one identity of `/internal/approvals` and `/internal/outcomes`. */
  readonly workflowServiceAccount: string;
  /** The workflow service account's unique id (`sub` of its ID tokens); null: known by its e-mail only. */
  readonly workflowServiceAccountId: string | null;
  /** The Cloud Scheduler job's service account: accepted on `/internal/deliver` only. */
  readonly schedulerServiceAccount: string | null;
  readonly localTokens: boolean;
  readonly host: string;
  readonly port: number;
}

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];
/** The local engine's service account (`sub` of its tokens). */
export const LOCAL_WORKFLOW_SERVICE_ACCOUNT = 'workflows-local@bootwarden.local';

function list(env: Env, name: VariableName, pattern: RegExp, expected: string): string[] {
  const items = (value(env, name) ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  for (const x of items) if (!pattern.test(x)) throw new ConfigError(`${name} has ${JSON.stringify(x)}, which is not ${expected}`);
  return items;
}

function url(env: Env, name: VariableName, fallback: string | undefined): string | undefined {
  const v = value(env, name) ?? fallback;
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
  if (u.search !== '' || u.hash !== '' || u.username !== '')
    throw new ConfigError(`${name} must not have a query, fragment or user, got ${JSON.stringify(v)}`);
  return v;
}

const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}$/;
/** A service account's uniqueId, the `sub` of its Google ID tokens. */
export const SERVICE_ACCOUNT_UNIQUE_ID = /^[0-9]{21}$/;

export function loadSlackAppConfig(env: Env = process.env): SlackAppConfig {
  const project = projectOf(env);
  if (project === undefined) throw new ConfigError('GOOGLE_CLOUD_PROJECT is not set: give the project of the Firestore database');
  const signingSecret = value(env, 'SLACK_SIGNING_SECRET');
  if (signingSecret === undefined)
    throw new ConfigError(
      "SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information page (Secret Manager in the cloud)",
    );
  const botToken = value(env, 'SLACK_BOT_TOKEN');
  if (botToken === undefined) throw new ConfigError("SLACK_BOT_TOKEN is not set: the app's Bot User OAuth Token, xoxb-…");
  if (!/^xoxb-[A-Za-z0-9-]{1,250}$/.test(botToken)) throw new ConfigError('SLACK_BOT_TOKEN must be a bot token (xoxb-…)');
  const channel = value(env, 'BOOTWARDEN_SLACK_CHANNEL');
  if (channel === undefined) throw new ConfigError('BOOTWARDEN_SLACK_CHANNEL is not set: give the id of the approvals channel (C…)');
  if (!/^[CG][A-Z0-9]{2,20}$/.test(channel))
    throw new ConfigError(`BOOTWARDEN_SLACK_CHANNEL must be a channel id like C024BE91L (not a #name), got ${JSON.stringify(channel)}`);
  const users = list(
    env,
    'BOOTWARDEN_APPROVERS',
    /^T[A-Z0-9]{2,20}:[UW][A-Z0-9]{2,20}$/,
    'a TEAM_ID:USER_ID pair like T024BE7LD:U024BE7LH',
  ).map((pair) => {
    const [teamId = '', userId = ''] = pair.split(':');
    return { teamId, userId };
  });
  const userGroups = list(env, 'BOOTWARDEN_APPROVER_GROUPS', /^S[A-Z0-9]{2,20}$/, 'a user-group id like S0614TZR7');
  if (users.length === 0 && userGroups.length === 0)
    throw new ConfigError('neither BOOTWARDEN_APPROVERS nor BOOTWARDEN_APPROVER_GROUPS is set: nobody could approve or reject');
  const required = value(env, 'BOOTWARDEN_REQUIRED_APPROVALS') ?? '1';
  if (required !== '1' && required !== '2')
    throw new ConfigError(`BOOTWARDEN_REQUIRED_APPROVALS must be 1 or 2, got ${JSON.stringify(required)}`);
  if (required === '2' && userGroups.length === 0 && users.length < 2)
    throw new ConfigError('BOOTWARDEN_REQUIRED_APPROVALS=2 needs at least two approvers in BOOTWARDEN_APPROVERS, or a user group');
  const localTokens = value(env, 'BOOTWARDEN_LOCAL_TOKENS') === '1';
  if (value(env, 'BOOTWARDEN_LOCAL_TOKENS') !== undefined && !localTokens)
    throw new ConfigError(`BOOTWARDEN_LOCAL_TOKENS must be 1 or unset, got ${JSON.stringify(value(env, 'BOOTWARDEN_LOCAL_TOKENS'))}`);
  const port = Number(value(env, 'PORT') ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`PORT must be a port number, got ${JSON.stringify(value(env, 'PORT'))}`);
  const host = value(env, 'HOST') ?? (localTokens ? '127.0.0.1' : '0.0.0.0');
  if (localTokens) {
    if (value(env, 'K_SERVICE') !== undefined)
      throw new ConfigError(
        'BOOTWARDEN_LOCAL_TOKENS=1 on Cloud Run (K_SERVICE is set): unsigned local tokens are never accepted in the cloud',
      );
    if (!LOOPBACK_HOSTS.includes(host))
      throw new ConfigError(
        `BOOTWARDEN_LOCAL_TOKENS=1 needs a loopback listener: HOST must be 127.0.0.1, ::1 or localhost, got ${JSON.stringify(host)}`,
      );
  }
  const appUrl = url(env, 'BOOTWARDEN_SLACK_APP_URL', localTokens ? `http://127.0.0.1:${port}` : undefined);
  if (appUrl === undefined)
    throw new ConfigError("BOOTWARDEN_SLACK_APP_URL is not set: give the app's base URL (the audience of the workflow's OIDC tokens)");
  const workflowServiceAccount =
    value(env, 'BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT') ?? (localTokens ? LOCAL_WORKFLOW_SERVICE_ACCOUNT : undefined);
  if (workflowServiceAccount === undefined)
    throw new ConfigError("BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT is not set: give the e-mail of the workflow's service account");
  if (!EMAIL.test(workflowServiceAccount))
    throw new ConfigError(
      `BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT must be a service-account e-mail, got ${JSON.stringify(workflowServiceAccount)}`,
    );
  const workflowServiceAccountId = value(env, 'BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID') ?? null;
  if (workflowServiceAccountId !== null && !SERVICE_ACCOUNT_UNIQUE_ID.test(workflowServiceAccountId))
    throw new ConfigError(
      `BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID must be the service account's unique id (21 digits, its uniqueId), got ${JSON.stringify(workflowServiceAccountId)}`,
    );
  const scheduler = value(env, 'BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT') ?? null;
  if (scheduler !== null && !EMAIL.test(scheduler))
    throw new ConfigError(`BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT must be a service-account e-mail, got ${JSON.stringify(scheduler)}`);
  const api = url(env, 'SLACK_API_URL', 'https://slack.com/api/') ?? 'https://slack.com/api/';
  return {
    project,
    firestoreDatabase: firestoreDatabase(env),
    firestoreEmulatorHost: emulatorHost(env),
    retentionDays: atLeastOne(env, 'BOOTWARDEN_RETENTION_DAYS', 400, 3650, 'day'),
    collectionPrefix: collectionPrefix(env),
    baselineCollection: baselineCollection(env),
    signingSecret,
    botToken,
    slackApiUrl: api.endsWith('/') ? api : `${api}/`,
    channel,
    approvers: { users, userGroups },
    requiredApprovals: required === '2' ? 2 : 1,
    executions: historyExecutions(env),
    appUrl: appUrl.replace(/\/+$/, ''),
    workflowServiceAccount,
    workflowServiceAccountId,
    schedulerServiceAccount: scheduler,
    localTokens,
    host,
    port,
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
