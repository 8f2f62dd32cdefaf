/**
 * ComputeFleet for tests: an in-memory fleet that records every call and behaves like Compute
 * where the workflow can tell the difference.
 *
 * - Instances are found by name or numeric id, per project and zone; unknown ones are 404. Each is
 *   shaped as Compute's Instance resource (see `resource`), its times RFC 3339 with Compute's US
 *   Pacific offset.
 * - stop: RUNNING → STOPPING while its operation runs → TERMINATED when it is DONE; start:
 *   TERMINATED → PROVISIONING, then STAGING while its operation runs → RUNNING when it is DONE
 *   (Compute's instance life cycle). Both are no-ops when the instance is already there, as in
 *   Compute; a start or stop of an instance in a transitional status is refused (400
 *   resourceNotReady), as Compute's documentation does not say what it does then.
 * - suspend: only a RUNNING instance ("An instance can only be suspended while it is in the
 *   RUNNING state"), SUSPENDING → SUSPENDED; resume: only a SUSPENDED one, → RUNNING. `start` of a
 *   SUSPENDED instance is refused (400 invalidResourceUsage): start is for a stopped instance, a
 *   suspended one is resumed. `stop` of a SUSPENDED one is refused as undocumented.
 * - setShieldedInstanceIntegrityPolicy merges the body into the policy and, with
 *   `updateAutoLearnPolicy: true`, counts a relearn — only on a RUNNING instance, else 400.
 * - An operation reports PENDING, RUNNING... and DONE after `pollsUntilDone` getOperation calls
 *   (0: DONE at once). A relearn changes the fleet when accepted; a start, stop, suspend or resume
 *   completes (its final status, its effect) when its operation is DONE.
 * - requestId: must be a non-zero UUID (else 400); a repeated one gets the first request's
 *   operation back and changes nothing (recorded with outcome `deduplicated`).
 * - list: filters as the reference documents them (`compileFilter`: RE2 for `eq`/`ne`).
 * - Scripted failures: `failNext(method, status, times)` refuses the next calls (before any
 *   effect, or after it with `afterEffect`, i.e. the answer was lost); `failAlways` refuses until
 *   `clearFailures()`; `failNextOperation` makes the next accepted mutation of a method end DONE
 *   with an error and no effect.
 */
import { createHash } from 'node:crypto';
import {
  computeError,
  ComputeApiError,
  type ComputeInstance,
  type ComputeOperation,
  type ComputeFleet,
  type InstanceList,
  type InstanceStatus,
  type IntegrityPolicyOptions,
  type ListOptions,
  type MutationOptions,
  type OperationErrorDetail,
  type ShieldedInstanceConfig,
  type ShieldedInstanceIntegrityPolicy,
  type StopOptions,
} from '../connectors/compute-fleet.js';
import { re2 } from '../stdlib/re2.js';
import type { RE2JS } from 're2js';

export type ComputeFleetMethod = 'get' | 'list' | MutationMethod | 'getOperation';
type MutationMethod = 'start' | 'stop' | 'suspend' | 'resume' | 'setShieldedInstanceIntegrityPolicy';

export type CallOutcome = 'ok' | 'deduplicated' | { readonly status: number | null };

export interface RecordedCall {
  readonly method: ComputeFleetMethod;
  readonly project: string;
  readonly zone: string;
  /** The instance as the caller named it (name or id); the operation name for getOperation. */
  readonly target?: string;
  readonly requestId?: string;
  readonly body?: ShieldedInstanceIntegrityPolicy;
  readonly options?: ListOptions | StopOptions;
  readonly outcome: CallOutcome;
  /** The operation a mutation answered with (the first one's, when deduplicated). */
  readonly operation?: string;
}

export interface NewInstance {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  /** Decimal; default: the next of a sequence of 19-digit ids (beyond 2^53, on purpose). */
  readonly id?: string;
  readonly status?: InstanceStatus;
  readonly labels?: Readonly<Record<string, string>>;
  readonly shieldedInstanceConfig?: ShieldedInstanceConfig;
  readonly shieldedInstanceIntegrityPolicy?: ShieldedInstanceIntegrityPolicy;
  /** When it last started (RFC 3339, as Compute writes it); a RUNNING instance defaults to its creation. */
  readonly lastStartTimestamp?: string;
  /** What its boot disk holds: the image's license and guest OS features (default linux). */
  readonly os?: GuestOs;
  /** The machine type's name (default e2-medium). */
  readonly machineType?: string;
}

export type GuestOs = 'linux' | 'windows';

