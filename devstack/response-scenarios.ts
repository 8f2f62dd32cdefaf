/**
 * The response workflow in the local stack: where its YAML is, and workflow arguments for each
 * path, built the way the function builds them (parse → decide → responseArgument). Shared by the
 * tests and the benchmark.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { isAlreadyExists } from '../adapters/gcp/firestore-client.js';
import { baselineToDocument, newBaseline, type Baseline } from '../core/baseline.js';
import { holdInstead } from '../core/blast-radius.js';
import { eventKeyOf, RESPONSE_WORKFLOW_ID, responseArgument, type ResponseArgument, type ResponseCollections } from '../core/contracts.js';
import { decide, lookupOf } from '../core/decide.js';
import type { InstanceRef, IntegrityEvent } from '../core/event.js';
import type { Measurement } from '../core/measurements.js';
import { parseEnvelope } from '../core/parse.js';
import { bootReportEntry, linuxBoot, nanosecondsLater } from './entries.js';

/** workflows/integrity-response.workflows.yaml of this checkout (from the sources or from dist/). */
export function responseWorkflowFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'workflows', `${RESPONSE_WORKFLOW_ID}.workflows.yaml`);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`workflows/${RESPONSE_WORKFLOW_ID}.workflows.yaml not found above ${fileURLToPath(import.meta.url)}`);
}

/**
 * The scenarios' reports are logged at 2026-11-01T10:00:00.123456789Z (devstack/entries.ts). A run
 * of them starts its clock a little after, and its VMs started a little before, as Compute writes
 * `lastStartTimestamp` (a VM started after a report makes the report stale).
 */
export const SCENARIO_CLOCK_START = Date.parse('2026-11-01T10:00:05Z');
export const SCENARIO_VM_STARTED = '2026-11-01T01:59:40.872-08:00';

export const POLICY_BOOT = linuxBoot('linux-6.1.0-25-amd64');
export const NEW_BOOT = linuxBoot('linux-6.1.0-26-amd64');
/** A kernel approved before: the relearn scenarios' measurements (fileBaseline files them). */
export const KNOWN_BOOT = linuxBoot('linux-6.1.0-27-amd64');

export interface Scenario {
  readonly event: IntegrityEvent;
  readonly argument: ResponseArgument;
  /** The baseline that makes the report known-good (relearn scenarios), or the one an approval promotes. */
  readonly baseline: Baseline;
}

/**
 * A failed late-boot report of `instance` at boot `bootCounter`: its measurements are a known
 * baseline for `relearn` (KNOWN_BOOT by default), unknown for `stop` and `hold` (NEW_BOOT) (a stop the blast-radius guard turned
 * down: its per-fingerprint limit of 3 was reached); `dryRun` makes either a notify.
 */
export function scenario(
  kind: 'relearn' | 'stop' | 'hold',
  options: {
    instance: InstanceRef;
    bootCounter: number;
    collections: ResponseCollections;
    dryRun?: boolean;
    actual?: readonly Measurement[];
    timestamp?: string;
    /** When the function decided (default: a second and a half after the report). */
    decidedAt?: string;
  },
): Scenario {
  const actual = options.actual ?? (kind === 'relearn' ? KNOWN_BOOT : NEW_BOOT);
  const entry = bootReportEntry('lateBootReportEvent', {
    instance: options.instance,
    bootCounter: options.bootCounter,
    actual,
    policy: POLICY_BOOT,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  const parsed = parseEnvelope(entry);
  if (!parsed.ok) throw new Error(`scenario entry rejected: ${parsed.rejection.message}`);
  const event = parsed.event;
  const baseline = newBaseline(actual, { addedBy: 'test', addedAt: '2026-11-01T00:00:00.000Z', sourceEntry: null, note: null });
  const lookup = kind === 'relearn' ? lookupOf({ id: baseline.id, baseline }) : lookupOf();
  const decided = decide(event, lookup, { dryRun: options.dryRun ?? false, stopOnEarlyBootFailure: false });
  const decision =
    kind === 'hold'
      ? holdInstead(decided, { scope: 'fingerprint', limit: 3, windowSeconds: 3600, windowStart: '2026-11-01T10:00:00.000Z' })
      : decided;
  const argument = responseArgument(event, decision, {
    eventKey: eventKeyOf(event.entry),
    decidedAt: options.decidedAt ?? nanosecondsLater(event.entry.timestamp, 1_500_000_000n, 3),
    collections: options.collections,
  });
  return { event, argument, baseline };
}

/**
 * Files the scenario's baseline in the collection the workflow reads (a relearn re-reads it), as
 * `bootwarden baselines add` would. Create-once: a baseline already there is left as it is.
 */
export async function fileBaseline(db: Firestore, collections: ResponseCollections, s: Scenario): Promise<void> {
  try {
    await db.collection(collections.baselines).doc(s.baseline.id).create(baselineToDocument(s.baseline));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}
