import { describe, expect, it } from 'vitest';
import { baselineFromDocument, newBaseline, type Baseline } from '../../core/baseline.js';
import { decide, decideWithStore, DEFAULT_POLICY, lookupOf, type DecisionPolicy } from '../../core/decide.js';
import type { IntegrityEvent } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint, type Measurement } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import type { BaselineStore, StoredBaseline } from '../../core/ports/baseline-store.port.js';
import { bootReportEntry, simpleEventEntry } from '../../devstack/entries.js';
import { edited, KERNEL_25, KERNEL_26, LINUX_VM, TAMPERED, WINDOWS_NOV, WINDOWS_OCT } from '../support/fixtures.js';

function event(entry: JsonObject): IntegrityEvent {
  const o = parseEnvelope(entry);
  if (!o.ok) throw new Error(o.rejection.message);
  return o.event;
}

const meta = { addedBy: 'alice', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: null };
const known26 = newBaseline(KERNEL_26, meta);
const knownWin = newBaseline(WINDOWS_NOV, meta);
const stored = (b: Baseline): StoredBaseline => ({ id: b.id, baseline: b });
const baselines = lookupOf(stored(known26), stored(knownWin));
const vm = { instance: LINUX_VM, bootCounter: 7 };
const late = (actual = KERNEL_26, policy = KERNEL_25, passed?: boolean): JsonObject =>
  bootReportEntry('lateBootReportEvent', { ...vm, actual, policy, ...(passed === undefined ? {} : { passed }) });
const early = (actual = KERNEL_26, policy = KERNEL_25): JsonObject => bootReportEntry('earlyBootReportEvent', { ...vm, actual, policy });

const ENFORCE: DecisionPolicy = DEFAULT_POLICY;
const EARLY_STOP: DecisionPolicy = { ...DEFAULT_POLICY, stopOnEarlyBootFailure: true };
const DRY: DecisionPolicy = { ...DEFAULT_POLICY, dryRun: true };

