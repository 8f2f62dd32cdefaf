/**
 * The Slack app over real HTTP: the internal API with the local engine's tokens, signed Slack
 * interactions against Bolt's receiver, the Slack Web API stand-in recording what operators see,
 * and a loopback receiver standing for the executions' callback endpoints.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionsClient } from '@google-cloud/workflows';
import { OAuth2Client } from 'google-auth-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowsExecutionStarter } from '../../adapters/gcp/workflows-execution-starter.js';
import { approvalCollections, FirestoreApprovalStore } from '../../adapters/gcp/firestore-approval-store.js';
import { useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { APPROVAL_ACTIONS, APPROVAL_PATHS, type ApprovalRequest } from '../../core/approvals.js';
import { buttonsOf, clickButton, postSigned, slashCommand, type StoredMessage } from '../../devstack/slack-web-api.js';
import { DELIVER_PATH } from '../../slack-app/internal.js';
import {
  APPROVER,
  approvalRequest,
  BYSTANDER,
  CHANNEL,
  fingerprintOf,
  outcomeReport,
  PROJECT,
  SECOND_APPROVER,
  SIGNING_SECRET,
  startSlackHarness,
  TEAM,
  type SlackHarness,
} from '../support/slack-app.js';

const fs = useFirestore();
let h: SlackHarness;
let prefix: string;
let n = 0;

beforeEach(async () => {
  prefix = `${fs.prefix}${++n}_`;
  h = await startSlackHarness(prefix);
});
afterEach(async () => {
  await h.close();
});

const count = async (collection: string): Promise<number> => (await fs.db().collection(`${prefix}${collection}`).get()).size;

/** Opens a group with `vms` members; the group id and the requests. */
async function openGroup(vms: number, seed = 'kernel 6.8.0-49'): Promise<{ groupId: string; requests: ApprovalRequest[] }> {
  const fingerprint = fingerprintOf(seed);
  const requests = Array.from({ length: vms }, (_, i) => approvalRequest(h.callbacks, fingerprint, { n: i }));
  const answers = await Promise.all(requests.map((r) => h.internal(APPROVAL_PATHS.request, r)));
  for (const a of answers) expect(a.status).toBe(200);
  const ids = new Set(answers.map((a) => (a.body as { groupId: string }).groupId));
  expect(ids.size).toBe(1);
  return { groupId: [...ids][0]!, requests };
}

