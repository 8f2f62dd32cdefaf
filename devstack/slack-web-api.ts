/**
 * A loopback stand-in of Slack's Web API (`SLACK_API_URL=<url>`), for the Slack app in tests, the
 * benchmark and `npm start`. It answers the methods the app calls as Slack does (form-encoded or
 * JSON requests, a bearer token, `{ok: true, ...}` or `{ok: false, error}`), keeps the channel's
 * messages (so that a test reads what operators would see and clicks its buttons), records every
 * call, and can be told to fail: `ok: false` with an error code, 429 with Retry-After, or 5xx.
 * It refuses what Slack refuses: blocks over Block Kit's limits (`invalid_blocks`, see
 * blockKitProblems), a channel that does not exist (`channel_not_found`) and one the bot is not a
 * member of (`not_in_channel`), as chat.postMessage's reference lists them
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
 *
 * It also hands out the `response_url` of a slash command (responseUrl) and records what the app
 * POSTs there (`responses`), with Slack's rules for it (see answerResponseUrl).
 *
 * Also here: signed requests to the app as Slack sends them (`clickButton`, `slashCommand`):
 * form-encoded, `X-Slack-Request-Timestamp` and a v0 `X-Slack-Signature` over the raw body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Waiters } from './waiters.js';
import { slackSignature } from '../slack-app/signature.js';
import { BLOCK_KIT_LIMITS } from '../slack-app/block-kit-limits.js';

export interface SlackCall {
  readonly method: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly status: number;
  readonly ok: boolean;
}

export interface StoredMessage {
  readonly channel: string;
  readonly ts: string;
  text: string;
  blocks: Record<string, unknown>[];
  readonly threadTs: string | null;
  updates: number;
}

export type SlackFailure =
  { readonly error: string } | { readonly status: 429; readonly retryAfter: number } | { readonly status: 500 | 502 | 503 };

export interface SlackUser {
  readonly id: string;
  readonly teamId: string;
  readonly name: string;
}

export interface SlackStandInOptions {
  readonly token: string;
  readonly teamId: string;
  readonly userGroups?: Readonly<Record<string, readonly string[]>>;
  /** The workspace's channels: those the bot is a member of, and others (`not_in_channel`); any other id is `channel_not_found`. */
  readonly channels: { readonly member: readonly string[]; readonly notMember?: readonly string[] };
  /** The clock a response_url's 30 minutes are counted on (ms since the epoch; default the wall clock). */
  readonly now?: () => number;
}

/** What the app POSTed to a response_url, and the stand-in's answer. */
export interface ResponseUrlPost {
  readonly url: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly status: number;
  readonly at: number;
}

export type SlackMethod = 'auth.test' | 'chat.postMessage' | 'chat.update' | 'chat.postEphemeral' | 'usergroups.users.list';

export class SlackWebApiStandIn {
  readonly calls: SlackCall[] = [];
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  /** Every POST to a response_url handed out by responseUrl(), accepted or refused. */
  readonly responses: ResponseUrlPost[] = [];
  private readonly responseUrls = new Map<string, { issuedAt: number; uses: number }>();
  private responseUrlCount = 0;
  private server: http.Server | undefined;
  private origin: string | undefined;
  private failures: { method: string; failure: SlackFailure; remaining: number }[] = [];
  private clock = 0;
  private readonly waiters = new Waiters();
  /** Called with each message posted to a channel (not a thread reply), after Slack's answer is sent. */
  readonly onPost: ((message: StoredMessage) => void)[] = [];

  constructor(private readonly options: SlackStandInOptions) {}

