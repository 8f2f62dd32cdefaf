/**
 * The Slack Web API stand-in refuses what Slack refuses, answered as Slack answers, through the
 * official Web API client (Bolt's) and, for a slash command's response_url, plain JSON POSTs as
 * Bolt's respond() sends them. Then the app's own messages, built from the largest records the
 * internal API accepts, are posted through the app's Slack adapter and accepted.
 *
 * - Errors: https://docs.slack.dev/reference/methods/chat.postMessage#errors (`invalid_blocks`,
 *   `channel_not_found`, `not_in_channel`); the `errors` / `response_metadata.messages` of an
 *   `invalid_blocks` answer as Slack's servers send them (slackapi/bolt-python#1016).
 * - Limits: https://docs.slack.dev/reference/block-kit/blocks and the pages of the section,
 *   header, context and actions blocks and of the button element.
 * - response_url: https://api.slack.com/interactivity/handling#message_responses (JSON, ephemeral
 *   by default, five uses within 30 minutes).
 */
import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackWebApiStandIn } from '../../devstack/slack-web-api.js';
import { WebApiMessenger } from '../../adapters/slack/web-api-messenger.js';
import { newMember, summarize, type GroupMember } from '../../core/approval-groups.js';
import { APPROVAL_ACTIONS, type ApprovalRequest } from '../../core/approvals.js';
import { groupMessage, listMessage, openGroupsMessage, outcomeMessage } from '../../slack-app/message.js';

const TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
const CHANNEL = 'C0APPROVALS';
let clock = Date.parse('2026-12-02T09:10:07.123Z');
const slack = new SlackWebApiStandIn({
  token: TOKEN,
  teamId: 'T0BOOTWRDN',
  channels: { member: [CHANNEL], notMember: ['C0RANDOM'] },
  now: () => clock,
});
let client: webApi.WebClient;

beforeAll(async () => {
  await slack.start();
  client = new webApi.WebClient(TOKEN, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
});
afterAll(() => slack.close());

/** Slack's answer to chat.postMessage with these blocks: `{ok: true}` or the error data. */
async function post(blocks: unknown[], channel = CHANNEL): Promise<Record<string, unknown>> {
  try {
    const res = await client.chat.postMessage({ channel, text: 'fallback', blocks: blocks as never });
    return { ok: res.ok };
  } catch (e) {
    return (e as { data: Record<string, unknown> }).data;
  }
}

const refused = (...problems: string[]): Record<string, unknown> => ({
  ok: false,
  error: 'invalid_blocks',
  errors: problems,
  response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
});

const section = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'section',
  text: { type: 'mrkdwn', text },
  ...extra,
});
const button = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'button',
  action_id: 'bootwarden_approve',
  text: { type: 'plain_text', text: 'Approve' },
  value: 'grp_0',
  ...over,
});
const x = (n: number): string => 'x'.repeat(n);

