/**
 * The Slack app answering Slack: how long a click on Approve takes to be answered (signed request
 * in, Bolt, authorization, the create-once decision, HTTP answer out) with a group of 50 waiting
 * executions, against the Firestore emulator, the Slack Web API stand-in and a loopback callback
 * receiver. Slack wants an answer within 3 s; the target is p99 < 100 ms locally. Also: how long
 * until all 50 executions are called back (after the answer), and how long joining a group takes.
 */
import { randomBytes } from 'node:crypto';
import { APPROVAL_ACTIONS, APPROVAL_PATHS } from '../core/approvals.js';
import { CallbackReceiver } from '../devstack/callback-receiver.js';
import { startFirestoreEmulator } from '../devstack/firestore-emulator.js';
import {
  approvalRequest,
  APPROVER,
  CHANNEL,
  fingerprintOf,
  postInternal,
  SIGNING_SECRET,
  startLocalSlackApp,
} from '../devstack/slack-local.js';
import { buttonsOf, clickButton } from '../devstack/slack-web-api.js';
import { info, log, metric, type Metric, percentile } from './metrics.js';

const GROUP_SIZE = 50;

export async function benchSlack(groups: number): Promise<Metric[]> {
  const emulator = await startFirestoreEmulator({ projectId: 'demo-bootwarden' });
  const saved = process.env['FIRESTORE_EMULATOR_HOST'];
  process.env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const callbacks = new CallbackReceiver();
  await callbacks.start();
  const local = await startLocalSlackApp(`bench_${randomBytes(4).toString('hex')}_`, { deps: { write: () => undefined } });
  try {
    const joins: number[] = [];
    const clicks: number[] = [];
    const delivered: number[] = [];
    for (let g = 0; g < groups; g++) {
      const fingerprint = fingerprintOf(`bench kernel ${g}`);
      for (let i = 0; i < GROUP_SIZE; i++) {
        const t = performance.now();
        const res = await postInternal(local.url, APPROVAL_PATHS.request, approvalRequest(callbacks, fingerprint, { n: i }));
        joins.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`an approval request was answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
      const message = local.slack.channelMessages(CHANNEL).at(-1);
      const approve = message === undefined ? undefined : buttonsOf(message).find((b) => b.actionId === APPROVAL_ACTIONS.approve);
      if (message === undefined || approve === undefined) throw new Error('the group has no message with an Approve button');
      const before = callbacks.delivered().size;
      const t = performance.now();
      const res = await clickButton(local.url, SIGNING_SECRET, message, approve, APPROVER);
      await res.arrayBuffer();
      clicks.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`the click was answered ${res.status}: no measurement`);
      // The executions are called back after the answer: an approval counts once all 50 have their decision.
      await Promise.race([
        callbacks.until(() => callbacks.delivered().size - before >= GROUP_SIZE),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`not all ${GROUP_SIZE} executions were called back within 30 s`)), 30_000),
        ),
      ]);
      delivered.push(performance.now() - t);
      log(
        `slack: group ${g + 1}/${groups} answered in ${clicks.at(-1)!.toFixed(1)} ms, all called back in ${delivered.at(-1)!.toFixed(1)} ms`,
      );
    }
    clicks.sort((a, b) => a - b);
    joins.sort((a, b) => a - b);
    const p99 = percentile(clicks, 99);
    return [
      metric(`slack_click_answered_p99_${GROUP_SIZE}_waiting`, p99, 'ms', '< 100', p99 < 100),
      info(`slack_click_answered_p50_${GROUP_SIZE}_waiting`, percentile(clicks, 50), 'ms'),
      info(
        `slack_all_${GROUP_SIZE}_called_back_p50`,
        percentile(
          delivered.sort((a, b) => a - b),
          50,
        ),
        'ms',
      ),
      info('slack_approval_request_p50', percentile(joins, 50), 'ms'),
      info('slack_approval_request_p99', percentile(joins, 99), 'ms'),
      info('slack_web_api_calls_per_group', local.slack.calls.length / groups, 'calls'),
    ];
  } finally {
    await local.close();
    await callbacks.close();
    if (saved === undefined) delete process.env['FIRESTORE_EMULATOR_HOST'];
    else process.env['FIRESTORE_EMULATOR_HOST'] = saved;
    await emulator.stop();
  }
}
