/**
 * Root on a VM forges integrity log entries, through the whole loop: the simulated fleet's VM
 * writes them as `gcloud logging write … --monitored-resource-type=gce_instance` would
 * (devstack/fleet/simulated-fleet.ts `forge`), they take the genuine entries' path (the local log
 * sink, Pub/Sub push, the function over HTTP), and the response workflow acts through the fleet's
 * Compute API and the Slack app. A log entry is a claim: forged counters and measurements may not
 * silence a genuine failure, bless a rootkit, or turn a real stop into a hold.
 * Every assertion reads what a stand-in recorded: Compute's calls and instances, Slack messages,
 * Firestore records, the Executions API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientOptions } from '../../adapters/local/local-api.js';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import { loopbackApiUrl } from '../../core/config.js';
import { RESPONSE_WORKFLOW_ID } from '../../core/contracts.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint, type Measurement } from '../../core/measurements.js';
import { parseEnvelope } from '../../core/parse.js';
import { bootReportEntry, eventarcBody } from '../../devstack/entries.js';
import { postEventarc } from '../../devstack/eventarc.js';
import type { FleetInstance } from '../../devstack/fleet/simulated-fleet.js';
import { linuxChain, measurements, withParts, type BootChain } from '../../devstack/fleet/vtpm.js';
import { CHANNEL, decideInSlack } from '../../devstack/slack-local.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';
import { ledgerRecord } from '../support/ledger.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const PREFIX = 'forged_';
const BASELINES = 'forged_baselines';
const GOOD = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const INT64_MAX = '18446744073709551615';

let stack: LocalStack;
const entries: JsonObject[] = [];
let vms = 0;

/** A RUNNING VM of the project that boots GOOD, at boot `bootCounter`, its policy learned from GOOD. */
function newVm(bootCounter: bigint): { name: string; id: string } {
  const n = ++vms;
  const spec: FleetInstance = {
    project: PROJECT,
    zone: ZONE,
    name: `app-${n}`,
    id: String(6_512_880_340_119_274_000n + BigInt(n)),
    status: 'RUNNING',
    bootCounter,
    chain: GOOD,
  };
  stack.simulated.add(spec);
  return { name: spec.name, id: spec.id };
}

/** The chain an attacker leaves: GOOD with a modified kernel, so PCR_4 differs. */
const rootkit = (tag: string): BootChain => withParts(GOOD, { kernel: `linux-6.1.0-26-amd64-${tag}` });

/** A boot report's jsonPayload, whatever it claims. */
function reportPayload(
  kind: 'earlyBootReportEvent' | 'lateBootReportEvent',
  o: { bootCounter: string; actual: readonly Measurement[]; policy: readonly Measurement[]; passed: boolean },
): JsonObject {
  const entry = bootReportEntry(kind, { instance: { project: PROJECT, zone: ZONE, id: '1' }, ...o });
  return entry['jsonPayload'] as JsonObject;
}

/** Root on `vm` forges a boot report for instance `id` (by default its own). */
function forge(
  vm: { name: string; id: string },
  kind: 'earlyBootReportEvent' | 'lateBootReportEvent',
  o: { bootCounter: string; actual: readonly Measurement[]; policy: readonly Measurement[]; passed: boolean; id?: string },
): JsonObject {
  return stack.simulated.forge(vm.name, {
    instanceId: o.id ?? vm.id,
    payload: reportPayload(kind, o),
    severity: o.passed ? 'NOTICE' : 'ERROR',
  });
}

/** The genuine late-boot report of `vm`'s boot `boot`, as the fleet wrote it. */
function genuineLateBoot(vm: { id: string }, boot: string): JsonObject {
  const found = entries.find((e) => {
    const p = parseEnvelope(e);
    return p.ok && p.event.kind === 'lateBootReportEvent' && p.event.instance.id === vm.id && p.event.bootCounter === boot;
  });
  if (found === undefined) throw new Error(`no late-boot report of boot ${boot} of ${vm.id}`);
  return found;
}