describe('Block Kit limits', () => {
  it.each<[string, unknown[], Record<string, unknown>]>([
    ['50 blocks', Array.from({ length: 50 }, () => section('a')), { ok: true }],
    ['51 blocks', Array.from({ length: 51 }, () => section('a')), refused('no more than 50 items allowed [json-pointer:/blocks]')],
    ['section text of 3,000', [section(x(3000))], { ok: true }],
    ['section text of 3,001', [section(x(3001))], refused('must be less than 3001 characters [json-pointer:/blocks/0/text/text]')],
    ['an empty section text', [section('')], refused('must be more than 0 characters [json-pointer:/blocks/0/text/text]')],
    [
      '10 fields of 2,000',
      [{ type: 'section', fields: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: x(2000) })) }],
      { ok: true },
    ],
    [
      '11 fields',
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'a' })) }],
      refused('no more than 10 items allowed [json-pointer:/blocks/0/fields]'),
    ],
    [
      'a field of 2,001',
      [
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: 'a' },
            { type: 'mrkdwn', text: x(2001) },
          ],
        },
      ],
      refused('must be less than 2001 characters [json-pointer:/blocks/0/fields/1/text]'),
    ],
    ['header text of 150', [{ type: 'header', text: { type: 'plain_text', text: x(150) } }], { ok: true }],
    [
      'header text of 151',
      [{ type: 'header', text: { type: 'plain_text', text: x(151) } }],
      refused('must be less than 151 characters [json-pointer:/blocks/0/text/text]'),
    ],
    [
      '10 context elements',
      [{ type: 'context', elements: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'a' })) }],
      { ok: true },
    ],
    [
      '11 context elements',
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'a' })) }],
      refused('no more than 10 items allowed [json-pointer:/blocks/0/elements]'),
    ],
    [
      'button text of 75, value of 2,000, action_id and block_id of 255',
      [
        {
          type: 'actions',
          block_id: x(255),
          elements: [button({ text: { type: 'plain_text', text: x(75) }, value: x(2000), action_id: x(255) })],
        },
      ],
      { ok: true },
    ],
    [
      'button text of 76',
      [{ type: 'actions', elements: [button({ text: { type: 'plain_text', text: x(76) } })] }],
      refused('must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]'),
    ],
    [
      'button value of 2,001',
      [{ type: 'actions', elements: [button(), button({ value: x(2001) })] }],
      refused('must be less than 2001 characters [json-pointer:/blocks/0/elements/1/value]'),
    ],
    [
      'action_id of 256',
      [{ type: 'actions', elements: [button({ action_id: x(256) })] }],
      refused('must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]'),
    ],
    [
      'block_id of 256',
      [section('a'), section('b', { block_id: x(256) })],
      refused('must be less than 256 characters [json-pointer:/blocks/1/block_id]'),
    ],
    [
      "a section's button accessory over its limits",
      [section('a', { accessory: button({ value: x(2001) }) })],
      refused('must be less than 2001 characters [json-pointer:/blocks/0/accessory/value]'),
    ],
    [
      'two problems at once',
      [section(x(3001)), { type: 'header', text: { type: 'plain_text', text: x(151) } }],
      refused(
        'must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
        'must be less than 151 characters [json-pointer:/blocks/1/text/text]',
      ),
    ],
  ])('chat.postMessage, %s', async (_what, blocks, answer) => {
    const before = slack.messages.length;
    expect(await post(blocks)).toEqual(answer);
    expect(slack.messages.length).toBe(before + (answer['ok'] === true ? 1 : 0));
  });

  it('chat.update refuses them too, and leaves the message as it was', async () => {
    const res = await client.chat.postMessage({ channel: CHANNEL, text: 'first', blocks: [section('first')] as never });
    const failed = await client.chat
      .update({ channel: CHANNEL, ts: res.ts!, text: 'second', blocks: [section(x(3001))] as never })
      .catch((e: { data: unknown }) => e.data);
    expect(failed).toEqual(refused('must be less than 3001 characters [json-pointer:/blocks/0/text/text]'));
    expect(slack.messages.find((m) => m.ts === res.ts)).toMatchObject({ text: 'first', updates: 0 });
  });
});

describe('channels', () => {
  it.each([
    ['chat.postMessage', () => client.chat.postMessage({ channel: 'C0NOSUCH', text: 'x' })],
    ['chat.update', () => client.chat.update({ channel: 'C0NOSUCH', ts: '1764670000.000001', text: 'x' })],
    ['chat.postEphemeral', () => client.chat.postEphemeral({ channel: 'C0NOSUCH', user: 'U0APPROVER1', text: 'x' })],
  ])('%s to a channel that does not exist: channel_not_found', async (_method, call) => {
    expect(await call().catch((e: { data: unknown }) => e.data)).toMatchObject({ ok: false, error: 'channel_not_found' });
  });

  it.each([
    ['chat.postMessage', () => client.chat.postMessage({ channel: 'C0RANDOM', text: 'x' })],
    ['chat.postEphemeral', () => client.chat.postEphemeral({ channel: 'C0RANDOM', user: 'U0APPROVER1', text: 'x' })],
  ])('%s to a channel the bot is not in: not_in_channel', async (_method, call) => {
    const before = slack.messages.length;
    expect(await call().catch((e: { data: unknown }) => e.data)).toMatchObject({ ok: false, error: 'not_in_channel' });
    expect(slack.messages.length).toBe(before);
  });
});