function theMessage(): StoredMessage {
  const messages = h.slack.channelMessages(CHANNEL);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

const button = (m: StoredMessage, actionId: string): { actionId: string; value: string } => {
  const b = buttonsOf(m).find((x) => x.actionId === actionId);
  if (b === undefined) throw new Error(`the message has no ${actionId} button`);
  return b;
};

const text = (m: StoredMessage): string => JSON.stringify(m.blocks);

/** Clicks as Slack would, then waits for what the app does after answering (callbacks, the redraw). */
async function click(...args: Parameters<typeof clickButton> extends [string, string, ...infer R] ? R : never): Promise<Response> {
  const res = await clickButton(h.appUrl, SIGNING_SECRET, ...args);
  await res.arrayBuffer();
  await h.app.approvals.settled();
  return res;
}

/**
 * Runs `/bootwarden <text>` as Slack does (a signed form with a response_url the stand-in handed
 * out); the acknowledgement, and what the app POSTed to the response_url once its work is done.
 */
async function command(
  line: string,
  user = APPROVER,
): Promise<{ status: number; ack: string; answer: { text: string; response_type: string; blocks?: unknown } | undefined }> {
  const responseUrl = h.slack.responseUrl();
  const res = await slashCommand(h.appUrl, SIGNING_SECRET, line, user, CHANNEL, { responseUrl });
  const ack = await res.text();
  await h.app.approvals.settled();
  const posted = h.slack.responses.filter((r) => r.url === responseUrl);
  expect(posted.map((p) => p.status)).toEqual([200]);
  return { status: res.status, ack, answer: posted[0]?.body as { text: string; response_type: string } | undefined };
}

describe('grouping', () => {
  it('50 executions with one fingerprint make one message, updated to count all 50', async () => {
    const { groupId, requests } = await openGroup(50);
    expect(groupId).toMatch(/^grp_[0-9a-f]{32}$/);
    const m = theMessage();
    expect(text(m)).toContain('Unknown boot measurements on 50 VMs');
    expect(text(m)).toContain('PCR_4 changed on 50 of 50 VMs');
    expect(text(m)).toContain('and 40 more');
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(h.slack.callsOf('chat.update').length).toBeGreaterThanOrEqual(1);
    // The message names VMs with project/zone, never a callback URL.
    expect(text(m)).toContain('`web-000` demo-bootwarden/us-central1-a');
    for (const r of requests) expect(text(m)).not.toContain(r.callbackUrl);
    expect(buttonsOf(m).map((b) => [b.actionId, b.value])).toEqual([
      [APPROVAL_ACTIONS.approve, groupId],
      [APPROVAL_ACTIONS.reject, groupId],
    ]);
    expect(await count('approval_members')).toBe(50);
  });

  it('a retried request (same execution) joins once; another fingerprint gets its own group and message', async () => {
    const { groupId, requests } = await openGroup(2);
    const again = await h.internal(APPROVAL_PATHS.request, requests[0]);
    expect(again).toEqual({ status: 200, body: { groupId } });
    const other = await h.internal(APPROVAL_PATHS.request, approvalRequest(h.callbacks, fingerprintOf('firmware 2')));
    expect((other.body as { groupId: string }).groupId).not.toBe(groupId);
    expect(await count('approval_members')).toBe(3);
    expect(h.slack.channelMessages(CHANNEL)).toHaveLength(2);
  });

  it('VMs held by the blast-radius guard join the group: the message counts stopped and held, /bootwarden pending too', async () => {
    const fingerprint = fingerprintOf('firmware rolled out to the fleet');
    const requests = Array.from({ length: 12 }, (_, i) => approvalRequest(h.callbacks, fingerprint, { n: i, held: i >= 3 }));
    for (const r of requests) expect((await h.internal(APPROVAL_PATHS.request, r)).status).toBe(200);
    await h.app.approvals.settled();
    const m = theMessage();
    expect(m.text).toMatch(
      /^Unknown boot measurements on 12 VMs \(3 stopped, 9 held by the blast-radius guard \(still running, unchanged\)\)/,
    );
    expect(text(m)).toContain('`web-000` demo-bootwarden/us-central1-a, boot 4: stopped');
    expect(text(m)).toContain('`web-003` demo-bootwarden/us-central1-a, boot 7: held (running, unchanged)');
    expect(text(m)).toContain('reject keeps the stopped VMs stopped and stops the held ones now');
    expect(JSON.stringify(m.blocks)).toContain('Promote them to a baseline, start 3 stopped VMs and relearn 9 held.');
    const members = (await fs.db().collection(`${prefix}approval_members`).get()).docs.map((d) => d.get('held') as boolean);
    expect(members.filter(Boolean)).toHaveLength(9);
    const pending = (await command('pending')).answer!;
    expect(pending.text).toMatch(/• `[0-9a-f]{16}…` 12 VMs \(9 held\), first seen/);
  });
});

describe('deciding', () => {
  it('an approver approves: all 50 executions are called back once, with a token, and the buttons are gone', async () => {
    const { groupId, requests } = await openGroup(50);
    const res = await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    expect(res.status).toBe(200);
    const delivered = h.callbacks.delivered();
    expect(delivered.size).toBe(50);
    for (const r of requests) {
      const got = delivered.get(new URL(r.callbackUrl).pathname) ?? [];
      expect(got).toHaveLength(1);
      expect(got[0]!.body).toMatchObject({
        version: 1,
        groupId,
        decision: 'approve',
        approver: { id: `${TEAM}:${APPROVER.id}`, name: 'alice' },
      });
      expect(got[0]!.authorization).toMatch(/^Bearer bootwarden-local\.OAuth2\./);
    }
    const m = theMessage();
    expect(buttonsOf(m)).toEqual([]);
    expect(text(m)).toContain(`Approved by <@${APPROVER.id}> (alice)`);
    const decision = (await fs.db().collection(`${prefix}approval_decisions`).doc(groupId).get()).data();
    expect(decision).toMatchObject({ decision: 'approve', approver: { teamId: TEAM, userId: APPROVER.id } });
    const states = (await fs.db().collection(`${prefix}approval_members`).get()).docs.map((d) => d.get('callback.state') as string);
    expect(new Set(states)).toEqual(new Set(['delivered']));
  });

  it('every approval record carries retainUntil, a timestamp 400 days after it was written, for a TTL policy', async () => {
    const { groupId } = await openGroup(2);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    const DAY = 86_400_000;
    const checks: [string, Record<string, unknown> | undefined, string][] = [];
    const group = (await fs.db().collection(`${prefix}approval_groups`).doc(groupId).get()).data();
    checks.push(['group', group, 'createdAt']);
    checks.push(['decision', (await fs.db().collection(`${prefix}approval_decisions`).doc(groupId).get()).data(), 'decidedAt']);
    for (const m of (await fs.db().collection(`${prefix}approval_members`).where('groupId', '==', groupId).get()).docs)
      checks.push(['member', m.data(), 'requestedAt']);
    for (const a of (await fs.db().collection(`${prefix}approval_audit`).where('kind', '==', 'decided').get()).docs)
      checks.push(['audit', a.data(), 'at']);
    expect(checks.map(([kind]) => kind)).toEqual(expect.arrayContaining(['group', 'decision', 'member', 'audit']));
    for (const [kind, doc, at] of checks) {
      const until = doc?.['retainUntil'] as { toMillis?: () => number } | undefined;
      expect(typeof until?.toMillis, kind).toBe('function');
      expect(until!.toMillis!() - Date.parse(doc![at] as string), kind).toBe(400 * DAY);
    }
    // A member's own expiresAt is still its approval deadline, and reads never show retainUntil.
    const members = await new FirestoreApprovalStore(() => Promise.resolve(fs.db()), approvalCollections(prefix)).members(groupId);
    expect(members.every((m) => typeof m.expiresAt === 'string' && !('retainUntil' in m))).toBe(true);
  });

  it('reject calls back with reject and the message says who rejected', async () => {
    const { groupId } = await openGroup(3);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.reject), SECOND_APPROVER);
    expect(h.callbacks.received.map((r) => (r.body as { decision: string }).decision)).toEqual(['reject', 'reject', 'reject']);
    expect(h.callbacks.received.every((r) => (r.body as { groupId: string }).groupId === groupId)).toBe(true);
    expect(text(theMessage())).toContain(`Rejected by <@${SECOND_APPROVER.id}> (bob)`);
  });

  it('a double click decides once: the second click is told who decided and nothing is sent again', async () => {
    await openGroup(4);
    const m = structuredClone(theMessage()); // what both clients show before the first click
    const approve = button(m, APPROVAL_ACTIONS.approve);
    expect((await click(m, approve, APPROVER)).status).toBe(200);
    expect((await click(m, button(m, APPROVAL_ACTIONS.reject), SECOND_APPROVER)).status).toBe(200);
    expect(h.callbacks.received).toHaveLength(4);
    expect(h.callbacks.received.every((r) => (r.body as { decision: string }).decision === 'approve')).toBe(true);
    expect(h.slack.ephemerals).toEqual([
      {
        channel: CHANNEL,
        user: SECOND_APPROVER.id,
        text: expect.stringMatching(/^Already approved by <@U0APPROVER1> at .+: your click changed nothing\.$/) as string,
      },
    ]);
    const audit = (await fs.db().collection(`${prefix}approval_audit`).get()).docs.map((d) => d.get('kind') as string);
    expect(audit.filter((k) => k === 'decided')).toHaveLength(1);
    expect(audit.filter((k) => k === 'ignored_already_decided')).toHaveLength(1);
  });

  it('a Slack retry of the same click (X-Slack-Retry-Num) changes nothing', async () => {
    await openGroup(2);
    const m = structuredClone(theMessage());
    const approve = button(m, APPROVAL_ACTIONS.approve);
    await click(m, approve, APPROVER);
    const retry = await click(m, approve, APPROVER, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(retry.status).toBe(200);
    expect(h.callbacks.received).toHaveLength(2);
  });

  it('a click after the group expired changes nothing and says so', async () => {
    const fingerprint = fingerprintOf('expired kernel');
    const past = new Date(Date.now() - 1000).toISOString();
    await h.internal(APPROVAL_PATHS.request, approvalRequest(h.callbacks, fingerprint, { expiresAt: past }));
    const m = theMessage();
    expect(text(m)).toContain('Expired at');
    // The buttons are gone from a redrawn message; a stale client still has the old one.
    const stale = { ...m, blocks: m.blocks };
    await click(
      stale,
      { actionId: APPROVAL_ACTIONS.approve, value: (await fs.db().collection(`${prefix}approval_groups`).get()).docs[0]!.id },
      APPROVER,
    );
    expect(h.callbacks.received).toEqual([]);
    expect(await count('approval_decisions')).toBe(0);
    expect(h.slack.ephemerals[0]?.text).toMatch(/^This approval expired at .+: the VMs stay stopped and nothing was changed\.$/);
  });
});

