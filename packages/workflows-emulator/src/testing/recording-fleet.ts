/**
 * ComputeFleet for tests: an in-memory fleet that records every call and behaves like Compute
 * where the workflow can tell the difference.
 *
 * - Instances are found by name or numeric id, per project and zone; unknown ones are 404.
 * - stop: RUNNING → STOPPING while its operation runs → TERMINATED when it is DONE; start:
 *   TERMINATED → PROVISIONING, then STAGING while its operation runs → RUNNING when it is DONE
 *   (Compute's instance life cycle). Both are no-ops when the instance is already there, as in
 *   Compute; a start or stop of an instance in a transitional status is refused (400
 *   resourceNotReady), as Compute's documentation does not say what it does then.
 *   setShieldedInstanceIntegrityPolicy merges the body into the policy and, with
 *   `updateAutoLearnPolicy: true`, counts a relearn — only on a RUNNING instance, else 400.
 * - An operation reports PENDING, RUNNING... and DONE after `pollsUntilDone` getOperation calls
 *   (0: DONE at once). A relearn changes the fleet when accepted; a start or stop completes (its
 *   final status, the `started`/`stopped` effects) when its operation is DONE.
 * - requestId: must be a non-zero UUID (else 400); a repeated one gets the first request's
 *   operation back and changes nothing (recorded with outcome `deduplicated`).
 * - Scripted failures: `failNext(method, status, times)` refuses the next calls (before any
 *   effect, or after it with `afterEffect`, i.e. the answer was lost); `failAlways` refuses until
 *   `clearFailures()`; `failNextOperation` makes the next accepted mutation of a method end DONE
 *   with an error and no effect.
 */
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

export type ComputeFleetMethod = 'get' | 'list' | 'start' | 'stop' | 'setShieldedInstanceIntegrityPolicy' | 'getOperation';
type MutationMethod = 'start' | 'stop' | 'setShieldedInstanceIntegrityPolicy';

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
}

/** Hooks run when an accepted mutation changes an instance (see the header). */
export interface FleetEffects {
  /** The instance goes from any other status to RUNNING. */
  started?(instance: ComputeInstance): void;
  /** The instance goes from RUNNING (or any other status) to TERMINATED. */
  stopped?(instance: ComputeInstance): void;
  /** `updateAutoLearnPolicy: true` on a RUNNING instance. */
  relearned?(instance: ComputeInstance): void;
}

interface Vm {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  readonly id: string;
  status: InstanceStatus;
  labels: Readonly<Record<string, string>> | undefined;
  readonly shieldedInstanceConfig: ShieldedInstanceConfig;
  policy: ShieldedInstanceIntegrityPolicy;
  relearns: number;
  readonly createdAt: string;
  lastStartTimestamp: string | undefined;
  lastStopTimestamp: string | undefined;
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
    return this.mutate('start', project, zone, instance, options, undefined, (vm) =>
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
    );
  }

  stop(project: string, zone: string, instance: string, options: StopOptions = {}): Promise<ComputeOperation> {
    return this.mutate('stop', project, zone, instance, options, undefined, (vm) =>
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
          throw computeError(
            400,
            'invalidResourceUsage',
            `Invalid resource usage: 'Instance ${vm.name} must be RUNNING to set its Shielded VM integrity policy (it is ${vm.status}).'`,
          );
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
    return new Date(this.now()).toISOString();
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

  private resource(vm: Vm): ComputeInstance {
    const url = zoneUrl(vm.project, vm.zone);
    return {
      kind: 'compute#instance',
      id: vm.id,
      name: vm.name,
      zone: url,
      status: vm.status,
      selfLink: `${url}/instances/${vm.name}`,
      creationTimestamp: vm.createdAt,
      ...(vm.labels === undefined ? {} : { labels: { ...vm.labels } }),
      shieldedInstanceConfig: { ...vm.shieldedInstanceConfig },
      shieldedInstanceIntegrityPolicy: { ...vm.policy },
      ...(vm.lastStartTimestamp === undefined ? {} : { lastStartTimestamp: vm.lastStartTimestamp }),
      ...(vm.lastStopTimestamp === undefined ? {} : { lastStopTimestamp: vm.lastStopTimestamp }),
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
      if ((method === 'start' || method === 'stop') && TRANSITIONAL.has(vm.status)) {
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
 * The part of Compute's list filter syntax a test needs: terms `field = value`, `field != value`,
 * `field eq regex`, `field ne regex`, optionally in parentheses, joined by spaces or AND. The field
 * is a dotted path into the instance (`status`, `name`, `labels.env`). Anything else is a 400.
 */
function compileFilter(filter: string | undefined): (i: ComputeInstance) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const term = /\(?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|=|\beq\b|\bne\b)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)\s*\)?/y;
  const tests: ((i: ComputeInstance) => boolean)[] = [];
  let pos = 0;
  const text = filter.trim();
  while (pos < text.length) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (m === null) throw computeError(400, 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`);
    const [, field = '', op = '', raw = ''] = m;
    const value = /^["']/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    const read = (i: ComputeInstance): string | undefined => {
      let cur: unknown = i;
      for (const part of field.split('.')) {
        if (typeof cur !== 'object' || cur === null) return undefined;
        cur = (cur as Record<string, unknown>)[part];
      }
      return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : undefined;
    };
    if (op === '=' || op === '!=') {
      tests.push((i) => (read(i) === value) === (op === '='));
    } else {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${value})$`);
      } catch {
        throw computeError(400, 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid regular expression.`);
      }
      tests.push((i) => {
        const v = read(i);
        return (v !== undefined && re.test(v)) === (op === 'eq');
      });
    }
    pos = term.lastIndex;
    const and = /\s*(?:AND\s+)?/y;
    and.lastIndex = pos;
    and.exec(text);
    pos = and.lastIndex;
  }
  return (i) => tests.every((t) => t(i));
}
