/** What the Slack app asks of Slack's Web API. Implementations throw a SlackApiError on failure. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export interface SlackMessenger {
  /** chat.postMessage; the message's ts. */
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<string>;
  /** chat.update. */
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
  /** chat.postEphemeral: seen by `user` only. */
  ephemeral(channel: string, user: string, text: string): Promise<void>;
  /** usergroups.users.list. */
  userGroupMembers(userGroup: string): Promise<readonly string[]>;
  /** The workspace the bot token belongs to (auth.test). */
  teamId(): Promise<string>;
}