describe('decide', () => {
  it.each([
    ['failed late boot, known-good', late(), ENFORCE, 'relearn', 'known_good', known26.id],
    ['failed late boot, reordered known-good', late([...KERNEL_26].reverse()), ENFORCE, 'relearn', 'known_good', known26.id],
    ['failed late boot, Windows known-good', late(WINDOWS_NOV, WINDOWS_OCT), ENFORCE, 'relearn', 'known_good', knownWin.id],
    ['failed late boot, unknown', late(TAMPERED, KERNEL_26), ENFORCE, 'stop', 'unknown_measurements', null],
    [
      'failed late boot, known-good subset only',
      late([...KERNEL_26, { hashAlgo: 'SHA256', pcrNum: 'PCR_14', value: KERNEL_26[0]?.value ?? '' }]),
      ENFORCE,
      'stop',
      'unknown_measurements',
      null,
    ],
    ['passed late boot', late(KERNEL_25, KERNEL_25), ENFORCE, 'ignore', 'policy_passed', null],
    ['failed early boot, default policy', early(), ENFORCE, 'ignore', 'early_boot_deferred', null],
    ['failed early boot, stop-on-early-boot policy', early(), EARLY_STOP, 'stop', 'early_boot_failed', null],
    ['passed early boot, stop-on-early-boot policy', early(KERNEL_25, KERNEL_25), EARLY_STOP, 'ignore', 'policy_passed', null],
    ['failed early boot whose PCRs are known-good still stops', early(KERNEL_26), EARLY_STOP, 'stop', 'early_boot_failed', null],
    ['dry-run, known-good', late(), DRY, 'notify', 'known_good', known26.id],
    ['dry-run, unknown', late(TAMPERED, KERNEL_26), DRY, 'notify', 'unknown_measurements', null],
    ['startup event', simpleEventEntry('startupEvent', vm), ENFORCE, 'ignore', 'not_a_boot_report', null],
    ['shutdown event', simpleEventEntry('shutdownEvent', vm), ENFORCE, 'ignore', 'not_a_boot_report', null],
    ['clearTPM event', simpleEventEntry('clearTPMEvent', vm), ENFORCE, 'ignore', 'not_a_boot_report', null],
    ['policy update event', simpleEventEntry('setShieldedInstanceIntegrityPolicy', vm), ENFORCE, 'ignore', 'not_a_boot_report', null],
    ['config update event', simpleEventEntry('updateShieldedInstanceConfig', vm), ENFORCE, 'ignore', 'not_a_boot_report', null],
    [
      'launch attestation failure',
      simpleEventEntry('sevLaunchAttestationReportEvent', vm, { integrityEvaluationPassed: false }),
      ENFORCE,
      'ignore',
      'launch_attestation_not_handled',
      null,
    ],
    ['unknown future event', simpleEventEntry('tdxQuoteEvent', vm), ENFORCE, 'ignore', 'unknown_event_kind', null],
  ] as const)('%s → %s', (_name, entry, policy, action, reasonCode, baselineId) => {
    const d = decide(event(entry), baselines, policy);
    expect(d.action).toBe(action);
    expect(d.reasonCode).toBe(reasonCode);
    expect(d.baselineId).toBe(baselineId);
    expect(d.dryRun).toBe(policy.dryRun && action === 'notify');
  });

  it.each([
    ['known-good', late(), baselines, ENFORCE, 'late-boot measurements match known-good baseline 82f70914fc10… (PCR_4 changed)'],
    ['unknown', late(TAMPERED, KERNEL_26), baselines, ENFORCE, 'late-boot measurements are not a known-good baseline (PCR_4 changed)'],
    ['passed late boot', late(KERNEL_25, KERNEL_25), baselines, ENFORCE, 'late-boot report passed the integrity policy'],
    ['passed early boot', early(KERNEL_25, KERNEL_25), baselines, EARLY_STOP, 'early-boot report passed the integrity policy'],
    [
      'failed early boot, deferred',
      early(),
      baselines,
      ENFORCE,
      'early-boot report failed (PCR_4 changed); acting on the late-boot report of this boot',
    ],
    [
      'failed early boot, stopped',
      early(),
      baselines,
      EARLY_STOP,
      'early-boot report failed (PCR_4 changed) and the policy stops on early-boot failures',
    ],
    [
      'dry-run',
      late(),
      baselines,
      DRY,
      'dry-run, would relearn: late-boot measurements match known-good baseline 82f70914fc10… (PCR_4 changed)',
    ],
    ['a startup event', simpleEventEntry('startupEvent', vm), baselines, ENFORCE, 'startupEvent needs no action'],
    [
      'an unknown kind',
      simpleEventEntry('tdxQuoteEvent', vm),
      baselines,
      ENFORCE,
      'not an event kind bootwarden knows (payload keys: tdxQuoteEvent)',
    ],
    [
      'a payload without an event key',
      edited(simpleEventEntry('startupEvent', vm), (e) => delete e.jsonPayload.startupEvent),
      baselines,
      ENFORCE,
      'not an event kind bootwarden knows (payload keys: none)',
    ],
    [
      'a failed launch attestation',
      simpleEventEntry('sevLaunchAttestationReportEvent', vm, { integrityEvaluationPassed: false }),
      baselines,
      ENFORCE,
      'Confidential VM launch attestation failed; bootwarden acts on boot reports only',
    ],
    [
      'a passed launch attestation',
      simpleEventEntry('sevLaunchAttestationReportEvent', vm, { integrityEvaluationPassed: true }),
      baselines,
      ENFORCE,
      'Confidential VM launch attestation passed; bootwarden acts on boot reports only',
    ],
    [
      'a launch attestation without a verdict',
      simpleEventEntry('sevLaunchAttestationReportEvent', vm, {}),
      baselines,
      ENFORCE,
      'Confidential VM launch attestation reported without a verdict; bootwarden acts on boot reports only',
    ],
    [
      'a baseline filed under another id (the tutorial console)',
      late(),
      lookupOf({ id: known26.id, baseline: { ...known26, id: 'baseline1' } }),
      ENFORCE,
      'late-boot measurements match known-good baseline baseline1 (PCR_4 changed)',
    ],
  ] as const)('the reason for %s is exact', (_name, entry, lookup, policy, reason) => {
    expect(decide(event(entry), lookup, policy).reason).toBe(reason);
  });

  it('dry-run says what it would have done', () => {
    const d = decide(event(late(TAMPERED, KERNEL_26)), baselines, DRY);
    expect(d).toMatchObject({ action: 'notify', intendedAction: 'stop', dryRun: true });
    expect(d.reason).toMatch(/^dry-run, would stop: /);
  });

  it('gives the fingerprint and the diff against the policy', () => {
    const d = decide(event(late(TAMPERED, KERNEL_26)), baselines);
    expect(d.fingerprint).toBe(fingerprint(TAMPERED));
    expect(d.diff?.changed.map((c) => c.pcrNum)).toEqual(['PCR_4']);
    expect(d.reason).toContain('PCR_4 changed');
  });

  it('is deterministic: the same input gives the same decision', () => {
    const e = event(late(WINDOWS_NOV, WINDOWS_OCT));
    const first = JSON.stringify(decide(e, baselines));
    for (let i = 0; i < 5; i++) expect(JSON.stringify(decide(structuredClone(e), baselines))).toBe(first);
  });

  it('stops when the document filed under the fingerprint holds other measurements', () => {
    const misfiled = { ...newBaseline(KERNEL_25, meta), id: fingerprint(TAMPERED) };
    const d = decide(event(late(TAMPERED, KERNEL_26)), lookupOf(stored(misfiled)));
    expect(d).toMatchObject({ action: 'stop', reasonCode: 'baseline_document_invalid', baselineId: null });
    expect(d.reason).toBe(
      `late-boot report failed (PCR_4 changed); baseline document ${fingerprint(TAMPERED)} is filed under this fingerprint but holds other measurements`,
    );
  });

  it('stops when the document filed under the fingerprint is invalid', () => {
    const bad = baselineFromDocument(fingerprint(TAMPERED), { PCR_0: 'x' });
    if (bad.ok) throw new Error('expected invalid');
    const d = decide(event(late(TAMPERED, KERNEL_26)), lookupOf({ id: bad.id, invalid: bad.rejection }));
    expect(d).toMatchObject({ action: 'stop', reasonCode: 'baseline_document_invalid' });
    const id = fingerprint(TAMPERED);
    expect(d.reason).toBe(
      `late-boot report failed (PCR_4 changed); baseline document ${id} is invalid (${id}.PCR_0 must be an object {hashAlgo, pcrNum, value})`,
    );
  });
});

