/**
 * The decision: what to do about one integrity event. Pure and deterministic: the same event,
 * baselines and policy always give the same decision.
 *
 * The default policy is the tutorial's `relearn_if_known_good`, made exact: act on failed
 * late-boot reports only; relearn when the measurements are a known-good baseline, otherwise
 * stop the VM. Early-boot failures are left to the late-boot report of the same boot (relearning
 * on an early-boot report would also bless late-boot measurements nobody has checked), unless the
 * policy says to stop on them. Dry-run turns every action into a notification.
 */
import type { Baseline } from './baseline.js';
import type { HeldBy } from './blast-radius.js';
import { isBootReport, type IntegrityEvent } from './event.js';
import {
  describeDiff,
  diffMeasurements,
  fingerprint,
  isFingerprint,
  sameMeasurements,
  type Measurement,
  type MeasurementDiff,
} from './measurements.js';
import type { BaselineStore, StoredBaseline } from './ports/baseline-store.port.js';

export interface DecisionPolicy {
  /** Also stop VMs whose early-boot report fails (default: wait for the late-boot report). */
  readonly stopOnEarlyBootFailure: boolean;
  /** Decide and notify, never stop or relearn. */
  readonly dryRun: boolean;
}

export const DEFAULT_POLICY: DecisionPolicy = { stopOnEarlyBootFailure: false, dryRun: false };

/** `hold`: a stop the blast-radius guard (core/blast-radius.ts) turned down; the VM keeps running and waits for operators. */
export type Action = 'ignore' | 'relearn' | 'stop' | 'hold' | 'notify';

