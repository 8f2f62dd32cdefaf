/**
 * SlackMessenger over the Web API client Bolt built (its token, base URL and retry settings come
 * from the app's wiring). Failures become a SlackApiError naming the method and Slack's answer;
 * user-group members are cached for a minute (a click must not wait on Slack twice).
 */
import type { webApi } from '@slack/bolt';
import type { SlackMessage, SlackMessenger } from '../../core/ports/slack.port.js';

type WebClient = webApi.WebClient;

export class SlackApiError extends Error {
  readonly code = 'slack_api_failed';
  constructor(
    readonly method: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Slack ${method} failed: ${detail}`, options);
    this.name = 'SlackApiError';
  }
}

const HINTS: Record<string, string> = {
  not_in_channel: 'invite the app to the channel (/invite @bootwarden)',
  channel_not_found: 'check BOOTWARDEN_SLACK_CHANNEL (a channel id, C…) and that the app was invited',
  invalid_auth: 'check SLACK_BOT_TOKEN',
  missing_scope: 'reinstall the app with the scopes of slack-app/manifest.yaml',
  message_not_found: 'the message was deleted in Slack',
};

function describe(e: unknown): string {
  const err = e as {
    code?: string;
    data?: { error?: string; errors?: unknown };
    retryAfter?: number;
    statusCode?: number;
    message?: string;
  };
  if (err.code === 'slack_webapi_platform_error') {
    const code = err.data?.error ?? 'unknown_error';
    // invalid_blocks comes with what Slack refused, each with a JSON pointer into the blocks.
    const errors = Array.isArray(err.data?.errors) ? `: ${err.data.errors.map(String).join('; ').slice(0, 500)}` : '';
    return HINTS[code] === undefined ? `${code}${errors}` : `${code} (${HINTS[code]})${errors}`;
  }
  if (err.code === 'slack_webapi_rate_limited_error') return `rate limited (retry after ${err.retryAfter ?? '?'} s)`;
  if (err.code === 'slack_webapi_http_error') return `HTTP ${err.statusCode ?? '?'}`;
  return err.message ?? String(e);
}

export class WebApiMessenger implements SlackMessenger {
  private readonly groups = new Map<string, { at: number; users: readonly string[] }>();
  private team: Promise<string> | null = null;

  constructor(
    private readonly client: WebClient,
    private readonly now: () => number = Date.now,
  ) {}

  private async call<T>(method: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw new SlackApiError(method, describe(e), { cause: e });
    }
  }

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<string> {
    const res = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks as never,
        unfurl_links: false,
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      }),
    );
    if (typeof res.ts !== 'string') throw new SlackApiError('chat.postMessage', 'the answer has no ts');
    return res.ts;
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never }));
  }

  async ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.call('chat.postEphemeral', () => this.client.chat.postEphemeral({ channel, user, text }));
  }

  async userGroupMembers(userGroup: string): Promise<readonly string[]> {
    const cached = this.groups.get(userGroup);
    if (cached !== undefined && this.now() - cached.at < 60_000) return cached.users;
    const res = await this.call('usergroups.users.list', () => this.client.usergroups.users.list({ usergroup: userGroup }));
    const users = res.users ?? [];
    this.groups.set(userGroup, { at: this.now(), users });
    return users;
  }

  teamId(): Promise<string> {
    this.team ??= this.call('auth.test', () => this.client.auth.test()).then((res) => {
      if (typeof res.team_id !== 'string') throw new SlackApiError('auth.test', 'the answer has no team_id');
      return res.team_id;
    });
    this.team.catch(() => (this.team = null));
    return this.team;
  }
}
