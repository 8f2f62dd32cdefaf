/**
 * A simulated Shielded VM (devstack/fleet/shielded-vm.ts): what it logs when it boots, how its
 * policy is learned and relearned. Its entries go through the real parser.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import { decide, lookupOf } from '../../core/decide.js';
import { SimulatedShieldedVm } from '../../devstack/fleet/shielded-vm.js';
import { linuxChain, measurements } from '../../devstack/fleet/vtpm.js';

const KERNEL_26 = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const KERNEL_27 = linuxChain({ kernel: 'linux-6.1.0-27-amd64' });

function vm(): { vm: SimulatedShieldedVm; advance: (ms: number) => void } {
  let clock = Date.parse('2026-11-01T10:00:00.250Z');
  const v = new SimulatedShieldedVm(
    { project: 'demo-bootwarden', zone: 'us-central1-a', name: 'web-1', id: '7234918840192837465', chain: KERNEL_26 },
    () => clock,
  );
  return { vm: v, advance: (ms) => (clock += ms) };
}

function parsed(entry: JsonObject) {
  const p = parseEnvelope(entry);
  if (!p.ok) throw new Error(p.rejection.message);
  return p.event;
}

const payload = (entry: JsonObject) => entry['jsonPayload'] as Record<string, { policyEvaluationPassed?: boolean }>;

describe('a simulated Shielded VM', () => {
  it('its first boot learns the policy: a startup event, then both reports pass, logged as Cloud Logging writes them', () => {
    const { vm: v } = vm();
    const [startup, early, late] = v.boot();
    expect(v.status).toBe('RUNNING');
    expect(startup).toMatchObject({ severity: 'NOTICE', jsonPayload: { startupEvent: {}, bootCounter: '1' } });
    expect(parsed(startup!).kind).toBe('startupEvent');
    expect(decide(parsed(startup!), lookupOf())).toMatchObject({ action: 'ignore' });
    expect(payload(early!)['earlyBootReportEvent']?.policyEvaluationPassed).toBe(true);
    expect(payload(late!)['lateBootReportEvent']?.policyEvaluationPassed).toBe(true);
    expect(late).toMatchObject({
      logName: 'projects/demo-bootwarden/logs/compute.googleapis.com%2Fshielded_vm_integrity',
      resource: {
        type: 'gce_instance',
        labels: { instance_id: '7234918840192837465', project_id: 'demo-bootwarden', zone: 'us-central1-a' },
      },
      severity: 'NOTICE',
      jsonPayload: { bootCounter: '1' },
    });
    expect(late!['timestamp']).toMatch(/^2026-11-01T10:00:00\.250\d{6}Z$/);
    expect(late!['insertId']).not.toBe(early!['insertId']);
    const event = parsed(late!);
    expect(event.instance.id).toBe('7234918840192837465');
    expect(decide(event, lookupOf())).toMatchObject({ action: 'ignore', reasonCode: 'policy_passed' });
  });

  it('a kernel update fails the late-boot report on PCR_4 at the next boot (ERROR); the early-boot report still passes', () => {
    const { vm: v, advance } = vm();
    v.boot();
    v.install(KERNEL_27);
    v.stop();
    advance(60_000);
    const [, early, late] = v.boot();
    expect(payload(early!)['earlyBootReportEvent']?.policyEvaluationPassed).toBe(true);
    expect(late).toMatchObject({
      severity: 'ERROR',
      jsonPayload: { bootCounter: '2', lateBootReportEvent: { policyEvaluationPassed: false } },
    });
    const d = decide(parsed(late!), lookupOf());
    expect(d).toMatchObject({ action: 'stop', fingerprint: fingerprint(measurements(KERNEL_27, 'late')) });
    expect(d.diff?.changed.map((c) => c.pcrNum)).toEqual(['PCR_4']);
    expect(v.lastStartTimestamp).toBe('2026-11-01T10:01:00.250Z');
  });

  it('relearn takes the most recent boot: the next boot passes', () => {
    const { vm: v } = vm();
    v.boot();
    v.install(KERNEL_27);
    v.stop();
    v.boot();
    v.relearn();
    expect(v.policyMeasurements?.late).toEqual(measurements(KERNEL_27, 'late'));
    v.stop();
    const [, , late] = v.boot();
    expect(payload(late!)['lateBootReportEvent']?.policyEvaluationPassed).toBe(true);
  });

  it('relearn works only on a RUNNING instance; a RUNNING one cannot boot again; a stop logs a shutdown event', () => {
    const { vm: v } = vm();
    expect(() => v.relearn()).toThrow('instance web-1 is TERMINATED: the integrity policy is learned only on a RUNNING instance');
    v.boot();
    expect(() => v.boot()).toThrow('instance web-1 is already RUNNING');
    const [shutdown] = v.stop();
    expect(shutdown).toMatchObject({ jsonPayload: { shutdownEvent: {}, bootCounter: '1' } });
    expect(v.stop()).toEqual([]);
  });

  it('refuses an id that is not a decimal string', () => {
    expect(
      () =>
        new SimulatedShieldedVm({ project: 'demo-bootwarden', zone: 'us-central1-a', name: 'x', id: '7.2e18', chain: KERNEL_26 }, () => 0),
    ).toThrow('instance id "7.2e18" must be a decimal string of up to 20 digits');
  });
});