describe('response_url', () => {
  const respond = (url: string, body: unknown): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('takes a JSON message five times within 30 minutes, and records each', async () => {
    const url = slack.responseUrl();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/commands\/T0BOOTWRDN\/\d+\/[0-9a-f]{24}$/);
    for (let i = 0; i < 5; i++) expect((await respond(url, { text: `answer ${i}` })).status).toBe(200);
    const sixth = await respond(url, { text: 'answer 5' });
    expect([sixth.status, await sixth.text()]).toEqual([
      404,
      'undocumented: Slack accepts a response_url 5 times within 30 minutes; this one is used up or expired',
    ]);
    expect(slack.responses.filter((r) => r.url === url).map((r) => [r.status, r.body['text']])).toEqual([
      [200, 'answer 0'],
      [200, 'answer 1'],
      [200, 'answer 2'],
      [200, 'answer 3'],
      [200, 'answer 4'],
      [404, 'answer 5'],
    ]);
  });

  it('is refused after 30 minutes', async () => {
    const url = slack.responseUrl();
    clock += 30 * 60_000;
    expect((await respond(url, { text: 'just in time' })).status).toBe(200);
    clock += 1;
    expect((await respond(url, { text: 'late' })).status).toBe(404);
  });

  it.each<[string, unknown, number, string]>([
    ['blocks over the limits', { text: 'x', blocks: [section(x(3001))] }, 400, 'invalid_blocks'],
    ['neither text nor blocks', { response_type: 'ephemeral' }, 400, 'no_text'],
    ['another response_type', { text: 'x', response_type: 'everyone' }, 400, 'undocumented: response_type must be ephemeral or in_channel'],
    ['a JSON list', [], 400, 'undocumented: the body of a response_url POST must be a JSON object'],
  ])('%s: refused', async (_what, body, status, answer) => {
    const res = await respond(slack.responseUrl(), body);
    expect([res.status, await res.text()]).toEqual([status, answer]);
  });

  it('one never handed out: refused', async () => {
    const res = await respond(`${slack.url.replace(/\/api\/$/, '')}/commands/T0BOOTWRDN/1/${'0'.repeat(24)}`, { text: 'x' });
    expect([res.status, await res.text()]).toEqual([404, 'undocumented: this response_url was never handed out by the stand-in']);
  });
});

