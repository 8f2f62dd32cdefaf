/**
 * The response workflow (workflows/integrity-response.workflows.yaml) end to end in the local
 * engine: the Firestore emulator through the official client, a recording Compute fleet, and the
 * real Slack app (on the engine's clock) posting to the Slack Web API stand-in, where decisions are
 * clicked as signed interactions. Each path of the issue, asserted on what the fakes recorded, the
 * documents written and the execution's result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { APPROVAL_PATHS, checkApprovalCallback } from '../../core/approvals.js';
import type { GroupMember } from '../../core/approval-groups.js';
import { baselineFromDocument, baselineToDocument } from '../../core/baseline.js';
import {
  bootOrder,
  eventsCollection,
  instancesCollection,
  instanceStateId,
  RESPONSE_WORKFLOW_ID,
  type ResponseCollections,
} from '../../core/contracts.js';
import { decide, lookupOf } from '../../core/decide.js';
import type { InstanceRef } from '../../core/event.js';
import { loadSlackAppConfig } from '../../core/config.js';
import {
  appEnv,
  APPROVER,
  CHANNEL,
  decideInSlack,
  SECOND_APPROVER,
  startLocalSlackApp,
  TEAM,
  type LocalSlackApp,
} from '../../devstack/slack-local.js';
import { linuxBoot, measure } from '../../devstack/entries.js';
import { fingerprint, type Measurement } from '../../core/measurements.js';
import {
  fileBaseline,
  responseWorkflowFile,
  scenario,
  SCENARIO_CLOCK_START,
  SCENARIO_VM_STARTED,
} from '../../devstack/response-scenarios.js';
import { CLOUD_PLATFORM_SCOPE, type ExecutionRecord, loadLocalWorkflow, toPlain } from '@bootwarden/workflows-emulator';
import { TEST_PROJECT_ID, useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { InstantClock, outcomeOf, useEngine, type Outcome } from '../../packages/workflows-emulator/test/support/runs.js';

const fs = useFirestore();
const collections: ResponseCollections = { prefix: fs.prefix, baselines: `${fs.prefix}known_good_measurements` };
// The engine and the fleet share one clock, which starts a little after the scenarios' reports,
// never at today's date.
const clock = new InstantClock(SCENARIO_CLOCK_START);
const fleet = new RecordingComputeFleet({ now: () => clock.now() });
let vms = 0;
const engine = useEngine({ clock, instances: fleet, firestore: () => fs.db(), projectId: TEST_PROJECT_ID });
let slackApp: LocalSlackApp;

/**
 * A fresh VM per test, so the fleet's records of one test never mix with another's. Ids are 19
 * digits and above 2^53, as real ones are: one read as a JavaScript number would lose digits.
 */
function newVm(
  status: 'RUNNING' | 'TERMINATED' = 'RUNNING',
  labels?: Record<string, string>,
  lastStartTimestamp = SCENARIO_VM_STARTED,
): InstanceRef {
  const id = String(6_932_172_544_103_618_000n + BigInt(++vms));
  const vm: InstanceRef = { project: TEST_PROJECT_ID, zone: 'us-central1-a', id };
  fleet.addInstance({
    project: vm.project,
    zone: vm.zone,
    name: `vm-${id}`,
    id,
    status,
    ...(labels ? { labels } : {}),
    ...(status === 'RUNNING' ? { lastStartTimestamp } : {}),
  });
  return vm;
}

/** The calls made to this VM: by its name, as the reference documents for get, stop and start. */
function callsFor(vm: InstanceRef, method: Parameters<typeof fleet.callsTo>[0]) {
  return fleet.callsTo(method).filter((c) => c.target === `vm-${vm.id}`);
}

/** Measurements of their own per test: the baseline collection is shared by the tests of this file. */
function boot(kernel: string) {
  return linuxBoot(`linux-${kernel}`);
}

async function deploy(env: Record<string, string> = {}): Promise<void> {
  const local = await engine();
  local.engine.deploy(RESPONSE_WORKFLOW_ID, await loadLocalWorkflow(responseWorkflowFile()), {
    BOOTWARDEN_SLACK_APP_URL: slackApp.url,
    BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '3600',
    BOOTWARDEN_COLLECTION_PREFIX: collections.prefix,
    BOOTWARDEN_BASELINE_COLLECTION: collections.baselines,
    ...env,
  });
}

async function start(argument: unknown): Promise<ExecutionRecord> {
  return (await engine()).engine.startExecution(RESPONSE_WORKFLOW_ID, { argument: JSON.stringify(argument) });
}

async function finish(record: ExecutionRecord): Promise<Outcome> {
  return outcomeOf(await (await engine()).engine.wait(record.name));
}

/** The execution's record in the Slack app's approval group, once it waits for a decision. */
async function memberOf(record: ExecutionRecord): Promise<GroupMember> {
  await waitingStep(record, 'wait_decision');
  const q = await fs.db().collection(`${fs.prefix}approval_members`).where('execution', '==', record.name).get();
  if (q.size !== 1) throw new Error(`execution ${record.name} is in ${q.size} approval groups`);
  return q.docs[0]!.data() as GroupMember;
}

async function waitingStep(record: ExecutionRecord, step: string): Promise<void> {
  await (await engine()).engine.reached(record.name, step);
}

/** What the Slack app was told about this VM, newest last: the outcome reports in its audit trail. */
async function toldAbout(vm: InstanceRef): Promise<string[]> {
  const q = await fs.db().collection(`${fs.prefix}approval_audit`).where('kind', '==', 'outcome_reported').get();
  return q.docs
    .map((d) => d.data() as { at: string; detail: string })
    .filter((r) => r.detail.includes(`/${vm.id}:`))
    .sort((a, b) => a.at.localeCompare(b.at))
    .map((r) => r.detail);
}

/** POSTs any body to a callback endpoint with the engine's OAuth2 token, as a sender other than the app would. */
async function sendCallback(url: string, body: string): Promise<number> {
  const token = await (await engine()).tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
  const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  await res.arrayBuffer();
  return res.status;
}

const ALICE = { id: `${TEAM}:${APPROVER.id}`, name: APPROVER.name };

beforeAll(async () => {
  slackApp = await startLocalSlackApp(fs.prefix, {
    deps: { firestore: () => Promise.resolve(fs.db()), now: () => new Date(clock.now()), write: () => undefined },
  });
  await deploy();
  // The relearn scenarios' measurements are a known-good baseline: the workflow re-reads it.
  await fileBaseline(fs.db(), collections, scenario('relearn', { instance: newVm(), bootCounter: 1, collections }));
});
afterAll(async () => slackApp.close());