describe('who may decide', () => {
  it.each([
    ['a user who is not an approver', BYSTANDER, 'refused_not_approver'],
    ["an approver's user id from another team", { ...APPROVER, teamId: 'T0OTHERTEAM' }, 'refused_not_approver'],
  ])('%s gets an ephemeral refusal and an audit record; nothing changes', async (_what, user, kind) => {
    await openGroup(2);
    const before = text(theMessage());
    const res = await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), user);
    expect(res.status).toBe(200);
    expect(h.callbacks.received).toEqual([]);
    expect(await count('approval_decisions')).toBe(0);
    expect(text(theMessage())).toBe(before);
    expect(h.slack.ephemerals).toEqual([
      { channel: CHANNEL, user: user.id, text: 'You are not one of the approvers configured for bootwarden: nothing was changed.' },
    ]);
    const audit = (await fs.db().collection(`${prefix}approval_audit`).where('kind', '==', kind).get()).docs.map((d) => d.data());
    expect(audit).toEqual([expect.objectContaining({ actor: `${user.teamId}:${user.id}` })]);
  });

  it('a member of a configured user group may decide', async () => {
    await h.close();
    h = await startSlackHarness(prefix, { env: { BOOTWARDEN_APPROVERS: '', BOOTWARDEN_APPROVER_GROUPS: 'S0ONCALL' } });
    await openGroup(1);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), SECOND_APPROVER);
    expect(h.callbacks.received).toHaveLength(1);
    expect(h.slack.callsOf('usergroups.users.list').map((c) => c.args['usergroup'])).toEqual(['S0ONCALL']);
  });

  it('a forged button value (JSON asking to stop another VM) is refused and audited; nothing changes', async () => {
    const { groupId } = await openGroup(1);
    const forged = JSON.stringify({ action: 'stop', instance: '4711', groupId });
    await click(theMessage(), { actionId: APPROVAL_ACTIONS.approve, value: forged }, APPROVER);
    await click(theMessage(), { actionId: 'bootwarden_stop_everything', value: groupId }, APPROVER);
    await click(theMessage(), { actionId: APPROVAL_ACTIONS.approve, value: 'grp_00000000000000000000000000000000' }, APPROVER);
    expect(h.callbacks.received).toEqual([]);
    expect(await count('approval_decisions')).toBe(0);
    const kinds = (await fs.db().collection(`${prefix}approval_audit`).get()).docs
      .map((d) => d.get('kind') as string)
      .filter((k) => k.startsWith('refused'));
    expect(kinds.sort()).toEqual(['refused_unknown_group', 'refused_unknown_group', 'refused_unknown_group']);
  });
});