describe('decideWithStore', () => {
  class RecordingStore implements BaselineStore {
    /** Every read, in order: `get <id>`, or `content <fingerprint>` for a look-up by PCR values. */
    readonly reads: string[] = [];
    constructor(private readonly docs: Map<string, StoredBaseline>) {}
    get gets(): string[] {
      return this.reads.filter((r) => r.startsWith('get ')).map((r) => r.slice(4));
    }
    get(id: string) {
      this.reads.push(`get ${id}`);
      return Promise.resolve(this.docs.get(id) ?? null);
    }
    withMeasurements(ms: readonly Measurement[]) {
      this.reads.push(`content ${fingerprint(ms)}`);
      // A store answers with the documents holding these PCR values; decide checks the exact set.
      const values = new Set(ms.map((m) => m.value));
      return Promise.resolve(
        [...this.docs.values()].filter((d) => 'baseline' in d && d.baseline.measurements.every((m) => values.has(m.value))),
      );
    }
    list(): AsyncIterable<StoredBaseline> {
      throw new Error('decide must never list the collection');
    }
    create(): Promise<boolean> {
      throw new Error('read-only');
    }
    save(): Promise<void> {
      throw new Error('read-only');
    }
    remove(): Promise<boolean> {
      throw new Error('read-only');
    }
  }

  it('reads exactly one document, by fingerprint, for a failed late-boot report', async () => {
    const store = new RecordingStore(new Map([[known26.id, stored(known26)]]));
    const d = await decideWithStore(event(late()), store);
    expect(d.action).toBe('relearn');
    expect(store.reads).toEqual([`get ${fingerprint(KERNEL_26)}`]);
  });

  /** A tutorial user's document: made in the console, any id, the same PCR fields. */
  const tutorialDoc = (id: string, ms: typeof KERNEL_26): StoredBaseline => ({ id, baseline: { ...newBaseline(ms, meta), id } });

  it.each(['baseline1', 'Xq3pRvT0cZ9mN2bK7aLw'])(
    'a document %s with exactly these measurements is known-good: relearn, after two reads',
    async (id) => {
      const store = new RecordingStore(new Map([[id, tutorialDoc(id, KERNEL_26)]]));
      const d = await decideWithStore(event(late()), store);
      expect(d).toMatchObject({ action: 'relearn', reasonCode: 'known_good', baselineId: id });
      expect(d.reason).toBe(
        `late-boot measurements match known-good baseline ${id}, a document not keyed by its fingerprint (\`bootwarden baselines import\` re-keys it) (PCR_4 changed)`,
      );
      expect(store.reads).toEqual([`get ${fingerprint(KERNEL_26)}`, `content ${fingerprint(KERNEL_26)}`]);
    },
  );

  it.each([
    ['more PCRs', [...KERNEL_26, { hashAlgo: 'SHA256' as const, pcrNum: 'PCR_14', value: KERNEL_26[0]?.value ?? '' }]],
    ['fewer PCRs', KERNEL_26.slice(0, 2)],
    [
      'another hash algorithm for one PCR',
      KERNEL_26.map((m, i) => (i === 0 ? { ...m, hashAlgo: 'SHA1' as const, value: m.value.slice(0, 28) } : m)),
    ],
  ])('a document under another id with %s is not known-good: stop', async (_what, ms) => {
    const store = new RecordingStore(new Map([['baseline1', tutorialDoc('baseline1', ms)]]));
    const d = await decideWithStore(event(late()), store);
    expect(d).toMatchObject({ action: 'stop', reasonCode: 'unknown_measurements', baselineId: null });
  });

  it('an invalid document under the fingerprint is not looked past: stop, one read', async () => {
    const fp = fingerprint(KERNEL_26);
    const store = new RecordingStore(
      new Map<string, StoredBaseline>([
        [fp, { id: fp, invalid: { code: 'invalid_field', message: 'PCR_4.value is not base64', field: 'PCR_4.value' } }],
        ['baseline1', tutorialDoc('baseline1', KERNEL_26)],
      ]),
    );
    const d = await decideWithStore(event(late()), store);
    expect(d).toMatchObject({ action: 'stop', reasonCode: 'baseline_document_invalid' });
    expect(store.reads).toEqual([`get ${fp}`]);
  });

  it.each([
    ['a passed report', late(KERNEL_25, KERNEL_25)],
    ['an early-boot report', early()],
    ['a startup event', simpleEventEntry('startupEvent', vm)],
  ])('reads nothing for %s', async (_name, entry) => {
    const store = new RecordingStore(new Map());
    await decideWithStore(event(entry), store, EARLY_STOP);
    expect(store.reads).toEqual([]);
  });
});