describe('relearn (known-good measurements)', () => {
  it('relearns a RUNNING VM on its latest boot, with the requestId, and writes the audit record', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const out = await finish(await start(s.argument));
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({
      outcome: 'relearned',
      action: 'relearn',
      instance: vm,
      fingerprint: s.argument.fingerprint,
      errors: [],
    });
    const relearns = callsFor(vm, 'setShieldedInstanceIntegrityPolicy');
    expect(relearns).toHaveLength(1);
    expect(relearns[0]).toMatchObject({ requestId: s.argument.requestId, body: { updateAutoLearnPolicy: true } });
    expect(fleet.relearnCount(vm.project, vm.zone, vm.id)).toBe(1);
    expect(callsFor(vm, 'stop')).toEqual([]);
    const audit = await fs.db().collection(eventsCollection(fs.prefix)).doc(s.argument.eventKey).get();
    expect(JSON.parse(audit.get('response') as string)).toMatchObject({ outcome: 'relearned', eventKey: s.argument.eventKey });
    // 12 steps, 7 to re-read the baseline and check its PCRs (one per field) before trusting it,
    // 2 to record what was relearned (the next boot is checked against it), and 6 to check the
    // argument (one per reported PCR, the fingerprint) inside the step that records any failure.
    expect(out.steps - out.record.billing.polls, out.record.steps.map((st) => st.step).join(' ')).toBeLessThanOrEqual(27);
  });

  it('skips a stale event: the VM has booted again since (a later boot is recorded)', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    await fs
      .db()
      .doc(`${instancesCollection(fs.prefix)}/${instanceStateId(vm)}/boots/${bootOrder('8')}`)
      .create({ bootCounter: '8', order: bootOrder('8') });
    const out = await finish(await start(s.argument));
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'relearn_skipped', action: 'none', reason: expect.stringMatching(/stale/) as unknown });
    expect(callsFor(vm, 'setShieldedInstanceIntegrityPolicy')).toEqual([]);
  });

  it('skips a stale event: the VM was started after the report (lastStartTimestamp)', async () => {
    const vm = newVm('RUNNING', undefined, '2026-11-01T02:00:01.250-08:00');
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const out = await finish(await start(s.argument));
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({
      outcome: 'relearn_skipped',
      action: 'none',
      reason: 'stale: the instance was started at 2026-11-01T02:00:01.250-08:00, after this report',
    });
    expect(callsFor(vm, 'setShieldedInstanceIntegrityPolicy')).toEqual([]);
  });

  it('finds the VM by id with instances.list and addresses it by name; a VM that is gone is skipped', async () => {
    expect.hasAssertions();
    const vm = newVm();
    await finish(await start(scenario('relearn', { instance: vm, bootCounter: 7, collections }).argument));
    expect(fleet.callsTo('list').filter((c) => (c.options as { filter?: string } | undefined)?.filter === `id eq ${vm.id}`)).toHaveLength(
      1,
    );
    expect(fleet.calls.filter((c) => c.target === vm.id)).toEqual([]);
    const gone: InstanceRef = { project: TEST_PROJECT_ID, zone: 'us-central1-a', id: '1999999999999999999' };
    const out = await finish(await start(scenario('relearn', { instance: gone, bootCounter: 7, collections }).argument));
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'relearn_skipped', reason: expect.stringMatching(/not in .*deleted/) as unknown });
  });

  it('skips a VM that is not RUNNING', async () => {
    const vm = newVm('TERMINATED');
    const out = await finish(await start(scenario('relearn', { instance: vm, bootCounter: 7, collections }).argument));
    expect(out.result).toMatchObject({ outcome: 'relearn_skipped', reason: expect.stringMatching(/TERMINATED, not RUNNING/) as unknown });
    expect(callsFor(vm, 'setShieldedInstanceIntegrityPolicy')).toEqual([]);
  });

  it('skips a VM started again after the report', async () => {
    const vm = newVm('TERMINATED');
    // Started, and RUNNING once the start's operation is DONE (PROVISIONING and STAGING until then).
    const op = await fleet.start(vm.project, vm.zone, vm.id);
    while ((await fleet.getOperation(vm.project, vm.zone, op.name)).status !== 'DONE');
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('RUNNING');
    const out = await finish(await start(scenario('relearn', { instance: vm, bootCounter: 7, collections }).argument));
    expect(out.result).toMatchObject({ outcome: 'relearn_skipped', reason: expect.stringMatching(/was started at/) as unknown });
    expect(fleet.relearnCount(vm.project, vm.zone, vm.id)).toBe(0);
  });

  it('skips a VM that is still starting (PROVISIONING until its start operation is DONE)', async () => {
    const vm = newVm('TERMINATED');
    await fleet.start(vm.project, vm.zone, vm.id);
    const out = await finish(await start(scenario('relearn', { instance: vm, bootCounter: 7, collections }).argument));
    expect(out.result).toMatchObject({
      outcome: 'relearn_skipped',
      reason: 'the instance is PROVISIONING, not RUNNING; the policy would be learned from another boot',
    });
    expect(fleet.relearnCount(vm.project, vm.zone, vm.id)).toBe(0);
  });

  it('Compute 503 twice, then success: relearned once, same requestId on every attempt', async () => {
    const vm = newVm();
    fleet.failNext('setShieldedInstanceIntegrityPolicy', 503, 2);
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const out = await finish(await start(s.argument));
    expect(out.result).toMatchObject({ outcome: 'relearned' });
    const attempts = callsFor(vm, 'setShieldedInstanceIntegrityPolicy');
    expect(attempts.length).toBe(3);
    expect(new Set(attempts.map((c) => c.requestId))).toEqual(new Set([s.argument.requestId]));
    expect(fleet.relearnCount(vm.project, vm.zone, vm.id)).toBe(1);
  });
});

