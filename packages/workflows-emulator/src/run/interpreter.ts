/**
 * Runs a loaded Program: steps, jumps, scopes, subworkflows, retries, parallel branches, and the
 * billable step count (https://cloud.google.com/workflows/pricing: every step executed or failed,
 * every retry attempt, every connector poll; internal unless the step calls a host outside
 * Google's API domains).
 *
 * One execution is one chain of promises: a waiting execution holds no thread, only its frames.
 */
import { evaluate, index, member, type Environment } from './evaluate.js';
import type {
  Block,
  CallStep,
  ForLoop,
  Origin,
  ParallelStep,
  Program,
  RetryPolicy,
  Step,
  Subworkflow,
  Target,
  Template,
  TryStep,
} from '../load/program.js';
import { NAMED_RETRY_POLICIES } from '../stdlib/http.js';
import type { CallContext, ConnectorTable, FunctionTable, LogRecord, StepKind } from './runtime.js';
import { errorMap, isMap, raise, sizeOf, toDouble, typeName, WorkflowError, type Value } from './values.js';

/** https://cloud.google.com/workflows/quotas: variable memory, call depth, parallel nesting. */
export const LIMITS = {
  variableBytes: 512 * 1024,
  callDepth: 20,
  parallelDepth: 2,
  maxStepsRecorded: 10_000,
  maxLogsRecorded: 1_000,
} as const;

export interface StepTaken {
  readonly step: string;
  readonly subworkflow: string;
  readonly line: number;
}

export interface Billing {
  internal: number;
  external: number;
  /** Of the internal steps, the connectors' operation polls. */
  polls: number;
}

function notEmulated(callee: string): never {
  return raise('NotEmulatedError', `${callee} is not emulated by the local engine: it runs on Google only (loading warned of it)`);
}

/** Thrown when the execution is cancelled; not catchable by `except`. */
export class CancelledError extends Error {
  constructor() {
    super('the execution was cancelled');
    this.name = 'CancelledError';
  }
}

type Flow =
  | undefined
  | { readonly k: 'jump'; readonly to: string }
  | { readonly k: 'break' }
  | { readonly k: 'continue' }
  | { readonly k: 'end' }
  | { readonly k: 'return'; readonly v: Value };

const BREAK: Flow = { k: 'break' };
const CONTINUE: Flow = { k: 'continue' };
const END: Flow = { k: 'end' };

function flowOf(next: string): Flow {
  return next === 'end' ? END : next === 'break' ? BREAK : next === 'continue' ? CONTINUE : { k: 'jump', to: next };
}

/**
 * Serialises the assignments of the branches of one parallel step: each assignment (evaluating its
 * expression, then storing) runs whole before another branch's starts, so a branch that reads and
 * writes a shared variable (`list.concat(shared, x)`, `n + 1`) never overwrites another branch's
 * completed assignment with a value computed from a stale read.
 */
class AssignmentLock {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /**
   * Runs `fn` holding the lock. Uncontended and synchronous, it runs without yielding, so an
   * assign step of plain expressions stays atomic as a whole.
   */
  run(fn: () => void | Promise<void>): void | Promise<void> {
    if (this.held) return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.holding(fn));
    this.held = true;
    return this.holding(fn);
  }

  private holding(fn: () => void | Promise<void>): void | Promise<void> {
    let out: void | Promise<void>;
    try {
      out = fn();
    } catch (e) {
      this.release();
      throw e;
    }
    if (!(out instanceof Promise)) {
      this.release();
      return;
    }
    return out.finally(() => this.release());
  }

  /** Hands the lock to the next waiter (still held), or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.held = false;
    else next();
  }
}

/** Variables of one scope; lookups and assignments walk up to the subworkflow's frame. */
class Frame {
  readonly vars = new Map<string, Value>();
  constructor(
    readonly parent: Frame | undefined,
    readonly kind: 'subworkflow' | 'for' | 'except' | 'branch',
    readonly shared?: ReadonlySet<string>,
    /** On a branch frame: the lock of the outermost parallel step of this subworkflow. */
    readonly lock?: AssignmentLock,
  ) {}

