/**
 * The Slack app's process: validates the configuration (a ConfigError names the variable at fault
 * and exits 1), serves on HOST:PORT, runs one delivery pass at start-up (callbacks left pending
 * by a process that died), and stops cleanly on SIGTERM (Cloud Run) or SIGINT.
 * In the cloud: `node dist/slack-app/main.js`; locally `npm run slack-app` (devstack/slack-app.ts).
 */
import { ConfigError, loadSlackAppConfig } from '../core/config.js';
import { createSlackApp, SLACK_EVENTS_PATH } from './app.js';

export async function serveSlackApp(env: Readonly<Record<string, string | undefined>>, say: (line: string) => void): Promise<number> {
  let config;
  try {
    config = loadSlackAppConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      say(`configuration error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const app = await createSlackApp(config);
  let url: string;
  try {
    url = await app.listen(config.port, config.host);
  } catch (e) {
    say(`cannot listen on ${config.host}:${config.port}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  app.logger.info(`bootwarden Slack app on ${url}: Slack requests at ${SLACK_EVENTS_PATH}, internal API for ${config.appUrl}`, {
    localTokens: config.localTokens,
    channel: config.channel,
  });
  try {
    const counts = await app.approvals.deliverPending(10_000, { recover: true });
    if (counts.delivered + counts.gone + counts.pending + counts.messages > 0) app.logger.info('start-up delivery pass', { ...counts });
  } catch (e) {
    app.logger.error(`the start-up delivery pass failed; /internal/deliver retries it: ${e instanceof Error ? e.message : String(e)}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await app.close();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  process.exitCode = await serveSlackApp(process.env, (line) => void process.stderr.write(`${line}\n`));
}