describe('stop, then an operator decides', () => {
  it('approve: stops, asks the Slack app (OIDC), promotes the baseline in the tutorial shape, starts the VM; the next report is relearned', async () => {
    const vm = newVm();
    const s = scenario('stop', { instance: vm, bootCounter: 7, collections });
    const record = await start(s.argument);
    // The app records a member only for a request whose OIDC token it accepted (audience: its base URL).
    const member = await memberOf(record);
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
    expect(callsFor(vm, 'stop')[0]).toMatchObject({ requestId: s.argument.requestId });
    expect(member).toMatchObject({ eventKey: s.argument.eventKey, execution: record.name, instance: vm, instanceName: `vm-${vm.id}` });
    const message = slackApp.slack.channelMessages(CHANNEL).find((m) => JSON.stringify(m.blocks).includes(member.groupId));
    expect(message?.text).toMatch(/^Unknown boot measurements on \d+ VMs? /);
    expect(await decideInSlack(slackApp, record.name, 'approve')).toBe(200);
    const out = await finish(record);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'promoted_and_started', action: 'start', approver: ALICE, groupId: member.groupId });

    const doc = await fs.db().collection(collections.baselines).doc(s.baseline.id).get();
    const expected = baselineToDocument(s.baseline) as Record<string, unknown>;
    const stored = doc.data() as Record<string, unknown>;
    for (const pcr of ['PCR_0', 'PCR_4', 'PCR_7']) expect(stored[pcr]).toEqual(expected[pcr]);
    expect(stored['bootwarden']).toMatchObject({ fingerprint: s.baseline.fingerprint, addedBy: `slack:${TEAM}:${APPROVER.id}` });
    const parsed = baselineFromDocument(doc.id, stored as never);
    expect(parsed.ok && parsed.baseline.fingerprint).toBe(s.baseline.fingerprint);

    const starts = callsFor(vm, 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ requestId: s.argument.startRequestId });
    expect(s.argument.startRequestId).not.toBe(s.argument.requestId);
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('RUNNING');
    expect(callsFor(vm, 'setShieldedInstanceIntegrityPolicy')).toEqual([]);
    await slackApp.app.approvals.settled();
    const after = (
      await fs.db().collection(`${fs.prefix}approval_members`).where('execution', '==', record.name).get()
    ).docs[0]!.data() as GroupMember;
    expect(after.outcome?.kind).toBe('promoted_and_started');
    // The VM's next late-boot report has these measurements: the normal path now relearns it.
    if (parsed.ok) expect(decide(s.event, lookupOf({ id: doc.id, baseline: parsed.baseline })).action).toBe('relearn');
    // 28, and 10 to check the argument: its PCRs and fingerprint (6) and the diff shown to the approver (one per entry).
    expect(out.steps - out.record.billing.polls, out.record.steps.map((st) => st.step).join(' ')).toBeLessThanOrEqual(38);
  });

  it('a VM that is gone gives back the stop slots its event holds, and only those', async () => {
    expect.hasAssertions();
    const gone: InstanceRef = { project: TEST_PROJECT_ID, zone: 'us-central1-a', id: '1888888888888888887' };
    const { argument } = scenario('stop', { instance: gone, bootCounter: 4, collections });
    const slots = fs.db().collection(`${fs.prefix}stop_slots`);
    const slot = (holder: string) => ({
      holder,
      instance: { ...gone },
      fingerprint: argument.fingerprint,
      scope: 'project',
      windowStart: 'w',
      claimedAt: 'c',
      expiresAt: new Date('2026-11-01T11:00:00Z'),
    });
    const mine = [`w1793523600-fingerprint-${argument.fingerprint ?? 'none'}-0`, `w1793523600-project-${TEST_PROJECT_ID}-3`];
    const other = `w1793523600-overall-all-5`;
    for (const id of mine) await slots.doc(id).create(slot(argument.eventKey));
    await slots.doc(other).create(slot('f'.repeat(64)));
    const out = await finish(await start({ ...argument, stopSlots: [...mine, other] }));
    expect(out.result).toMatchObject({ outcome: 'stop_skipped', errors: [] });
    expect((await slots.doc(mine[0]!).get()).exists).toBe(false);
    expect((await slots.doc(mine[1]!).get()).exists).toBe(false);
    // Another event's slot (a forged argument naming it) is kept.
    expect((await slots.doc(other).get()).get('holder')).toBe('f'.repeat(64));
  });

  it('a VM that is gone is not stopped: stop_skipped, and operators are told', async () => {
    expect.hasAssertions();
    const gone: InstanceRef = { project: TEST_PROJECT_ID, zone: 'us-central1-a', id: '1888888888888888888' };
    const out = await finish(await start(scenario('stop', { instance: gone, bootCounter: 4, collections }).argument));
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'stop_skipped', reason: expect.stringMatching(/not in .*nothing to stop/) as unknown });
    expect(fleet.callsTo('stop').filter((c) => c.target === gone.id || c.target === `vm-${gone.id}`)).toEqual([]);
    expect(await toldAbout(gone)).toEqual([expect.stringMatching(/^stop_skipped instance .*nothing to stop$/) as unknown]);
    expect(
      slackApp.slack.channelMessages(CHANNEL).some((m) => m.text.includes(`instance ${gone.id} `) && m.text.includes('not stopped (gone)')),
    ).toBe(true);
  });

  it('reject: the VM stays stopped and the decision is in the result', async () => {
    const vm = newVm();
    const s = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-90-rejected') });
    const record = await start(s.argument);
    await memberOf(record);
    expect(await decideInSlack(slackApp, record.name, 'reject', SECOND_APPROVER)).toBe(200);
    const out = await finish(record);
    expect(out.result).toMatchObject({
      outcome: 'rejected',
      action: 'stop',
      approver: { id: `${TEAM}:${SECOND_APPROVER.id}`, name: 'bob' },
    });
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
    expect(callsFor(vm, 'start')).toEqual([]);
    expect((await fs.db().collection(collections.baselines).doc(s.baseline.id).get()).exists).toBe(false);
  });

  it('the same approval delivered twice: one promotion, one start', async () => {
    const vm = newVm();
    const s = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-91-twice') });
    const record = await start(s.argument);
    const member = await memberOf(record);
    // At-least-once: the app may deliver a decision again (it died before recording the delivery).
    const body = JSON.stringify({
      version: 1,
      groupId: member.groupId,
      decision: 'approve',
      approver: ALICE,
      decidedAt: new Date(clock.now()).toISOString(),
    });
    expect(await sendCallback(member.callbackUrl, body)).toBe(200);
    expect(await sendCallback(member.callbackUrl, body)).toBe(200);
    const out = await finish(record);
    expect(out.result).toMatchObject({ outcome: 'promoted_and_started' });
    expect(callsFor(vm, 'start')).toHaveLength(1);
    expect(out.record.steps.filter((st) => st.step === 'promote')).toHaveLength(1);
    expect((await fs.db().collection(collections.baselines).doc(s.baseline.id).get()).exists).toBe(true);
  });

  it('a callback that is not a valid decision is ignored and the execution keeps waiting', async () => {
    const vm = newVm();
    const record = await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument);
    const member = await memberOf(record);
    const valid = { version: 1, groupId: member.groupId, decision: 'reject', approver: { id: 'T1:U1', name: 'x' }, decidedAt: 'now' };
    // An authorized sender with a malformed body (issue 14, attack 7): whatever checkApprovalCallback
    // refuses, the workflow ignores; none of it may fail the execution.
    const invalid = [
      '"approve"',
      '[1, 2]',
      '{"version": 1, "decision": "approve"}',
      JSON.stringify({ ...valid, groupId: 'other' }),
      JSON.stringify({ ...valid, version: '1' }),
      JSON.stringify({ ...valid, groupId: [member.groupId] }),
      JSON.stringify({ ...valid, decision: ['reject'] }),
      JSON.stringify({ ...valid, approver: null }),
      JSON.stringify({ ...valid, approver: ['T1:U1', 'x'] }),
      JSON.stringify({ ...valid, approver: { id: ['T1:U1'], name: 'x' } }),
      JSON.stringify({ ...valid, approver: { id: '', name: 'x' } }),
      JSON.stringify({ ...valid, approver: { id: 'T1:U1', name: ['x'] } }),
      JSON.stringify({ ...valid, approver: { id: 'T1:U1' } }),
      JSON.stringify({ ...valid, decidedAt: 1796216400 }),
      JSON.stringify({ ...valid, decidedAt: null }),
    ];
    for (const body of invalid) {
      expect(checkApprovalCallback(JSON.parse(body), member.groupId).ok).toBe(false);
      expect(await sendCallback(member.callbackUrl, body)).toBe(200);
    }
    // The edge of what checkApprovalCallback accepts (an empty name and time) is a decision here too.
    const edge = { ...valid, approver: { id: 'T1:U1', name: '' }, decidedAt: '' };
    expect(checkApprovalCallback(edge, member.groupId).ok).toBe(true);
    expect(await sendCallback(member.callbackUrl, JSON.stringify(edge))).toBe(200);
    const out = await finish(record);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'rejected', approver: { id: 'T1:U1', name: '' } });
    expect(out.record.steps.filter((st) => st.step === 'ignore_callback')).toHaveLength(invalid.length);
    expect(out.record.logs.filter((l) => l.severity === 'WARNING').length).toBeGreaterThanOrEqual(invalid.length);
  });

  it('timeout: the VM stays stopped, the group is expired and operators are told', async () => {
    await deploy({ BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '1' });
    try {
      const vm = newVm();
      const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument));
      expect(out.result).toMatchObject({ outcome: 'expired', action: 'stop' });
      expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
      const member = (
        await fs.db().collection(`${fs.prefix}approval_members`).where('execution', '==', out.record.name).get()
      ).docs[0]!.data() as GroupMember;
      expect(member.outcome).toMatchObject({ kind: 'expired', detail: 'no decision within 1 s; the VM stays stopped' });
      expect(member.groupId).toBe((out.result as { groupId: string }).groupId);
    } finally {
      await deploy();
    }
  });

  it('Compute permanent error: the execution fails with a clear error, operators are told', async () => {
    const vm = newVm();
    fleet.failAlways('stop', 403, 'Required permission compute.instances.stop');
    try {
      const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument));
      expect(out.state).toBe('FAILED');
      expect(out.error?.tags).toEqual(['BootwardenError']);
      expect(out.error?.message).toMatch(new RegExp(`stopping the instance failed for instance ${vm.project}/${vm.zone}/${vm.id}: .*403`));
      expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^failed instance .*: stopping the instance failed: /) as unknown]);
      expect(callsFor(vm, 'stop')).toHaveLength(1);
    } finally {
      fleet.clearFailures();
    }
  });
});