export const REASON_CODES = [
  'unknown_event_kind',
  'not_a_boot_report',
  'launch_attestation_not_handled',
  'policy_passed',
  'early_boot_deferred',
  'early_boot_failed',
  'known_good',
  'unknown_measurements',
  'baseline_document_invalid',
  /** A passing report after a relearn, with other measurements than were relearned (core/relearn-check.ts). */
  'relearn_mismatch',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Decision {
  readonly action: Action;
  /** For `notify` (dry-run) and `hold`: what would have been done. Otherwise equal to `action` or null for ignore. */
  readonly intendedAction: 'relearn' | 'stop' | null;
  readonly reasonCode: ReasonCode;
  readonly reason: string;
  /** Fingerprint of the report's actual measurements (boot reports only). */
  readonly fingerprint: string | null;
  /** The matching baseline's document id. */
  readonly baselineId: string | null;
  /** The report's actual measurements against the VM's policy measurements. */
  readonly diff: MeasurementDiff | null;
  readonly dryRun: boolean;
  /** Set on a `hold`: which limit of the blast-radius guard kept the VM running. */
  readonly heldBy?: HeldBy;
  /** Set by the blast-radius guard on a stop or hold: the ids of the stop slots the event holds. */
  readonly stopSlots?: readonly string[];
}

/**
 * What decide may know about baselines: the document filed under a fingerprint, and the documents
 * under other ids (the tutorial's `baseline1`, auto-ids) that were found by their PCR values.
 */
export interface BaselineLookup {
  byFingerprint(fp: string): StoredBaseline | null | undefined;
  /** Valid baselines not keyed by their fingerprint whose measurements are exactly these. */
  underOtherIds(measurements: readonly Measurement[]): readonly Baseline[];
}

export function lookupOf(...stored: (StoredBaseline | null)[]): BaselineLookup {
  const docs = stored.filter((s): s is StoredBaseline => s !== null);
  const byId = new Map(docs.map((s) => [s.id, s]));
  return {
    byFingerprint: (fp) => byId.get(fp),
    underOtherIds: (ms) => {
      const fp = fingerprint(ms);
      return docs.flatMap((s) => ('baseline' in s && s.id !== fp && sameMeasurements(ms, s.baseline.measurements) ? [s.baseline] : []));
    },
  };
}

/** Fingerprint ids are long; people need the first 12 hex digits (the full id is in `baselineId`). */
function shortId(id: string): string {
  return isFingerprint(id) ? `${id.slice(0, 12)}…` : id;
}

function ignore(reasonCode: ReasonCode, reason: string, extra: Partial<Decision> = {}): Decision {
  return {
    action: 'ignore',
    intendedAction: null,
    reasonCode,
    reason,
    fingerprint: null,
    baselineId: null,
    diff: null,
    dryRun: false,
    ...extra,
  };
}

function act(
  action: 'relearn' | 'stop',
  reasonCode: ReasonCode,
  reason: string,
  policy: DecisionPolicy,
  extra: Pick<Decision, 'fingerprint' | 'baselineId' | 'diff'>,
): Decision {
  if (policy.dryRun) {
    return { action: 'notify', intendedAction: action, reasonCode, reason: `dry-run, would ${action}: ${reason}`, dryRun: true, ...extra };
  }
  return { action, intendedAction: action, reasonCode, reason, dryRun: false, ...extra };
}

/** Does `stored` hold exactly these measurements? Guards against a document filed under the wrong id. */
function matchingBaseline(
  stored: StoredBaseline | null | undefined,
  measurements: Parameters<typeof sameMeasurements>[0],
): Baseline | string | null {
  if (stored === null || stored === undefined) return null;
  if ('invalid' in stored) return `baseline document ${stored.id} is invalid (${stored.invalid.message})`;
  if (!sameMeasurements(measurements, stored.baseline.measurements)) {
    return `baseline document ${stored.id} is filed under this fingerprint but holds other measurements`;
  }
  return stored.baseline;
}

export function decide(event: IntegrityEvent, baselines: BaselineLookup, policy: DecisionPolicy = DEFAULT_POLICY): Decision {
  if (event.kind === 'unknown') {
    const keys = event.eventKeys.length > 0 ? event.eventKeys.join(', ') : 'none';
    return ignore('unknown_event_kind', `not an event kind bootwarden knows (payload keys: ${keys})`);
  }
  if (event.kind === 'sevLaunchAttestationReportEvent') {
    const passed = event.integrityEvaluationPassed;
    const verdict = passed === false ? 'failed' : passed === true ? 'passed' : 'reported without a verdict';
    return ignore('launch_attestation_not_handled', `Confidential VM launch attestation ${verdict}; bootwarden acts on boot reports only`);
  }
  if (!isBootReport(event)) return ignore('not_a_boot_report', `${event.kind} needs no action`);

  const { report } = event;
  const fp = fingerprint(report.actualMeasurements);
  const diff = diffMeasurements(report.policyMeasurements, report.actualMeasurements);
  const facts = { fingerprint: fp, diff };
  if (report.policyEvaluationPassed) {
    return ignore(
      'policy_passed',
      `${event.kind === 'lateBootReportEvent' ? 'late' : 'early'}-boot report passed the integrity policy`,
      facts,
    );
  }
  if (event.kind === 'earlyBootReportEvent') {
    if (!policy.stopOnEarlyBootFailure) {
      return ignore(
        'early_boot_deferred',
        `early-boot report failed (${describeDiff(diff)}); acting on the late-boot report of this boot`,
        facts,
      );
    }
    return act(
      'stop',
      'early_boot_failed',
      `early-boot report failed (${describeDiff(diff)}) and the policy stops on early-boot failures`,
      policy,
      {
        ...facts,
        baselineId: null,
      },
    );
  }
  const filed = baselines.byFingerprint(fp);
  const match = matchingBaseline(filed, report.actualMeasurements);
  if (match === null && (filed === null || filed === undefined)) {
    // A tutorial user's document (`baseline1`, an auto-id): known-good whatever its id.
    const other = baselines.underOtherIds(report.actualMeasurements)[0];
    if (other !== undefined) {
      return act(
        'relearn',
        'known_good',
        `late-boot measurements match known-good baseline ${other.id}, a document not keyed by its fingerprint (\`bootwarden baselines import\` re-keys it) (${describeDiff(diff)})`,
        policy,
        { ...facts, baselineId: other.id },
      );
    }
  }
  if (typeof match === 'string') {
    return act('stop', 'baseline_document_invalid', `late-boot report failed (${describeDiff(diff)}); ${match}`, policy, {
      ...facts,
      baselineId: null,
    });
  }
  if (match !== null) {
    return act(
      'relearn',
      'known_good',
      `late-boot measurements match known-good baseline ${shortId(match.id)} (${describeDiff(diff)})`,
      policy,
      {
        ...facts,
        baselineId: match.id,
      },
    );
  }
  return act('stop', 'unknown_measurements', `late-boot measurements are not a known-good baseline (${describeDiff(diff)})`, policy, {
    ...facts,
    baselineId: null,
  });
}

/** The one read decide needs: the baseline filed under the failed late-boot report's fingerprint. */
export function baselineIdToRead(event: IntegrityEvent): string | null {
  if (event.kind !== 'lateBootReportEvent' || event.report.policyEvaluationPassed) return null;
  return fingerprint(event.report.actualMeasurements);
}

/**
 * decide() against a store: one document read by fingerprint, and only when there is none, one
 * indexed look-up of documents with the same PCR values under other ids. At most two reads.
 */
export async function decideWithStore(
  event: IntegrityEvent,
  store: Pick<BaselineStore, 'get' | 'withMeasurements'>,
  policy: DecisionPolicy = DEFAULT_POLICY,
): Promise<Decision> {
  const id = baselineIdToRead(event);
  if (id === null || event.kind !== 'lateBootReportEvent') return decide(event, lookupOf(), policy);
  const stored = await store.get(id);
  const others = stored === null ? await store.withMeasurements(event.report.actualMeasurements) : [];
  return decide(event, lookupOf(stored, ...others), policy);
}