/** Hooks run when an accepted mutation changes an instance (see the header). */
export interface FleetEffects {
  /** The instance goes from any other status to RUNNING. */
  started?(instance: ComputeInstance): void;
  /** The instance goes from RUNNING (or any other status) to TERMINATED. */
  stopped?(instance: ComputeInstance): void;
  /** `updateAutoLearnPolicy: true` on a RUNNING instance. */
  relearned?(instance: ComputeInstance): void;
  /** The instance goes from RUNNING to SUSPENDED. */
  suspended?(instance: ComputeInstance): void;
  /** The instance goes from SUSPENDED to RUNNING (its memory restored: no boot). */
  resumed?(instance: ComputeInstance): void;
}

interface Vm {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  readonly id: string;
  status: InstanceStatus;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly shieldedInstanceConfig: ShieldedInstanceConfig;
  policy: ShieldedInstanceIntegrityPolicy;
  relearns: number;
  readonly createdAt: string;
  lastStartTimestamp: string | undefined;
  lastStopTimestamp: string | undefined;
  lastSuspendedTimestamp: string | undefined;
  readonly os: GuestOs;
  readonly machineType: string;
  /** Its place in the fleet: the last octet of its addresses and its disk's name. */
  readonly seq: number;
  /** Accepted changes so far: the instance fingerprint changes with each. */
  generation: number;
  /** The instance's fingerprint at this generation (hashed once per change, not per read). */
  fingerprint: string;
  /** What never changes here (no setLabels, setTags or setMetadata is served): hashed once. */
  readonly fingerprints: { readonly tags: string; readonly nic: string; readonly metadata: string; readonly labels: string };
}

interface Op {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  readonly id: string;
  readonly operationType: MutationMethod;
  readonly vm: Vm;
  readonly insertTime: string;
  readonly clientOperationId: string | undefined;
  pollsLeft: number;
  endTime: string | undefined;
  readonly error: OperationErrorDetail | undefined;
  /** What a start or stop still has to do to the instance: done once, when the operation is DONE. */
  transition: Transition | undefined;
}

/** A start or a stop under way: the instance's status while the operation runs, then the end. */
interface Transition {
  /** While the operation is PENDING (never polled). */
  readonly pending: InstanceStatus;
  /** While it is RUNNING. */
  readonly running: InstanceStatus;
  readonly complete: () => void;
}

const TRANSITIONAL: ReadonlySet<InstanceStatus> = new Set(['PROVISIONING', 'STAGING', 'STOPPING', 'SUSPENDING', 'REPAIRING']);

interface ScriptedFailure {
  status: number | null;
  remaining: number;
  message: string | undefined;
  afterEffect: boolean;
}

const API = 'https://www.googleapis.com/compute/v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_RESULTS = 500;

/** The public images a VM boots from: the boot disk's license and guest OS features, as Compute lists them. */
const IMAGES: Record<GuestOs, { readonly license: string; readonly guestOsFeatures: readonly string[]; readonly diskSizeGb: string }> = {
  linux: {
    license: `${API}/projects/debian-cloud/global/licenses/debian-12-bookworm`,
    guestOsFeatures: ['UEFI_COMPATIBLE', 'VIRTIO_SCSI_MULTIQUEUE', 'GVNIC', 'SEV_CAPABLE', 'SEV_SNP_CAPABLE', 'SEV_LIVE_MIGRATABLE_V2'],
    diskSizeGb: '10',
  },
  windows: {
    license: `${API}/projects/windows-cloud/global/licenses/windows-server-2022-dc`,
    guestOsFeatures: ['MULTI_IP_SUBNET', 'UEFI_COMPATIBLE', 'VIRTIO_SCSI_MULTIQUEUE', 'GVNIC', 'WINDOWS'],
    diskSizeGb: '50',
  },
};

/** The Compute Engine default service account's scopes, as a VM created with the defaults has them. */
const DEFAULT_SCOPES = [
  'https://www.googleapis.com/auth/devstorage.read_only',
  'https://www.googleapis.com/auth/logging.write',
  'https://www.googleapis.com/auth/monitoring.write',
  'https://www.googleapis.com/auth/service.management.readonly',
  'https://www.googleapis.com/auth/servicecontrol',
  'https://www.googleapis.com/auth/trace.append',
];

/** A fingerprint as Compute writes one: 8 bytes, base64; here a hash of what it covers. */
function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest().subarray(0, 8).toString('base64');
}

/** A stable 12-digit project number for a project id (the local fleet has no Resource Manager). */
function projectNumber(project: string): string {
  let number = PROJECT_NUMBERS.get(project);
  if (number === undefined) {
    const n = BigInt(`0x${createHash('sha256').update(project).digest('hex').slice(0, 12)}`);
    number = String(100_000_000_000n + (n % 900_000_000_000n));
    PROJECT_NUMBERS.set(project, number);
  }
  return number;
}
const PROJECT_NUMBERS = new Map<string, string>();

const PACIFIC = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/**
 * RFC 3339 with milliseconds and the offset of US Pacific time, as Compute writes
 * `creationTimestamp`, `lastStartTimestamp` and an operation's times (`2026-11-01T02:00:00.250-08:00`).
 */