describe('held by the blast-radius guard: the VM keeps running until an operator decides', () => {
  /** Compute calls that change this VM: a held VM must see none before a decision. */
  const mutations = (vm: InstanceRef) => ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].flatMap((m) => callsFor(vm, m as 'stop'));

  it('approve: nothing changed while waiting; the baseline is promoted and the VM, still on the reported boot, relearned', async () => {
    const vm = newVm();
    const s = scenario('hold', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-92-held-approved') });
    expect(s.argument.decision).toMatchObject({ action: 'hold', intendedAction: 'stop' });
    const record = await start(s.argument);
    const member = await memberOf(record);
    expect(member).toMatchObject({ held: true, instance: vm, instanceName: `vm-${vm.id}` });
    expect(mutations(vm)).toEqual([]);
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('RUNNING');
    const message = slackApp.slack.channelMessages(CHANNEL).find((m) => JSON.stringify(m.blocks).includes(member.groupId));
    expect(message?.text).toMatch(
      /^Unknown boot measurements on 1 VM \(0 stopped, 1 held by the blast-radius guard \(still running, unchanged\)\)/,
    );
    expect(await decideInSlack(slackApp, record.name, 'approve')).toBe(200);
    const out = await finish(record);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({
      outcome: 'relearned',
      action: 'relearn',
      approver: ALICE,
      reason: `approved by ${APPROVER.name}; baseline ${s.baseline.fingerprint} promoted and the held VM relearned on the reported boot`,
    });
    expect((await fs.db().collection(collections.baselines).doc(s.baseline.id).get()).exists).toBe(true);
    const relearns = callsFor(vm, 'setShieldedInstanceIntegrityPolicy');
    expect(relearns).toHaveLength(1);
    expect(relearns[0]).toMatchObject({ requestId: s.argument.requestId, body: { updateAutoLearnPolicy: true } });
    expect([callsFor(vm, 'stop'), callsFor(vm, 'start')]).toEqual([[], []]);
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^relearned instance .*held VM relearned/) as unknown]);
  });

  it('reject: the held VM is stopped now, with the stop requestId; no baseline', async () => {
    const vm = newVm();
    const s = scenario('hold', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-93-held-rejected') });
    const record = await start(s.argument);
    await memberOf(record);
    expect(mutations(vm)).toEqual([]);
    expect(await decideInSlack(slackApp, record.name, 'reject', SECOND_APPROVER)).toBe(200);
    const out = await finish(record);
    expect(out.result).toMatchObject({ outcome: 'rejected', action: 'stop', reason: 'rejected by bob; the held VM is stopped now' });
    expect(callsFor(vm, 'stop').map((c) => c.requestId)).toEqual([s.argument.requestId]);
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
    expect((await fs.db().collection(collections.baselines).doc(s.baseline.id).get()).exists).toBe(false);
    await slackApp.app.approvals.settled();
    const message = slackApp.slack.channelMessages(CHANNEL).find((m) => m.text.includes(s.baseline.fingerprint.slice(0, 16)));
    expect(JSON.stringify(message?.blocks)).toContain('stopped (rejected)');
  });

  it('approve after the VM booted again: promoted, not relearned (the policy would be learned from another boot)', async () => {
    const vm = newVm();
    const s = scenario('hold', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-94-held-rebooted') });
    const record = await start(s.argument);
    await memberOf(record);
    await fs
      .db()
      .doc(`${instancesCollection(fs.prefix)}/${instanceStateId(vm)}/boots/${bootOrder('8')}`)
      .create({ bootCounter: '8', order: bootOrder('8') });
    expect(await decideInSlack(slackApp, record.name, 'approve')).toBe(200);
    const out = await finish(record);
    expect(out.result).toMatchObject({ outcome: 'relearn_skipped', reason: 'stale: the instance has booted again since boot 7' });
    expect((await fs.db().collection(collections.baselines).doc(s.baseline.id).get()).exists).toBe(true);
    expect(mutations(vm)).toEqual([]);
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^relearn_skipped instance .*booted again/) as unknown]);
  });

  it('timeout: the held VM keeps running unchanged, the group is expired and operators are told', async () => {
    await deploy({ BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '1' });
    try {
      const vm = newVm();
      const out = await finish(
        await start(scenario('hold', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-95-held-expired') }).argument),
      );
      expect(out.result).toMatchObject({
        outcome: 'expired',
        action: 'hold',
        reason: 'no decision within 1 s; the held VM keeps running unchanged (its measurements are still not trusted)',
      });
      expect(mutations(vm)).toEqual([]);
      expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('RUNNING');
    } finally {
      await deploy();
    }
  });

  it('one group with a stopped and a held VM: the message counts both; approve starts the one and relearns the other', async () => {
    const actual = boot('6.1.0-96-mixed');
    const stoppedVm = newVm();
    const heldVm = newVm();
    const stop = scenario('stop', { instance: stoppedVm, bootCounter: 7, collections, actual });
    const hold = scenario('hold', { instance: heldVm, bootCounter: 7, collections, actual });
    const first = await start(stop.argument);
    const a = await memberOf(first);
    const second = await start(hold.argument);
    const b = await memberOf(second);
    expect(b.groupId).toBe(a.groupId);
    await slackApp.app.approvals.settled();
    const message = slackApp.slack.channelMessages(CHANNEL).find((m) => JSON.stringify(m.blocks).includes(a.groupId));
    expect(message?.text).toMatch(/^Unknown boot measurements on 2 VMs \(1 stopped, 1 held by the blast-radius guard/);
    expect(JSON.stringify(message?.blocks)).toContain('starts the stopped VMs and relearns the held ones');
    expect(await decideInSlack(slackApp, first.name, 'approve')).toBe(200);
    const [x, y] = [await finish(first), await finish(second)];
    expect([x.result, y.result]).toMatchObject([{ outcome: 'promoted_and_started' }, { outcome: 'relearned' }]);
    expect([callsFor(stoppedVm, 'start'), callsFor(heldVm, 'setShieldedInstanceIntegrityPolicy')].map((c) => c.length)).toEqual([1, 1]);
    expect([callsFor(heldVm, 'stop'), callsFor(heldVm, 'start')]).toEqual([[], []]);
  });
});

describe('dry run', () => {
  it('global dry-run: no Compute call at all; the Slack app is told what would have happened', async () => {
    const vm = newVm();
    const callsBefore = fleet.calls.length;
    const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections, dryRun: true }).argument));
    expect(out.result).toMatchObject({ outcome: 'dry_run', action: 'none' });
    expect(fleet.calls.slice(callsBefore).filter((c) => JSON.stringify(c).includes(vm.id))).toEqual([]);
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^dry_run instance .*: dry run: would have done stop; /) as unknown]);
  });

  it('the label bootwarden-dry-run=true is ignored by default: anyone who may label the VM could switch enforcement off', async () => {
    const vm = newVm('RUNNING', { 'bootwarden-dry-run': 'true' });
    const record = await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument);
    await memberOf(record);
    expect(callsFor(vm, 'stop')).toHaveLength(1);
    expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');
    expect(await decideInSlack(slackApp, record.name, 'reject')).toBe(200);
    expect((await finish(record)).result).toMatchObject({ outcome: 'rejected' });
  });

  it('with BOOTWARDEN_HONOUR_DRY_RUN_LABEL=true, a labelled VM is read, never stopped nor relearned', async () => {
    await deploy({ BOOTWARDEN_HONOUR_DRY_RUN_LABEL: 'true' });
    try {
      const vm = newVm('RUNNING', { 'bootwarden-dry-run': 'true' });
      const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument));
      expect(out.result).toMatchObject({ outcome: 'dry_run' });
      const relearn = await finish(await start(scenario('relearn', { instance: vm, bootCounter: 7, collections }).argument));
      expect(relearn.result).toMatchObject({
        outcome: 'dry_run',
        reason: expect.stringMatching(/^dry run \(instance label bootwarden-dry-run=true\): would have relearned; /) as unknown,
      });
      expect([callsFor(vm, 'stop'), callsFor(vm, 'setShieldedInstanceIntegrityPolicy')]).toEqual([[], []]);
      expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('RUNNING');
    } finally {
      await deploy();
    }
  });
});

