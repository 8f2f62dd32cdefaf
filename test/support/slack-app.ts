/**
 * The Slack app under test, over real HTTP: the app with the Slack Web API stand-in
 * (devstack/slack-local.ts), a loopback receiver standing for the waiting executions' callback
 * endpoints, and the internal API called with the local engine's tokens.
 */
import { LocalTokenSource } from '@bootwarden/workflows-emulator';
import type { SlackAppDeps, SlackAppServer } from '../../slack-app/app.js';
import type { SlackWebApiStandIn } from '../../devstack/slack-web-api.js';
import { CallbackReceiver } from '../../devstack/callback-receiver.js';
import { postInternal, startLocalSlackApp } from '../../devstack/slack-local.js';

export * from '../../devstack/slack-local.js';
export { CallbackReceiver };

export interface SlackHarness {
  readonly appUrl: string;
  readonly app: SlackAppServer;
  readonly slack: SlackWebApiStandIn;
  readonly callbacks: CallbackReceiver;
  readonly logs: Record<string, unknown>[];
  /** POSTs to an internal endpoint with a local OIDC token for `audience` (default the app's URL), or `token`. */
  internal(
    path: string,
    body: unknown,
    opts?: { token?: string | null; audience?: string; subject?: string },
  ): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startSlackHarness(
  prefix: string,
  opts: { env?: Record<string, string>; deps?: SlackAppDeps } = {},
): Promise<SlackHarness> {
  const callbacks = new CallbackReceiver();
  await callbacks.start();
  const logs: Record<string, unknown>[] = [];
  const local = await startLocalSlackApp(prefix, {
    ...(opts.env === undefined ? {} : { env: opts.env }),
    deps: { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>), ...opts.deps },
  });
  return {
    appUrl: local.url,
    app: local.app,
    slack: local.slack,
    callbacks,
    logs,
    internal: async (path, body, o = {}) => {
      const tokens = new LocalTokenSource(o.subject === undefined ? {} : { subject: o.subject });
      const token = o.token === undefined ? await tokens.token('OIDC', o.audience ?? local.url) : o.token;
      return postInternal(local.url, path, body, token);
    },
    close: async () => {
      await local.close();
      await callbacks.close();
    },
  };
}