describe('two approvers required (BOOTWARDEN_REQUIRED_APPROVALS=2)', () => {
  beforeEach(async () => {
    await h.close();
    h = await startSlackHarness(prefix, { env: { BOOTWARDEN_REQUIRED_APPROVALS: '2' } });
  });

  it('the first approval decides nothing; the same approver again is told so; a second approver decides', async () => {
    const { groupId } = await openGroup(3);
    const m = structuredClone(theMessage());
    await click(m, button(m, APPROVAL_ACTIONS.approve), APPROVER);
    expect(h.callbacks.received).toEqual([]);
    expect(await count('approval_decisions')).toBe(0);
    expect(text(theMessage())).toContain(`Approved so far by <@${APPROVER.id}> (alice): a second approver is needed.`);
    expect(buttonsOf(theMessage()).map((b) => b.actionId)).toEqual([APPROVAL_ACTIONS.approve, APPROVAL_ACTIONS.reject]);

    await click(m, button(m, APPROVAL_ACTIONS.approve), APPROVER);
    expect(h.callbacks.received).toEqual([]);
    expect(h.slack.ephemerals).toEqual([
      { channel: CHANNEL, user: APPROVER.id, text: 'You approved this already: a second approver must approve too.' },
    ]);

    await click(m, button(m, APPROVAL_ACTIONS.approve), SECOND_APPROVER);
    expect(h.callbacks.delivered().size).toBe(3);
    for (const r of h.callbacks.received) {
      expect(r.body).toMatchObject({
        groupId,
        decision: 'approve',
        approver: { id: `${TEAM}:${APPROVER.id}+${TEAM}:${SECOND_APPROVER.id}`, name: 'alice, bob' },
      });
    }
    expect(text(theMessage())).toContain(`Approved by <@${APPROVER.id}> (alice) and <@${SECOND_APPROVER.id}> (bob)`);
  });

  it('two approvers clicking at once decide exactly once', async () => {
    await openGroup(2);
    const m = structuredClone(theMessage());
    await Promise.all([
      click(m, button(m, APPROVAL_ACTIONS.approve), APPROVER),
      click(m, button(m, APPROVAL_ACTIONS.approve), SECOND_APPROVER),
    ]);
    expect(await count('approval_decisions')).toBe(1);
    expect(h.callbacks.delivered().size).toBe(2);
    expect(h.callbacks.received).toHaveLength(2);
  });

  it('one rejection is enough', async () => {
    await openGroup(1);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.reject), APPROVER);
    expect(h.callbacks.received.map((r) => (r.body as { decision: string }).decision)).toEqual(['reject']);
  });
});

