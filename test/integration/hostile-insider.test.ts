/**
 * Issue 14, end to end through the local stack: late-boot reports go over HTTP to the function
 * (functions-framework), which starts the response workflow in the local engine against the fleet,
 * Firestore and the Slack app.
 * - A relearn is verified afterwards: the workflow records what it relearned, and the VM's next
 *   passing report is checked against it. A boot with other, unknown measurements (what a VM that
 *   rebooted between the workflow's checks and the relearn would report) is stopped through the
 *   approval flow and operators are asked in Slack.
 * - One execution per VM waits for operators: later events of the VM join its audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import { eventKeyOf, eventsCollection, instancesCollection, instanceStateId } from '../../core/contracts.js';
import type { InstanceRef } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint, type Measurement } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody, linuxBoot } from '../../devstack/entries.js';
import { postEventarc } from '../../devstack/eventarc.js';
import { CHANNEL, decideInSlack } from '../../devstack/slack-local.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';
import { ledgerRecord } from '../support/ledger.js';

const PROJECT = 'demo-bootwarden';
const PREFIX = 'verify_';
const BASELINES = 'verify_baselines';
const POLICY = linuxBoot('linux-6.1.0-25-amd64');
const KNOWN = linuxBoot('linux-6.1.0-27-amd64');
/** What the VM booted into after the relearn: a kernel nobody approved. */
const ROGUE = linuxBoot('linux-6.1.0-27-amd64-rootkit');

/** A kernel that waits for operators, and another for the VM's next event while it waits. */
const AWAITED = linuxBoot('linux-6.1.0-29-amd64-awaited');
const OTHER = linuxBoot('linux-6.1.0-28-amd64-unsigned');

let stack: LocalStack;
const logs: { severity?: string; message?: string; code?: string; relearn?: { fingerprint?: string } }[] = [];
let vms = 0;
let messages = 0;

function newVm(): InstanceRef {
  const id = String(7_100_000_000_000_000_000n + BigInt(++vms));
  stack.fleet.addInstance({
    project: PROJECT,
    zone: 'us-central1-a',
    name: `verify-${id}`,
    id,
    lastStartTimestamp: '2026-11-01T09:59:30.000Z',
  });
  return { project: PROJECT, zone: 'us-central1-a', id };
}

/** A late-boot report of `boot` (its own second after 10:00), delivered as Eventarc does. */
async function report(
  vm: InstanceRef,
  boot: number,
  actual: readonly Measurement[],
  policy: readonly Measurement[],
  timestamp = `2026-11-01T10:00:${String(boot).padStart(2, '0')}.123456789Z`,
): Promise<JsonObject> {
  const entry = bootReportEntry('lateBootReportEvent', {
    instance: vm,
    bootCounter: boot,
    actual,
    policy,
    timestamp,
  });
  const res = await postEventarc(stack.functionUrl ?? '', eventarcBody(entry, String(8_800_000_000_000_000 + ++messages)));
  await res.arrayBuffer();
  expect(res.status).toBe(204);
  return entry;
}

const ledger = (entry: JsonObject): Promise<Record<string, unknown>> => ledgerRecord(stack.db, PREFIX, entry);

const executionsFor = (vm: InstanceRef, action: string) =>
  stack.engine.listExecutions({}).filter((r) => r.labels['instance-id'] === vm.id && r.labels['action'] === action);

