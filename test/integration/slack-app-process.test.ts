/**
 * The Slack app as its own process (`npm run slack-app`'s entry, dist/devstack/slack-app.js),
 * configured only by its documented environment: a configuration error exits 1 naming the
 * variable; killed between a decision and its callbacks, a restarted app delivers every callback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { APPROVAL_ACTIONS, APPROVAL_PATHS } from '../../core/approvals.js';
import { freePort } from '../../devstack/eventarc.js';
import { buttonsOf, clickButton, SlackWebApiStandIn } from '../../devstack/slack-web-api.js';
import { ROOT } from '../support/cli.js';
import {
  appEnv,
  approvalRequest,
  APPROVER,
  BOT_TOKEN,
  CallbackReceiver,
  CHANNEL,
  fingerprintOf,
  postInternal,
  SIGNING_SECRET,
  TEAM,
} from '../support/slack-app.js';

const fs = useFirestore();
const ENTRY = path.join(ROOT, 'dist', 'devstack', 'slack-app.js');
const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const close of closers.splice(0)) await close();
});

interface AppProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function spawnApp(env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [ENTRY], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function ready(url: string, app: AppProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (app.child.exitCode !== null) throw new Error(`the app exited ${app.child.exitCode}:\n${app.output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the app did not answer /healthz within 10 s:\n${app.output()}`);
}

describe('npm run slack-app', () => {
  it.each([
    [{ SLACK_SIGNING_SECRET: '' }, 'SLACK_SIGNING_SECRET is not set'],
    [
      { BOOTWARDEN_SLACK_CHANNEL: '#approvals' },
      'BOOTWARDEN_SLACK_CHANNEL must be a channel id like C024BE91L (not a #name), got "#approvals"',
    ],
    [{ HOST: '0.0.0.0' }, 'BOOTWARDEN_LOCAL_TOKENS=1 needs a loopback listener: HOST must be 127.0.0.1, ::1 or localhost, got "0.0.0.0"'],
    [{ K_SERVICE: 'bootwarden-slack' }, 'BOOTWARDEN_LOCAL_TOKENS=1 on Cloud Run (K_SERVICE is set)'],
  ])('a configuration error (%o) exits 1 naming the variable, before listening', async (change, message) => {
    const app = spawnApp(appEnv(await freePort(), 'http://127.0.0.1:9/api/', fs.prefix, change));
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain(`configuration error: ${message}`);
    expect(app.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('killed between a decision and its callbacks, the restarted app delivers every callback', async () => {
    const slack = new SlackWebApiStandIn({ token: BOT_TOKEN, teamId: TEAM, channels: { member: [CHANNEL] } });
    await slack.start();
    const callbacks = new CallbackReceiver();
    await callbacks.start();
    closers.push(
      () => slack.close(),
      () => callbacks.close(),
    );
    const port = await freePort();
    const env = appEnv(port, slack.url, fs.prefix);
    const url = `http://127.0.0.1:${port}`;
    const first = spawnApp(env);
    await ready(url, first);

    const fingerprint = fingerprintOf('kernel killed mid-way');
    const requests = Array.from({ length: 20 }, (_, i) => approvalRequest(callbacks, fingerprint, { n: i }));
    for (const r of requests) expect((await postInternal(url, APPROVAL_PATHS.request, r)).status).toBe(200);
    const message = slack.channelMessages(CHANNEL)[0]!;
    const approve = buttonsOf(message).find((b) => b.actionId === APPROVAL_ACTIONS.approve)!;

    // The executions' endpoints hold the first callbacks unanswered; the app dies while they hang.
    callbacks.hold();
    const answered = await clickButton(url, SIGNING_SECRET, message, approve, APPROVER);
    expect(answered.status).toBe(200);
    await callbacks.until(() => callbacks.received.length > 0);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(callbacks.delivered().size).toBe(0);
    callbacks.release();

    const second = spawnApp(env);
    await ready(url, second);
    await callbacks.until(() => callbacks.delivered().size === requests.length);
    for (const r of requests) {
      const got = callbacks.delivered().get(new URL(r.callbackUrl).pathname) ?? [];
      expect(got.length).toBeGreaterThanOrEqual(1);
      expect(got[0]!.body).toMatchObject({ decision: 'approve', approver: { id: `${TEAM}:${APPROVER.id}` } });
    }
    // Recorded as delivered, so no later pass sends them again.
    const members = await fs.db().collection(`${fs.prefix}approval_members`).get();
    expect(members.docs.map((d) => d.get('callback.state') as string)).toEqual(requests.map(() => 'delivered'));
  });
});