const ledger = (entry: JsonObject): Promise<Record<string, unknown>> => ledgerRecord(stack.db, PREFIX, entry);

const changes = (name: string): string[] =>
  stack.fleet.calls.filter((c) => c.target === name && c.method !== 'get' && c.method !== 'getOperation').map((c) => c.method);

/** The executions of the response workflow, as the Executions API lists them (FULL view). */
async function listedExecutions(): Promise<{ name: string; state: string; labels: Record<string, string>; result: string }[]> {
  const { ExecutionsClient } = await import('@google-cloud/workflows');
  const client = new ExecutionsClient(
    await localClientOptions(loopbackApiUrl('BOOTWARDEN_WORKFLOWS_API_URL', stack.workflowsUrl, '/'), 'auditor@bootwarden.local', () =>
      stack.now(),
    ),
  );
  try {
    const parent = `projects/${PROJECT}/locations/${stack.engine.location}/workflows/${RESPONSE_WORKFLOW_ID}`;
    const [listed] = await client.listExecutions({ parent, view: 'FULL' });
    return listed.map((x) => ({
      name: x.name ?? '',
      state: String(x.state),
      labels: { ...(x.labels ?? {}) },
      result: x.result ?? '',
    }));
  } finally {
    await client.close();
  }
}

const executionsOf = async (vm: { id: string }) => (await listedExecutions()).filter((x) => x.labels['instance-id'] === vm.id);

/** The VM was stopped by Compute, an operator was asked in Slack about `chain`, and nothing relearned it. */
async function expectStoppedAndAsked(vm: { name: string; id: string }, chain: BootChain): Promise<void> {
  expect(changes(vm.name)).toEqual(['stop']);
  expect(stack.fleet.peek(PROJECT, ZONE, vm.name)?.status).toBe('TERMINATED');
  expect(stack.fleet.relearnCount(PROJECT, ZONE, vm.name)).toBe(0);
  // The VM's integrity policy is still the one learned from its genuine image.
  expect(stack.simulated.vm(vm.name).policyMeasurements?.late).toEqual(measurements(GOOD, 'late'));
  await stack.slackApp.app.approvals.settled();
  const asked = stack.slackApp.slack
    .channelMessages(CHANNEL)
    .filter((m) => m.text.includes(fingerprint(measurements(chain, 'late')).slice(0, 16)));
  expect(asked).toHaveLength(1);
  expect(JSON.stringify(asked[0]?.blocks)).toContain(vm.name);
  const stops = (await executionsOf(vm)).filter((x) => x.labels['action'] === 'stop');
  expect(stops.map((x) => x.state)).toEqual(['ACTIVE']);
  expect(stack.engine.listExecutions({}).find((r) => r.name === stops[0]?.name)?.currentStep?.step).toBe('wait_decision');
}

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: PROJECT,
    clockStart: Date.parse('2026-11-05T08:00:00Z'),
    collectionPrefix: PREFIX,
    baselineCollection: BASELINES,
    function: { write: () => undefined },
  });
  stack.simulated.onEntry((e) => entries.push(e));
  const good = newBaseline(measurements(GOOD, 'late'), {
    addedBy: 'test',
    addedAt: '2026-10-01T00:00:00.000Z',
    sourceEntry: null,
    note: null,
  });
  await stack.db.collection(BASELINES).doc(good.id).create(baselineToDocument(good));
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('root on a VM forges its reports, then reboots into a rootkit', () => {
  it('a forged passing boot 106, the genuine failing boot 7, a forged known-good failure of boot 106: stopped, asked, never relearned', async () => {
    const vm = newVm(5n);
    stack.simulated.reboot(vm.name); // boot 6, genuine, passing
    await stack.quiet();
    const good = measurements(GOOD, 'late');
    const evil = rootkit('rootkit');
    // Boot 106 = the last boot + 100, BOOTWARDEN_MAX_BOOT_COUNTER_JUMP's default.
    forge(vm, 'earlyBootReportEvent', {
      bootCounter: '106',
      actual: measurements(GOOD, 'early'),
      policy: measurements(GOOD, 'early'),
      passed: true,
    });
    await stack.quiet();
    stack.simulated.install(vm.name, evil);
    stack.simulated.reboot(vm.name); // boot 7, genuine: fails the policy
    await stack.quiet();
    const failed = genuineLateBoot(vm, '7');
    expect(
      (failed['jsonPayload'] as { lateBootReportEvent: { policyEvaluationPassed: boolean } }).lateBootReportEvent.policyEvaluationPassed,
    ).toBe(false);
    // The genuine failure stopped the VM, so its own guest writes nothing more; root on another VM of
    // the project writes the last forgery for it (the premise: any instance id of the project). Its
    // earlier reports hold a known-good baseline's measurements.
    const neighbour = newVm(40n);
    const claim = forge(neighbour, 'lateBootReportEvent', {
      id: vm.id,
      bootCounter: '106',
      actual: good,
      policy: measurements(evil, 'late'),
      passed: false,
    });
    await stack.quiet();

    // Never relearned: the VM's policy is still its genuine image's, not the rootkit's.
    expect(stack.fleet.relearnCount(PROJECT, ZONE, vm.name)).toBe(0);
    expect(stack.simulated.vm(vm.name).policyMeasurements?.late).toEqual(good);
    expect(await ledger(failed)).toMatchObject({
      decision: { action: 'stop', fingerprint: fingerprint(measurements(evil, 'late')) },
    });
    await expectStoppedAndAsked(vm, evil);
    // The forged claim relearned nothing, and no execution of the VM ended relearned.
    expect(await ledger(claim)).not.toMatchObject({ outcome: 'decided', decision: { action: 'relearn' } });
    expect((await executionsOf(vm)).map((x) => (JSON.parse(x.result || '{}') as { outcome?: string }).outcome)).not.toContain('relearned');

    // Rejected: the VM stays stopped, its policy untouched.
    const [stop] = (await executionsOf(vm)).filter((x) => x.labels['action'] === 'stop');
    expect(await decideInSlack(stack.slackApp, stop!.name, 'reject')).toBe(200);
    expect(JSON.parse((await stack.engine.wait(stop!.name)).result ?? '{}')).toMatchObject({ outcome: 'rejected' });
    expect(stack.fleet.peek(PROJECT, ZONE, vm.name)?.status).toBe('TERMINATED');
    expect(stack.fleet.relearnCount(PROJECT, ZONE, vm.name)).toBe(0);
  });
});