/** A VM relearned by the workflow on boot 7 (its known-good kernel failed the old policy). */
async function relearned(): Promise<InstanceRef> {
  const vm = newVm();
  await report(vm, 7, KNOWN, POLICY);
  const [relearn] = executionsFor(vm, 'relearn');
  expect((await stack.engine.wait(relearn!.name)).state).toBe('SUCCEEDED');
  expect(stack.fleet.relearnCount(vm.project, vm.zone, vm.id)).toBe(1);
  return vm;
}

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: PROJECT,
    clockStart: Date.parse('2026-11-01T10:00:05Z'),
    collectionPrefix: PREFIX,
    baselineCollection: BASELINES,
    function: { write: (line) => void logs.push(JSON.parse(line) as (typeof logs)[number]) },
  });
  const known = newBaseline(KNOWN, { addedBy: 'test', addedAt: '2026-10-01T00:00:00.000Z', sourceEntry: null, note: null });
  await stack.db.collection(BASELINES).doc(known.id).create(baselineToDocument(known));
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('after a relearn, the next passing report is checked against what was relearned', () => {
  it('the workflow records the relearned fingerprint, boot and PCRs on the VM state', async () => {
    const vm = await relearned();
    const state = await stack.db.collection(instancesCollection(PREFIX)).doc(instanceStateId(vm)).get();
    expect(state.get('relearned')).toMatchObject({
      fingerprint: fingerprint(KNOWN),
      bootCounter: '7',
      execution: executionsFor(vm, 'relearn')[0]!.name,
      pcrs: { PCR_4: { pcrNum: 'PCR_4', hashAlgo: 'SHA256', value: KNOWN.find((m) => m.pcrNum === 'PCR_4')!.value } },
    });
  });

  it('the same measurements on the next boot: verified, nothing started', async () => {
    const vm = await relearned();
    const before = stack.engine.listExecutions({}).length;
    const entry = await report(vm, 8, KNOWN, KNOWN);
    expect(await ledger(entry)).toMatchObject({ outcome: 'ignored', decision: { reasonCode: 'policy_passed' } });
    expect(stack.engine.listExecutions({}).length).toBe(before);
    expect(logs.some((l) => l.message?.startsWith(`relearn verified: instance ${vm.id} `) === true)).toBe(true);
  });

  it('other, unknown measurements on a passing boot: an ERROR, the VM stopped, operators asked in Slack, recorded in the audit', async () => {
    const vm = await relearned();
    // The policy holds the rogue boot: the relearn learned it, so its report passes.
    const entry = await report(vm, 8, ROGUE, ROGUE);
    expect(await ledger(entry)).toMatchObject({
      outcome: 'decided',
      decision: { action: 'stop', reasonCode: 'relearn_mismatch', fingerprint: fingerprint(ROGUE) },
    });
    const alert = logs.find((l) => l.code === 'relearn_mismatch' && l.message?.includes(vm.id) === true);
    expect(alert).toMatchObject({ severity: 'ERROR', relearn: { fingerprint: fingerprint(KNOWN) } });
    expect(alert?.message).toMatch(
      /passed its integrity policy with measurements .*, not the .* relearned at boot 7 \(PCR_4 changed\): the relearn blessed a boot nobody approved$/,
    );
    const [stop] = executionsFor(vm, 'stop');
    await stack.engine.reached(stop!.name, 'wait_decision');
    expect(stack.fleet.callsTo('stop').filter((c) => c.target === `verify-${vm.id}`)).toHaveLength(1);
    expect(stack.fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
    await stack.slackApp.app.approvals.settled();
    const message = stack.slackApp.slack.channelMessages(CHANNEL).find((m) => m.text.includes(fingerprint(ROGUE).slice(0, 16)));
    expect(message?.text).toMatch(/^Unknown boot measurements on 1 VM/);
    const shown = JSON.stringify(message?.blocks);
    expect(shown).toContain('1 of 1 VM booted these measurements right after bootwarden relearned its policy onto other ones');
    expect(shown).toContain(`verify-${vm.id}`);
    expect(shown).toContain(`${vm.project}/${vm.zone}, boot 8 (after a relearn): stopped`);
    expect(await decideInSlack(stack.slackApp, stop!.name, 'reject')).toBe(200);
    expect(JSON.parse((await stack.engine.wait(stop!.name)).result ?? '{}')).toMatchObject({ outcome: 'rejected' });
  });

  it('other measurements that are a known-good baseline: a warning, nothing stopped', async () => {
    const vm = newVm();
    // Relearned on the rogue kernel's boot 7... which an operator then approved as a baseline.
    const rogue = newBaseline(ROGUE, { addedBy: 'test', addedAt: '2026-10-01T00:00:00.000Z', sourceEntry: null, note: null });
    await stack.db.collection(BASELINES).doc(rogue.id).create(baselineToDocument(rogue));
    await report(vm, 7, KNOWN, POLICY);
    await stack.engine.wait(executionsFor(vm, 'relearn')[0]!.name);
    const entry = await report(vm, 8, ROGUE, ROGUE);
    expect(await ledger(entry)).toMatchObject({ outcome: 'ignored', decision: { action: 'ignore', reasonCode: 'policy_passed' } });
    expect(executionsFor(vm, 'stop')).toEqual([]);
    expect(logs.find((l) => l.message?.startsWith(`instance ${vm.id}: boot 8 passed`) === true)?.severity).toBe('WARNING');
  });
});

describe('one execution per VM waits for operators', () => {
  it('a later event of a VM waiting for a decision joins its audit trail; after the decision its next boot is decided afresh', async () => {
    const vm = newVm();
    const first = await report(vm, 7, AWAITED, POLICY);
    const [waiting] = executionsFor(vm, 'stop');
    await stack.engine.reached(waiting!.name, 'wait_decision');
    const slots = (await stack.db.collection(`${PREFIX}stop_slots`).get()).size;

    // Another event for the VM (a forged or replayed report of another kernel): no second execution.
    const second = await report(vm, 8, OTHER, POLICY);
    expect(stack.engine.listExecutions({}).filter((r) => r.labels['instance-id'] === vm.id)).toHaveLength(1);
    expect(await ledger(second)).toMatchObject({
      outcome: 'joined',
      executionName: waiting!.name,
      decision: { action: 'stop', reasonCode: 'unknown_measurements', fingerprint: fingerprint(OTHER) },
    });
    const firstKey = eventKeyOf({
      logName: first['logName'] as string,
      insertId: first['insertId'] as string,
      timestamp: first['timestamp'] as string,
    });
    const joined = await stack.db.collection(eventsCollection(PREFIX)).doc(firstKey).collection('joined_events').get();
    expect(joined.docs.map((d) => d.data())).toEqual([
      expect.objectContaining({ bootCounter: '8', action: 'stop', reasonCode: 'unknown_measurements', fingerprint: fingerprint(OTHER) }),
    ]);
    // No blast-radius slot was taken for it.
    expect((await stack.db.collection(`${PREFIX}stop_slots`).get()).size).toBe(slots);
    expect(logs.find((l) => l.message?.includes(`joins execution ${waiting!.name}`) === true)?.severity).toBe('WARNING');

    // Approved: the VM starts; its next boot (the awaited kernel, now a baseline) is decided and relearned.
    expect(await decideInSlack(stack.slackApp, waiting!.name, 'approve')).toBe(200);
    expect(JSON.parse((await stack.engine.wait(waiting!.name)).result ?? '{}')).toMatchObject({
      outcome: 'promoted_and_started',
      errors: [],
    });
    // Logged a second after the VM started again.
    const started = Date.parse(stack.fleet.peek(vm.project, vm.zone, vm.id)?.lastStartTimestamp ?? '');
    const next = await report(vm, 9, AWAITED, POLICY, new Date(started + 1000).toISOString().replace('Z', '123456Z'));
    expect(await ledger(next)).toMatchObject({ outcome: 'decided', decision: { action: 'relearn' } });
    const [relearn] = executionsFor(vm, 'relearn');
    expect(JSON.parse((await stack.engine.wait(relearn!.name)).result ?? '{}')).toMatchObject({ outcome: 'relearned' });
  });
});

describe('the blast-radius guard counts VMs Compute has', () => {
  it('ten forged failed reports for instance ids that do not exist end stop_skipped and give their slots back: the next real failure is a stop', async () => {
    // Root on a VM writes a failed late-boot report for each of ten instance ids the project does
    // not have (gcloud logging write --monitored-resource-labels=instance_id=…), each with its own measurements.
    const ghosts = Array.from({ length: 10 }, (_, n) => ({
      project: PROJECT,
      zone: 'us-central1-a',
      id: String(7_199_000_000_000_000_000n + BigInt(n)),
    }));
    for (const [n, ghost] of ghosts.entries()) await report(ghost, 7, linuxBoot(`linux-6.1.0-27-amd64-ghost-${n}`), POLICY);
    for (const ghost of ghosts) {
      const [ex] = stack.engine.listExecutions({}).filter((r) => r.labels['instance-id'] === ghost.id);
      expect(JSON.parse((await stack.engine.wait(ex!.name)).result ?? '{}')).toMatchObject({ outcome: 'stop_skipped', errors: [] });
    }
    const held = (await stack.db.collection(`${PREFIX}stop_slots`).get()).docs.filter((d) =>
      ghosts.some((g) => g.id === d.get('instance.id')),
    );
    expect(held).toEqual([]);

    const vm = newVm();
    const entry = await report(vm, 7, linuxBoot('linux-6.1.0-27-amd64-real-rootkit'), POLICY);
    expect(await ledger(entry)).toMatchObject({ outcome: 'decided', decision: { action: 'stop', reasonCode: 'unknown_measurements' } });
    const [stop] = executionsFor(vm, 'stop');
    await stack.engine.reached(stop!.name, 'wait_decision');
    expect(stack.fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
  });
});