describe('the argument is not trusted: documents come from configuration, a relearn re-reads its baseline', () => {
  const mutations = (vm: InstanceRef) => ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].flatMap((m) => callsFor(vm, m as 'stop'));
  const baselines = () => fs.db().collection(collections.baselines);

  it.each([
    ['no baseline at all (an execution created for unknown measurements)', 'missing', 'is missing now'],
    ['a baseline whose PCR_4 holds another value', 'other value', 'does not hold exactly the reported PCRs now (PCR_4 has another value)'],
    [
      'a baseline with one more PCR than was reported',
      'extra PCR',
      'does not hold exactly the reported PCRs now (PCR_14 was not reported)',
    ],
  ] as const)('refuses to relearn on %s: no Compute mutation, relearn_refused in the audit', async (_name, how, why) => {
    const vm = newVm();
    const measured = boot(`6.1.0-95-${how.replace(' ', '-')}`);
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections, actual: measured });
    const stored = baselineToDocument(s.baseline) as Record<string, Record<string, string>>;
    if (how === 'other value') stored['PCR_4'] = { ...stored['PCR_4']!, value: Buffer.alloc(32, 7).toString('base64') };
    if (how === 'extra PCR') stored['PCR_14'] = { hashAlgo: 'SHA256', pcrNum: 'PCR_14', value: Buffer.alloc(32, 14).toString('base64') };
    if (how !== 'missing') await baselines().doc(s.baseline.id).create(stored);
    const out = await finish(await start(s.argument));
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({
      outcome: 'relearn_refused',
      action: 'none',
      reason: `baseline ${collections.baselines}/${s.baseline.id} ${why}; the integrity policy is not relearned`,
    });
    expect(mutations(vm)).toEqual([]);
    const audit = await fs.db().collection(eventsCollection(fs.prefix)).doc(s.argument.eventKey).get();
    expect(JSON.parse(audit.get('response') as string)).toMatchObject({ outcome: 'relearn_refused', errors: [] });
    // Operators are told, in a message of its own (no approval group).
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^relearn_refused instance /) as unknown]);
    await slackApp.app.approvals.settled();
    expect(
      slackApp.slack.channelMessages(CHANNEL).some((m) => JSON.stringify(m).includes(vm.id) && JSON.stringify(m).includes('NOT relearned')),
    ).toBe(true);
  });

  it('an argument from other collections fails the execution before anything is read or changed', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections: { prefix: 'other_', baselines: 'other_baselines' } });
    const reads = fleet.callsTo('list').length;
    const out = await finish(await start(s.argument));
    expect(out.state).toBe('FAILED');
    expect(out.error?.tags).toEqual(['ConfigError']);
    expect(out.error?.message).toBe(
      `bootwarden: the function uses the collections other_* and other_baselines, this workflow ${fs.prefix}* and ${collections.baselines}: deploy both with the same BOOTWARDEN_COLLECTION_PREFIX and BOOTWARDEN_BASELINE_COLLECTION`,
    );
    expect(fleet.callsTo('list').length).toBe(reads);
    expect(mutations(vm)).toEqual([]);
  });

  it.each([
    ['an event key that is a path', 'eventKey', { eventKey: `../${'a'.repeat(61)}` }],
    ['a next boot that is a path', 'nextBoot', { nextBoot: '00000000000000000008/../../x' }],
    ['an instance id with a slash', 'instance.id', { instance: { project: TEST_PROJECT_ID, zone: 'us-central1-a', id: '1/boots' } }],
    ['a zone with a slash', 'instance.zone', { instance: { project: TEST_PROJECT_ID, zone: 'us-central1-a/x', id: '1' } }],
    ['a project that is a path', 'instance.project', { instance: { project: '../other', zone: 'us-central1-a', id: '1' } }],
    ['a fingerprint that is not 64 hex digits', 'fingerprint', { fingerprint: 'known_good_measurements/x' }],
    ['a baseline id with a slash', 'baselineId', { baselineId: 'a/b' }],
  ])('an argument with %s fails the execution (ValueError naming %s) and changes nothing', async (_name, field, forged) => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const reads = fleet.callsTo('list').length;
    const out = await finish(await start({ ...s.argument, ...forged }));
    expect(out.state).toBe('FAILED');
    expect(out.error?.tags).toEqual(['ValueError']);
    expect(out.error?.field).toBe(field);
    expect(out.error?.message).toMatch(new RegExp(`^bootwarden: the workflow argument's ${field.replace('.', '\\.')} is not `));
    expect(fleet.callsTo('list').length).toBe(reads);
    expect(mutations(vm)).toEqual([]);
  });

  it('an approval promotes the reported PCRs under their fingerprint in the configured collection, whatever else the argument carries', async () => {
    const vm = newVm();
    const s = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-96-promoted-here') });
    // What an older or forged argument could say: another collection and document.
    const forged = { ...s.argument, baselineDocument: { collection: `${fs.prefix}events`, documentId: 'x', fields: {} } };
    const record = await start(forged);
    await memberOf(record);
    expect(await decideInSlack(slackApp, record.name, 'approve')).toBe(200);
    const out = await finish(record);
    expect(out.result).toMatchObject({ outcome: 'promoted_and_started' });
    const doc = await baselines().doc(s.baseline.fingerprint).get();
    const parsed = baselineFromDocument(doc.id, doc.data() as never);
    expect(parsed.ok && parsed.baseline.fingerprint).toBe(s.baseline.fingerprint);
    expect((await fs.db().collection(`${fs.prefix}events`).doc('x').get()).exists).toBe(false);
  });

  it('a held VM is not relearned when the baseline under its fingerprint already holds other PCRs (promotion finds it there)', async () => {
    const vm = newVm();
    const s = scenario('hold', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-97-squatted') });
    // Someone filed other measurements under this fingerprint before the approval.
    const squatted = baselineToDocument(s.baseline) as Record<string, Record<string, string>>;
    squatted['PCR_0'] = { ...squatted['PCR_0']!, value: Buffer.alloc(32, 9).toString('base64') };
    await baselines().doc(s.baseline.id).create(squatted);
    const record = await start(s.argument);
    await memberOf(record);
    expect(await decideInSlack(slackApp, record.name, 'approve')).toBe(200);
    const out = await finish(record);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'relearn_refused', approver: ALICE });
    expect(mutations(vm)).toEqual([]);
    expect(await toldAbout(vm)).toEqual([
      expect.stringMatching(/^relearn_refused instance .*does not hold exactly the reported PCRs/) as unknown,
    ]);
  });
});

/** What a stand-in of the Slack app at a port was asked: the path, the OIDC token's audience, the body. */
interface Asked {
  readonly path: string;
  readonly audience: unknown;
  readonly body: Record<string, unknown>;
}

/**
 * A stand-in of the Slack app's internal endpoints at a port, recording every request; `answer`
 * gives the status and body of the nth request (from 0) to a path.
 */