  /** The lock an assignment here takes: the outermost parallel step's, or none outside branches. */
  assignmentLock(): AssignmentLock | undefined {
    let lock = this.lock;
    for (let f = this.parent; f !== undefined; f = f.parent) lock = f.lock ?? lock;
    return lock;
  }

  find(name: string): Frame | undefined {
    let f: Frame | undefined = this.vars.has(name) ? this : this.parent;
    while (f !== undefined && !f.vars.has(name)) f = f.parent;
    return f;
  }

  /**
   * Where an assignment to `name` goes: the frame that has it, else this one. A variable created
   * inside an `except` block belongs to that block (syntax reference, catching errors).
   */
  owner(name: string): Frame {
    if (this.vars.has(name)) return this;
    if (!(this.kind === 'branch' && !this.shared?.has(name))) {
      // A branch writes parent variables only through `shared` (checked at load time too).
      for (let f = this.parent; f !== undefined; f = f.parent) {
        if (f.vars.has(name)) return f;
        if (f.kind === 'branch' && !f.shared?.has(name)) break;
      }
    }
    return this;
  }
}

export interface RunOptions {
  readonly functions: FunctionTable;
  readonly connectors: ConnectorTable;
  /** Everything of the call context except what the interpreter provides. */
  readonly context: Omit<CallContext, 'countStep' | 'billAsExternal' | 'log'>;
  readonly onLog?: (record: LogRecord) => void;
  /** Called after each step starts, with the step (for `status.currentSteps`). */
  readonly onStep?: (step: StepTaken) => void;
}

/** One run of a program; `billing`, `steps` and `logs` fill in as it goes. */
export class Run {
  readonly billing: Billing = { internal: 0, external: 0, polls: 0 };
  readonly steps: StepTaken[] = [];
  stepsTruncated = false;
  readonly logs: LogRecord[] = [];
  private currentKind: { kind: StepKind } = { kind: 'internal' };

  constructor(
    private readonly program: Program,
    private readonly options: RunOptions,
  ) {}

  /** Runs `main` with the argument (null when none) and returns its result. */
  async run(argument: Value): Promise<Value> {
    const main = this.program.main;
    const args = new Map<string, Value>();
    const first = main.params[0];
    if (first !== undefined) args.set(first.name, argument);
    return this.callSubworkflow(main, args, 0);
  }

  private get signal(): AbortSignal {
    return this.options.context.signal;
  }

  private context(): CallContext {
    const kind = this.currentKind;
    return {
      ...this.options.context,
      countStep: (k) => {
        // Connectors bill their operation polls this way.
        this.count(k);
        this.billing.polls++;
      },
      billAsExternal: () => {
        if (kind.kind === 'internal') {
          kind.kind = 'external';
          this.billing.internal--;
          this.billing.external++;
        }
      },
      log: (record) => {
        if (this.logs.length < LIMITS.maxLogsRecorded) this.logs.push(record);
        this.options.onLog?.(record);
      },
    };
  }

  private count(kind: StepKind): void {
    this.billing[kind]++;
  }

  private enterStep(step: Step): void {
    if (this.signal.aborted) throw new CancelledError();
    this.count('internal');
    this.currentKind = { kind: 'internal' };
    const taken = { step: step.name, subworkflow: step.origin.subworkflow, line: step.origin.line };
    if (this.steps.length < LIMITS.maxStepsRecorded) this.steps.push(taken);
    else this.stepsTruncated = true;
    this.options.onStep?.(taken);
  }

  private async callSubworkflow(sub: Subworkflow, args: ReadonlyMap<string, Value>, depth: number): Promise<Value> {
    if (depth >= LIMITS.callDepth) raise('RecursionError', `maximum call depth of ${LIMITS.callDepth} exceeded calling '${sub.name}'`);
    const frame = new Frame(undefined, 'subworkflow');
    for (const [name] of args) {
      if (!sub.params.some((p) => p.name === name)) raise('TypeError', `subworkflow '${sub.name}' has no parameter '${name}'`);
    }
    for (const p of sub.params) {
      const given = args.get(p.name);
      if (given !== undefined) frame.vars.set(p.name, given);
      else if (p.default !== undefined) frame.vars.set(p.name, await this.value(p.default, frame, depth));
      else raise('TypeError', `subworkflow '${sub.name}' needs the argument '${p.name}'`);
    }
    const flow = await this.block(sub.body, frame, depth);
    return flow?.k === 'return' ? flow.v : null;
  }

