/**
 * `npm start`: the local loop. The full stack (Firestore emulator, workflows engine, simulated
 * fleet, Slack stand-in) arrives with later issues; until then this runs the decision core on the
 * bundled examples through the real CLI entry point and says what is not built yet.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { run } from '../cli/main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = path.join(root, 'examples');
const entries = readdirSync(path.join(examples, 'entries'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => path.join('examples', 'entries', f));

process.stdout.write(`bootwarden local loop

Built so far: the decision core, the bootwarden CLI (decide, replay, baselines) and the Eventarc
function (try \`npm run function\`, then \`npm run -s post-event -- <entry.json>\`).
Not built yet: the local workflows engine, the response workflow, the Slack app and the
simulated fleet; \`npm start\` will run them together once they land.

Deciding on the bundled examples (npx bootwarden decide --baselines examples/baselines examples/entries/*.json):

`);
process.chdir(root);
const status = await run(['decide', '--baselines', path.join('examples', 'baselines'), ...entries], {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  now: () => new Date(),
});
// examples/entries/bad-hash.json is rejected on purpose (exit status 2 from decide): that is the demo working.
process.stdout.write(`\ndecide exited with ${status}${status === 2 ? ' (an example is rejected on purpose: bad-hash.json)' : ''}\n`);
process.exitCode = status === 0 || status === 2 ? 0 : status;