async function recordingApp(
  answer: (path: string, n: number) => { status: number; body: unknown },
): Promise<{ url: string; asked: Asked[]; on: (path: string) => Asked[]; close: () => Promise<void> }> {
  const asked: Asked[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const claims = JSON.parse(Buffer.from(token.split('.')[2] ?? '', 'base64url').toString('utf8') || '{}') as { aud?: unknown };
      const n = asked.filter((a) => a.path === path).length;
      asked.push({ path, audience: claims.aud, body: JSON.parse(text) as Record<string, unknown> });
      const a = answer(path, n);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    on: (path) => asked.filter((a) => a.path === path),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const UNAVAILABLE = { status: 503, body: { error: 'unavailable' } };
const OK = { status: 200, body: {} };
const GROUP = `grp_${'5e'.repeat(16)}`;

describe('the Slack app cannot be asked: retried while the approval timeout lasts, then reported', () => {
  it('down for the whole timeout: rounds of requests with pauses of 1, 2, 4 minutes, all inside the deadline; then the outcome endpoint and an ERROR entry with alert=approval_request_failed', async () => {
    const app = await recordingApp((path) => (path === APPROVAL_PATHS.request ? UNAVAILABLE : OK));
    await deploy({ BOOTWARDEN_SLACK_APP_URL: app.url, BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '900' });
    try {
      const vm = newVm();
      const sleepsBefore = clock.sleeps.length;
      const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument));
      expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
      expect(out.result).toMatchObject({ outcome: 'approval_request_failed', action: 'stop', groupId: null });
      expect(fleet.peek(vm.project, vm.zone, vm.id)?.status).toBe('TERMINATED');

      // tell_app's own retries (2 to 32 s) in each round, and the pauses between rounds: a fourth
      // pause (8 minutes) and its round could not end before the 900 s deadline.
      const requests = app.on(APPROVAL_PATHS.request).filter((a) => (a.body['instance'] as InstanceRef).id === vm.id);
      expect(requests).toHaveLength(4 * 6);
      const waits = clock.sleeps.slice(sleepsBefore).filter((ms) => ms >= 2000);
      expect(waits).toEqual([
        ...[2000, 4000, 8000, 16000, 32000],
        60000,
        ...[2000, 4000, 8000, 16000, 32000],
        120000,
        ...[2000, 4000, 8000, 16000, 32000],
        240000,
        ...[2000, 4000, 8000, 16000, 32000],
        // The outcome is told at once.
      ]);
      // Every attempt is the same request: one callback, one deadline, fixed at the start.
      const startedAt = Date.parse((out.result as { timings: { startedAt: string } }).timings.startedAt);
      expect(new Set(requests.map((r) => r.body['callbackUrl'])).size).toBe(1);
      expect(new Set(requests.map((r) => Date.parse(r.body['expiresAt'] as string)))).toEqual(new Set([startedAt + 900_000]));
      const finishedAt = Date.parse((out.result as { timings: { finishedAt: string } }).timings.finishedAt);
      expect(finishedAt).toBeLessThan(startedAt + 900_000);

      // Reported by the paths that remain: the outcome endpoint...
      const told = app.on(APPROVAL_PATHS.outcome).filter((a) => (a.body['instance'] as InstanceRef).id === vm.id);
      expect(told.map((t) => t.body)).toEqual([
        expect.objectContaining({
          outcome: 'approval_request_failed',
          groupId: null,
          detail: expect.stringMatching(/^the VM is stopped, but the Slack app could not be asked for a decision; /) as unknown,
        }),
      ]);
      expect(told[0]?.audience).toBe(app.url);
      // ... and an ERROR entry an alert policy matches on its `alert` field.
      const alerts = out.record.logs.map((l) => ({ severity: l.severity, payload: toPlain(l.payload) as Record<string, unknown> }));
      expect(alerts.filter((l) => l.payload['alert'] === 'approval_request_failed')).toEqual([
        {
          severity: 'ERROR',
          payload: expect.objectContaining({
            alert: 'approval_request_failed',
            instance: vm,
            eventKey: requests[0]?.body['eventKey'],
            held: false,
            error: 'HTTP server responded with error code 503',
          }) as unknown,
        },
      ]);
      expect((out.result as { errors: { step: string }[] }).errors.map((e) => e.step)).toEqual(['request_approval']);
    } finally {
      await deploy();
      await app.close();
    }
  });

  it('down for a while: the request is asked again while the execution waits; once answered, the wait ends at the first deadline', async () => {
    // Unavailable for the first round (6 requests) and two more; the ninth is answered.
    const app = await recordingApp((path, n) =>
      path === APPROVAL_PATHS.request ? (n < 8 ? UNAVAILABLE : { status: 200, body: { groupId: GROUP } }) : OK,
    );
    await deploy({ BOOTWARDEN_SLACK_APP_URL: app.url, BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '900' });
    try {
      const vm = newVm();
      const sleepsBefore = clock.sleeps.length;
      const record = await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument);
      await waitingStep(record, 'wait_decision');
      const requests = app.on(APPROVAL_PATHS.request);
      expect(requests).toHaveLength(9);
      expect(clock.sleeps.slice(sleepsBefore).filter((ms) => ms >= 60000)).toEqual([60000]);
      const callbackUrl = requests[8]?.body['callbackUrl'] as string;
      const expiresAt = requests[8]?.body['expiresAt'];
      expect(requests.every((r) => r.body['callbackUrl'] === callbackUrl && r.body['expiresAt'] === expiresAt)).toBe(true);
      const state = await fs.db().collection(instancesCollection(fs.prefix)).doc(instanceStateId(vm)).get();
      expect(state.get('awaiting')).toMatchObject({ groupId: GROUP, until: expiresAt });

      const decision = { version: 1, groupId: GROUP, decision: 'reject', approver: ALICE, decidedAt: '2026-11-29T10:20:00.000Z' };
      expect(await sendCallback(callbackUrl, JSON.stringify(decision))).toBe(200);
      const out = await finish(record);
      expect(out.result).toMatchObject({ outcome: 'rejected', groupId: GROUP, errors: [] });
      expect(out.record.logs.some((l) => (toPlain(l.payload) as Record<string, unknown>)['alert'] !== undefined)).toBe(false);
    } finally {
      await deploy();
      await app.close();
    }
  });

  it('a refusal (4xx) is not retried: reported at once, for a held VM too', async () => {
    const app = await recordingApp((path) => (path === APPROVAL_PATHS.request ? { status: 400, body: { error: 'bad request' } } : OK));
    await deploy({ BOOTWARDEN_SLACK_APP_URL: app.url });
    try {
      const vm = newVm();
      const sleepsBefore = clock.sleeps.length;
      const out = await finish(await start(scenario('hold', { instance: vm, bootCounter: 7, collections }).argument));
      expect(out.result).toMatchObject({ outcome: 'approval_request_failed', action: 'hold' });
      expect(app.on(APPROVAL_PATHS.request)).toHaveLength(1);
      expect(clock.sleeps.slice(sleepsBefore).filter((ms) => ms >= 2000)).toEqual([]);
      expect(app.on(APPROVAL_PATHS.outcome).map((a) => a.body['detail'])).toEqual([
        expect.stringMatching(/^the VM is held \(still running, unchanged\), but the Slack app could not be asked/) as unknown,
      ]);
      const alert = out.record.logs.find((l) => (toPlain(l.payload) as Record<string, unknown>)['alert'] === 'approval_request_failed');
      expect(alert?.severity).toBe('ERROR');
      expect(callsFor(vm, 'stop')).toEqual([]);
    } finally {
      await deploy();
      await app.close();
    }
  });
});

