import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { decide, lookupOf, DEFAULT_POLICY, type DecisionPolicy } from '../../core/decide.js';
import type { InstanceRef, IntegrityEvent } from '../../core/event.js';
import { fingerprint } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import type { Measurement } from '../../core/measurements.js';
import { ReplayAggregator } from '../../core/replay.js';
import { bootReportEntry, linuxBoot, measure, simpleEventEntry } from '../../devstack/entries.js';
import { KERNEL_25, KERNEL_26, TAMPERED, WINDOWS_NOV, WINDOWS_OCT } from '../support/fixtures.js';

const vm = (n: number): InstanceRef => ({ id: String(1000 + n), project: 'acme-prod', zone: 'us-central1-a' });
const ev = (e: ReturnType<typeof bootReportEntry>): IntegrityEvent => {
  const o = parseEnvelope(e);
  if (!o.ok) throw new Error(o.rejection.message);
  return o.event;
};
const known = newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'x', sourceEntry: null, note: null });
const lookup = lookupOf({ id: known.id, baseline: known });

describe('replay aggregation', () => {
  it('counts actions, stopped instances and unknown fingerprints with the PCRs that differ', () => {
    const agg = new ReplayAggregator();
    const add = (e: IntegrityEvent, policy = DEFAULT_POLICY): void => agg.addDecision(e, decide(e, lookup, policy));
    for (let i = 0; i < 5; i++)
      add(ev(bootReportEntry('lateBootReportEvent', { instance: vm(i), bootCounter: 2, actual: KERNEL_26, policy: KERNEL_25 })));
    for (let i = 0; i < 3; i++) {
      add(
        ev(
          bootReportEntry('lateBootReportEvent', {
            instance: vm(i),
            bootCounter: 3,
            actual: TAMPERED,
            policy: KERNEL_26,
            timestamp: `2026-11-0${i + 1}T00:00:00Z`,
          }),
        ),
      );
    }
    add(
      ev(
        bootReportEntry('lateBootReportEvent', {
          instance: vm(0),
          bootCounter: 4,
          actual: TAMPERED,
          policy: KERNEL_25,
          timestamp: '2026-11-09T00:00:00Z',
        }),
      ),
    );
    add(ev(simpleEventEntry('startupEvent', { instance: vm(0), bootCounter: 4 })));
    agg.addRejection(11, { code: 'invalid_json', message: 'bad', field: null });
    const r = agg.report();
    expect(r.entries).toBe(11);
    expect(r.actions).toEqual({ ignore: 1, relearn: 5, stop: 4, hold: 0, notify: 0, reject: 1 });
    expect(r.rejectedByCode).toEqual({ invalid_json: 1 });
    expect(r.sampleRejections).toEqual([{ ordinal: 11, code: 'invalid_json', message: 'bad' }]);
    expect(r.stoppedInstances.map((s) => [s.instance.id, s.stops])).toEqual([
      ['1000', 2],
      ['1001', 1],
      ['1002', 1],
    ]);
    expect(r.stoppedInstances[0]?.lastSeen).toBe('2026-11-09T00:00:00Z');
    expect(r.unknownFingerprints).toEqual([
      {
        fingerprint: fingerprint(TAMPERED),
        reports: 4,
        held: 0,
        instances: 3,
        sampleInstances: [vm(0), vm(1), vm(2)],
        pcrs: [{ pcrNum: 'PCR_4', changed: 4, added: 0, removed: 0 }],
        firstSeen: '2026-11-01T00:00:00Z',
        lastSeen: '2026-11-09T00:00:00Z',
      },
    ]);
  });

  it('counts dry-run stops as instances that would be stopped', () => {
    const agg = new ReplayAggregator();
    const e = ev(bootReportEntry('lateBootReportEvent', { instance: vm(1), bootCounter: 2, actual: TAMPERED, policy: KERNEL_26 }));
    agg.addDecision(e, decide(e, lookup, { ...DEFAULT_POLICY, dryRun: true }));
    expect(agg.report()).toMatchObject({ actions: { notify: 1, stop: 0 }, stoppedInstances: [{ stops: 1 }] });
  });
});