describe('silencing a VM with forged boot counters', () => {
  it('a first-seen bootCounter 2^64−1 forged for a VM with no recorded boot: its next genuine failure is acted on', async () => {
    const vm = newVm(1n);
    forge(vm, 'earlyBootReportEvent', {
      bootCounter: INT64_MAX,
      actual: measurements(GOOD, 'early'),
      policy: measurements(GOOD, 'early'),
      passed: true,
    });
    await stack.quiet();
    const evil = rootkit('silencer-max');
    stack.simulated.install(vm.name, evil);
    stack.simulated.reboot(vm.name); // boot 2, genuine: fails
    await stack.quiet();
    expect(await ledger(genuineLateBoot(vm, '2'))).toMatchObject({ decision: { action: 'stop' } });
    await expectStoppedAndAsked(vm, evil);
  });

  it('+100 forged five times over: the next genuine failure is acted on', async () => {
    const vm = newVm(3n);
    stack.simulated.reboot(vm.name); // boot 4, genuine, recorded
    await stack.quiet();
    for (const boot of [104, 204, 304, 404, 504]) {
      forge(vm, 'earlyBootReportEvent', {
        bootCounter: String(boot),
        actual: measurements(GOOD, 'early'),
        policy: measurements(GOOD, 'early'),
        passed: true,
      });
      await stack.quiet();
    }
    const evil = rootkit('silencer-steps');
    stack.simulated.install(vm.name, evil);
    stack.simulated.reboot(vm.name); // boot 5, genuine: fails
    await stack.quiet();
    expect(await ledger(genuineLateBoot(vm, '5'))).toMatchObject({ decision: { action: 'stop' } });
    await expectStoppedAndAsked(vm, evil);
  });
});