describe("the app's largest messages", () => {
  const messenger = (): WebApiMessenger => new WebApiMessenger(client, () => clock);
  /** The longest values the internal API accepts (core/approvals.ts): names of 63, project ids of 100, zones of 63, 20-digit ids. */
  const longest = (i: number): GroupMember => {
    const name = `vm-${String(i).padStart(4, '0')}-${'a'.repeat(54)}z`;
    const project = `p${'r'.repeat(98)}${i % 10}`;
    const pcr = (n: number): string => `PCR_${(n + i) % 100}`;
    const m = (pcrNum: string): { pcrNum: string; hashAlgo: 'SHA256'; value: string } => ({
      pcrNum,
      hashAlgo: 'SHA256',
      value: `${'A'.repeat(42)}A=`,
    });
    const request: ApprovalRequest = {
      version: 1,
      eventKey: `k${String(i).padStart(127, '0')}`,
      execution: `projects/${project}/locations/${'l'.repeat(63)}/workflows/${'w'.repeat(64)}/executions/${'e'.repeat(124)}${String(i).padStart(4, '0')}`,
      callbackUrl: 'https://workflowexecutions.googleapis.com/v1/x/callbacks/y',
      projectNumber: '4829157361040000000',
      instance: { id: String(18_446_744_073_709_551_615n - BigInt(i)), project, zone: `${'z'.repeat(62)}${i % 10}` },
      instanceName: name,
      fingerprint: 'f'.repeat(64),
      bootCounter: String(18_446_744_073_709_551_615n - BigInt(i)),
      eventTimestamp: `2026-12-02T09:10:07.${String(123_456_789 + i).padStart(9, '0')}Z`,
      diff: {
        changed: Array.from({ length: 24 }, (_, n) => ({ pcrNum: pcr(n), from: m(pcr(n)), to: m(pcr(n)) })),
        added: Array.from({ length: 24 }, (_, n) => m(pcr(n + 24))),
        removed: Array.from({ length: 24 }, (_, n) => m(pcr(n + 48))),
      },
      held: i % 2 === 0,
      afterRelearn: i % 3 === 0,
      requestedAt: '2026-12-02T09:10:09.5Z',
      expiresAt: '2026-12-03T09:10:09.5Z',
    };
    return newMember(`grp_${'0'.repeat(32)}`, request);
  };
  const members = Array.from({ length: 500 }, (_, i) => longest(i));
  const group = { id: `grp_${'0'.repeat(32)}`, fingerprint: 'f'.repeat(64), createdAt: '2026-12-02T09:10:09.5Z', message: null };
  // Slack display names: up to 80 characters, every one escaped to five (&amp;).
  const approver = (k: number): { teamId: string; userId: string; name: string } => ({
    teamId: 'T0BOOTWRDN',
    userId: `U0APPROVER${k}`,
    name: '&'.repeat(80),
  });
  const vote = { groupId: group.id, approver: approver(1), at: '2026-12-02T09:12:00Z' };
  const decision = {
    groupId: group.id,
    fingerprint: group.fingerprint,
    decision: 'approve' as const,
    approver: approver(2),
    approvers: [approver(1), approver(2)],
    decidedAt: '2026-12-02T09:13:00Z',
  };

  it('an open group of 500 VMs with every field at its longest, and the same group decided, are accepted by chat.postMessage and chat.update', async () => {
    const open = groupMessage(summarize(group, members, null, 10, [vote]), new Date(clock));
    const ts = await messenger().post(CHANNEL, open);
    const posted = slack.messages.find((m) => m.ts === ts)!;
    const texts = posted.blocks.map((b) => (b['text'] as { text?: string } | undefined)?.text ?? '');
    expect(texts.find((t) => t.startsWith('*VMs*'))).toMatch(/\n…and 49\d more$/);
    expect(texts.find((t) => t.startsWith("*PCRs that differ from each VM's policy*"))).toMatch(/\n…and \d+ more lines$/);
    expect(posted.blocks.find((b) => b['type'] === 'actions')).toMatchObject({
      elements: [{ action_id: APPROVAL_ACTIONS.approve }, { action_id: APPROVAL_ACTIONS.reject }],
    });
    await messenger().update(CHANNEL, ts, groupMessage(summarize(group, members, decision, 10), new Date(clock)));
    expect(slack.messages.find((m) => m.ts === ts)!.updates).toBe(1);
  });

  it('an outcome with the longest detail, the pending list of 200 groups and a long history are accepted', async () => {
    const report = {
      version: 1 as const,
      eventKey: members[0]!.eventKey,
      execution: members[0]!.execution,
      instance: members[0]!.instance,
      fingerprint: null,
      groupId: null,
      outcome: 'failed' as const,
      intendedAction: null,
      detail: '&'.repeat(2000),
      at: '2026-12-02T09:20:00Z',
    };
    await messenger().post(CHANNEL, outcomeMessage(report));
    const summary = summarize(group, members, null);
    await messenger().post(CHANNEL, openGroupsMessage(Array.from({ length: 200 }, () => ({ group, summary }))));
    await messenger().post(
      CHANNEL,
      listMessage(
        'History',
        Array.from({ length: 400 }, (_, i) => `• line ${i} ${'&'.repeat(30)}`),
        '',
      ),
    );
    expect(
      slack
        .callsOf('chat.postMessage')
        .slice(-3)
        .map((c) => c.ok),
    ).toEqual([true, true, true]);
  });
});
