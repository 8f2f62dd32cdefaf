/**
 * The function's configuration, from the environment. `loadConfig` is pure (the environment is a
 * parameter) and throws a ConfigError naming the variable at fault.
 */
import { BootwardenError } from '../core/errors.js';

export interface FunctionConfig {
  readonly project: string;
  readonly executions:
    | { readonly kind: 'workflows'; readonly location: string; readonly workflow: string }
    | { readonly kind: 'local'; readonly logFile: string; readonly workflow: string };
  readonly firestoreDatabase: string;
  readonly baselineCollection: string;
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

/** Every variable the function reads, with its meaning: the README's configuration table mirrors this. */
export const CONFIG_VARIABLES = {
  GOOGLE_CLOUD_PROJECT: 'project of the workflow and the Firestore database (set by Cloud Run functions)',
  BOOTWARDEN_EXECUTIONS: '"workflows" (default) starts Cloud Workflows executions; "local" records them in a file',
  BOOTWARDEN_WORKFLOW_LOCATION: 'region of the response workflow, e.g. us-central1 (required with workflows)',
  BOOTWARDEN_WORKFLOW: 'name of the response workflow (default integrity-response)',
  BOOTWARDEN_LOCAL_EXECUTIONS_LOG:
    'with BOOTWARDEN_EXECUTIONS=local: JSON Lines file of started executions (default .bootwarden/executions.jsonl)',
  BOOTWARDEN_FIRESTORE_DATABASE: 'Firestore database id (default "(default)")',
  BOOTWARDEN_BASELINE_COLLECTION: 'collection of known-good baselines (default known_good_measurements)',
  BOOTWARDEN_COLLECTION_PREFIX:
    "prefix of bootwarden's own collections: events, deliveries, instances, rejected_inputs (default bootwarden_)",
  BOOTWARDEN_DRY_RUN: 'true: decide and notify, never stop or relearn (default false)',
  BOOTWARDEN_STOP_ON_EARLY_BOOT: 'true: also stop VMs whose early-boot report fails (default false)',
  BOOTWARDEN_ALLOWED_PROJECTS: 'comma-separated projects whose VMs bootwarden may act on (default: any)',
  BOOTWARDEN_CLAIM_LEASE_SECONDS:
    'after this long a claimed event whose handler died is taken over (default 600; keep it above the function timeout)',
  BOOTWARDEN_WAIT_FOR_OWNER_SECONDS:
    'how long a duplicate delivery waits for the first one to finish before asking for redelivery (default 10)',
  BOOTWARDEN_DEADLINE_SECONDS:
    'a delivery not handled within this time fails (and is redelivered) instead of hanging on an unreachable database (default 50; keep it below the function timeout)',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: keyof typeof CONFIG_VARIABLES): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function bool(env: Env, name: keyof typeof CONFIG_VARIABLES): boolean {
  const v = value(env, name);
  if (v === undefined) return false;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)}`);
}

function seconds(env: Env, name: keyof typeof CONFIG_VARIABLES, fallback: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 86_400)
    throw new ConfigError(`${name} must be a whole number of seconds from 0 to 86400, got ${JSON.stringify(v)}`);
  return n;
}

function matching(env: Env, name: keyof typeof CONFIG_VARIABLES, fallback: string, pattern: RegExp, expected: string): string {
  const v = value(env, name) ?? fallback;
  if (!pattern.test(v)) throw new ConfigError(`${name} must be ${expected}, got ${JSON.stringify(v)}`);
  return v;
}

const PROJECT = /^(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export function loadConfig(env: Env = process.env): FunctionConfig {
  const project = value(env, 'GOOGLE_CLOUD_PROJECT') ?? env['GCLOUD_PROJECT']?.trim();
  if (project === undefined || project === '')
    throw new ConfigError('GOOGLE_CLOUD_PROJECT is not set: give the project of the workflow and Firestore');
  if (!PROJECT.test(project)) throw new ConfigError(`GOOGLE_CLOUD_PROJECT ${JSON.stringify(project)} is not a valid project id`);
  const workflow = matching(
    env,
    'BOOTWARDEN_WORKFLOW',
    'integrity-response',
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
    firestoreDatabase: matching(
      env,
      'BOOTWARDEN_FIRESTORE_DATABASE',
      '(default)',
      /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/,
      'a Firestore database id',
    ),
    baselineCollection: matching(
      env,
      'BOOTWARDEN_BASELINE_COLLECTION',
      'known_good_measurements',
      /^[A-Za-z0-9_-]{1,100}$/,
      'a collection id',
    ),
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
