/**
 * The Slack side of the local stack: the real Slack app (slack-app/app.ts) with local tokens,
 * configured through its documented environment, talking to the Slack Web API stand-in; the
 * local workspace's ids; and real-shaped approval requests (19-digit instance ids, nanosecond
 * timestamps, the engine's execution names) for the tests and the benchmark.
 */
import { createHash, randomBytes } from 'node:crypto';
import { APPROVAL_ACTIONS, type ApprovalDecision, type ApprovalRequest, type OutcomeReport } from '../core/approvals.js';
import { LocalTokenSource } from '@bootwarden/workflows-emulator';
import { loadSlackAppConfig } from '../core/config.js';
import { createSlackApp, type SlackAppDeps, type SlackAppServer } from '../slack-app/app.js';
import type { CallbackReceiver } from './callback-receiver.js';
import { freePort } from './eventarc.js';
import { buttonsOf, clickButton, SlackWebApiStandIn, type SlackUser, type StoredMessage } from './slack-web-api.js';

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
export const BOT_TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
export const TEAM = 'T0BOOTWRDN';
export const CHANNEL = 'C0APPROVALS';
/** A channel of the workspace the app was not invited to. */
export const OTHER_CHANNEL = 'C0RANDOM';
export const APPROVER: SlackUser = { id: 'U0APPROVER1', teamId: TEAM, name: 'alice' };
export const SECOND_APPROVER: SlackUser = { id: 'U0APPROVER2', teamId: TEAM, name: 'bob' };
export const BYSTANDER: SlackUser = { id: 'U0BYSTANDER', teamId: TEAM, name: 'mallory' };
export const PROJECT = 'demo-bootwarden';

const hex = (n: number): string => randomBytes(n).toString('hex');

/** A 19-digit instance id, as Compute gives them. */
export function instanceId(): string {
  return `${1 + (randomBytes(1)[0]! % 8)}${BigInt(`0x${hex(8)}`)
    .toString()
    .padStart(18, '0')
    .slice(0, 18)}`;
}

export function fingerprintOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

const digest = (seed: string, bytes: number): string => createHash('sha256').update(seed).digest().subarray(0, bytes).toString('base64');

/** A stopped VM's approval request, as the response workflow sends it. */
export function approvalRequest(
  receiver: CallbackReceiver,
  fingerprint: string,
  overrides: Partial<ApprovalRequest> & { n?: number } = {},
): ApprovalRequest {
  const execution = `projects/${PROJECT}/locations/us-central1/workflows/integrity-response/executions/${hex(16)}`;
  const { n = 0, ...rest } = overrides;
  return {
    version: 1,
    eventKey: hex(32),
    execution,
    callbackUrl: `${receiver.url}/v1/${execution}/callbacks/${hex(8)}_${hex(4)}`,
    projectNumber: '482915736104',
    instance: { id: instanceId(), project: PROJECT, zone: 'us-central1-a' },
    instanceName: `web-${String(n).padStart(3, '0')}`,
    fingerprint,
    bootCounter: String(4 + n),
    eventTimestamp: `2026-12-02T09:${String(10 + (n % 50)).padStart(2, '0')}:07.${String(123_456_789 + n).padStart(9, '0')}Z`,
    diff: {
      changed: [
        {
          pcrNum: 'PCR_4',
          from: { pcrNum: 'PCR_4', hashAlgo: 'SHA256', value: digest('old kernel', 32) },
          to: { pcrNum: 'PCR_4', hashAlgo: 'SHA256', value: digest(`kernel ${fingerprint}`, 32) },
        },
      ],
      added: [],
      removed: [],
    },
    held: false,
    afterRelearn: false,
    requestedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    ...rest,
  };
}

export function outcomeReport(
  request: ApprovalRequest,
  groupId: string | null,
  outcome: OutcomeReport['outcome'],
  detail: string,
): OutcomeReport {
  return {
    version: 1,
    eventKey: request.eventKey,
    execution: request.execution,
    instance: request.instance,
    fingerprint: request.fingerprint,
    groupId,
    outcome,
    intendedAction: null,
    detail,
    at: new Date().toISOString(),
  };
}

/** The environment of the app under test: local tokens, the stand-in's URL, this test's collections. */
export function appEnv(port: number, slackApiUrl: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    FIRESTORE_EMULATOR_HOST: process.env['FIRESTORE_EMULATOR_HOST'] ?? '',
    METADATA_SERVER_DETECTION: 'none',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: slackApiUrl,
    BOOTWARDEN_SLACK_CHANNEL: CHANNEL,
    BOOTWARDEN_APPROVERS: `${TEAM}:${APPROVER.id},${TEAM}:${SECOND_APPROVER.id}`,
    BOOTWARDEN_LOCAL_TOKENS: '1',
    BOOTWARDEN_COLLECTION_PREFIX: prefix,
    PORT: String(port),
    ...extra,
  };
}

