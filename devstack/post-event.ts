/**
 * `npm run post-event -- <file>`: posts a log entry to the local function the way Eventarc does
 * (binary content mode: ce-* headers and the messagePublished body), and prints the answer.
 * The file may hold a LogEntry, a Pub/Sub message or an Eventarc body.
 */
import { readFileSync } from 'node:fs';
import { isJsonObject } from '../core/json.js';
import { deliveryBody, postEventarc } from './eventarc.js';

async function main(): Promise<number> {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: npm run post-event -- <entry.json>   (posts to http://localhost:$PORT, default 8080)\n');
    return 64;
  }
  const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!isJsonObject(doc)) throw new Error(`${file} must hold a JSON object`);
  const url = `http://localhost:${process.env['PORT'] ?? '8080'}/`;
  const res = await postEventarc(url, deliveryBody(doc, String(Date.now())));
  process.stdout.write(`${res.status} ${res.statusText}\n`);
  return res.ok ? 0 : 1;
}

process.exitCode = await main().catch((e: unknown) => {
  process.stderr.write(`post-event: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
});