export function computeTimestamp(ms: number): string {
  const p: Record<string, string> = {};
  for (const part of PACIFIC.formatToParts(new Date(ms))) p[part.type] = part.value;
  const [y, mo, d, h, mi, se] = [p['year'], p['month'], p['day'], p['hour'], p['minute'], p['second']].map((v) => Number(v));
  const wall = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, se ?? 0);
  const offset = Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${p['year']}-${p['month']}-${p['day']}T${p['hour']}:${p['minute']}:${p['second']}.${millis}${zone}`;
}

const REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'required',
  403: 'forbidden',
  404: 'notFound',
  409: 'conflict',
  412: 'conditionNotMet',
  429: 'rateLimitExceeded',
  500: 'backendError',
  502: 'backendError',
  503: 'backendError',
  504: 'backendError',
};

function zoneUrl(project: string, zone: string): string {
  return `${API}/projects/${project}/zones/${zone}`;
}

export class RecordingComputeFleet implements ComputeFleet {
  /** Every call, in order, failed ones included. */
  readonly calls: RecordedCall[] = [];
  private readonly vms: Vm[] = [];
  private readonly ops = new Map<string, Op>();
  private readonly byRequestId = new Map<string, Op>();
  private readonly failures = new Map<ComputeFleetMethod, ScriptedFailure[]>();
  private readonly failingOperations = new Map<MutationMethod, OperationErrorDetail[]>();
  private readonly now: () => number;
  private readonly pollsUntilDone: number;
  private readonly effects: FleetEffects;
  private nextId = 4_611_686_018_427_387_904n;
  private nextOp = 1;

  constructor(options: { now?: () => number; pollsUntilDone?: number; effects?: FleetEffects } = {}) {
    this.now = options.now ?? Date.now;
    this.pollsUntilDone = options.pollsUntilDone ?? 1;
    this.effects = options.effects ?? {};
  }

  // --- fleet set-up and inspection ---------------------------------------------------------

  addInstance(spec: NewInstance): ComputeInstance {
    const id = spec.id ?? String(this.nextId++);
    if (!/^[0-9]{1,20}$/.test(id)) throw new Error(`instance id must be decimal: ${id}`);
    if (this.vms.some((v) => v.project === spec.project && v.zone === spec.zone && (v.name === spec.name || v.id === id))) {
      throw new Error(`instance ${spec.name} (${id}) exists already in ${spec.project}/${spec.zone}`);
    }
    const status = spec.status ?? 'RUNNING';
    const createdAt = this.time();
    const vm: Vm = {
      project: spec.project,
      zone: spec.zone,
      name: spec.name,
      id,
      status,
      labels: spec.labels,
      shieldedInstanceConfig: spec.shieldedInstanceConfig ?? { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      policy: spec.shieldedInstanceIntegrityPolicy ?? {},
      relearns: 0,
      createdAt,
      // Compute reports lastStartTimestamp for any instance that has run; a RUNNING one has.
      lastStartTimestamp: spec.lastStartTimestamp ?? (status === 'RUNNING' ? createdAt : undefined),
      lastStopTimestamp: undefined,
      lastSuspendedTimestamp: undefined,
      os: spec.os ?? 'linux',
      machineType: spec.machineType ?? 'e2-medium',
      seq: this.vms.length,
      generation: 0,
      fingerprint: fingerprint('instance', id, '0'),
      fingerprints: {
        tags: fingerprint('tags'),
        nic: fingerprint('nic0', id),
        metadata: fingerprint('metadata', id),
        labels: fingerprint(
          'labels',
          ...Object.entries(spec.labels ?? {})
            .sort()
            .flat(),
        ),
      },
    };
    this.vms.push(vm);
    return this.resource(vm);
  }

  /** The instance as `get` would return it, without recording a call; undefined when unknown. */
  peek(project: string, zone: string, instance: string): ComputeInstance | undefined {
    const vm = this.find(project, zone, instance);
    return vm === undefined ? undefined : this.resource(vm);
  }

  /** How many times the instance's integrity policy was relearned (updateAutoLearnPolicy: true). */
  relearnCount(project: string, zone: string, instance: string): number {
    return this.find(project, zone, instance)?.relearns ?? 0;
  }

  callsTo(method: ComputeFleetMethod): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The next `times` calls of `method` fail with `status` (null: no answer at all). */
  failNext(method: ComputeFleetMethod, status: number | null, times = 1, options: { message?: string; afterEffect?: boolean } = {}): this {
    const list = this.failures.get(method) ?? [];
    list.push({ status, remaining: times, message: options.message, afterEffect: options.afterEffect ?? false });
    this.failures.set(method, list);
    return this;
  }

  /** Every call of `method` fails with `status` until clearFailures() (a permanent 403, say). */
  failAlways(method: ComputeFleetMethod, status: number | null, message?: string): this {
    return this.failNext(method, status, Number.POSITIVE_INFINITY, { message });
  }

  /** The next accepted `method` call's operation ends DONE with this error, and changes nothing. */
  failNextOperation(method: MutationMethod, error: OperationErrorDetail): this {
    const list = this.failingOperations.get(method) ?? [];
    list.push(error);
    this.failingOperations.set(method, list);
    return this;
  }

  clearFailures(): void {
    this.failures.clear();
    this.failingOperations.clear();
  }

  // --- ComputeFleet ---------------------------------------------------------------------

  get(project: string, zone: string, instance: string): Promise<ComputeInstance> {
    return this.run({ method: 'get', project, zone, target: instance }, () => {
      const vm = this.require(project, zone, instance);
      return { value: this.resource(vm) };
    });
  }

  list(project: string, zone: string, options: ListOptions = {}): Promise<InstanceList> {
    return this.run({ method: 'list', project, zone, options }, () => ({ value: this.page(project, zone, options) }));
  }

  start(project: string, zone: string, instance: string, options: MutationOptions = {}): Promise<ComputeOperation> {
    return this.mutate(
      'start',
      project,
      zone,
      instance,
      options,
      undefined,
      (vm) =>
        vm.status === 'RUNNING'
          ? undefined
          : {
              pending: 'PROVISIONING',
              running: 'STAGING',
              complete: () => {
                this.effects.started?.(this.resource(vm));
                vm.status = 'RUNNING';
                vm.lastStartTimestamp = this.time();
              },
            },
      (vm) => {
        // instances.start "Starts an instance that was stopped using the instances().stop method";
        // a suspended one is resumed with instances.resume.
        if (vm.status === 'SUSPENDED')
          throw invalidResourceUsage(
            `Instance ${vm.name} is SUSPENDED: a suspended instance is resumed with instances.resume, not started with instances.start.`,
          );
      },
    );
  }

  /** instances.suspend: RUNNING → SUSPENDING while its operation runs → SUSPENDED; only a RUNNING instance. */
  suspend(project: string, zone: string, instance: string, options: StopOptions = {}): Promise<ComputeOperation> {
    return this.mutate(
      'suspend',
      project,
      zone,
      instance,
      options,
      undefined,
      (vm) => ({
        pending: 'SUSPENDING',
        running: 'SUSPENDING',
        complete: () => {
          this.effects.suspended?.(this.resource(vm));
          vm.status = 'SUSPENDED';
          vm.lastSuspendedTimestamp = this.time();
        },
      }),
      (vm) => {
        if (vm.status !== 'RUNNING')
          throw invalidResourceUsage(`Instance ${vm.name} is ${vm.status}: an instance can only be suspended while it is RUNNING.`);
      },
    );
  }

  /**
   * instances.resume: SUSPENDED → RUNNING once its operation is DONE; only a SUSPENDED instance.
   * Compute does not document the statuses in between; the fleet shows those of a start.
   */
  resume(project: string, zone: string, instance: string, options: MutationOptions = {}): Promise<ComputeOperation> {
    return this.mutate(
      'resume',
      project,
      zone,
      instance,
      options,
      undefined,
      (vm) => ({
        pending: 'PROVISIONING',
        running: 'STAGING',
        complete: () => {
          this.effects.resumed?.(this.resource(vm));
          vm.status = 'RUNNING';
        },
      }),
      (vm) => {
        if (vm.status !== 'SUSPENDED')
          throw invalidResourceUsage(`Instance ${vm.name} is ${vm.status}: instances.resume resumes a SUSPENDED instance only.`);
      },
    );
  }

  stop(project: string, zone: string, instance: string, options: StopOptions = {}): Promise<ComputeOperation> {
    return this.mutate(
      'stop',
      project,
      zone,
      instance,
      options,
      undefined,
      (vm) =>
        vm.status === 'TERMINATED'
          ? undefined
          : {
              pending: 'STOPPING',
              running: 'STOPPING',
              complete: () => {
                this.effects.stopped?.(this.resource(vm));
                vm.status = 'TERMINATED';
                vm.lastStopTimestamp = this.time();
              },
            },
      (vm) => {
        if (vm.status === 'SUSPENDED')
          throw invalidResourceUsage(
            `Instance ${vm.name} is SUSPENDED: Compute's documentation does not say what instances.stop does to a suspended instance, so the local fleet refuses it; resume it first.`,
          );
      },
    );
  }

  setShieldedInstanceIntegrityPolicy(
    project: string,
    zone: string,
    instance: string,
    options: IntegrityPolicyOptions,
  ): Promise<ComputeOperation> {
    const body = { ...options.body };
    return this.mutate(
      'setShieldedInstanceIntegrityPolicy',
      project,
      zone,
      instance,
      options,
      body,
      (vm) => {
        if (body.updateAutoLearnPolicy === true) this.effects.relearned?.(this.resource(vm));
        vm.policy = { ...vm.policy, ...body };
        if (body.updateAutoLearnPolicy === true) vm.relearns++;
        return undefined;
      },
      (vm) => {
        if (vm.status !== 'RUNNING') {
          throw invalidResourceUsage(`Instance ${vm.name} must be RUNNING to set its Shielded VM integrity policy (it is ${vm.status}).`);
        }
      },
    );
  }

  getOperation(project: string, zone: string, operation: string): Promise<ComputeOperation> {
    return this.run({ method: 'getOperation', project, zone, target: operation }, () => {
      const op = this.ops.get(operation);
      if (op === undefined || op.project !== project || op.zone !== zone) {
        throw computeError(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/operations/${operation}' was not found`);
      }
      if (op.pollsLeft > 0) op.pollsLeft--;
      if (op.pollsLeft === 0) {
        op.endTime ??= this.time();
        this.finish(op);
      } else if (op.transition !== undefined) op.vm.status = op.transition.running;
      return { value: this.operation(op) };
    });
  }

  // --- internals ---------------------------------------------------------------------------

  private time(): string {
    return computeTimestamp(this.now());
  }

  private find(project: string, zone: string, instance: string): Vm | undefined {
    const byId = /^[0-9]+$/.test(instance);
    return this.vms.find((v) => v.project === project && v.zone === zone && (byId ? v.id === instance : v.name === instance));
  }

  private require(project: string, zone: string, instance: string): Vm {
    const vm = this.find(project, zone, instance);
    if (vm === undefined) {
      throw computeError(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/instances/${instance}' was not found`);
    }
    return vm;
  }

  /**
   * The instance as Compute's Instance resource has it
   * (https://cloud.google.com/compute/docs/reference/rest/v1/instances), for a VM created the
   * default way: an e2 machine on the default network, a boot disk from a public image (its
   * license and guest OS features), the Compute Engine default service account with the default
   * scopes, standard scheduling. Fingerprints are hashes of what they cover: the instance's changes
   * with every accepted mutation, as the reference says of `fingerprint`.
   */
  private resource(vm: Vm): ComputeInstance {
    const url = zoneUrl(vm.project, vm.zone);
    const projectUrl = `${API}/projects/${vm.project}`;
    const region = vm.zone.replace(/-[a-z]$/, '');
    const image = IMAGES[vm.os];
    const host = vm.seq + 2;
    const stopped = vm.status === 'TERMINATED';
    return {
      kind: 'compute#instance',
      id: vm.id,
      creationTimestamp: vm.createdAt,
      name: vm.name,
      description: '',
      tags: { fingerprint: vm.fingerprints.tags },
      machineType: `${url}/machineTypes/${vm.machineType}`,
      status: vm.status,
      zone: url,
      canIpForward: false,
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: `${projectUrl}/global/networks/default`,
          subnetwork: `${projectUrl}/regions/${region}/subnetworks/default`,
          networkIP: `10.128.${Math.floor(host / 256) % 16}.${host % 256}`,
          name: 'nic0',
          accessConfigs: [
            {
              kind: 'compute#accessConfig',
              type: 'ONE_TO_ONE_NAT',
              name: 'External NAT',
              // An ephemeral external address is released while the instance is stopped.
              // 203.0.113.0/24 is a documentation range (RFC 5737): no address of anyone's.
              ...(stopped ? {} : { natIP: `203.0.113.${(vm.seq % 254) + 1}` }),
              networkTier: 'PREMIUM',
            },
          ],
          fingerprint: vm.fingerprints.nic,
          stackType: 'IPV4_ONLY',
        },
      ],
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: `${url}/disks/${vm.name}`,
          deviceName: vm.name,
          index: 0,
          boot: true,
          autoDelete: true,
          licenses: [image.license],
          interface: 'SCSI',
          guestOsFeatures: image.guestOsFeatures.map((type) => ({ type })),
          diskSizeGb: image.diskSizeGb,
          architecture: 'X86_64',
        },
      ],
      metadata: { kind: 'compute#metadata', fingerprint: vm.fingerprints.metadata },
      serviceAccounts: [{ email: `${projectNumber(vm.project)}-compute@developer.gserviceaccount.com`, scopes: [...DEFAULT_SCOPES] }],
      selfLink: `${url}/instances/${vm.name}`,
      scheduling: { onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD' },
      // A stopped instance runs on no host.
      cpuPlatform: stopped ? 'Unknown CPU Platform' : 'Intel Broadwell',
      ...(vm.labels === undefined || Object.keys(vm.labels).length === 0 ? {} : { labels: { ...vm.labels } }),
      labelFingerprint: vm.fingerprints.labels,
      startRestricted: false,
      deletionProtection: false,
      shieldedInstanceConfig: { ...vm.shieldedInstanceConfig },
      shieldedInstanceIntegrityPolicy: { ...vm.policy },
      fingerprint: vm.fingerprint,
      ...(vm.lastStartTimestamp === undefined ? {} : { lastStartTimestamp: vm.lastStartTimestamp }),
      ...(vm.lastStopTimestamp === undefined ? {} : { lastStopTimestamp: vm.lastStopTimestamp }),
      ...(vm.lastSuspendedTimestamp === undefined ? {} : { lastSuspendedTimestamp: vm.lastSuspendedTimestamp }),
      satisfiesPzi: true,
      keyRevocationActionType: 'NONE',
    };
  }

  private operation(op: Op): ComputeOperation {
    const url = zoneUrl(op.project, op.zone);
    const done = op.pollsLeft === 0;
    const failed = done && op.error !== undefined;
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      zone: url,
      operationType: op.operationType,
      targetLink: `${url}/instances/${op.vm.name}`,
      targetId: op.vm.id,
      status: done ? 'DONE' : op.pollsLeft === this.pollsUntilDone ? 'PENDING' : 'RUNNING',
      progress: done ? 100 : op.pollsLeft === this.pollsUntilDone ? 0 : 50,
      insertTime: op.insertTime,
      ...(op.pollsLeft === this.pollsUntilDone && !done ? {} : { startTime: op.insertTime }),
      ...(done && op.endTime !== undefined ? { endTime: op.endTime } : {}),
      selfLink: `${url}/operations/${op.name}`,
      user: 'workflows-local@bootwarden.invalid',
      ...(op.clientOperationId === undefined ? {} : { clientOperationId: op.clientOperationId }),
      ...(failed && op.error !== undefined
        ? { error: { errors: [{ ...op.error }] }, httpErrorStatusCode: 400, httpErrorMessage: 'BAD REQUEST' }
        : {}),
    };
  }

  /** The instance's end of a start or stop, once, when its operation is DONE. */
  private finish(op: Op): void {
    const t = op.transition;
    op.transition = undefined;
    t?.complete();
  }

  /** Consumes one scripted failure of `method`, if any is due. */
  private takeFailure(method: ComputeFleetMethod): ScriptedFailure | undefined {
    const list = this.failures.get(method);
    const due = list?.[0];
    if (list === undefined || due === undefined) return undefined;
    due.remaining--;
    if (due.remaining <= 0) list.shift();
    return due;
  }

  private failure(f: ScriptedFailure): ComputeApiError {
    if (f.status === null) return new ComputeApiError(null, f.message ?? 'connection refused (scripted)');
    return computeError(f.status, REASONS[f.status] ?? 'error', f.message ?? `scripted failure ${f.status}`);
  }

  /**
   * Records one call around `body`. A scripted failure due before the effect refuses the call;
   * one due after it (afterEffect) lets `body` run, then answers with the error.
   */
  private run<T>(
    call: Omit<RecordedCall, 'outcome' | 'operation'>,
    body: () => { value: T; deduplicated?: boolean; operation?: string },
  ): Promise<T> {
    const scripted = this.takeFailure(call.method);
    const record = (outcome: CallOutcome, operation?: string): void => {
      this.calls.push({ ...call, outcome, ...(operation === undefined ? {} : { operation }) });
    };
    if (scripted !== undefined && !scripted.afterEffect) {
      record({ status: scripted.status });
      return Promise.reject(this.failure(scripted));
    }
    let result: { value: T; deduplicated?: boolean; operation?: string };
    try {
      result = body();
    } catch (e) {
      record({ status: e instanceof ComputeApiError ? e.status : null });
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (scripted !== undefined) {
      record({ status: scripted.status }, result.operation);
      return Promise.reject(this.failure(scripted));
    }
    record(result.deduplicated === true ? 'deduplicated' : 'ok', result.operation);
    return Promise.resolve(result.value);
  }

  private mutate(
    method: MutationMethod,
    project: string,
    zone: string,
    instance: string,
    options: MutationOptions & StopOptions,
    body: ShieldedInstanceIntegrityPolicy | undefined,
    effect: (vm: Vm) => Transition | undefined,
    precondition?: (vm: Vm) => void,
  ): Promise<ComputeOperation> {
    const { requestId } = options;
    const extra: StopOptions = {
      ...(options.discardLocalSsd === undefined ? {} : { discardLocalSsd: options.discardLocalSsd }),
      ...(options.noGracefulShutdown === undefined ? {} : { noGracefulShutdown: options.noGracefulShutdown }),
    };
    const call = {
      method,
      project,
      zone,
      target: instance,
      ...(requestId === undefined ? {} : { requestId }),
      ...(body === undefined ? {} : { body }),
      ...(Object.keys(extra).length === 0 ? {} : { options: extra }),
    };
    return this.run(call, () => {
      if (requestId !== undefined) {
        if (!UUID.test(requestId) || requestId === ZERO_UUID) {
          throw computeError(400, 'invalid', `Invalid value for field 'requestId': '${requestId}'. The request ID must be a valid UUID.`);
        }
        const seen = this.byRequestId.get(requestId);
        if (seen !== undefined) return { value: this.operation(seen), deduplicated: true, operation: seen.name };
      }
      const vm = this.require(project, zone, instance);
      precondition?.(vm);
      if (method !== 'setShieldedInstanceIntegrityPolicy' && TRANSITIONAL.has(vm.status)) {
        throw computeError(
          400,
          'resourceNotReady',
          `The resource 'projects/${project}/zones/${zone}/instances/${vm.name}' is not ready (it is ${vm.status}): Compute's documentation does not say what a ${method} does while an instance is ${vm.status}, so the local fleet refuses it; wait for the operation under way`,
        );
      }
      const error = this.failingOperations.get(method)?.shift();
      const transition = error === undefined ? effect(vm) : undefined;
      const seq = this.nextOp++;
      const op: Op = {
        project,
        zone,
        name: `operation-${String(seq).padStart(6, '0')}-${method}`,
        id: String(7_000_000_000_000_000_000n + BigInt(seq)),
        operationType: method,
        vm,
        insertTime: this.time(),
        clientOperationId: requestId,
        pollsLeft: this.pollsUntilDone,
        endTime: this.pollsUntilDone === 0 ? this.time() : undefined,
        error,
        transition,
      };
      if (transition !== undefined) vm.status = transition.pending;
      if (error === undefined) vm.fingerprint = fingerprint('instance', vm.id, String(++vm.generation));
      if (this.pollsUntilDone === 0) this.finish(op);
      this.ops.set(op.name, op);
      if (requestId !== undefined) this.byRequestId.set(requestId, op);
      return { value: this.operation(op), operation: op.name };
    });
  }

  private page(project: string, zone: string, options: ListOptions): InstanceList {
    const url = zoneUrl(project, zone);
    const max = options.maxResults ?? MAX_RESULTS;
    if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS) {
      throw computeError(400, 'invalid', `Invalid value for field 'maxResults': '${max}'. Must be in the range [0, 500].`);
    }
    let start = 0;
    if (options.pageToken !== undefined && options.pageToken !== '') {
      const m = /^page-([0-9]+)$/.exec(options.pageToken);
      if (m === null) throw computeError(400, 'invalid', `Invalid value for field 'pageToken': '${options.pageToken}'.`);
      start = Number(m[1]);
    }
    const matches = compileFilter(options.filter);
    let vms = this.vms.filter((v) => v.project === project && v.zone === zone);
    if (options.orderBy !== undefined && options.orderBy !== '') {
      if (options.orderBy === 'name') vms = [...vms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      else if (options.orderBy === 'creationTimestamp desc') vms = [...vms].reverse();
      else throw computeError(400, 'invalid', `Invalid value for field 'orderBy': '${options.orderBy}'.`);
    }
    const all = vms.map((v) => this.resource(v)).filter(matches);
    const items = max === 0 ? [] : all.slice(start, start + max);
    const next = start + items.length;
    return {
      kind: 'compute#instanceList',
      id: `projects/${project}/zones/${zone}/instances`,
      selfLink: `${url}/instances`,
      ...(items.length === 0 ? {} : { items }),
      ...(max > 0 && next < all.length ? { nextPageToken: `page-${next}` } : {}),
    };
  }
}

