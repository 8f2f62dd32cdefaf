/**
 * What the interpreter gives the standard library and connectors while an execution runs, and
 * what they give back. One file of contracts so the library modules, the connectors and the
 * interpreter can be written and tested separately.
 */
import type { Value, WfMap } from './values.js';

/** Time, injectable so tests never sleep for real backoff delays or callback timeouts. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` (of this clock's time); rejects with the signal's reason when aborted.
   * `kind` says what the sleep is for: a `wait` the workflow asked for (sys.sleep, retry backoff,
   * connector polls), or a `deadline` raced against outside input (an HTTP request's timeout, a
   * callback's timeout). Real clocks treat both alike; a test clock can skip waits at once while
   * deadlines still leave outside input the time to arrive.
   */
  sleep(ms: number, signal?: AbortSignal, kind?: SleepKind): Promise<void>;
}

export type SleepKind = 'wait' | 'deadline';

/** setTimeout's ceiling (about 24.8 days); longer sleeps wait in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const until = Date.now() + ms;
      let timer: NodeJS.Timeout;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const arm = (): void => {
        const left = until - Date.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          return resolve();
        }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    }),
};

export type StepKind = 'internal' | 'external';

/** The identity local executions run as: `GOOGLE_CLOUD_SERVICE_ACCOUNT_NAME`, and the subject of local tokens. */
export const LOCAL_SERVICE_ACCOUNT = 'workflows-local@bootwarden.local';

export interface ExecutionInfo {
  readonly id: string;
  /** projects/P/locations/L/workflows/W/executions/ID */
  readonly name: string;
  readonly workflowId: string;
  readonly projectId: string;
  readonly location: string;
}

export interface LogRecord {
  readonly severity: string;
  readonly payload: Value;
  readonly time: number;
}

/** The engine's callback endpoints (events.create_callback_endpoint / events.await_callback). */
export interface CallbackHub {
  create(execution: ExecutionInfo, httpMethod: string): Promise<{ url: string }>;
  /** The `{http_request, received_time, type}` map of the next request; TimeoutError on timeout. */
  await(execution: ExecutionInfo, url: string, timeoutSeconds: number, signal: AbortSignal): Promise<Value>;
  /** Ends the callbacks of an execution that has ended: later requests to them get 404. */
  release?(executionId: string): void;
}

/** The token an `auth: {type: OIDC|OAuth2}` HTTP call or connector attaches. */
export interface TokenSource {
  token(type: 'OIDC' | 'OAuth2', audienceOrScope: string): Promise<string>;
}

export interface CallContext {
  readonly execution: ExecutionInfo;
  readonly clock: Clock;
  /** Aborted when the execution is cancelled. */
  readonly signal: AbortSignal;
  /** sys.get_env: the built-in GOOGLE_CLOUD_* variables plus the user-defined ones. */
  readonly env: ReadonlyMap<string, string>;
  readonly callbacks: CallbackHub;
  readonly tokens: TokenSource;
  log(record: LogRecord): void;
  /** Bills one more step than the interpreter counts itself: a connector's operation poll. */
  countStep(kind: StepKind): void;
  /** Bills the current step as external (an HTTP call to a host outside *.googleapis.com). */
  billAsExternal(): void;
}

/**
 * A standard library function. In an expression it gets positional arguments; as a `call:` step
 * its `args:` map is mapped onto `params` by name.
 */
export interface StdFunction {
  readonly name: string;
  /** Parameter names, in positional order. */
  readonly params: readonly string[];
  /** How many leading parameters are required. */
  readonly required: number;
  /** Accepts any number of trailing positional arguments (none of ours do yet). */
  readonly variadic?: boolean;
  /** Only usable as a `call:` step (events.await_callback, sys.sleep, http.*) — Google allows these in expressions too, except where noted. */
  readonly callOnly?: boolean;
  /** Missing optional arguments are `undefined`. */
  call(args: readonly (Value | undefined)[], ctx: CallContext): Value | Promise<Value>;
}

/** A connector method (`googleapis.<service>.<version>.<method>`), called as a `call:` step. */
export interface ConnectorMethod {
  readonly name: string;
  /** Accepted `args:` names (besides `connector_params`), for load-time checks. */
  readonly params: readonly string[];
  readonly required: readonly string[];
  call(args: WfMap, ctx: CallContext): Promise<Value>;
}

export type FunctionTable = ReadonlyMap<string, StdFunction>;
export type ConnectorTable = ReadonlyMap<string, ConnectorMethod>;

export function functionTable(...groups: readonly (readonly StdFunction[])[]): Map<string, StdFunction> {
  const table = new Map<string, StdFunction>();
  for (const f of groups.flat()) {
    if (table.has(f.name)) throw new Error(`standard library function ${f.name} is defined twice`);
    table.set(f.name, f);
  }
  return table;
}
