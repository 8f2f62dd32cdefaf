/**
 * `npm start` and `npm run demo`: the whole loop on this machine, through the real path.
 *
 * A simulated fleet of Shielded VMs (devstack/fleet/) boots; its entries go through the local log
 * sink to the function (functions-framework, as Eventarc delivers them), which decides against the
 * Firestore emulator and starts the response workflow through its Workflows client in the local
 * engine; the workflow stops, starts and relearns VMs through the fleet's Compute API and asks the
 * Slack app (the real one, posting to a stand-in of Slack's Web API, where a local operator clicks).
 * devstack/scenario.ts plays the steps and checks each outcome against the stand-ins' records.
 *
 * `npm start` keeps everything serving afterwards, until Ctrl-C, and reads commands on its standard
 * input to drive the fleet by hand (devstack/hand.ts); `--demo` (`npm run demo`) exits: 0 when
 * every outcome was the expected one, 1 otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { RESPONSE_WORKFLOW_ID } from '../core/contracts.js';
import { DEMO_PROJECT, demoFleet, demoOperator, playScenario } from './scenario.js';
import { NPM_EMULATOR_LIMITS } from './firestore-emulator.js';
import { gcloudLines, GcloudTokenFile } from './gcloud.js';
import { HAND_HELP, runHandCommand } from './hand.js';
import { printHistory } from './history-report.js';
import { APPROVER } from './slack-local.js';
import { startLocalStack } from './stack.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

const USAGE =
  'usage: npm start  (plays the scenario, then serves until Ctrl-C)\n       npm run demo  (plays it and exits: 0 when every outcome is as expected)';

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--demo');
  if (unknown.length > 0) {
    say(`unknown argument ${JSON.stringify(unknown[0])}\n${USAGE}`);
    return 64;
  }
  const demo = argv.includes('--demo');
  const port = demo ? 0 : Number(process.env['PORT'] ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    say(`PORT must be a port number, got ${JSON.stringify(process.env['PORT'])}`);
    return 64;
  }
  say('bootwarden: the whole loop, on this machine\n');
  say('Starting the Firestore emulator, the simulated fleet (Compute API), the Workflows engine, the Slack app and the function...');
  const fleet = demoFleet();
  const stack = await startLocalStack({
    projectId: DEMO_PROJECT,
    instances: fleet,
    autoDecide: demoOperator,
    sink: { duplicateRate: 0.2, seed: 2026 },
    function: { port, write: () => undefined },
  });
  let gcloudDir: string | undefined;
  let gcloudToken: GcloudTokenFile | undefined;
  try {
    say(`  Firestore         ${stack.emulator.kind} emulator at ${stack.emulator.host}`);
    if (stack.emulator.kind === 'npm') say(`    note: ${NPM_EMULATOR_LIMITS}`);
    say(`  Compute API       ${stack.computeUrl}  (${fleet.length} simulated Shielded VMs)`);
    say(`  Workflows         ${stack.workflowsUrl}  (Executions API; the deployed integrity-response YAML)`);
    say(`  function          ${stack.functionUrl ?? ''}  (functions-framework, target onIntegrityEvent)`);
    say(`  log sink          ${stack.sink?.topic ?? ''} → the function, as Eventarc (some deliveries duplicated)`);
    say(`  Slack app         ${stack.slackApp.url}  (Web API stand-in at ${stack.slackApp.slack.url})`);
    say(`  operator          ${APPROVER.name}: approves the kernel update, rejects any other new measurement`);
    const result = await playScenario(stack, say);
    say('\n6. The execution history and the audit trail');
    await printHistory(stack, say, ['web-00', 'app-00']);
    const ok = result.ok;
    say(
      ok
        ? '\nEvery outcome was the expected one.'
        : `\n${result.problems.length} unexpected outcome(s):\n${result.problems.map((p) => `  ${p}`).join('\n')}`,
    );
    if (demo) return ok ? 0 : 1;
    // Google's own CLI reads a local access token from this file, kept fresh on the stack's clock.
    gcloudDir = mkdtempSync(path.join(os.tmpdir(), 'bootwarden-gcloud-'));
    gcloudToken = new GcloudTokenFile(path.join(gcloudDir, 'access-token'), () => stack.now());
    await gcloudToken.start();
    const gcloud = gcloudLines(
      {
        computeUrl: stack.computeUrl,
        workflowsUrl: stack.workflowsUrl,
        projectId: DEMO_PROJECT,
        location: stack.engine.location,
        tokenFile: gcloudToken.file,
      },
      { zone: 'us-central1-a', instance: 'web-03', workflow: RESPONSE_WORKFLOW_ID },
    );
    say(`
Still serving (Ctrl-C to stop). Drive it by hand: type a command here, for example
  reboot web-03 --kernel linux-6.1.0-28-amd64     (a kernel nobody approved: web-03 is stopped, a message waits)
  approve                                         (alice approves it: promoted, started, relearned)
${HAND_HELP}
From another shell:
  PORT=${new URL(stack.functionUrl ?? 'http://127.0.0.1:8080/').port} npm run -s post-event -- examples/entries/unknown-measurements.pubsub.json
    # a VM of acme-prod, which this fleet does not have: the workflow finds no VM to stop (stop_skipped); see it with history
  BOOTWARDEN_COMPUTE_API_URL=${stack.computeUrl} BOOTWARDEN_WORKFLOWS_API_URL=${stack.workflowsUrl} BOOTWARDEN_WORKFLOW_LOCATION=${stack.engine.location} FIRESTORE_EMULATOR_HOST=${stack.emulator.host} GOOGLE_CLOUD_PROJECT=${DEMO_PROJECT} \\
    npx bootwarden instances --zone us-central1-a   # or: history, relearn <vm> --zone <zone>, --help
Or with gcloud, pointed at this stack's Compute and Executions APIs (paste into another shell; one zone per
list: gcloud asks several zones, or all, through batch and aggregated calls the local Compute does not serve):
${gcloud.map((line) => `  ${line}`).join('\n')}`);
    // From now on decisions are the user's. One command at a time, said as the scenario's steps are.
    stack.slackApp.stopAutoDecide();
    const input = createInterface({ input: process.stdin, terminal: false });
    let queue = Promise.resolve();
    input.on('line', (line) => {
      queue = queue
        .then(() => runHandCommand(stack, line, say))
        .catch((e: unknown) => say(`   failed: ${e instanceof Error ? e.message : String(e)}`));
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    input.close();
    await queue;
    return ok ? 0 : 1;
  } finally {
    gcloudToken?.close();
    if (gcloudDir !== undefined) rmSync(gcloudDir, { recursive: true, force: true });
    await stack.close();
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  say(`bootwarden local stack: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
});
