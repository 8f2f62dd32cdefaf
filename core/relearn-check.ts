/**
 * Verifying a relearn afterwards. `setShieldedInstanceIntegrityPolicy` learns the VM's most recent
 * boot, not the reported one: a VM that reboots between the workflow's checks and the call (or
 * whose report was not what it ran) gets another boot blessed, and since passing reports need no
 * action, nothing would notice. So after every relearn the workflow records what it relearned on
 * the VM's state (`relearned`: the fingerprint, the boot, the PCRs), and the next passing late-boot
 * reports are checked against it:
 *
 * - the same fingerprint: the relearn is verified;
 * - another fingerprint that is a known-good baseline: the VM booted into another trusted chain
 *   before the relearn; nothing to do (logged);
 * - another fingerprint that is not: the relearn blessed an unknown boot. The VM is stopped
 *   (`relearn_mismatch`, through the blast-radius guard and the approval flow like any unknown
 *   measurements), its diff taken against what was relearned.
 *
 * The check is stateless: every passing report is checked, whatever boot counter it claims, until
 * the next relearn replaces the record. A policy relearned outside bootwarden onto measurements that
 * are not a baseline is reported the same way.
 */
import { baselineFromDocument } from './baseline.js';
import { decideWithStore, type Decision, type DecisionPolicy } from './decide.js';
import type { IntegrityEvent } from './event.js';
import { isJsonObject, type JsonValue } from './json.js';
import { describeDiff, fingerprint, isFingerprint, type Measurement } from './measurements.js';
import { INT64 } from './parse.js';
import type { BaselineStore } from './ports/baseline-store.port.js';

/** What the workflow wrote after a relearn (the `relearned` field of the VM's state document). */
export interface RelearnRecord {
  readonly fingerprint: string;
  /** The boot whose report was relearned. */
  readonly bootCounter: string;
  readonly eventKey: string;
  readonly execution: string;
  readonly at: string;
  readonly measurements: readonly Measurement[];
}

/** The record as stored, or a reason it cannot be used (written by hand, or by another version). */
export function relearnRecordFrom(raw: JsonValue | undefined): RelearnRecord | string | null {
  if (raw === undefined || raw === null) return null;
  if (!isJsonObject(raw)) return 'the relearned field is not a map';
  const str = (k: string): string | null => {
    const v = raw[k];
    return typeof v === 'string' ? v : null;
  };
  const fp = str('fingerprint');
  const boot = str('bootCounter');
  if (fp === null || !isFingerprint(fp)) return 'relearned.fingerprint is not a fingerprint';
  if (boot === null || !INT64.test(boot)) return 'relearned.bootCounter is not a boot counter';
  const pcrs = baselineFromDocument('relearned.pcrs', raw['pcrs'] ?? null);
  if (!pcrs.ok) return pcrs.rejection.message;
  if (pcrs.baseline.fingerprint !== fp) return 'relearned.pcrs are not the measurements of relearned.fingerprint';
  return {
    fingerprint: fp,
    bootCounter: boot,
    eventKey: str('eventKey') ?? '',
    execution: str('execution') ?? '',
    at: str('at') ?? '',
    measurements: pcrs.baseline.measurements,
  };
}

/** What a passing late-boot report says about the VM's last relearn. */
export type RelearnCheck =
  | { readonly verdict: 'verified'; readonly record: RelearnRecord }
  | { readonly verdict: 'other_known_good'; readonly record: RelearnRecord; readonly decision: Decision }
  | { readonly verdict: 'mismatch'; readonly record: RelearnRecord; readonly decision: Decision };

/**
 * Every passing late-boot report is checked while a relearn is on record, whatever its counter:
 * a counter is a claim, and a forged higher one must not make the next genuine boot skip the check.
 */
export function needsRelearnCheck(event: IntegrityEvent): boolean {
  return event.kind === 'lateBootReportEvent' && event.report.policyEvaluationPassed && event.bootCounter !== null;
}

export async function checkRelearn(
  event: IntegrityEvent,
  record: RelearnRecord,
  baselines: Pick<BaselineStore, 'get' | 'withMeasurements'>,
  policy: DecisionPolicy,
): Promise<RelearnCheck | null> {
  if (event.kind !== 'lateBootReportEvent' || event.bootCounter === null) return null;
  const fp = fingerprint(event.report.actualMeasurements);
  if (fp === record.fingerprint) return { verdict: 'verified', record };
  // Decided as if the report had failed against what was relearned: known-good or not.
  const asFailed: IntegrityEvent = {
    ...event,
    report: { ...event.report, policyEvaluationPassed: false, policyMeasurements: record.measurements },
  };
  const d = await decideWithStore(asFailed, baselines, policy);
  const what = `boot ${event.bootCounter} passed its integrity policy with measurements ${fp.slice(0, 12)}…, not the ${record.fingerprint.slice(0, 12)}… relearned at boot ${record.bootCounter}${d.diff === null ? '' : ` (${describeDiff(d.diff)})`}`;
  if (d.intendedAction === 'relearn') {
    return {
      verdict: 'other_known_good',
      record,
      decision: {
        ...d,
        action: 'ignore',
        intendedAction: null,
        reasonCode: 'policy_passed',
        reason: `${what}; they are known-good baseline ${d.baselineId ?? ''}`,
        dryRun: false,
      },
    };
  }
  const reason = `${what}: the relearn blessed a boot nobody approved`;
  return {
    verdict: 'mismatch',
    record,
    decision: { ...d, reasonCode: 'relearn_mismatch', reason: d.dryRun ? `dry-run, would stop: ${reason}` : reason },
  };
}
