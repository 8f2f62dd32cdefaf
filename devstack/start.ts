/**
 * `npm start`: the whole loop on this machine, through the real path. The bundled example entries
 * are delivered to the function as Eventarc delivers them (binary content mode, over HTTP, to the
 * handler functions-framework serves); the function parses, deduplicates and decides (`ingest`)
 * against the Firestore emulator, and starts the response workflow in the local Workflows engine,
 * which relearns known-good VMs, or stops unknown ones and asks the Slack app (the real one, posting
 * to a stand-in of Slack's Web API, where a local operator clicks Approve), promotes the new
 * measurements and starts the VM again.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isJsonObject } from '../core/json.js';
import { RESPONSE_WORKFLOW_ID } from '../core/contracts.js';
import { deliveryBody, postEventarc } from './eventarc.js';
import { readFleetFile } from './fleet/fleet-file.js';
import { exampleEntries, seedBaselines } from './seed.js';
import { APPROVER, CHANNEL } from './slack-local.js';
import { NPM_EMULATOR_LIMITS } from './firestore-emulator.js';
import { startLocalStack } from './stack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = path.join(root, 'examples');
const say = (text: string): boolean => process.stdout.write(text);

interface LogLine {
  severity?: string;
  message?: string;
}

async function main(): Promise<number> {
  const files = exampleEntries(path.join(examples, 'entries'));
  const logs: LogLine[] = [];
  say(
    'bootwarden: the whole loop, locally\n\nStarting the Firestore emulator, the Workflows engine, the Slack app (with a Slack Web API stand-in) and the function...\n',
  );
  const instances = await readFleetFile(path.join(examples, 'fleet.json'));
  const stack = await startLocalStack({
    projectId: 'demo-bootwarden',
    instances,
    autoDecide: { decision: 'approve' },
    function: { write: (line) => void logs.push(JSON.parse(line) as LogLine) },
  });
  let failures = 0;
  try {
    const seeded = await seedBaselines(stack.db, path.join(examples, 'baselines'), 'known_good_measurements');
    say(
      `  Firestore (${stack.emulator.kind} emulator at ${stack.emulator.host}): ${seeded.copied.length} baselines from examples/baselines\n` +
        (stack.emulator.kind === 'npm' ? `  note: ${NPM_EMULATOR_LIMITS}\n` : '') +
        `  Compute: ${instances.length} VMs from examples/fleet.json, served at ${stack.computeUrl}\n` +
        `  function: ${stack.functionUrl ?? ''} (functions-framework, target onIntegrityEvent)\n` +
        `  workflow: ${RESPONSE_WORKFLOW_ID}, the deployed YAML in the local engine\n\n` +
        'Delivering examples/entries/*.json to the function as Eventarc does:\n',
    );
    let n = 0;
    for (const file of files) {
      const doc = JSON.parse(readFileSync(path.join(examples, 'entries', file), 'utf8')) as unknown;
      if (!isJsonObject(doc)) throw new Error(`examples/entries/${file} does not hold a JSON object`);
      const before = logs.length;
      const res = await postEventarc(stack.functionUrl ?? '', deliveryBody(doc, String(9_100_000_000_000_000 + ++n)));
      await res.arrayBuffer();
      const said = logs
        .slice(before)
        .map((l) => l.message ?? '')
        .filter((m) => m !== '');
      say(`  ${file}: HTTP ${res.status}\n${said.map((m) => `      ${m}\n`).join('')}`);
      if (!res.ok) failures++;
    }
    const records = await stack.settle();
    await Promise.all(stack.slackApp.autoDecisions);
    await stack.slackApp.app.approvals.settled();
    say('\nResponse workflow executions:\n');
    for (const r of [...records].reverse()) {
      const result = r.result === undefined ? undefined : (JSON.parse(r.result) as { outcome?: string; reason?: string | null });
      const vm = r.labels['instance-id'] ?? '?';
      say(
        `  ${r.labels['action'] ?? '?'} on instance ${vm}: ${r.state}, ${result?.outcome ?? r.error?.payload ?? ''}\n` +
          (result?.reason ? `      ${result.reason}\n` : '') +
          `      billable steps ${r.billing.internal + r.billing.external}\n`,
      );
      if (r.state !== 'SUCCEEDED') failures++;
    }
    say('\nCompute calls that changed a VM, in order:\n');
    for (const vm of new Set(stack.fleet.calls.map((c) => c.target ?? ''))) {
      const changes = stack.fleet.calls.filter(
        (c) => c.target === vm && ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].includes(c.method),
      );
      if (changes.length > 0) say(`  instance ${vm}: ${changes.map((c) => c.method).join(', ')}\n`);
    }
    const posted = stack.slackApp.slack.channelMessages(CHANNEL);
    say(`\nSlack (the Web API stand-in, channel ${CHANNEL}):\n`);
    for (const m of posted) say(`  ${m.text}\n`);
    const clicks = await Promise.all(stack.slackApp.autoDecisions);
    say(
      `  ${clicks.length} approval(s) clicked by ${APPROVER.name} (signed interactions to the Slack app, HTTP ${[...new Set(clicks)].join(', ')})\n`,
    );
    if (clicks.some((c) => c !== 200)) failures++;
  } finally {
    await stack.close();
  }
  say(`
Next: \`npm run function\` serves the same stack on http://localhost:8080 and waits for your events
(\`npm run -s post-event -- examples/entries/unknown-measurements.pubsub.json\`);
\`npx bootwarden --help\` lists the operator commands.
`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
