/**
 * Running workflow YAML in the local engine from tests: a clock that never sleeps for real, and
 * `runText` that loads, deploys, runs to the end and hands back the record with its result and
 * error already parsed.
 */
import { afterAll } from 'vitest';
import type { ComputeFleet } from '../../src/connectors/compute-fleet.js';
import type { ExecutionRecord } from '../../src/executions.js';
import { loadLocalWorkflowText, startLocalEngine, type LocalEngine } from '../../src/emulator.js';
import type { Clock } from '../../src/run/runtime.js';
import { SkipWaitsClock } from '../../src/run/clocks.js';
import type { Firestore } from '@google-cloud/firestore';

export { SkipWaitsClock as InstantClock } from '../../src/run/clocks.js';

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
  readonly instances?: ComputeFleet;
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
  return () => (engine ??= startLocalEngine({ clock: deps.clock ?? new SkipWaitsClock(), ...deps }));
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
