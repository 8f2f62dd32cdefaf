/**
 * `npm start`: the local loop, as far as it is built. Decides on the bundled examples through the
 * real CLI entry point, then runs the response workflow (the deployed YAML, in the local Workflows
 * engine) for each example that calls for an action, against a Firestore emulator, a recording
 * Compute fleet and a stand-in of the Slack app that approves what it is asked. The Slack app
 * itself and the simulated fleet arrive with later issues.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectoryBaselineStore } from '../adapters/local/file-baseline-store.js';
import { collectionNames } from '../adapters/gcp/firestore-stores.js';
import { eventKeyOf, responseArgument } from '../core/contracts.js';
import { decideWithStore } from '../core/decide.js';
import { parseEnvelopeText } from '../core/parse.js';
import { run } from '../cli/main.js';
import { RESPONSE_WORKFLOW_ID } from './response-scenarios.js';
import { startResponseStack } from './response-stack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entriesDir = path.join(root, 'examples', 'entries');
const baselinesDir = path.join(root, 'examples', 'baselines');
const entries = readdirSync(entriesDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const say = (text: string): boolean => process.stdout.write(text);

say(`bootwarden local loop

1. Deciding on the bundled examples (npx bootwarden decide --baselines examples/baselines examples/entries/*.json):

`);
process.chdir(root);
const status = await run(
  ['decide', '--baselines', path.join('examples', 'baselines'), ...entries.map((f) => path.join('examples', 'entries', f))],
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: () => new Date(),
  },
);
// examples/entries/bad-hash.json is rejected on purpose (exit status 2 from decide): that is the demo working.
say(`\ndecide exited with ${status}${status === 2 ? ' (an example is rejected on purpose: bad-hash.json)' : ''}\n`);
if (status !== 0 && status !== 2) process.exit(status);

say(`
2. Running the response workflow (workflows/${RESPONSE_WORKFLOW_ID}.workflows.yaml) in the local engine
   for each example that calls for an action: Firestore emulator, recording Compute fleet, and a
   stand-in of the Slack app that approves every request.

`);
const stack = await startResponseStack({ projectId: 'demo-bootwarden', clockStart: Date.now() });
let failures = 0;
try {
  stack.deploy(600);
  const baselines = new DirectoryBaselineStore(baselinesDir);
  const collections = collectionNames('start_', 'start_known_good_measurements');
  const fleet = stack.fleet;
  for (const file of entries) {
    const parsed = parseEnvelopeText(readFileSync(path.join(entriesDir, file), 'utf8'));
    if (!parsed.ok) continue;
    const event = parsed.event;
    const decision = await decideWithStore(event, baselines);
    if (decision.action === 'ignore') continue;
    const vm = event.instance;
    if (fleet.peek(vm.project, vm.zone, vm.id) === undefined)
      fleet.addInstance({ project: vm.project, zone: vm.zone, name: `vm-${vm.id}`, id: vm.id });
    const argument = responseArgument(event, decision, {
      eventKey: eventKeyOf(event.entry),
      decidedAt: new Date().toISOString(),
      collections,
    });
    const callsBefore = fleet.calls.length;
    // The stand-in approves as soon as the execution waits, as an operator clicking Approve would.
    const done = await stack.run(
      argument,
      decision.action === 'stop' ? { decision: 'approve', approver: { id: 'U-LOCAL', name: 'local operator' } } : undefined,
    );
    const result = done.result === undefined ? undefined : (JSON.parse(done.result) as { outcome: string; reason: string | null });
    const calls = fleet.calls
      .slice(callsBefore)
      .filter((c) => c.method !== 'getOperation')
      .map((c) => c.method);
    say(
      `   ${file}: ${decision.action} → ${done.state} ${result?.outcome ?? done.error?.payload ?? ''}\n` +
        `      ${result?.reason ?? ''}\n` +
        `      Compute calls: ${calls.join(', ') || 'none'}; billable steps: ${done.billing.internal + done.billing.external}\n`,
    );
    if (done.state !== 'SUCCEEDED') failures++;
  }
} finally {
  await stack.close();
}
say(`
Next: \`npm run function\` serves the Eventarc function; \`npx bootwarden workflows run <file.yaml>\` runs any
workflow in the local engine. The Slack app and the simulated fleet come with later issues.
`);
process.exitCode = failures === 0 ? 0 : 1;