  private async block(block: Block, frame: Frame, depth: number): Promise<Flow> {
    const steps = block.steps;
    let i = 0;
    while (i < steps.length) {
      const step = steps[i] as Step;
      let flow = await this.step(step, frame, depth);
      if (flow === undefined && step.next !== undefined) flow = flowOf(step.next);
      if (flow === undefined) {
        i++;
        continue;
      }
      if (flow.k === 'jump') {
        const at = block.positions.get(flow.to);
        if (at !== undefined) {
          i = at;
          continue;
        }
      }
      return flow;
    }
    return undefined;
  }

  private async step(step: Step, frame: Frame, depth: number): Promise<Flow> {
    if (step.inline !== true) this.enterStep(step);
    try {
      return await this.stepBody(step, frame, depth);
    } catch (e) {
      throw located(e, step.origin);
    }
  }

  private async stepBody(step: Step, frame: Frame, depth: number): Promise<Flow> {
    switch (step.kind) {
      case 'assign': {
        const lock = frame.assignmentLock();
        for (const a of step.assignments) {
          const one = (): void | Promise<void> => {
            const v = this.value(a.value, frame, depth);
            return v instanceof Promise ? v.then((w) => this.assign(a.target, w, frame, depth)) : this.assign(a.target, v, frame, depth);
          };
          // Without awaiting plain values: an assign step of plain expressions is atomic. In a
          // parallel branch each assignment is atomic too (parallel steps page, shared variables).
          const done = lock === undefined ? one() : lock.run(one);
          if (done instanceof Promise) await done;
        }
        return undefined;
      }
      case 'call': {
        const result = await this.call(step, frame, depth);
        if (step.result === undefined) return undefined;
        const target = { variable: step.result, path: [], src: step.result };
        const lock = frame.assignmentLock();
        if (lock === undefined) await this.assign(target, result, frame, depth);
        else await lock.run(() => this.assign(target, result, frame, depth));
        return undefined;
      }
      case 'switch':
        for (const c of step.conditions) {
          const v = await this.value(c.condition, frame, depth);
          if (typeof v !== 'boolean') raise('TypeError', `a switch condition must be a boolean, got ${typeName(v)}`);
          if (!v) continue;
          const flow = c.body === undefined ? undefined : await this.step(c.body, frame, depth);
          return flow ?? (c.next === undefined ? undefined : flowOf(c.next));
        }
        return undefined;
      case 'for':
        return this.forLoop(step.loop, frame, depth);
      case 'parallel':
        await this.parallel(step, frame, depth);
        return undefined;
      case 'raise':
        throw new WorkflowError(await this.value(step.value, frame, depth));
      case 'return':
        return { k: 'return', v: await this.value(step.value, frame, depth) };
      case 'try':
        return this.try(step, frame, depth);
      case 'steps':
        return this.block(step.body, frame, depth);
      case 'next':
        return undefined;
    }
  }

  // -- values ----------------------------------------------------------------------------------

  private environment(frame: Frame, depth: number): Environment {
    return {
      lookup: (name) => {
        const f = frame.find(name);
        if (f === undefined) raise('KeyError', `variable '${name}' is not defined here`);
        return f.vars.get(name) as Value;
      },
      call: (callee, args) => this.callFunction(callee, args, depth),
    };
  }

  private value(t: Template, frame: Frame, depth: number): Value | Promise<Value> {
    return t.t === 'const' ? t.v : evaluate(t.e, this.environment(frame, depth));
  }