  /** The Web API base URL (SLACK_API_URL). */
  get url(): string {
    if (this.origin === undefined) throw new Error('the Slack Web API stand-in is not started');
    return `${this.origin}/api/`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  /** The next `times` calls of `method` fail this way. */
  failNext(method: SlackMethod, failure: SlackFailure, times = 1): this {
    this.failures.push({ method, failure, remaining: times });
    return this;
  }

  /** Top-level messages of a channel (not thread replies), oldest first. */
  channelMessages(channel: string): StoredMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === null);
  }

  /** Replies in the thread of the message `threadTs` of a channel, oldest first. */
  threadReplies(channel: string, threadTs: string): StoredMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs);
  }

  /**
   * A new `response_url`, as Slack puts in a slash command's payload
   * (`https://hooks.slack.com/commands/T…/…/…` in Slack; here on the stand-in's port).
   */
  responseUrl(): string {
    const url = `${this.url.replace(/\/api\/$/, '')}/commands/${this.options.teamId}/${++this.responseUrlCount}/${randomBytes(12).toString('hex')}`;
    this.responseUrls.set(new URL(url).pathname, { issuedAt: (this.options.now ?? Date.now)(), uses: 0 });
    return url;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `check` holds (checked now and after every request recorded). */
  until(check: () => boolean): Promise<void> {
    return this.waiters.until(check);
  }

  private nextTs(): string {
    this.clock++;
    return `${1_764_670_000 + Math.floor(this.clock / 1000)}.${String(this.clock % 1_000_000).padStart(6, '0')}`;
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    if ((req.url ?? '').startsWith('/commands/')) return this.answerResponseUrl(req, text, res);
    const method = (req.url ?? '').replace(/^\/api\//, '').replace(/\?.*$/, '');
    let args: Record<string, unknown> = {};
    const type = req.headers['content-type'] ?? '';
    try {
      if (type.startsWith('application/json')) args = JSON.parse(text) as Record<string, unknown>;
      else args = Object.fromEntries(new URLSearchParams(text));
    } catch {
      return this.answer(res, method, args, 200, { ok: false, error: 'invalid_json' });
    }
    if (typeof args['blocks'] === 'string') {
      try {
        args['blocks'] = JSON.parse(args['blocks']) as unknown;
      } catch {
        return this.answer(res, method, args, 200, { ok: false, error: 'invalid_blocks' });
      }
    }
    if (req.headers.authorization !== `Bearer ${this.options.token}`)
      return this.answer(res, method, args, 200, { ok: false, error: 'invalid_auth' });
    const failure = this.failures.find((f) => f.method === method && f.remaining > 0);
    if (failure !== undefined) {
      failure.remaining--;
      const f = failure.failure;
      if ('error' in f) return this.answer(res, method, args, 200, { ok: false, error: f.error });
      if (f.status === 429)
        return this.answer(res, method, args, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(f.retryAfter) });
      return this.answer(res, method, args, f.status, { ok: false, error: 'internal_error' });
    }
    const channel = str(args['channel']);
    if (CHANNEL_METHODS.includes(method)) {
      const { member, notMember = [] } = this.options.channels;
      if (!member.includes(channel))
        return this.answer(res, method, args, 200, {
          ok: false,
          error: notMember.includes(channel) ? 'not_in_channel' : 'channel_not_found',
        });
      const problems = args['blocks'] === undefined ? [] : blockKitProblems(args['blocks']);
      if (problems.length > 0) return this.answer(res, method, args, 200, invalidBlocks(problems));
    }
    switch (method) {
      case 'auth.test':
        return this.answer(res, method, args, 200, {
          ok: true,
          url: 'https://bootwarden-local.slack.com/',
          team: 'bootwarden local',
          user: 'bootwarden',
          team_id: this.options.teamId,
          user_id: 'U0BOOTWARDEN',
          bot_id: 'B0BOOTWARDEN',
        });
      case 'chat.postMessage': {
        const thread = typeof args['thread_ts'] === 'string' ? args['thread_ts'] : null;
        const m: StoredMessage = {
          channel,
          ts: this.nextTs(),
          text: str(args['text']),
          blocks: blocksOf(args),
          threadTs: thread,
          updates: 0,
        };
        this.messages.push(m);
        this.answer(res, method, args, 200, {
          ok: true,
          channel,
          ts: m.ts,
          message: { type: 'message', text: m.text, ts: m.ts, blocks: m.blocks },
        });
        if (thread === null) for (const listener of this.onPost) listener(m);
        return;
      }
      case 'chat.update': {
        const m = this.messages.find((x) => x.channel === channel && x.ts === args['ts']);
        if (m === undefined) return this.answer(res, method, args, 200, { ok: false, error: 'message_not_found' });
        m.text = str(args['text']);
        m.blocks = blocksOf(args);
        m.updates++;
        return this.answer(res, method, args, 200, { ok: true, channel, ts: m.ts, text: m.text });
      }
      case 'chat.postEphemeral':
        this.ephemerals.push({ channel, user: str(args['user']), text: str(args['text']) });
        return this.answer(res, method, args, 200, { ok: true, message_ts: this.nextTs() });
      case 'usergroups.users.list': {
        const users = this.options.userGroups?.[str(args['usergroup'])];
        if (users === undefined) return this.answer(res, method, args, 200, { ok: false, error: 'no_such_subteam' });
        return this.answer(res, method, args, 200, { ok: true, users });
      }
      default:
        return this.answer(res, method, args, 200, { ok: false, error: 'unknown_method' });
    }
  }

  /**
   * A POST to a response_url. Slack's rules (https://api.slack.com/interactivity/handling#message_responses):
   * a JSON body (`text`, `blocks`, `response_type`: `ephemeral`, the default, or `in_channel`),
   * at most five uses within 30 minutes of the interaction. Invalid blocks are answered 400 with
   * the body `invalid_blocks`, as Slack answers a webhook (slackapi/java-slack-sdk#1017,
   * sourcegraph/sourcegraph#49979). Slack documents neither the body of a success (the app reads
   * only the status; `ok`, as incoming webhooks answer) nor the answer to a sixth use, a late
   * one or an unknown URL: those are refused with 404 and a text saying so.
   */
  private answerResponseUrl(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const url = `${this.url.replace(/\/api\/$/, '')}${req.url ?? ''}`;
    const reply = (status: number, answer: string, body: Record<string, unknown> = {}): void => {
      this.responses.push({ url, body, status, at: (this.options.now ?? Date.now)() });
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(answer);
      this.waiters.notify();
    };
    const issued = this.responseUrls.get(new URL(url).pathname);
    if (issued === undefined) return reply(404, 'undocumented: this response_url was never handed out by the stand-in');
    if (req.method !== 'POST' || !(req.headers['content-type'] ?? '').startsWith('application/json'))
      return reply(400, 'undocumented: a response_url takes a POST of a JSON body (Content-type: application/json)');
    let body: Record<string, unknown>;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return reply(400, 'undocumented: the body of a response_url POST must be a JSON object');
    }
    const now = (this.options.now ?? Date.now)();
    if (issued.uses >= RESPONSE_URL_USES || now - issued.issuedAt > RESPONSE_URL_LIFETIME_MS)
      return reply(
        404,
        `undocumented: Slack accepts a response_url ${RESPONSE_URL_USES} times within ${RESPONSE_URL_LIFETIME_MS / 60_000} minutes; this one is used up or expired`,
        body,
      );
    if (body['response_type'] !== undefined && body['response_type'] !== 'ephemeral' && body['response_type'] !== 'in_channel')
      return reply(400, 'undocumented: response_type must be ephemeral or in_channel', body);
    if (typeof body['text'] !== 'string' && body['blocks'] === undefined) return reply(400, 'no_text', body);
    if (body['blocks'] !== undefined && blockKitProblems(body['blocks']).length > 0) return reply(400, 'invalid_blocks', body);
    issued.uses++;
    reply(200, 'ok', body);
  }

  private answer(
    res: http.ServerResponse,
    method: string,
    args: Record<string, unknown>,
    status: number,
    body: { ok: boolean } & Record<string, unknown>,
    headers: Record<string, string> = {},
  ): void {
    this.calls.push({ method, args, status, ok: body.ok });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
    this.waiters.notify();
  }
}

