/**
 * What the `googleapis.compute.v1.instances.*` connectors need from a fleet: read instances, stop
 * and start them (suspend and resume), and relearn their Shielded VM integrity policy. A fleet (a recording fake, a
 * simulated fleet, a client of a Compute server) implements this interface and is handed to
 * `startLocalEngine({instances})`. The shapes are the Compute v1 REST shapes the connector hands the
 * workflow, reduced to the fields a Shielded VM workflow reads.
 *
 * - `instance` is the instance name or its numeric id (Compute v1 accepts both). Ids are decimal
 *   strings of up to 20 digits: never parse them into a JS number.
 * - Mutations return an Operation at once; it reaches `DONE` later (`getOperation` polls it), with
 *   `error` set when it failed. A `requestId` (a UUID, not the zero UUID) makes a mutation
 *   idempotent: Compute answers a repeated requestId with the operation of the first request and
 *   does nothing again.
 * - Every refusal by the API is an `ComputeApiError` with the HTTP status and the Google error
 *   body (404 unknown instance or operation, 400 invalid argument or an instance in the wrong state —
 *   e.g. relearning a VM that is not RUNNING —, 403, 409, 429, 5xx). An adapter that got no HTTP
 *   answer at all throws one with `status: null`.
 */

export type InstanceStatus =
  'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'SUSPENDING' | 'SUSPENDED' | 'REPAIRING' | 'TERMINATED';

export interface ShieldedInstanceConfig {
  readonly enableSecureBoot: boolean;
  readonly enableVtpm: boolean;
  readonly enableIntegrityMonitoring: boolean;
}

/** `updateAutoLearnPolicy: true` makes the policy baseline the measurements of the most recent boot. */
export interface ShieldedInstanceIntegrityPolicy {
  readonly updateAutoLearnPolicy?: boolean;
}

/**
 * compute#instance, as Compute v1's Instance resource has it
 * (https://cloud.google.com/compute/docs/reference/rest/v1/instances): every field a VM created
 * the default way carries. URLs (`zone`, `machineType`, `network`, a disk's `source`) are full
 * https://www.googleapis.com/compute/v1/ URLs; int64 fields (`id`, `diskSizeGb`) are decimal
 * strings; times are RFC 3339 with an offset.
 */
export interface ComputeInstance {
  readonly kind: 'compute#instance';
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  readonly status: InstanceStatus;
  readonly selfLink: string;
  readonly creationTimestamp: string;
  readonly description?: string;
  readonly tags?: { readonly fingerprint: string; readonly items?: readonly string[] };
  readonly machineType?: string;
  readonly canIpForward?: boolean;
  readonly networkInterfaces?: readonly NetworkInterface[];
  readonly disks?: readonly AttachedDisk[];
  readonly metadata?: { readonly kind: 'compute#metadata'; readonly fingerprint: string };
  readonly serviceAccounts?: readonly { readonly email: string; readonly scopes: readonly string[] }[];
  readonly scheduling?: {
    readonly onHostMaintenance: string;
    readonly automaticRestart: boolean;
    readonly preemptible: boolean;
    readonly provisioningModel: string;
  };
  readonly cpuPlatform?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly labelFingerprint?: string;
  readonly startRestricted?: boolean;
  readonly deletionProtection?: boolean;
  readonly shieldedInstanceConfig?: ShieldedInstanceConfig;
  readonly shieldedInstanceIntegrityPolicy?: ShieldedInstanceIntegrityPolicy;
  readonly fingerprint?: string;
  readonly lastStartTimestamp?: string;
  readonly lastStopTimestamp?: string;
  readonly lastSuspendedTimestamp?: string;
  readonly satisfiesPzi?: boolean;
  readonly keyRevocationActionType?: string;
}

export interface NetworkInterface {
  readonly kind: 'compute#networkInterface';
  readonly network: string;
  readonly subnetwork: string;
  readonly networkIP: string;
  readonly name: string;
  readonly accessConfigs: readonly {
    readonly kind: 'compute#accessConfig';
    readonly type: string;
    readonly name: string;
    readonly natIP?: string;
    readonly networkTier: string;
  }[];
  readonly fingerprint: string;
  readonly stackType: string;
}

