/**
 * Root on a simulated VM forges an integrity entry (devstack/fleet/simulated-fleet.ts `forge`), as
 * `gcloud logging write compute.googleapis.com%2Fshielded_vm_integrity '<json>' --payload-type=json
 * --monitored-resource-type=gce_instance --monitored-resource-labels=zone=…,instance_id=…` would
 * (https://cloud.google.com/sdk/gcloud/reference/logging/write): the writer picks the payload, the
 * labels and the severity (gcloud's default DEFAULT); Logging fills `insertId` and, for an entry
 * without one, `timestamp` with the current time
 * (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/write). The entry reaches
 * the fleet's log listeners as the VM's own do, and the real parser takes it.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.js';
import { parseEnvelope } from '../../core/parse.js';
import { SimulatedFleet } from '../../devstack/fleet/simulated-fleet.js';
import { linuxChain } from '../../devstack/fleet/vtpm.js';

const NOW = Date.parse('2026-11-05T08:00:00.250Z');

function fleet(): { fleet: SimulatedFleet; written: JsonObject[] } {
  const f = new SimulatedFleet(() => NOW);
  for (const [name, id] of [
    ['web-1', '7234918840192837465'],
    ['web-2', '7234918840192837466'],
  ] as const)
    f.add({
      project: 'demo-bootwarden',
      zone: 'us-central1-a',
      name,
      id,
      status: 'RUNNING',
      bootCounter: 6n,
      chain: linuxChain({ kernel: 'linux-6.1.0-26-amd64' }),
    });
  const written: JsonObject[] = [];
  f.onEntry((e) => written.push(e));
  return { fleet: f, written };
}

const PAYLOAD = {
  '@type': 'type.googleapis.com/cloud_integrity.IntegrityEvent',
  bootCounter: '106',
  earlyBootReportEvent: {
    policyEvaluationPassed: true,
    actualMeasurements: [{ hashAlgo: 'SHA256', pcrNum: 'PCR_0', value: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' }],
    policyMeasurements: [{ hashAlgo: 'SHA256', pcrNum: 'PCR_0', value: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' }],
  },
};

describe('a forged integrity entry', () => {
  it("for another VM of the project: in the writer's project and the integrity log, Logging's insertId and time, delivered like a genuine one", () => {
    const { fleet: f, written } = fleet();
    const entry = f.forge('web-1', { instanceId: '7234918840192837466', payload: PAYLOAD });
    expect(written).toEqual([entry]);
    expect(entry).toEqual({
      insertId: expect.stringMatching(/^[0-9a-f]{14}$/) as string,
      jsonPayload: PAYLOAD,
      resource: {
        type: 'gce_instance',
        labels: { instance_id: '7234918840192837466', project_id: 'demo-bootwarden', zone: 'us-central1-a' },
      },
      timestamp: expect.stringMatching(/^2026-11-05T08:00:00\.250\d{6}Z$/) as string,
      severity: 'DEFAULT',
      logName: 'projects/demo-bootwarden/logs/compute.googleapis.com%2Fshielded_vm_integrity',
      receiveTimestamp: entry['timestamp'],
    });
    const parsed = parseEnvelope(entry);
    expect(parsed.ok && parsed.event).toMatchObject({
      kind: 'earlyBootReportEvent',
      bootCounter: '106',
      instance: { project: 'demo-bootwarden', zone: 'us-central1-a', id: '7234918840192837466' },
    });
  });

  it('for an instance id nobody has, with the severity and zone it chooses; each its own insertId', () => {
    const { fleet: f } = fleet();
    const a = f.forge('web-1', { instanceId: '4000000000000000001', zone: 'europe-west1-b', payload: PAYLOAD, severity: 'ERROR' });
    const b = f.forge('web-1', { instanceId: '4000000000000000001', zone: 'europe-west1-b', payload: PAYLOAD, severity: 'ERROR' });
    expect(a).toMatchObject({ severity: 'ERROR', resource: { labels: { instance_id: '4000000000000000001', zone: 'europe-west1-b' } } });
    expect(a['insertId']).not.toBe(b['insertId']);
  });

  it('only a running guest writes', () => {
    const { fleet: f, written } = fleet();
    f.vm('web-1').stop();
    expect(() => f.forge('web-1', { instanceId: '7234918840192837466', payload: PAYLOAD })).toThrow(
      'web-1 is TERMINATED: only a running guest writes log entries',
    );
    expect(written).toEqual([]);
  });
});