  /** Synchronous unless an index expression calls something asynchronous. */
  private assign(target: Target, value: Value, frame: Frame, depth: number): void | Promise<void> {
    if (sizeOf(value) > LIMITS.variableBytes) {
      raise(
        'ResourceLimitError',
        `the value assigned to '${target.src}' is larger than the ${LIMITS.variableBytes / 1024} KB memory limit`,
      );
    }
    const keys = target.path.map((p) => ('key' in p ? p.key : evaluate(p.index, this.environment(frame, depth))));
    if (keys.some((k) => k instanceof Promise)) {
      return Promise.all(keys.map((k) => Promise.resolve(k))).then((ks) => this.store(target, value, ks, frame));
    }
    this.store(target, value, keys as Value[], frame);
  }

  private store(target: Target, value: Value, keys: readonly Value[], frame: Frame): void {
    const owner = frame.owner(target.variable);
    if (keys.length === 0) {
      owner.vars.set(target.variable, value);
      return;
    }
    const root = owner.vars.get(target.variable);
    if (root === undefined) raise('KeyError', `variable '${target.variable}' is not defined here`);
    for (const k of keys) {
      if (typeof k !== 'string' && typeof k !== 'bigint')
        raise('TypeError', `an index in '${target.src}' must be a string or an integer, got ${typeName(k)}`);
    }
    owner.vars.set(target.variable, setPath(root, keys as (string | bigint)[], 0, value, target.src));
  }

  // -- calls -------------------------------------------------------------------------------------

  private async callFunction(callee: string, args: Value[], depth: number): Promise<Value> {
    const sub = this.program.subworkflows.get(callee);
    if (sub !== undefined) {
      if (args.length > sub.params.length) raise('TypeError', `subworkflow '${callee}' takes at most ${sub.params.length} arguments`);
      return this.callSubworkflow(sub, new Map(args.map((a, i) => [(sub.params[i] as { name: string }).name, a])), depth + 1);
    }
    const f = this.options.functions.get(callee);
    // Loading refuses unknown names; what remains is what loading warned is not emulated here.
    if (f === undefined) return notEmulated(callee);
    if (args.length < f.required || (!f.variadic && args.length > f.params.length)) {
      const range = f.required === f.params.length ? `${f.required}` : `${f.required} to ${f.params.length}`;
      raise('TypeError', `${callee} takes ${range} arguments, got ${args.length}`);
    }
    return guard(callee, () => f.call(args, this.context()));
  }

  private async call(step: CallStep, frame: Frame, depth: number): Promise<Value> {
    const args = new Map<string, Value>();
    for (const [k, t] of step.args) args.set(k, await this.value(t, frame, depth));
    if (step.calleeKind === 'subworkflow') {
      return this.callSubworkflow(this.program.subworkflows.get(step.callee) as Subworkflow, args, depth + 1);
    }
    if (step.calleeKind === 'connector') {
      const c = this.options.connectors.get(step.callee);
      if (c === undefined)
        return raise(
          'NotEmulatedError',
          `${step.callee} is not emulated by the local engine: it runs on Google only (loading warned of it)`,
        );
      return guard(step.callee, () => c.call(args, this.context()));
    }
    const f = this.options.functions.get(step.callee);
    if (f === undefined) return notEmulated(step.callee);
    const positional = f.params.map((p) => args.get(p));
    while (positional.length > 0 && positional[positional.length - 1] === undefined) positional.pop();
    for (let i = 0; i < f.required; i++) {
      if (positional[i] === undefined) raise('TypeError', `${step.callee} needs the argument '${f.params[i] ?? i}'`);
    }
    return guard(step.callee, () => f.call(positional, this.context()));
  }

  // -- loops, parallel, try --------------------------------------------------------------------