/**
 * Compute's list filter, as `instances.list` documents it
 * (https://cloud.google.com/compute/docs/reference/rest/v1/instances/list, parameter `filter`):
 * - comparisons `field = value` and `field != value`, optionally in parentheses, joined by spaces
 *   or `AND` (each expression is an AND by default); the field is a dotted path into the instance
 *   (`status`, `name`, `labels.env`, `scheduling.automaticRestart`);
 * - regular expressions with `eq` and `ne`, against a single un-parenthesized expression (the
 *   literal is the rest of the filter, or quoted) or against several parenthesized ones: "The
 *   literal value is interpreted as a regular expression using Google RE2 library syntax. The
 *   literal value must match the entire field." RE2 itself decides (re2js): lookaround and
 *   backreferences are refused, `(?i)` is its case-insensitive flag, POSIX classes work;
 * - the two kinds "cannot be mixed in one request": a 400.
 * `OR`, `:` and the ordering operators are documented but not evaluated here: a 400 saying so.
 */
type Comparison = '=' | '!=' | 'eq' | 'ne';

interface Term {
  readonly field: string;
  readonly op: Comparison;
  readonly value: string;
  readonly parenthesized: boolean;
}

function filterError(filter: string, why: string): ComputeApiError {
  return computeError(400, 'invalid', `Invalid value for field 'filter': '${filter}'. ${why}`);
}