/** The methods that post to, or change a message in, a channel: each checks the channel and the blocks. */
const CHANNEL_METHODS: readonly string[] = ['chat.postMessage', 'chat.update', 'chat.postEphemeral'];

const RESPONSE_URL_USES = 5;
const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

/**
 * Slack's answer to blocks it refuses. The reference names the error (`invalid_blocks`); the rest
 * is the shape Slack's servers answer with, one message per problem with a JSON pointer
 * (slackapi/bolt-python#1016: `errors: ["invalid_url [json-pointer:/blocks/0/…]"]` and
 * `response_metadata.messages: ["[ERROR] invalid_url [json-pointer:/blocks/0/…]"]`).
 */
function invalidBlocks(problems: readonly string[]): { ok: false } & Record<string, unknown> {
  return { ok: false, error: 'invalid_blocks', errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } };
}

/**
 * What Slack refuses in a message's blocks: Block Kit's limits (slack-app/block-kit-limits.ts,
 * with the pages that state them), worded as Slack words them (`must be less than 3001 characters
 * [json-pointer:/blocks/0/text/text]`, `no more than 50 items allowed [json-pointer:/blocks]`).
 * Empty when every limit holds. Only the limits are checked, not the whole Block Kit schema.
 */
export function blockKitProblems(blocks: unknown): string[] {
  const L = BLOCK_KIT_LIMITS;
  const out: string[] = [];
  const at = (pointer: string, problem: string): void => void out.push(`${problem} [json-pointer:${pointer}]`);
  const atMost = (v: unknown, max: number, pointer: string): void => {
    if (typeof v === 'string' && v.length > max) at(pointer, `must be less than ${max + 1} characters`);
  };
  const items = (v: unknown, max: number, pointer: string): Record<string, unknown>[] => {
    if (!Array.isArray(v)) return [];
    if (v.length > max) at(pointer, `no more than ${max} items allowed`);
    return v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  };
  const textOf = (o: unknown): unknown => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)['text'] : undefined);
  const button = (e: Record<string, unknown>, p: string): void => {
    if (e['type'] !== 'button') return;
    atMost(textOf(e['text']), L.buttonText, `${p}/text/text`);
    atMost(e['value'], L.buttonValue, `${p}/value`);
    atMost(e['action_id'], L.actionId, `${p}/action_id`);
  };
  if (!Array.isArray(blocks)) return ['must be an array [json-pointer:/blocks]'];
  items(blocks, L.blocksPerMessage, '/blocks').forEach((b, i) => {
    const p = `/blocks/${i}`;
    atMost(b['block_id'], L.blockId, `${p}/block_id`);
    if (b['type'] === 'section') {
      const text = textOf(b['text']);
      atMost(text, L.sectionText, `${p}/text/text`);
      if (text === '') at(`${p}/text/text`, 'must be more than 0 characters');
      items(b['fields'], L.sectionFields, `${p}/fields`).forEach((f, j) => atMost(f['text'], L.sectionFieldText, `${p}/fields/${j}/text`));
      if (typeof b['accessory'] === 'object' && b['accessory'] !== null)
        button(b['accessory'] as Record<string, unknown>, `${p}/accessory`);
    } else if (b['type'] === 'header') {
      atMost(textOf(b['text']), L.headerText, `${p}/text/text`);
    } else if (b['type'] === 'context') {
      items(b['elements'], L.contextElements, `${p}/elements`);
    } else if (b['type'] === 'actions') {
      items(b['elements'], L.actionsElements, `${p}/elements`).forEach((e, j) => button(e, `${p}/elements/${j}`));
    }
  });
  return out;
}