describe('signatures', () => {
  const signedClick = async (opts: Parameters<typeof clickButton>[5]): Promise<number> => {
    await openGroup(1);
    const res = await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER, opts);
    return res.status;
  };
  const now = Math.floor(Date.now() / 1000);
  it.each([
    ['a body changed after signing', { tamper: (b: string) => b.replace('alice', 'admin') }],
    ['a wrong secret', { secret: 'not-the-signing-secret' }],
    ['a missing signature', { signature: null }],
    ['a v1= signature', { signature: `v1=${'0'.repeat(64)}` }],
    ['a timestamp six minutes old', { timestamp: now - 360 }],
    ['a timestamp six minutes in the future', { timestamp: now + 360 }],
  ])('%s: 401, nothing decided', async (_what, opts) => {
    expect(await signedClick(opts)).toBe(401);
    expect(h.callbacks.received).toEqual([]);
    expect(await count('approval_decisions')).toBe(0);
  });

  it('a signed payload that is not JSON: 400', async () => {
    const res = await postSigned(h.appUrl, SIGNING_SECRET, 'payload=%7Bnot-json');
    expect(res.status).toBe(400);
  });
});

describe('callbacks', () => {
  it('a callback target failing twice then succeeding is delivered within the click', async () => {
    const { requests } = await openGroup(1);
    const path = new URL(requests[0]!.callbackUrl).pathname;
    h.callbacks.failNext(503, 2, path);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    expect(h.callbacks.received.map((r) => r.status)).toEqual([503, 503, 200]);
    const member = (await fs.db().collection(`${prefix}approval_members`).get()).docs[0]!;
    expect(member.get('callback')).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('a callback still failing stays pending, and /internal/deliver delivers it later', async () => {
    const { requests } = await openGroup(2);
    const path = new URL(requests[1]!.callbackUrl).pathname;
    h.callbacks.failNext(500, 3, path);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    expect(h.callbacks.delivered().size).toBe(1);
    const pending = (await fs.db().collection(`${prefix}approval_members`).where('callbackState', '==', 'pending').get()).docs;
    expect(pending.map((d) => d.get('callback.lastError') as string)).toEqual([expect.stringMatching(/^HTTP 500/) as string]);
    // Not due yet (1 s backoff): the pass leaves it; once due, it is delivered.
    await fs
      .db()
      .collection(`${prefix}approval_members`)
      .doc(pending[0]!.id)
      .update({ 'callback.nextAttemptAt': new Date(0).toISOString() });
    const pass = await h.internal(DELIVER_PATH, {});
    expect(pass).toEqual({ status: 200, body: { delivered: 1, gone: 0, pending: 0, messages: 0 } });
    expect(h.callbacks.delivered().size).toBe(2);
  });

  it('an execution that has ended (404) is marked gone, not retried', async () => {
    const { requests } = await openGroup(2);
    h.callbacks.failNext(404, 1, new URL(requests[0]!.callbackUrl).pathname);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.reject), APPROVER);
    const states = (await fs.db().collection(`${prefix}approval_members`).get()).docs.map((d) => d.get('callback.state') as string).sort();
    expect(states).toEqual(['delivered', 'gone']);
    expect(h.callbacks.received).toHaveLength(2);
  });

  it('a VM that joins after the decision gets the decision at once', async () => {
    const { groupId } = await openGroup(1);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    // The decided group is closed: a new request for the fingerprint opens a new group.
    const later = await h.internal(APPROVAL_PATHS.request, approvalRequest(h.callbacks, fingerprintOf('kernel 6.8.0-49'), { n: 7 }));
    expect((later.body as { groupId: string }).groupId).not.toBe(groupId);
    expect(h.callbacks.received).toHaveLength(1);
    expect(h.slack.channelMessages(CHANNEL)).toHaveLength(2);
  });
});