describe('a flood of forged failures for VMs that do not exist', () => {
  it.each([
    ['each with its own unknown measurements (project slots)', 'ghosts-own', false],
    ["with the rootkit's own measurements (fingerprint slots)", 'ghosts-same', true],
  ])('ten ghosts %s, then a real failure in the project: a stop, not a hold', async (_what, tag, sameAsRootkit) => {
    const vm = newVm(2n);
    const evil = rootkit(tag);
    const stopsBefore = stack.fleet.callsTo('stop').length;
    for (let i = 0; i < 10; i++) {
      const ghost = String(4_000_000_000_000_000_000n + BigInt(vms * 100 + i));
      const actual = sameAsRootkit ? measurements(evil, 'late') : measurements(rootkit(`${tag}-${i}`), 'late');
      forge(vm, 'lateBootReportEvent', { id: ghost, bootCounter: '3', actual, policy: measurements(GOOD, 'late'), passed: false });
    }
    await stack.quiet();
    // No ghost was ever in Compute: nothing was stopped for them.
    expect(stack.fleet.callsTo('stop')).toHaveLength(stopsBefore);
    stack.simulated.install(vm.name, evil);
    stack.simulated.reboot(vm.name); // boot 3, genuine: fails
    await stack.quiet();
    const decided = await ledger(genuineLateBoot(vm, '3'));
    expect(decided).toMatchObject({ decision: { action: 'stop' } });
    expect((decided['decision'] as Record<string, unknown> | undefined)?.['heldBy'] ?? null).toBeNull();
    await expectStoppedAndAsked(vm, evil);
  });
});

describe('a timestamp that is not an instant', () => {
  // Cloud Logging refuses such an entry (and any dated over 24 hours ahead), so it cannot come
  // through the sink: it is what a holder of pubsub.topics.publish on the topic, or of
  // run.routes.invoke on the function, sends. Delivered here as Eventarc pushes it.
  it.each([
    ['a 13th month', '2099-13-01T00:00:00Z', 'unknown'],
    ['a +24:00 offset', '2026-11-05T08:00:00+24:00', 'unknown'],
    ['a +99:00 offset', '2026-11-05T08:00:00+99:00', 'unknown'],
    ['a 13th month, on a known-good report', '2099-13-01T00:00:00Z', 'known'],
  ])('%s (%s): rejected with a code, recorded, nothing acted on', async (_what, timestamp, measured) => {
    const vm = newVm(4n);
    const actual = measured === 'known' ? measurements(GOOD, 'late') : measurements(rootkit(`time-${vms}`), 'late');
    const entry = bootReportEntry('lateBootReportEvent', {
      instance: { project: PROJECT, zone: ZONE, id: vm.id },
      bootCounter: 5,
      actual,
      policy: measurements(rootkit('time-policy'), 'late'),
      timestamp: '2026-11-05T08:00:00.123456789Z',
    });
    entry['timestamp'] = timestamp;
    const messageId = String(9_700_000_000_000_000n + BigInt(vms));
    const res = await postEventarc(
      stack.functionUrl ?? '',
      eventarcBody(entry, messageId, `projects/${PROJECT}/subscriptions/eventarc-integrity-sub`),
      {
        source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/shielded-vm-integrity`,
      },
    );
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(300);
    await stack.quiet();
    const rejected = (await stack.db.collection(`${PREFIX}rejected_inputs`).get()).docs
      .map((d) => d.data() as { rejection?: { code?: string; field?: string }; context?: { messageId?: string } })
      .filter((r) => r.context?.messageId === messageId);
    expect(rejected).toEqual([
      expect.objectContaining({ rejection: expect.objectContaining({ code: expect.stringMatching(/^[a-z_]+$/), field: 'timestamp' }) }),
    ]);
    expect(changes(vm.name)).toEqual([]);
    expect(stack.fleet.peek(PROJECT, ZONE, vm.name)?.status).toBe('RUNNING');
    expect(await executionsOf(vm)).toEqual([]);
  });
});