/** A form or JSON field as text; anything but a string is empty. */
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function blocksOf(args: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(args['blocks']) ? (args['blocks'] as Record<string, unknown>[]) : [];
}

/** The buttons of a message: action id → value. */
export function buttonsOf(message: Pick<StoredMessage, 'blocks'>): { actionId: string; value: string; blockId: string }[] {
  const out: { actionId: string; value: string; blockId: string }[] = [];
  for (const b of message.blocks) {
    if (b['type'] !== 'actions' || !Array.isArray(b['elements'])) continue;
    for (const e of b['elements'] as Record<string, unknown>[]) {
      if (e['type'] === 'button') out.push({ actionId: String(e['action_id']), value: String(e['value']), blockId: str(b['block_id']) });
    }
  }
  return out;
}

export interface SignedRequestOptions {
  /** Seconds since the epoch (default now). */
  readonly timestamp?: number;
  /** Replaces the signature (default: a valid v0 signature). */
  readonly signature?: string | null;
  /** Signs with this secret instead. */
  readonly secret?: string;
  /** Sent instead of the signed body (a body changed after signing). */
  readonly tamper?: (body: string) => string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** POSTs a form-encoded body to the app's /slack/events, signed as Slack signs it. */
export async function postSigned(appUrl: string, secret: string, body: string, opts: SignedRequestOptions = {}): Promise<Response> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = opts.signature === undefined ? slackSignature(opts.secret ?? secret, timestamp, body) : opts.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...opts.headers,
  };
  if (signature !== null) headers['x-slack-signature'] = signature;
  return fetch(`${appUrl}/slack/events`, { method: 'POST', headers, body: opts.tamper === undefined ? body : opts.tamper(body) });
}

