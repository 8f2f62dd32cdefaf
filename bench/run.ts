/**
 * `npm run bench`: the CLI's start-up against a bare node, decisions per second, store reads per decision (bootwarden next to the
 * tutorial's algorithm), replay time and peak memory against a plain JSON.parse, and the Eventarc
 * function under functions-framework against a Firestore emulator (import time, cold start,
 * throughput, lost events, duplicate executions, peak memory), and the local Workflows engine
 * (interpreter steps per second, memory per execution waiting on a callback), and the response
 * workflow's billable steps and cost per path, the Slack app's answer to a click with 50
 * waiting executions, the blast-radius guard under 200 concurrent reports of one fingerprint, and
 * the whole loop on one machine (report to stop and to relearn, p50/p99; a 1,000-VM burst).
 *
 *   npm run bench                 a table on stdout
 *   npm run bench -- --json       {"metrics": [{name, value, unit, target, ok}]} on stdout
 *   npm run bench -- --quick      smaller sizes, for a smoke run
 *   npm run bench -- --only function     one section (or several: --only store,replay)
 *   BOOTWARDEN_FIRESTORE_EMULATOR=npm npm run bench   the npm Firestore emulator instead of gcloud's
 *   BENCH_EXPORT_MB=500 npm run bench   export size in MB (2^20 bytes; default 300, quick 20)
 *
 * Progress goes to stderr. Exit status 0 when the benchmark ran, whether or not targets were met
 * (see `ok`); 1 when it crashed; 64 on a usage error. Temporary files live in one mkdtemp
 * directory under os.tmpdir(), removed at the end, also on failure or interruption.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killChildren } from './children.js';
import { benchCli } from './cli-bench.js';
import { benchDecisions } from './decisions.js';
import { benchFunction } from './function-bench.js';
import { benchGuard } from './guard-bench.js';
import { killFunctionProcesses } from './function-processes.js';
import { log, seconds, toJson, toTable, type Metric } from './metrics.js';
import { benchReplay } from './replay-bench.js';
import { benchStoreReads } from './store-reads.js';
import { benchResponse } from './response-bench.js';
import { benchLoop } from './loop-bench.js';
import { benchSlack } from './slack-bench.js';
import { benchWorkflows } from './workflows-bench.js';

const SECTIONS = ['cli', 'decisions', 'store', 'guard', 'replay', 'function', 'workflows', 'response', 'slack', 'loop'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `Usage: npm run bench [-- [--json] [--quick] [--only <section>[,<section>...]]]
  --json    one JSON document {"metrics": [...]} on stdout instead of a table
  --quick   smaller sizes, for a smoke run
  --only    run only these sections: ${SECTIONS.join(', ')} (default: all)
Environment: BENCH_EXPORT_MB  size of the generated export in MB (default 300; 20 with --quick)
             BOOTWARDEN_FIRESTORE_EMULATOR  auto (default: gcloud if installed, else npm), gcloud or npm
`;

interface Options {
  readonly json: boolean;
  readonly cliRuns: number;
  readonly decisions: number;
  readonly storeSizes: readonly number[];
  readonly storeEvents: number;
  readonly exportMb: number;
  readonly functionDeliveries: number;
  readonly workflowIterations: number;
  readonly waitingExecutions: number;
  readonly slackGroups: number;
  readonly loopEvents: number;
  readonly loopBurst: number;
  readonly sections: ReadonlySet<Section>;
}

function isSection(s: string): s is Section {
  return (SECTIONS as readonly string[]).includes(s);
}

class UsageError extends Error {}

function options(argv: string[], env: NodeJS.ProcessEnv): Options | 'help' {
  let values: { json?: boolean; quick?: boolean; help?: boolean; only?: string[] };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        quick: { type: 'boolean' },
        only: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e));
  }
  if (values.help === true) return 'help';
  const sections = new Set<Section>();
  for (const s of (values.only ?? []).flatMap((v) => v.split(','))) {
    const name = s.trim();
    if (!isSection(name)) throw new UsageError(`--only takes ${SECTIONS.join(', ')}; got ${JSON.stringify(s)}`);
    sections.add(name);
  }
  const quick = values.quick === true;
  let exportMb = quick ? 20 : 300;
  const fromEnv = env['BENCH_EXPORT_MB'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    exportMb = Number(fromEnv);
    if (!Number.isFinite(exportMb) || exportMb <= 0)
      throw new UsageError(`BENCH_EXPORT_MB must be a positive number, got ${JSON.stringify(fromEnv)}`);
  }
  return {
    json: values.json === true,
    cliRuns: quick ? 5 : 11,
    decisions: quick ? 20_000 : 100_000,
    storeSizes: quick ? [1, 1_000, 10_000] : [1, 1_000, 100_000],
    storeEvents: quick ? 100 : 200,
    exportMb,
    functionDeliveries: quick ? 1_000 : 10_000,
    workflowIterations: quick ? 20_000 : 200_000,
    waitingExecutions: quick ? 200 : 1_000,
    slackGroups: quick ? 5 : 20,
    loopEvents: quick ? 50 : 200,
    loopBurst: quick ? 200 : 1_000,
    sections: sections.size === 0 ? new Set(SECTIONS) : sections,
  };
}

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = options(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${USAGE}`);
    return 64;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const root = mkdtempSync(path.join(os.tmpdir(), 'bootwarden-bench-'));
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  const interrupted = (signal: NodeJS.Signals): void => {
    killChildren();
    killFunctionProcesses();
    cleanup();
    process.stderr.write(`bench: interrupted by ${signal}; removed ${root}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    log(`temporary files in ${root}`);
    const started = performance.now();
    const metrics: Metric[] = [];
    let t = performance.now();
    if (opts.sections.has('cli')) {
      metrics.push(...benchCli(opts.cliRuns));
      log(`cli done in ${seconds(t).toFixed(1)} s`);
      t = performance.now();
    }
    if (opts.sections.has('decisions')) {
      metrics.push(...benchDecisions(opts.decisions));
      log(`decisions done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('store')) {
      t = performance.now();
      metrics.push(...(await benchStoreReads(root, opts.storeSizes, opts.storeEvents)));
      log(`store reads done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('guard')) {
      t = performance.now();
      metrics.push(...(await benchGuard()));
      log(`guard done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('replay')) {
      t = performance.now();
      metrics.push(...(await benchReplay(root, opts.exportMb)));
      log(`replay done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('function')) {
      t = performance.now();
      metrics.push(...(await benchFunction({ deliveries: opts.functionDeliveries })));
      log(`function done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('workflows')) {
      t = performance.now();
      metrics.push(...(await benchWorkflows({ iterations: opts.workflowIterations, waiting: opts.waitingExecutions })));
      log(`workflows done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('response')) {
      t = performance.now();
      metrics.push(...(await benchResponse()));
      log(`response done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('slack')) {
      t = performance.now();
      metrics.push(...(await benchSlack(opts.slackGroups)));
      log(`slack done in ${seconds(t).toFixed(1)} s`);
    }
    if (opts.sections.has('loop')) {
      t = performance.now();
      metrics.push(...(await benchLoop({ events: opts.loopEvents, burst: opts.loopBurst })));
      log(`loop done in ${seconds(t).toFixed(1)} s`);
    }
    const missed = metrics.filter((m) => !m.ok).map((m) => m.name);
    log(`finished in ${seconds(started).toFixed(1)} s; ${missed.length === 0 ? 'every target met' : `missed: ${missed.join(', ')}`}`);
    process.stdout.write(opts.json ? toJson(metrics) : toTable(metrics));
    return 0;
  } finally {
    killChildren();
    killFunctionProcesses();
    cleanup();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
