import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { decide, lookupOf, DEFAULT_POLICY } from '../../core/decide.js';
import type { InstanceRef, IntegrityEvent } from '../../core/event.js';
import { fingerprint } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import { ReplayAggregator } from '../../core/replay.js';
import { bootReportEntry, simpleEventEntry } from '../../devstack/entries.js';
import { KERNEL_25, KERNEL_26, TAMPERED } from '../support/fixtures.js';

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
    expect(r.actions).toEqual({ ignore: 1, relearn: 5, stop: 4, notify: 0, reject: 1 });
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