/** A fleet VM with a real 19-digit instance id. */
const host = (n: number, zone = 'us-central1-a'): InstanceRef => ({
  id: `43568417124681935${String(n).padStart(2, '0')}`,
  project: 'acme-prod',
  zone,
});
/** Fingerprints of the measurements below, written out: the report sorts on them. */
const FP_TAMPERED = 'dd7e8d0ad8312337b746014ff219acd5470c8a2298f75c6df948aee74939b5ee';
const FP_ROOTKIT_27 = 'c5934ee0f2f4c3e37a4798cc57035bf3c83d6e6c052a6e49cfd4260369797b23';
const FP_IMPLANT = '21416617198c2feb7d9718d7e52b7af6c0f61661392bfc2559f79323c17a9bf2';
const FP_BITLOCKER = 'd6cb08997bdcaf7079376dafeab16f3ccb9569197a9f200646e272e5d4a543d8';
const ROOTKIT_27 = linuxBoot('linux-6.1.0-27-amd64+rootkit');
const IMPLANT = linuxBoot('linux-6.1.0-26-amd64', 'ovmf-2026-09+implant');
/** Kernel 26 with a MOK enrolled: the shim measures it into PCR_14. */
const KERNEL_26_MOK = measure({ PCR_0: 'ovmf-2026-09', PCR_4: 'linux-6.1.0-26-amd64', PCR_7: 'db-2024-06', PCR_14: 'mok-2026-01' });
/** November's Windows boot with a tampered BitLocker PCR. */
const BITLOCKER = measure(
  { PCR_0: 'ovmf', PCR_4: 'bootmgr-2026-11', PCR_7: 'db', PCR_11: 'bitlocker-2026-11+implant', PCR_13: 'drivers', PCR_14: 'hvci' },
  'SHA1',
);
/** November's Windows policy learnt before HVCI was turned on: no PCR_14. */
const WINDOWS_NOV_NO_HVCI = WINDOWS_NOV.filter((m) => m.pcrNum !== 'PCR_14');

function lateBoot(
  instance: InstanceRef,
  actual: readonly Measurement[],
  policy: readonly Measurement[],
  timestamp: string,
): IntegrityEvent {
  return ev(bootReportEntry('lateBootReportEvent', { instance, bootCounter: 3, actual, policy, timestamp }));
}