describe('the internal API refuses what the workflow did not send', () => {
  it.each([
    ['no token', { token: null }],
    ['a token for another audience', { audience: 'http://127.0.0.1:1' }],
    ['a token of another service account', { subject: 'attacker@evil-project.iam.gserviceaccount.com' }],
    ['a token that is not a local token', { token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }],
  ])('%s: 401 and nothing recorded', async (_what, opts) => {
    const res = await h.internal(APPROVAL_PATHS.request, approvalRequest(h.callbacks, fingerprintOf('x')), opts);
    expect(res.status).toBe(401);
    expect(await count('approval_groups')).toBe(0);
    expect(await count('approval_audit')).toBe(0);
    expect(h.slack.calls).toEqual([]);
  });

  it.each([
    [
      'a callback URL on another host',
      { callbackUrl: 'http://169.254.169.254/computeMetadata/v1/' },
      'callbackUrl must be on a loopback address (local tokens are accepted)',
    ],
    ['a fingerprint that is not one', { fingerprint: '../../other' }, 'fingerprint must be a 64-hex-digit fingerprint'],
    [
      'an instance id as a number',
      { instance: { id: 4711, project: 'demo-bootwarden', zone: 'us-central1-a' } },
      'instance.id must be a decimal instance id of up to 20 digits (a string)',
    ],
    ['held as a string', { held: 'true' }, 'held must be true or false'],
  ])('%s: 400 naming the field, audited, no group', async (_what, change, reason) => {
    const res = await h.internal(APPROVAL_PATHS.request, { ...approvalRequest(h.callbacks, fingerprintOf('x')), ...change });
    expect(res).toEqual({ status: 400, body: { error: reason } });
    expect(await count('approval_groups')).toBe(0);
    const audit = (await fs.db().collection(`${prefix}approval_audit`).get()).docs.map((d) => d.data());
    expect(audit).toEqual([expect.objectContaining({ kind: 'request_rejected', detail: `/internal/approvals: ${reason}` })]);
  });
});

