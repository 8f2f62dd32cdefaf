/**
 * Running workflow YAML in the local engine from tests: a clock that never sleeps for real, and
 * `runText` that loads, deploys, runs to the end and hands back the record with its result and
 * error already parsed.
 */
import { afterAll } from 'vitest';
import type { InstanceControl } from '../../core/ports/instance-control.port.js';
import type { ExecutionRecord } from '../../local/workflows/engine.js';
import { loadLocalWorkflowText, startLocalEngine, type LocalEngine } from '../../local/workflows/local-engine.js';
import { systemClock, type Clock, type SleepKind } from '../../local/workflows/runtime.js';
import type { Firestore } from '@google-cloud/firestore';

/**
 * A clock for engine tests. Waits (sys.sleep, retry backoff, connector polls) return at once, move
 * time forward and are recorded in `sleeps`. Deadlines (an HTTP request's timeout, a callback's
 * timeout) run in real time, so that a loopback answer or a callback sent by the test arrives
 * first; a test of a timeout gives the workflow a short one.
 */
export class InstantClock implements Clock {
  readonly sleeps: number[] = [];
  readonly deadlines: number[] = [];
  constructor(public time = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal, kind: SleepKind = 'wait'): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (kind === 'deadline') {
      this.deadlines.push(ms);
      await systemClock.sleep(ms, signal);
      this.time += ms;
      return;
    }
    this.sleeps.push(ms);
    this.time += ms;
    await new Promise<void>((r) => setImmediate(r));
    if (signal?.aborted) throw signal.reason;
  }
}

export interface Outcome {
  readonly record: ExecutionRecord;
  readonly state: ExecutionRecord['state'];
  /** The result, parsed from its JSON text. */
  readonly result: unknown;
  /** The error map, parsed from the payload. */
  readonly error: { tags?: string[]; message?: string; [k: string]: unknown } | null;
  readonly steps: number;
}

export function outcomeOf(record: ExecutionRecord): Outcome {
  return {
    record,
    state: record.state,
    result: record.result === undefined ? undefined : JSON.parse(record.result),
    error: record.error === undefined ? null : (JSON.parse(record.error.payload) as Outcome['error']),
    steps: record.billing.internal + record.billing.external,
  };
}

export interface EngineDeps {
  readonly clock?: Clock;
  readonly instances?: InstanceControl;
  readonly firestore?: () => Firestore;
  readonly directory?: string;
  readonly projectId?: string;
}

/** One local engine per test file (per distinct deps), closed after the file. */
export function useEngine(deps: EngineDeps = {}): () => Promise<LocalEngine> {
  let engine: Promise<LocalEngine> | undefined;
  afterAll(async () => {
    const e = engine;
    engine = undefined;
    await (await e)?.close();
  });
  return () => (engine ??= startLocalEngine({ clock: deps.clock ?? new InstantClock(), ...deps }));
}

let counter = 0;

/** Loads `yaml`, deploys it under a fresh id, runs it with `argument` and waits for the end. */
export async function runText(
  local: LocalEngine,
  yaml: string,
  options: { argument?: unknown; argumentText?: string; env?: Record<string, string>; labels?: Record<string, string> } = {},
): Promise<Outcome> {
  const program = loadLocalWorkflowText(yaml, 'test.workflows.yaml');
  const id = `w${++counter}`;
  local.engine.deploy(id, program, options.env ?? {});
  const argument = options.argumentText ?? (options.argument === undefined ? null : JSON.stringify(options.argument));
  const started = local.engine.startExecution(id, { argument, ...(options.labels ? { labels: options.labels } : {}) });
  return outcomeOf(await local.engine.wait(started.name));
}