describe('replay report', () => {
  it.each<[string, readonly Measurement[], readonly Measurement[], DecisionPolicy, Record<string, number>, [string, number][]]>([
    ['a stop', TAMPERED, KERNEL_26, DEFAULT_POLICY, { stop: 1 }, [['4356841712468193501', 1]]],
    ['a dry-run stop', TAMPERED, KERNEL_26, { ...DEFAULT_POLICY, dryRun: true }, { notify: 1 }, [['4356841712468193501', 1]]],
    ['a relearn', KERNEL_26, KERNEL_25, DEFAULT_POLICY, { relearn: 1 }, []],
    ['a dry-run relearn', KERNEL_26, KERNEL_25, { ...DEFAULT_POLICY, dryRun: true }, { notify: 1 }, []],
    ['a passed report', KERNEL_26, KERNEL_26, DEFAULT_POLICY, { ignore: 1 }, []],
  ])('counts %s as a stopped instance only when it would stop the VM', (_name, actual, policy, decisionPolicy, actions, stopped) => {
    const agg = new ReplayAggregator();
    const e = lateBoot(host(1), actual, policy, '2026-11-01T10:00:00.123456789Z');
    agg.addDecision(e, decide(e, lookup, decisionPolicy));
    const r = agg.report();
    expect(r.actions).toEqual({ ignore: 0, relearn: 0, stop: 0, hold: 0, notify: 0, reject: 0, ...actions });
    expect(r.stoppedInstances.map((s) => [s.instance.id, s.stops])).toEqual(stopped);
    expect(r.unknownFingerprints.map((u) => u.fingerprint)).toEqual(stopped.length === 0 ? [] : [FP_TAMPERED]);
  });

  it.each([
    [19, 19],
    [20, 20],
    [21, 20],
    [45, 20],
  ])('of %i rejections keeps the first %i as samples', (n, kept) => {
    const agg = new ReplayAggregator();
    for (let i = 1; i <= n; i++)
      agg.addRejection(i, { code: 'invalid_json', message: `Unexpected token } in JSON at position ${i}`, field: null });
    const r = agg.report();
    expect([r.entries, r.actions.reject, r.rejectedByCode]).toEqual([n, n, { invalid_json: n }]);
    expect(r.sampleRejections).toHaveLength(kept);
    expect(r.sampleRejections.at(-1)).toEqual({
      ordinal: kept,
      code: 'invalid_json',
      message: `Unexpected token } in JSON at position ${kept}`,
    });
  });

  it('lists rejections by code in alphabetical order', () => {
    const agg = new ReplayAggregator();
    const codes = ['wrong_log_name', 'invalid_json', 'input_too_large', 'invalid_json', 'missing_field', 'invalid_json'] as const;
    codes.forEach((code, i) => agg.addRejection(i + 1, { code, message: 'rejected', field: null }));
    expect(Object.entries(agg.report().rejectedByCode)).toEqual([
      ['input_too_large', 1],
      ['invalid_json', 3],
      ['missing_field', 1],
      ['wrong_log_name', 1],
    ]);
  });

  it('lists stopped instances by stops, then by instance, each with its latest report', () => {
    const agg = new ReplayAggregator();
    const add = (n: number, actual: readonly Measurement[], timestamp: string): void => {
      const e = lateBoot(host(n), actual, KERNEL_26, timestamp);
      agg.addDecision(e, decide(e, lookup));
    };
    add(4, TAMPERED, '2026-11-02T09:00:00.000000000Z');
    add(3, TAMPERED, '2026-11-02T09:00:00.000000000Z');
    add(1, TAMPERED, '2026-11-03T12:00:00.500000000Z');
    add(1, ROOTKIT_27, '2026-11-03T12:00:00.500000000Z'); // same time: the later report wins
    add(2, ROOTKIT_27, '2026-11-04T01:00:00.000000002Z');
    add(2, TAMPERED, '2026-11-04T01:00:00.000000003Z');
    add(2, ROOTKIT_27, '2026-11-04T01:00:00.000000001Z'); // older, arrives last
    expect(agg.report().stoppedInstances).toEqual([
      { instance: host(2), stops: 3, lastFingerprint: FP_TAMPERED, lastSeen: '2026-11-04T01:00:00.000000003Z' },
      { instance: host(1), stops: 2, lastFingerprint: FP_ROOTKIT_27, lastSeen: '2026-11-03T12:00:00.500000000Z' },
      { instance: host(3), stops: 1, lastFingerprint: FP_TAMPERED, lastSeen: '2026-11-02T09:00:00.000000000Z' },
      { instance: host(4), stops: 1, lastFingerprint: FP_TAMPERED, lastSeen: '2026-11-02T09:00:00.000000000Z' },
    ]);
  });

  it('lists unknown fingerprints by instances, then by fingerprint, with PCR counts, samples and first/last seen', () => {
    const agg = new ReplayAggregator();
    const add = (e: IntegrityEvent): void => agg.addDecision(e, decide(e, lookup));
    add(lateBoot(host(50, 'europe-west1-b'), BITLOCKER, WINDOWS_NOV_NO_HVCI, '2026-11-12T08:00:00.000000001Z'));
    add(lateBoot(host(51, 'europe-west1-b'), BITLOCKER, WINDOWS_OCT, '2026-11-12T07:59:59.999999999Z'));
    add(lateBoot(host(40), IMPLANT, KERNEL_26, '2026-11-05T00:00:00.000000000Z'));
    add(lateBoot(host(41), IMPLANT, KERNEL_26_MOK, '2026-11-05T00:00:00.000000000Z'));
    for (let n = 0; n < 12; n++) add(lateBoot(host(n), TAMPERED, KERNEL_25, `2026-11-01T10:00:${10 + n}.123456789Z`));
    add(lateBoot(host(0), TAMPERED, KERNEL_25, '2026-10-31T23:59:59.999999999Z')); // the oldest arrives last
    expect(agg.report().unknownFingerprints).toEqual([
      {
        fingerprint: FP_TAMPERED,
        reports: 13,
        held: 0,
        instances: 12,
        sampleInstances: [host(0), host(1), host(2), host(3), host(4), host(5), host(6), host(7), host(8), host(9)],
        pcrs: [{ pcrNum: 'PCR_4', changed: 13, added: 0, removed: 0 }],
        firstSeen: '2026-10-31T23:59:59.999999999Z',
        lastSeen: '2026-11-01T10:00:21.123456789Z',
      },
      {
        fingerprint: FP_IMPLANT,
        reports: 2,
        held: 0,
        instances: 2,
        sampleInstances: [host(40), host(41)],
        pcrs: [
          { pcrNum: 'PCR_0', changed: 2, added: 0, removed: 0 },
          { pcrNum: 'PCR_14', changed: 0, added: 0, removed: 1 },
        ],
        firstSeen: '2026-11-05T00:00:00.000000000Z',
        lastSeen: '2026-11-05T00:00:00.000000000Z',
      },
      {
        fingerprint: FP_BITLOCKER,
        reports: 2,
        held: 0,
        instances: 2,
        sampleInstances: [host(50, 'europe-west1-b'), host(51, 'europe-west1-b')],
        pcrs: [
          { pcrNum: 'PCR_4', changed: 1, added: 0, removed: 0 },
          { pcrNum: 'PCR_11', changed: 2, added: 0, removed: 0 },
          { pcrNum: 'PCR_14', changed: 0, added: 1, removed: 0 },
        ],
        firstSeen: '2026-11-12T07:59:59.999999999Z',
        lastSeen: '2026-11-12T08:00:00.000000001Z',
      },
    ]);
  });
});