export interface LocalSlackApp {
  readonly url: string;
  readonly app: SlackAppServer;
  readonly slack: SlackWebApiStandIn;
  /** The HTTP status of each automatic click (autoDecide), in order: a failure is visible, not lost. */
  readonly autoDecisions: Promise<number>[];
  /**
   * An operator who decides once things have settled (`when: 'settled'`) clicks now every approval
   * message not clicked yet; how many clicks that made.
   */
  decideOpen(): number;
  /** The automatic operator stops clicking: decisions are made by hand from now on. */
  stopAutoDecide(): void;
  /**
   * Clicks `decision` as `user` (default: the approver) on the newest channel message that still
   * offers it; null when none does. Resolves once the app's follow-up work is done.
   */
  decideNewest(decision: ApprovalDecision, user?: SlackUser): Promise<{ status: number; message: StoredMessage } | null>;
  close(): Promise<void>;
}

/**
 * An operator who clicks every new approval message: always the same decision, or the one
 * `decision` gives for the message (null: leave it waiting). `when`: as soon as it is posted (the
 * default: later VMs of the same measurements meet a decided group), or once the stack has
 * settled (LocalStack.quiet(): every VM of a rollout has joined, as when a person reads first).
 */
export interface AutoDecision {
  readonly decision: ApprovalDecision | ((message: StoredMessage) => ApprovalDecision | null);
  readonly user?: SlackUser;
  readonly when?: 'posted' | 'settled';
}

/** The Slack app on a loopback port, with the stand-in as its Web API; `env` adds to or overrides appEnv(). */
export async function startLocalSlackApp(
  prefix: string,
  opts: { env?: Record<string, string>; deps?: SlackAppDeps; autoDecide?: AutoDecision } = {},
): Promise<LocalSlackApp> {
  const slack = new SlackWebApiStandIn({
    token: BOT_TOKEN,
    teamId: TEAM,
    userGroups: { S0ONCALL: [SECOND_APPROVER.id, 'U0ONCALL9'] },
    channels: { member: [CHANNEL], notMember: [OTHER_CHANNEL] },
  });
  await slack.start();
  try {
    const port = await freePort();
    const app = await createSlackApp(loadSlackAppConfig(appEnv(port, slack.url, prefix, opts.env)), opts.deps);
    const url = await app.listen(port, '127.0.0.1');
    const autoDecisions: Promise<number>[] = [];
    let auto = opts.autoDecide;
    const clicked = new Set<string>();
    /** Clicks the operator's button on `message`, once; whether it clicked. */
    const decideOn = (message: StoredMessage): boolean => {
      if (auto === undefined || message.threadTs !== null || clicked.has(message.ts)) return false;
      const decision = typeof auto.decision === 'function' ? auto.decision(message) : auto.decision;
      if (decision === null) return false;
      const button = buttonFor(message, decision);
      if (button === undefined) return false;
      clicked.add(message.ts);
      autoDecisions.push(click(url, app, message, button, auto.user ?? APPROVER));
      return true;
    };
    if (auto !== undefined && auto.when !== 'settled') slack.onPost.push((message) => void decideOn(message));
    return {
      url,
      app,
      slack,
      autoDecisions,
      decideOpen: () => (auto?.when === 'settled' ? slack.messages.filter(decideOn).length : 0),
      stopAutoDecide: () => {
        auto = undefined;
      },
      decideNewest: async (decision, user = APPROVER) => {
        for (const message of [...slack.channelMessages(CHANNEL)].reverse()) {
          const button = buttonFor(message, decision);
          if (button !== undefined) return { status: await click(url, app, message, button, user), message };
        }
        return null;
      },
      close: async () => {
        await app.close();
        await slack.close();
      },
    };
  } catch (e) {
    await slack.close();
    throw e;
  }
}

/**
 * POSTs JSON to the app's internal API as the workflow does (by default with the local engine's
 * OIDC token for the app's URL); the status and the parsed answer.
 */
export async function postInternal(
  appUrl: string,
  path: string,
  body: unknown,
  token?: string | null,
): Promise<{ status: number; body: unknown }> {
  if (token === undefined) token = await new LocalTokenSource().token('OIDC', appUrl);
  const res = await fetch(`${appUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** The message's button for `decision`, while it still offers one. */
function buttonFor(message: StoredMessage, decision: ApprovalDecision): { actionId: string; value: string } | undefined {
  return buttonsOf(message).find((b) => b.actionId === APPROVAL_ACTIONS[decision]);
}

async function click(
  url: string,
  app: SlackAppServer,
  message: StoredMessage,
  button: { actionId: string; value: string },
  user: SlackUser,
): Promise<number> {
  const res = await clickButton(url, SIGNING_SECRET, message, button, user);
  await res.arrayBuffer();
  await app.approvals.settled();
  return res.status;
}

/**
 * Clicks `decision` on the message of the group `execution` waits in, as `user` (a signed
 * interaction, as Slack sends it); resolves with the HTTP status once the app's follow-up work
 * (callbacks, redraw) is done.
 */
export async function decideInSlack(
  local: LocalSlackApp,
  execution: string,
  decision: ApprovalDecision,
  user: SlackUser = APPROVER,
): Promise<number> {
  const groupId = await local.app.approvals.groupOf(execution);
  if (groupId === null) throw new Error(`execution ${execution} has not asked the Slack app for a decision`);
  const message = local.slack.messages.find((m) => buttonsOf(m).some((b) => b.value === groupId));
  const button = message === undefined ? undefined : buttonFor(message, decision);
  if (message === undefined || button === undefined)
    throw new Error(`no message of group ${groupId} offers ${decision} (decided already?)`);
  return click(local.url, local.app, message, button, user);
}
