/**
 * Child process of the replay benchmark: runs the real CLI (`run` from dist/cli/main.js, the
 * function bin/bootwarden.js calls) in process with the process streams, so that its peak RSS can
 * be read at the end. The report goes to stdout as the CLI writes it; then one line
 * `STATS_PREFIX{exitCode, seconds, maxRssKb}`.
 * Usage: node dist/bench/child-replay.js replay --json --baselines <dir> <export.json>
 */
import { run } from '../cli/main.js';
import { STATS_PREFIX } from './child-protocol.js';

const start = performance.now();
const exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  now: () => new Date(),
});
const seconds = (performance.now() - start) / 1000;
process.stdout.write(`${STATS_PREFIX}${JSON.stringify({ exitCode, seconds, maxRssKb: process.resourceUsage().maxRSS })}\n`);
process.exitCode = exitCode;