describe('configuration the workflow trusts', () => {
  it.each(['', 'abc', '0', '-5', '1e999', '0x10', '86400s', ' 60', '31536001', '123456789'])(
    'BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS=%j is refused at the first check (ConfigError naming it), before anything is read',
    async (value) => {
      await deploy({ BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: value });
      try {
        const vm = newVm();
        const reads = fleet.callsTo('list').length;
        const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument));
        expect(out.state).toBe('FAILED');
        expect(out.error?.tags).toEqual(['ConfigError']);
        expect(out.error?.field).toBe('BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS');
        expect(out.error?.message).toBe(
          `bootwarden: BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS is ${JSON.stringify(value)}: give a positive number of seconds in decimal digits (86400 by default), at most 31536000 (a year, the longest an execution runs)`,
        );
        // Only the argument's own checks ran before it (nothing read); then the failure is recorded.
        const steps = out.record.steps.map((s) => s.step);
        expect(steps.slice(0, steps.indexOf('route') + 1)).toEqual([
          'init',
          'respond',
          'check_pcrs',
          'check_pcr',
          'check_pcr',
          'check_pcr',
          'fingerprint_of',
          'route',
        ]);
        expect(fleet.callsTo('list').length).toBe(reads);
      } finally {
        await deploy();
      }
    },
  );

  it("a decimal timeout is taken as given: 90.5 s from the start is the request's expiry", async () => {
    const app = await recordingApp((path) => (path === APPROVAL_PATHS.request ? { status: 400, body: {} } : OK));
    await deploy({ BOOTWARDEN_SLACK_APP_URL: app.url, BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '90.5' });
    try {
      const out = await finish(await start(scenario('stop', { instance: newVm(), bootCounter: 7, collections }).argument));
      const startedAt = Date.parse((out.result as { timings: { startedAt: string } }).timings.startedAt);
      expect(app.on(APPROVAL_PATHS.request).map((a) => Date.parse(a.body['expiresAt'] as string))).toEqual([startedAt + 90_500]);
    } finally {
      await deploy();
      await app.close();
    }
  });

  it.each(['', '/', '//'])(
    'BOOTWARDEN_SLACK_APP_URL with %j at the end: the OIDC audience is the bare base URL and no path has //',
    async (tail) => {
      const app = await recordingApp(() => OK);
      await deploy({ BOOTWARDEN_SLACK_APP_URL: `${app.url}${tail}` });
      try {
        const vm = newVm();
        await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections, dryRun: true }).argument));
        expect(app.asked.map((a) => [a.path, a.audience])).toEqual([[APPROVAL_PATHS.outcome, app.url]]);
        // The audience the Slack app expects, from its own configuration of the same setting.
        const port = Number(new URL(app.url).port);
        const appConfig = loadSlackAppConfig(
          appEnv(port, 'http://127.0.0.1:9/api/', fs.prefix, { BOOTWARDEN_SLACK_APP_URL: `${app.url}${tail}` }),
        );
        expect(app.asked[0]?.audience).toBe(appConfig.appUrl);
      } finally {
        await deploy();
        await app.close();
      }
    },
  );

  it('with a trailing / the real Slack app accepts the token: its audience (its URL without the slash) is the one the workflow sends', async () => {
    expect(slackApp.url.endsWith('/')).toBe(false);
    await deploy({ BOOTWARDEN_SLACK_APP_URL: `${slackApp.url}/` });
    try {
      const vm = newVm();
      const out = await finish(await start(scenario('stop', { instance: vm, bootCounter: 7, collections, dryRun: true }).argument));
      expect(out.result).toMatchObject({ outcome: 'dry_run', errors: [] });
      expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^dry_run instance /) as unknown]);
    } finally {
      await deploy();
    }
  });
});