/** A quoted literal at `pos` (single or double quotes, `\` escaping the quote): [value, end]. */
function quoted(filter: string, text: string, pos: number): [string, number] {
  const q = text[pos] ?? '';
  let out = '';
  for (let i = pos + 1; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\' && text[i + 1] === q) {
      out += q;
      i++;
    } else if (c === q) return [out, i + 1];
    else out += c;
  }
  throw filterError(filter, `Unterminated ${q === '"' ? 'double' : 'single'}-quoted literal.`);
}

function parseFilter(filter: string): Term[] {
  const text = filter.trim();
  const terms: Term[] = [];
  const head = /\s*(\()?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|=|eq\b|ne\b|:|<=|>=|<|>)\s*/y;
  let pos = 0;
  while (pos < text.length) {
    head.lastIndex = pos;
    const m = head.exec(text);
    if (m === null) throw filterError(filter, `Invalid list filter expression at '${text.slice(pos)}'.`);
    const parenthesized = m[1] === '(';
    const field = m[2] ?? '';
    const op = m[3] ?? '';
    if (op !== '=' && op !== '!=' && op !== 'eq' && op !== 'ne')
      throw filterError(filter, `The local Compute evaluates =, !=, eq and ne; '${op}' is not implemented here.`);
    pos = head.lastIndex;
    let value: string;
    if (text[pos] === '"' || text[pos] === "'") [value, pos] = quoted(filter, text, pos);
    else if (!parenthesized && (op === 'eq' || op === 'ne')) {
      // A single un-parenthesized regular expression: the literal is the rest of the filter.
      value = text.slice(pos).trim();
      pos = text.length;
    } else {
      // Up to the term's end: a space or its closing parenthesis (parentheses in a regular
      // expression nest).
      let depth = 0;
      const from = pos;
      while (pos < text.length) {
        const c = text[pos];
        if (c === '(') depth++;
        else if (c === ')') {
          if (depth === 0) break;
          depth--;
        } else if (depth === 0 && /\s/.test(c ?? '') && !(op === 'eq' || op === 'ne')) break;
        pos++;
      }
      value = text.slice(from, pos).trim();
    }
    if (value === '') throw filterError(filter, `The comparison of '${field}' has no value.`);
    if (parenthesized) {
      const close = /\s*\)/y;
      close.lastIndex = pos;
      if (close.exec(text) === null) throw filterError(filter, `Missing ')' after the comparison of '${field}'.`);
      pos = close.lastIndex;
    }
    terms.push({ field, op, value, parenthesized });
    const sep = /\s*(?:(AND|OR)(?=[\s(])\s*)?/y;
    sep.lastIndex = pos;
    const s = sep.exec(text);
    if (s?.[1] === 'OR') throw filterError(filter, 'OR is documented but not evaluated by the local Compute; list with each filter.');
    pos = sep.lastIndex;
  }
  const regex = terms.filter((t) => t.op === 'eq' || t.op === 'ne');
  if (regex.length > 0 && regex.length < terms.length)
    throw filterError(filter, 'Regular expressions (eq, ne) and comparisons (=, !=) cannot be mixed in one request.');
  if (regex.length > 1 && regex.some((t) => !t.parenthesized))
    throw filterError(filter, 'Several regular expressions must each be in parentheses: (field1 eq literal) (field2 ne literal).');
  return terms;
}

function compileFilter(filter: string | undefined): (i: ComputeInstance) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const tests = parseFilter(filter).map(({ field, op, value }) => {
    const read = (i: ComputeInstance): string | undefined => {
      let cur: unknown = i;
      for (const part of field.split('.')) {
        if (typeof cur !== 'object' || cur === null) return undefined;
        cur = (cur as Record<string, unknown>)[part];
      }
      return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : undefined;
    };
    if (op === '=' || op === '!=') return (i: ComputeInstance) => (read(i) === value) === (op === '=');
    let re: RE2JS;
    try {
      re = re2(value);
    } catch (e) {
      throw filterError(filter, `Invalid RE2 regular expression '${value}': ${e instanceof Error ? e.message : String(e)}.`);
    }
    // RE2's full match: the literal must match the entire field.
    return (i: ComputeInstance) => {
      const v = read(i);
      return (v !== undefined && re.matches(v)) === (op === 'eq');
    };
  });
  return (i) => tests.every((t) => t(i));
}

/** Compute's 400 for a method called on an instance in a status it does not accept. */
function invalidResourceUsage(detail: string): ComputeApiError {
  return computeError(400, 'invalidResourceUsage', `Invalid resource usage: '${detail}'`);
}