/** The `block_actions` payload Slack sends when `user` clicks a button of `message`. */
export function blockActionsPayload(
  message: Pick<StoredMessage, 'channel' | 'ts' | 'text' | 'blocks'>,
  button: { actionId: string; value: string; blockId?: string },
  user: SlackUser,
): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: user.teamId },
    api_app_id: 'A0BOOTWARDEN',
    token: 'legacy-verification-token-unused',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${user.id}.bootwarden`,
    team: { id: user.teamId, domain: 'bootwarden-local' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: 'bootwarden-approvals' },
    message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
    response_url: 'https://hooks.slack.com/actions/T0LOCAL/0000/unused',
    actions: [
      {
        action_id: button.actionId,
        block_id: button.blockId ?? 'bootwarden_decision',
        text: { type: 'plain_text', text: button.actionId },
        value: button.value,
        type: 'button',
        action_ts: `${Math.floor(Date.now() / 1000)}.000100`,
      },
    ],
  };
}

/** Clicks a button as `user`: the signed interaction request; the app's HTTP answer. */
export function clickButton(
  appUrl: string,
  secret: string,
  message: Pick<StoredMessage, 'channel' | 'ts' | 'text' | 'blocks'>,
  button: { actionId: string; value: string; blockId?: string },
  user: SlackUser,
  opts: SignedRequestOptions = {},
): Promise<Response> {
  const body = new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(message, button, user)) }).toString();
  return postSigned(appUrl, secret, body, opts);
}

/** Runs `/bootwarden <text>` as `user`; the app's HTTP answer. `responseUrl`: from SlackWebApiStandIn.responseUrl(). */
export function slashCommand(
  appUrl: string,
  secret: string,
  text: string,
  user: SlackUser,
  channel: string,
  opts: SignedRequestOptions & { readonly responseUrl?: string } = {},
): Promise<Response> {
  const body = new URLSearchParams({
    token: 'legacy-verification-token-unused',
    team_id: user.teamId,
    team_domain: 'bootwarden-local',
    channel_id: channel,
    channel_name: 'bootwarden-approvals',
    user_id: user.id,
    user_name: user.name,
    command: '/bootwarden',
    text,
    api_app_id: 'A0BOOTWARDEN',
    is_enterprise_install: 'false',
    response_url: opts.responseUrl ?? 'https://hooks.slack.com/commands/T0LOCAL/0000/unused',
    trigger_id: `${Date.now()}.${user.id}.bootwarden`,
  }).toString();
  return postSigned(appUrl, secret, body, opts);
}