export interface AttachedDisk {
  readonly kind: 'compute#attachedDisk';
  readonly type: string;
  readonly mode: string;
  readonly source: string;
  readonly deviceName: string;
  readonly index: number;
  readonly boot: boolean;
  readonly autoDelete: boolean;
  readonly licenses: readonly string[];
  readonly interface: string;
  readonly guestOsFeatures: readonly { readonly type: string }[];
  /** int64, so a decimal string. */
  readonly diskSizeGb: string;
  readonly architecture: string;
}

/** compute#instanceList. `items` is absent when there are none, as in Compute. */
export interface InstanceList {
  readonly kind: 'compute#instanceList';
  readonly id: string;
  readonly selfLink: string;
  readonly items?: readonly ComputeInstance[];
  readonly nextPageToken?: string;
}

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

export interface OperationErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly location?: string;
}

/** compute#operation (zonal). `clientOperationId` echoes the requestId, when one was given. */
export interface ComputeOperation {
  readonly kind: 'compute#operation';
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  readonly operationType: string;
  readonly targetLink: string;
  readonly targetId: string;
  readonly status: OperationStatus;
  readonly progress: number;
  readonly insertTime: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly selfLink: string;
  readonly user?: string;
  readonly clientOperationId?: string;
  readonly error?: { readonly errors: readonly OperationErrorDetail[] };
  readonly httpErrorStatusCode?: number;
  readonly httpErrorMessage?: string;
}

export interface ListOptions {
  /** Compute filter expression, e.g. `status = RUNNING` or `labels.env = prod`. */
  readonly filter?: string;
  /** 0..500; Compute's default is 500. */
  readonly maxResults?: number;
  readonly orderBy?: string;
  readonly pageToken?: string;
}

export interface MutationOptions {
  readonly requestId?: string;
}

export interface StopOptions extends MutationOptions {
  readonly discardLocalSsd?: boolean;
  readonly noGracefulShutdown?: boolean;
}

export interface IntegrityPolicyOptions extends MutationOptions {
  readonly body: ShieldedInstanceIntegrityPolicy;
}

export interface ComputeFleet {
  get(project: string, zone: string, instance: string): Promise<ComputeInstance>;
  list(project: string, zone: string, options?: ListOptions): Promise<InstanceList>;
  start(project: string, zone: string, instance: string, options?: MutationOptions): Promise<ComputeOperation>;
  stop(project: string, zone: string, instance: string, options?: StopOptions): Promise<ComputeOperation>;
  /** instances.suspend: only a RUNNING instance, else 400. */
  suspend(project: string, zone: string, instance: string, options?: StopOptions): Promise<ComputeOperation>;
  /** instances.resume: only a SUSPENDED instance, else 400 (and `start` refuses a SUSPENDED one). */
  resume(project: string, zone: string, instance: string, options?: MutationOptions): Promise<ComputeOperation>;
  /** PATCH semantics (JSON merge patch); works only on a RUNNING instance, else 400. */
  setShieldedInstanceIntegrityPolicy(
    project: string,
    zone: string,
    instance: string,
    options: IntegrityPolicyOptions,
  ): Promise<ComputeOperation>;
  /** zoneOperations.get: the current state of an operation, by name. */
  getOperation(project: string, zone: string, operation: string): Promise<ComputeOperation>;
}

/** The Google JSON error body: `{error: {code, message, errors: [{message, domain, reason}], status?}}`. */
export interface GoogleErrorBody {
  readonly error: {
    readonly code: number;
    readonly message: string;
    readonly status?: string;
    readonly errors?: readonly { readonly message: string; readonly domain: string; readonly reason: string }[];
  };
}

/**
 * A request Compute refused (or, with `status: null`, one that got no answer). `retryable` follows
 * the usual rule: 429, 5xx and no answer may pass on a later attempt; anything else will not.
 */
export class ComputeApiError extends Error {
  readonly status: number | null;
  readonly body: GoogleErrorBody | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly retryable: boolean;

  constructor(
    status: number | null,
    message: string,
    options: { body?: GoogleErrorBody; headers?: Readonly<Record<string, string>>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ComputeApiError';
    this.status = status;
    this.body = options.body ?? null;
    this.headers = options.headers ?? {};
    this.retryable = status === null || status === 429 || status >= 500;
  }
}

/** A Compute-style error: body `{error: {code, message, errors: [{message, domain: 'global', reason}]}}`. */
export function computeError(status: number, reason: string, message: string): ComputeApiError {
  return new ComputeApiError(status, message, {
    body: { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } },
    headers: { 'Content-Type': 'application/json; charset=UTF-8' },
  });
}