describe('outcomes', () => {
  it('outcomes of a group redraw its message; a dry run outside any group is posted on its own', async () => {
    const { groupId, requests } = await openGroup(2);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    const told = await h.internal(
      APPROVAL_PATHS.outcome,
      outcomeReport(requests[0]!, groupId, 'promoted_and_started', 'approved by alice'),
    );
    expect(told).toEqual({ status: 200, body: {} });
    expect(text(theMessage())).toContain('`web-000` demo-bootwarden/us-central1-a, boot 4: started');
    const dry = await h.internal(APPROVAL_PATHS.outcome, {
      ...outcomeReport(requests[1]!, null, 'dry_run', 'dry run: would have done stop'),
      fingerprint: null,
    });
    expect(dry.status).toBe(200);
    const posted = h.slack.channelMessages(CHANNEL);
    expect(posted).toHaveLength(2);
    expect(posted[1]!.text).toBe(
      `:test_tube: *DRY RUN* instance ${requests[1]!.instance.id} (demo-bootwarden/us-central1-a): dry run: would have done stop`,
    );
  });
});

describe('outcome texts are escaped', () => {
  // Slack's mrkdwn control characters are &, < and >: https://api.slack.com/reference/surfaces/formatting#escaping
  it("an outcome's free text cannot mention the channel, link or format: &, < and > reach Slack escaped", async () => {
    const { groupId, requests } = await openGroup(1, 'escaped outcome');
    const detail = 'stop failed <!channel> see <https://attacker.example/fix|the runbook> & <@U024BE7LH>';
    // In the group's thread, and (outside any group) on its own.
    for (const report of [
      outcomeReport(requests[0]!, groupId, 'failed', detail),
      { ...outcomeReport(requests[0]!, null, 'failed', detail), fingerprint: null },
    ]) {
      const told = await h.internal(APPROVAL_PATHS.outcome, report);
      expect(told).toEqual({ status: 200, body: {} });
    }
    const escaped = 'stop failed &lt;!channel&gt; see &lt;https://attacker.example/fix|the runbook&gt; &amp; &lt;@U024BE7LH&gt;';
    const [group, alone, ...more] = h.slack.channelMessages(CHANNEL);
    expect(more).toEqual([]);
    const outcomes = [...h.slack.threadReplies(CHANNEL, group!.ts), alone!];
    expect(outcomes).toHaveLength(2);
    for (const m of outcomes) {
      expect(m.text).toBe(`:x: *Failed* instance ${requests[0]!.instance.id} (demo-bootwarden/us-central1-a): ${escaped}`);
      expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
    }
  });
});

describe('Slack failing', () => {
  // The Web API client retries a 5xx once inside the request; ok:false and 429 (Retry-After is too long to wait in a request) not.
  it.each([
    ['ok:false', { error: 'not_in_channel' }, 1],
    ['429 with Retry-After', { status: 429 as const, retryAfter: 30 }, 1],
    ['503', { status: 503 as const }, 2],
  ])('chat.postMessage %s: the request still succeeds, and the scheduler pass posts the message', async (_what, failure, times) => {
    h.slack.failNext('chat.postMessage', failure, times);
    const fingerprint = fingerprintOf('slack down');
    const res = await h.internal(APPROVAL_PATHS.request, approvalRequest(h.callbacks, fingerprint));
    expect(res.status).toBe(200);
    expect(h.slack.channelMessages(CHANNEL)).toEqual([]);
    const groups = (await fs.db().collection(`${prefix}approval_groups`).get()).docs;
    expect(groups.map((g) => g.get('messageStale') as boolean)).toEqual([true]);
    const pass = await h.internal(DELIVER_PATH, {});
    expect(pass).toMatchObject({ status: 200, body: { messages: 1 } });
    expect(text(theMessage())).toContain('Unknown boot measurements on 1 VM');
    expect((await fs.db().collection(`${prefix}approval_groups`).doc(groups[0]!.id).get()).get('messageStale')).toBe(false);
  });

  it('chat.update failing during a decision still calls every execution back', async () => {
    await openGroup(3);
    h.slack.failNext('chat.update', { status: 503 }, 2);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.approve), APPROVER);
    expect(h.callbacks.delivered().size).toBe(3);
    await h.internal(DELIVER_PATH, {});
    expect(buttonsOf(theMessage())).toEqual([]);
  });
});