  private async iterations(loop: ForLoop, frame: Frame, depth: number): Promise<{ values: Value[]; indexed: boolean }> {
    if (loop.in !== undefined) {
      const list = await this.value(loop.in, frame, depth);
      if (!Array.isArray(list)) {
        raise(
          'TypeError',
          `'for: in' needs a list, got ${typeName(list)}${list !== null && isMap(list) ? ' (iterate over keys(map))' : ''}`,
        );
      }
      return { values: list, indexed: true };
    }
    const range = await this.value(loop.range as Template, frame, depth);
    if (!Array.isArray(range) || range.length !== 2) raise('TypeError', "'for: range' needs a list of two numbers [start, end]");
    const [start, end] = range as [Value, Value];
    if ((typeof start !== 'bigint' && typeof start !== 'number') || (typeof end !== 'bigint' && typeof end !== 'number')) {
      raise('TypeError', `'for: range' needs numbers, got ${typeName(start)} and ${typeName(end)}`);
    }
    const values: Value[] = [];
    if (typeof start === 'bigint' && typeof end === 'bigint') for (let v = start; v <= end; v++) values.push(v);
    else for (let v = toDouble(start); v <= toDouble(end); v++) values.push(v);
    return { values, indexed: false };
  }

  private iterationFrame(loop: ForLoop, parent: Frame, value: Value, i: number): Frame {
    const f = new Frame(parent, 'for');
    f.vars.set(loop.value, value);
    if (loop.index !== undefined) f.vars.set(loop.index, BigInt(i));
    return f;
  }

  private async forLoop(loop: ForLoop, frame: Frame, depth: number): Promise<Flow> {
    const { values } = await this.iterations(loop, frame, depth);
    for (let i = 0; i < values.length; i++) {
      const flow = await this.block(loop.body, this.iterationFrame(loop, frame, values[i] as Value, i), depth);
      if (flow === undefined || flow.k === 'continue') continue;
      if (flow.k === 'break') break;
      return flow;
    }
    return undefined;
  }

