/**
 * Test doubles for the local Workflows engine's standard library: a manual clock (time moves only
 * when a test says so), a CallContext that records what the library billed and logged, a way to
 * call a StdFunction with `args:` by name as a `call:` step would, and a loopback HTTP fake that
 * records what it was asked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  CallContext,
  CallbackHub,
  Clock,
  ExecutionInfo,
  LogRecord,
  StdFunction,
  StepKind,
  TokenSource,
} from '../../src/run/runtime.js';
import { Bytes, fromPlain, WorkflowError, type Value } from '../../src/run/values.js';

interface Sleeper {
  readonly due: number;
  readonly wake: () => void;
}

/** A Clock whose time moves only with advance(); sleeps wake in due order. */
export class ManualClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];

  constructor(start = Date.UTC(2026, 10, 1, 9, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      if (ms <= 0) return resolve();
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason as Error);
      };
      const sleeper: Sleeper = {
        due: this.t + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Sleeps not yet woken or aborted. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Moves time forward, wakes every sleep now due, and lets the woken code run. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.due <= this.t).sort((a, b) => a.due - b.due);
    this.sleepers = this.sleepers.filter((s) => s.due > this.t);
    for (const s of due) s.wake();
    await settle();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function executionInfo(id: string, workflowId = 'integrity-response'): ExecutionInfo {
  return {
    id,
    name: `projects/demo-bootwarden/locations/us-central1/workflows/${workflowId}/executions/${id}`,
    workflowId,
    projectId: 'demo-bootwarden',
    location: 'us-central1',
  };
}

const noCallbacks: CallbackHub = {
  create: () => Promise.reject(new Error('no callback hub in this test')),
  await: () => Promise.reject(new Error('no callback hub in this test')),
};

const noTokens: TokenSource = { token: () => Promise.reject(new Error('no token source in this test')) };

export interface FakeContextOptions {
  readonly clock?: Clock;
  readonly execution?: ExecutionInfo;
  readonly signal?: AbortSignal;
  readonly callbacks?: CallbackHub;
  readonly tokens?: TokenSource;
}

export interface FakeContext {
  readonly ctx: CallContext;
  /** How many times the step was billed as external. */
  readonly external: () => number;
  readonly logs: LogRecord[];
  readonly steps: StepKind[];
}

export function fakeContext(options: FakeContextOptions = {}): FakeContext {
  let external = 0;
  const logs: LogRecord[] = [];
  const steps: StepKind[] = [];
  const ctx: CallContext = {
    execution: options.execution ?? executionInfo('exec-1'),
    clock: options.clock ?? new ManualClock(),
    signal: options.signal ?? new AbortController().signal,
    env: new Map(),
    callbacks: options.callbacks ?? noCallbacks,
    tokens: options.tokens ?? noTokens,
    log: (r) => logs.push(r),
    countStep: (k) => steps.push(k),
    billAsExternal: () => void external++,
  };
  return { ctx, external: () => external, logs, steps };
}

/** Calls a StdFunction the way a `call:` step maps its `args:` map onto `params`. */
export async function callStep(fn: StdFunction, args: Readonly<Record<string, unknown>>, ctx: CallContext): Promise<Value> {
  for (const k of Object.keys(args)) if (!fn.params.includes(k)) throw new Error(`${fn.name} has no parameter ${k}`);
  const positional = fn.params.map((p) => (p in args ? toValue(args[p]) : undefined));
  return await fn.call(positional, ctx);
}

/** Plain test data to a Value; Values (maps, bytes, bigints) inside it are kept as they are. */
function toValue(x: unknown): Value {
  if (x instanceof Map || x instanceof Bytes || typeof x === 'bigint') return x as Value;
  if (Array.isArray(x)) return x.map(toValue);
  if (typeof x === 'object' && x !== null) return new Map(Object.entries(x).map(([k, v]) => [k, toValue(v)]));
  return fromPlain(x);
}

/** The error map a call raised (fails the test when it did not raise one). */
export async function raised(p: Promise<unknown>): Promise<Map<string, Value>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WorkflowError && e.value instanceof Map) return e.value;
    throw e;
  }
  throw new Error('expected the call to raise');
}

export function find(fns: readonly StdFunction[], name: string): StdFunction {
  const f = fns.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no function ${name}`);
  return f;
}

// ---------------------------------------------------------------------------------------------

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type FakeHandler = (req: RecordedRequest, res: http.ServerResponse) => void;

export interface FakeServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Replaces how the fake answers. */
  respond(handler: FakeHandler): void;
  close(): Promise<void>;
}

/** A loopback HTTP server that records every request, then answers with the current handler. */
export async function startFake(handler: FakeHandler = (_req, res) => res.end()): Promise<FakeServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      current(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond: (h) => void (current = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
