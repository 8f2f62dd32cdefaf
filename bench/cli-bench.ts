/**
 * The CLI's start-up: `bootwarden decide` on one entry against a bare `node -e 0`, each run as a
 * new process several times in alternation, medians compared. The commands load only what they
 * use (no cloud SDK, no Workflows emulator for decide with a local store), so the ratio stays small.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { info, log, metric, type Metric } from './metrics.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = 5;

function millis(args: readonly string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.toString('utf8')}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function benchCli(runs: number): Metric[] {
  const bin = path.join(root, 'bin', 'bootwarden.js');
  const decide = [bin, 'decide', '--baselines', 'examples/baselines', 'examples/entries/kernel-update-known-good.json'];
  const help = [bin, '--help'];
  const bare = ['-e', '0'];
  const times = { decide: [] as number[], help: [] as number[], bare: [] as number[] };
  millis(bare); // warm the file cache before measuring
  millis(decide);
  for (let i = 0; i < runs; i++) {
    times.bare.push(millis(bare));
    times.decide.push(millis(decide));
    times.help.push(millis(help));
  }
  const ratio = median(times.decide) / median(times.bare);
  log(
    `cli: decide ${median(times.decide).toFixed(0)} ms, --help ${median(times.help).toFixed(0)} ms, node -e 0 ${median(times.bare).toFixed(0)} ms (medians of ${runs})`,
  );
  return [
    metric('cli_decide_one_vs_node', ratio, '×', `<= ${TARGET}`, ratio <= TARGET),
    info('cli_decide_one_ms', median(times.decide), 'ms'),
    info('cli_help_ms', median(times.help), 'ms'),
    info('node_e_0_ms', median(times.bare), 'ms'),
  ];
}