  private async parallel(step: ParallelStep, frame: Frame, depth: number): Promise<void> {
    let limit = Infinity;
    if (step.concurrencyLimit !== undefined) {
      const v = await this.value(step.concurrencyLimit, frame, depth);
      if (typeof v !== 'bigint' || v < 1n) raise('TypeError', `'concurrency_limit' must be a positive integer, got ${typeName(v)}`);
      limit = Number(v);
    }
    const shared = new Set(step.shared);
    // Nested parallel steps share the outermost one's lock: one assignment at a time in this subworkflow.
    const lock = frame.assignmentLock() ?? new AssignmentLock();
    const tasks: { id: string; run: () => Promise<Flow> }[] = [];
    if (step.branches !== undefined) {
      for (const b of step.branches)
        tasks.push({ id: b.name, run: () => this.block(b.body, new Frame(frame, 'branch', shared, lock), depth) });
    } else {
      const loop = step.loop as ForLoop;
      const { values } = await this.iterations(loop, frame, depth);
      values.forEach((v, i) => {
        tasks.push({
          id: String(i),
          run: () => this.block(loop.body, this.iterationFrame(loop, new Frame(frame, 'branch', shared, lock), v, i), depth),
        });
      });
    }
    // exception_policy continueAll: every branch runs to its end; errors are reported together.
    const errors: { id: string; error: Value }[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tasks.length) {
        const task = tasks[next++] as (typeof tasks)[number];
        try {
          const flow = await task.run();
          if (flow?.k === 'return') raise('TypeError', `'return' is not allowed inside a parallel branch (branch ${task.id})`);
        } catch (e) {
          if (!(e instanceof WorkflowError)) throw e;
          errors.push({ id: task.id, error: e.value });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    if (errors.length > 0) {
      const first = errors[0] as { error: Value };
      throw new WorkflowError(
        errorMap(
          'UnhandledBranchError',
          `${errors.length} of ${tasks.length} branches failed; the first: ${new WorkflowError(first.error).message}`,
          {
            branches: errors.map(
              (e) =>
                new Map<string, Value>([
                  ['id', e.id],
                  ['error', e.error],
                ]),
            ),
          },
        ),
      );
    }
  }

  private async try(step: TryStep, frame: Frame, depth: number): Promise<Flow> {
    let attempt = 0;
    for (;;) {
      try {
        return await this.block(step.body, frame, depth);
      } catch (e) {
        if (!(e instanceof WorkflowError)) throw e;
        if (step.retry !== undefined) {
          const delay = await this.retryDelay(step.retry, e.value, attempt, frame, depth);
          if (delay !== undefined) {
            attempt++;
            await this.options.context.clock.sleep(delay * 1000, this.signal).catch(() => {
              throw new CancelledError();
            });
            // Each retry attempt is billed as a step execution (https://cloud.google.com/workflows/pricing):
            // the try step again, internal or external like its first attempt; its body's steps bill themselves.
            this.enterStep(step);
            continue;
          }
        }
        if (step.except === undefined) throw e;
        const exceptFrame = new Frame(frame, 'except');
        if (step.except.as !== undefined) exceptFrame.vars.set(step.except.as, e.value);
        return this.block(step.except.body, exceptFrame, depth);
      }
    }
  }

  /** Seconds to wait before the next attempt, or undefined when the error is not retried. */
  private async retryDelay(policy: RetryPolicy, error: Value, attempt: number, frame: Frame, depth: number): Promise<number | undefined> {
    let predicate: string;
    let maxRetries: number;
    let initial: number;
    let max: number;
    let multiplier: number;
    if (policy.kind === 'named') {
      const p = NAMED_RETRY_POLICIES.get(policy.name) as NonNullable<ReturnType<typeof NAMED_RETRY_POLICIES.get>>;
      ({ predicate, maxRetries } = p);
      ({ initialDelay: initial, maxDelay: max, multiplier } = p.backoff);
    } else {
      predicate = policy.predicate;
      const num = async (t: Template, what: string): Promise<number> => {
        const v = await this.value(t, frame, depth);
        if ((typeof v !== 'bigint' && typeof v !== 'number') || toDouble(v) < 0)
          raise('TypeError', `retry '${what}' must be a non-negative number, got ${typeName(v)}`);
        return toDouble(v);
      };
      maxRetries = await num(policy.maxRetries, 'max_retries');
      initial = await num(policy.initialDelay, 'initial_delay');
      max = await num(policy.maxDelay, 'max_delay');
      multiplier = await num(policy.multiplier, 'multiplier');
    }
    if (attempt >= maxRetries) return undefined;
    // A predicate subworkflow or library function, called with the error as its one argument.
    const verdict = await this.callFunction(predicate, [error], depth);
    if (typeof verdict !== 'boolean') raise('TypeError', `retry predicate '${predicate}' must return a boolean, got ${typeName(verdict)}`);
    if (!verdict) return undefined;
    return Math.min(initial * multiplier ** attempt, max);
  }
}

/** Copy-on-write assignment along a path of keys and indexes. */
function setPath(container: Value, keys: readonly (string | bigint)[], i: number, value: Value, src: string): Value {
  const key = keys[i] as string | bigint;
  const last = i === keys.length - 1;
  if (Array.isArray(container)) {
    if (typeof key !== 'bigint') raise('TypeError', `'${src}': a list index must be an integer, got a string`);
    if (key < 0n || key >= BigInt(container.length))
      raise('IndexError', `'${src}': list index ${key} out of range (length ${container.length})`);
    const copy = container.slice();
    copy[Number(key)] = last ? value : setPath(index(container, key), keys, i + 1, value, src);
    return copy;
  }
  if (container !== null && isMap(container)) {
    if (typeof key !== 'string') raise('TypeError', `'${src}': a map key must be a string, got an integer`);
    const copy = new Map(container);
    // The last key may be new; intermediate keys must exist.
    copy.set(key, last ? value : setPath(member(container, key), keys, i + 1, value, src));
    return copy;
  }
  return raise('TypeError', `'${src}': cannot assign into a ${typeName(container)}`);
}

/** Unexpected JavaScript errors of library code become SystemError, so the execution fails cleanly. */
async function guard(name: string, f: () => Value | Promise<Value>): Promise<Value> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof WorkflowError || e instanceof CancelledError) throw e;
    if (e instanceof Error && e.name === 'AbortError') throw new CancelledError();
    throw new WorkflowError(
      errorMap('SystemError', `${name} failed inside the local engine: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}

/** Remembers the innermost step an error came from, for the execution's error context. */
export const errorOrigins = new WeakMap<Error, Origin>();

function located(e: unknown, origin: Origin): unknown {
  if (e instanceof Error && !errorOrigins.has(e)) errorOrigins.set(e, origin);
  return e;
}
