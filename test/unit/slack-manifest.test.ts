/** slack-app/manifest.yaml asks for what the app uses, and sends Slack's requests where the app listens. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SLACK_EVENTS_PATH } from '../../slack-app/app.js';
import { COMMAND } from '../../slack-app/listeners/commands/index.js';
import { ROOT } from '../support/cli.js';

const manifest = parse(readFileSync(path.join(ROOT, 'slack-app', 'manifest.yaml'), 'utf8')) as {
  features: { slash_commands: { command: string; url: string }[] };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean; event_subscriptions?: unknown };
};

describe('slack-app/manifest.yaml', () => {
  it('asks for exactly the scopes of the Web API methods the app calls', () => {
    // chat.postMessage, chat.update, chat.postEphemeral: chat:write; the command: commands;
    // usergroups.users.list: usergroups:read. No user scopes, no events.
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['chat:write', 'commands', 'usergroups:read']);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
    expect(manifest.settings.event_subscriptions).toBeUndefined();
  });

  it('sends interactions and the slash command to the app over HTTP, at Bolt’s endpoint', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: `https://SLACK-APP-URL${SLACK_EVENTS_PATH}` });
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({ command: COMMAND, url: `https://SLACK-APP-URL${SLACK_EVENTS_PATH}` }),
    ]);
  });
});
