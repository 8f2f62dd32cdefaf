/**
 * A loopback stand-in of Slack's Web API (`SLACK_API_URL=<url>`), for the Slack app in tests, the
 * benchmark and `npm start`. It answers the methods the app calls as Slack does (form-encoded or
 * JSON requests, a bearer token, `{ok: true, ...}` or `{ok: false, error}`), keeps the channel's
 * messages (so that a test reads what operators would see and clicks its buttons), records every
 * call, and can be told to fail: `ok: false` with an error code, 429 with Retry-After, or 5xx.
 *
 * Also here: signed requests to the app as Slack sends them (`clickButton`, `slashCommand`):
 * form-encoded, `X-Slack-Request-Timestamp` and a v0 `X-Slack-Signature` over the raw body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Waiters } from './waiters.js';
import { slackSignature } from '../slack-app/signature.js';

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
}

export type SlackMethod = 'auth.test' | 'chat.postMessage' | 'chat.update' | 'chat.postEphemeral' | 'usergroups.users.list';

export class SlackWebApiStandIn {
  readonly calls: SlackCall[] = [];
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
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
        if (channel === '') return this.answer(res, method, args, 200, { ok: false, error: 'channel_not_found' });
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

/** Runs `/bootwarden <text>` as `user`; the app's HTTP answer. */
export function slashCommand(
  appUrl: string,
  secret: string,
  text: string,
  user: SlackUser,
  channel: string,
  opts: SignedRequestOptions = {},
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
    response_url: 'https://hooks.slack.com/commands/T0LOCAL/0000/unused',
    trigger_id: `${Date.now()}.${user.id}.bootwarden`,
  }).toString();
  return postSigned(appUrl, secret, body, opts);
}