describe('the workflow checks its argument: what is promoted, recorded and shown is what was checked', () => {
  const mutations = (vm: InstanceRef) => ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].flatMap((m) => callsFor(vm, m as 'stop'));
  const b64 = (byte: number, bytes: number) => Buffer.alloc(bytes, byte).toString('base64');
  /** One real-shaped PCR set per bank and OS, in report order (not sorted: the fingerprint sorts). */
  const sets: readonly (readonly [string, Measurement[]])[] = [
    ['Linux, 3 PCRs, SHA256', measure({ PCR_7: 'db-2024-06', PCR_0: 'ovmf-2026-09', PCR_4: 'linux-6.1.0-97-pin' })],
    [
      'Linux after MOK enrolment, 4 PCRs, SHA256',
      measure({ PCR_14: 'mok-2026', PCR_0: 'ovmf-2026-09', PCR_4: 'linux-6.1.0-97-mok', PCR_7: 'db' }),
    ],
    ['Linux, 3 PCRs, SHA1', measure({ PCR_4: 'linux-6.1.0-97-sha1', PCR_0: 'ovmf-2026-09', PCR_7: 'db-2024-06' }, 'SHA1')],
    [
      'Windows, 6 PCRs, SHA256',
      measure({ PCR_13: 'elam', PCR_0: 'ovmf-2026-09', PCR_11: 'bitlocker', PCR_4: 'bootmgr-2026-10', PCR_14: 'mok', PCR_7: 'db' }),
    ],
    [
      'Windows, 6 PCRs, SHA1',
      measure({ PCR_0: 'ovmf-2026-09', PCR_4: 'bootmgr-2026-10', PCR_7: 'db', PCR_11: 'bitlocker', PCR_13: 'elam', PCR_14: 'mok' }, 'SHA1'),
    ],
  ];

  /** The audit record the execution wrote to its ledger document. */
  async function auditOf(eventKey: string): Promise<Record<string, unknown> | undefined> {
    const doc = await fs.db().collection(eventsCollection(fs.prefix)).doc(eventKey).get();
    const text = doc.get('response') as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  }

  it('core/measurements.ts pins the fingerprint: SHA-256 of the sorted PCR_n|hashAlgo|value lines (a value computed apart)', () => {
    // printf 'PCR_0|SHA256|AAAA…=\nPCR_4|SHA256|BAQE…=\nPCR_7|SHA256|BwcH…=' | sha256sum
    const ms: Measurement[] = [
      { pcrNum: 'PCR_7', hashAlgo: 'SHA256', value: b64(7, 32) },
      { pcrNum: 'PCR_0', hashAlgo: 'SHA256', value: b64(0, 32) },
      { pcrNum: 'PCR_4', hashAlgo: 'SHA256', value: b64(4, 32) },
    ];
    expect(fingerprint(ms)).toBe('4b02bb9647b9dfa6386ffbc9e12ad69440ab0afb65c17dfac95d34ceaf36d4f3');
    const windows = [14, 13, 11, 7, 4, 0].map((n): Measurement => ({ pcrNum: `PCR_${n}`, hashAlgo: 'SHA1', value: b64(n, 20) }));
    expect(fingerprint(windows)).toBe('5f351390158def4b342064a2e0ac3f2aef8aeb54c1cf5c9a285adf76588764ba');
  });

  it.each(sets)('%s: the workflow computes the fingerprint core computes (it accepts it, and refuses any other)', async (_name, actual) => {
    const vm = newVm();
    // No baseline is filed: the relearn is refused after the argument's checks, with no Compute mutation.
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections, actual });
    expect(s.argument.fingerprint).toBe(fingerprint(actual));
    const ok = await finish(await start(s.argument));
    expect(ok.state, ok.record.error?.payload).toBe('SUCCEEDED');
    expect(ok.result).toMatchObject({ outcome: 'relearn_refused', fingerprint: s.argument.fingerprint });
    // The same PCRs under another set's fingerprint (one value changed) are refused.
    const other = fingerprint(actual.map((m, i) => (i === 0 ? { ...m, value: b64(0xee, m.hashAlgo === 'SHA1' ? 20 : 32) } : m)));
    const forged = await finish(await start({ ...s.argument, fingerprint: other, baselineId: other }));
    expect(forged.state).toBe('FAILED');
    expect(forged.error).toMatchObject({ tags: ['ValueError'], field: 'fingerprint' });
  });

  it('a rootkit PCR_4 under the fingerprint of a known kernel fails the execution: an audit record, operators told, nothing stopped or promoted', async () => {
    const vm = newVm();
    const k2 = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-98-k2') });
    const rootkit = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-98-rootkit') });
    const out = await finish(await start({ ...k2.argument, pcrFields: rootkit.argument.pcrFields }));
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({ tags: ['ValueError'], field: 'fingerprint' });
    expect(out.error?.message).toMatch(/fingerprint is not the fingerprint of its pcrFields/);
    expect(mutations(vm)).toEqual([]);
    expect((await fs.db().collection(collections.baselines).doc(k2.baseline.id).get()).exists).toBe(false);
    expect(await auditOf(k2.argument.eventKey)).toMatchObject({
      outcome: 'failed',
      eventKey: k2.argument.eventKey,
      reason: expect.stringMatching(/^failed: bootwarden: the workflow argument's fingerprint/) as unknown,
      errors: [{ step: 'respond', error: { field: 'fingerprint' } }],
    });
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^failed instance .*fingerprint is not the fingerprint/) as unknown]);
  });

  it("the diff shown to the approver is the promoted PCRs' (K2's diff with the rootkit's PCRs fails before the stop)", async () => {
    const vm = newVm();
    const k2 = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-99-k2') });
    const rootkit = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-99-rootkit') });
    const out = await finish(await start({ ...rootkit.argument, diff: k2.argument.diff }));
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({ tags: ['ValueError'], field: 'diff' });
    expect(out.error?.message).toBe(
      "bootwarden: the workflow argument's diff.changed shows PCR_4 with another value than pcrFields, which an approval promotes",
    );
    expect(mutations(vm)).toEqual([]);
    expect(await auditOf(rootkit.argument.eventKey)).toMatchObject({ outcome: 'failed', errors: [{ error: { field: 'diff' } }] });
    expect(await toldAbout(vm)).toHaveLength(1);
  });

  it('a diff that says a reported PCR was removed fails the execution', async () => {
    const vm = newVm();
    const s = scenario('stop', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-99-removed') });
    const pcr7 = { pcrNum: 'PCR_7', hashAlgo: 'SHA256', value: b64(7, 32) };
    const out = await finish(await start({ ...s.argument, diff: { ...s.argument.diff, removed: [pcr7] } }));
    expect(out.error).toMatchObject({ tags: ['ValueError'], field: 'diff' });
    expect(out.error?.message).toBe("bootwarden: the workflow argument's diff.removed lists PCR_7, which pcrFields reports");
    expect(mutations(vm)).toEqual([]);
  });

  it.each([
    ['2^64', '18446744073709551616', 'bootCounter', /above 2\^64-1/],
    ['2^64 + 10^10', '18446744083709551615', 'bootCounter', /above 2\^64-1/],
    ['"abc"', 'abc', 'bootCounter', /not a decimal counter/],
    ['leading zeros', '007', 'bootCounter', /not a decimal counter/],
  ] as const)('bootCounter %s fails the execution with an audit record', async (_name, bootCounter, field, message) => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const nextBoot = /^[0-9]+$/.test(bootCounter) ? bootOrder((BigInt(bootCounter) + 1n).toString()).slice(-20) : s.argument.nextBoot;
    const out = await finish(await start({ ...s.argument, bootCounter, nextBoot }));
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({ tags: ['ValueError'], field });
    expect(out.error?.message).toMatch(message);
    expect(mutations(vm)).toEqual([]);
    expect(await auditOf(s.argument.eventKey)).toMatchObject({ outcome: 'failed', bootCounter });
  });

  it('bootCounter 2^64-1, the largest the function accepts, is accepted', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections, actual: boot('6.1.0-99-max') });
    const out = await finish(await start({ ...s.argument, bootCounter: '18446744073709551615', nextBoot: '18446744073709551616' }));
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ outcome: 'relearn_refused', bootCounter: '18446744073709551615' });
  });

  it('a nextBoot that is not the boot after bootCounter fails the execution (a stale relearn would read another boot)', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const out = await finish(await start({ ...s.argument, nextBoot: bootOrder('1000') }));
    expect(out.error).toMatchObject({ tags: ['ValueError'], field: 'nextBoot' });
    expect(mutations(vm)).toEqual([]);
  });

  it('pcrFields with a pcrNum other than its key, or a value that is no digest, fail the execution naming pcrFields', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const pcr = (pcrNum: string, value: string) => ({
      mapValue: { fields: { hashAlgo: { stringValue: 'SHA256' }, pcrNum: { stringValue: pcrNum }, value: { stringValue: value } } },
    });
    for (const [key, field, message] of [
      ['PCR_4', pcr('PCR_9', b64(9, 32)), /pcrFields.PCR_4 has another pcrNum than its key/],
      ['PCR_4', pcr('PCR_4', 'AA=='), /pcrFields.PCR_4 is not a SHA1 or SHA256 digest/],
      ['bootwarden', pcr('PCR_4', b64(9, 32)), /has a key that is not PCR_0 to PCR_23/],
    ] as const) {
      const out = await finish(await start({ ...s.argument, pcrFields: { ...s.argument.pcrFields, [key]: field } }));
      expect(out.error).toMatchObject({ tags: ['ValueError'], field: 'pcrFields' });
      expect(out.error?.message).toMatch(message);
    }
    expect(mutations(vm)).toEqual([]);
  });
});

describe('every execution ends with an audit record and a Slack outcome, whatever fails inside it', () => {
  it('a reportedAt that time.parse refuses (month 13): FAILED, the audit record written, operators told, nothing relearned', async () => {
    const vm = newVm();
    const s = scenario('relearn', { instance: vm, bootCounter: 7, collections });
    const out = await finish(await start({ ...s.argument, reportedAt: '2099-13-01T00:00:00Z' }));
    expect(out.state).toBe('FAILED');
    expect(out.error?.tags).toEqual(['ValueError']);
    expect(callsFor(vm, 'setShieldedInstanceIntegrityPolicy')).toEqual([]);
    const audit = await fs.db().collection(eventsCollection(fs.prefix)).doc(s.argument.eventKey).get();
    expect(JSON.parse(audit.get('response') as string)).toMatchObject({
      outcome: 'failed',
      eventKey: s.argument.eventKey,
      instance: vm,
      errors: [{ step: 'respond', error: { tags: ['ValueError'] } }],
      timings: { finishedAt: expect.stringMatching(/^2026-/) as unknown },
    });
    expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^failed instance .*: failed: /) as unknown]);
  });

  it('a call that fails for good (Compute 403 on stop): the audit record is written too, and operators are told once', async () => {
    const vm = newVm();
    fleet.failAlways('stop', 403, 'Required permission compute.instances.stop');
    try {
      const s = scenario('stop', { instance: vm, bootCounter: 8, collections, actual: boot('6.1.0-99-403') });
      const out = await finish(await start(s.argument));
      expect(out.state).toBe('FAILED');
      expect(out.error?.tags).toEqual(['BootwardenError']);
      const audit = await fs.db().collection(eventsCollection(fs.prefix)).doc(s.argument.eventKey).get();
      expect(JSON.parse(audit.get('response') as string)).toMatchObject({
        outcome: 'failed',
        reason: 'stopping the instance failed',
        errors: [{ step: 'give_up', error: { tags: ['BootwardenError'] } }],
      });
      expect(await toldAbout(vm)).toEqual([expect.stringMatching(/^failed instance .*: stopping the instance failed: /) as unknown]);
    } finally {
      fleet.clearFailures();
    }
  });
});