describe('/bootwarden history', () => {
  it('is acknowledged before the executions are read, then answered through response_url: the executions the Executions API lists (labels the function sets) with the approval audit trail', async () => {
    // A loopback Workflows Executions API, reached by the official client over REST; it records
    // what it is asked and answers only once released (a slow first page, as on a cold start).
    const asked: string[] = [];
    let served = 0;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const api = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      void released.then(() => answer(res));
    });
    const answer = (res: http.ServerResponse): void => {
      served++;
      const execution = (id: string, instance: string, state: string, start: string) => ({
        name: `projects/${PROJECT}/locations/us-central1/workflows/integrity-response/executions/${id}`,
        state,
        startTime: start,
        endTime: start.replace(':07.', ':09.'),
        labels: { app: 'bootwarden', action: 'stop', 'instance-id': instance, event: 'e'.repeat(63) },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          executions: [
            execution('0f1e2d3c', '4527193840196655321', 'ACTIVE', '2026-12-02T09:10:07.250Z'),
            execution('9a8b7c6d', '7777777777777777777', 'SUCCEEDED', '2026-12-02T08:00:07.000Z'),
          ],
        }),
      );
    };
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
    const port = (api.address() as AddressInfo).port;
    const history = new WorkflowsExecutionStarter({
      project: PROJECT,
      location: 'us-central1',
      workflow: 'integrity-response',
      clientFactory: () => new ExecutionsClient({ fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient }),
    });
    try {
      await h.close();
      h = await startSlackHarness(prefix, { deps: { history } });
      await openGroup(1);
      const responseUrl = h.slack.responseUrl();
      // Released after 5 s at the latest: an app that read before acknowledging fails below instead of hanging.
      const fallback = setTimeout(release, 5000);
      const res = await slashCommand(h.appUrl, SIGNING_SECRET, 'history 4527193840196655321', APPROVER, CHANNEL, { responseUrl });
      expect([res.status, await res.text(), served]).toEqual([200, '', 0]);
      expect(h.slack.responses).toEqual([]);
      release();
      clearTimeout(fallback);
      await h.app.approvals.settled();
      expect(h.slack.responses.map((r) => [r.url, r.status, r.body['response_type']])).toEqual([[responseUrl, 200, 'ephemeral']]);
      const body = h.slack.responses[0]!.body as { text: string };
      expect(served).toBe(1);
      expect(body.text.split('\n').slice(0, 3)).toEqual([
        '*History of 4527193840196655321*',
        '*Executions*',
        '• 2026-12-02T09:10:07.250Z stop on instance 4527193840196655321: ACTIVE (0f1e2d3c)',
      ]);
      expect(body.text).toContain('*Approvals*\nnone');
      expect(asked).toEqual([
        expect.stringMatching(
          /^\/v1\/projects\/demo-bootwarden\/locations\/us-central1\/workflows\/integrity-response\/executions\?.*view=FULL/,
        ) as string,
      ]);
    } finally {
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });
});

describe('/bootwarden', () => {
  it('pending lists open groups; history names the decision; non-approvers are refused', async () => {
    await openGroup(3);
    const pending = await command('pending');
    expect([pending.status, pending.ack]).toEqual([200, '']);
    const body = pending.answer!;
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/^\*1 pending approval\*\n• `[0-9a-f]{16}…` 3 VMs, first seen 2026-12-02T09:10:07\.123456789Z/);
    await click(theMessage(), button(theMessage(), APPROVAL_ACTIONS.reject), APPROVER);
    const history = (await command(`history ${fingerprintOf('kernel 6.8.0-49')}`)).answer!;
    expect(history.text).toContain(`decided by ${TEAM}:${APPROVER.id}: reject (approver ${TEAM}:${APPROVER.id}) for 3 VM(s)`);
    expect(history.text).toContain('(executions not shown: BOOTWARDEN_WORKFLOW_LOCATION is not set on the Slack app)');
    const refused = await command('pending', BYSTANDER);
    expect([refused.ack, refused.answer]).toEqual([
      '',
      { response_type: 'ephemeral', text: '/bootwarden answers configured approvers only.' },
    ]);
  });
});
