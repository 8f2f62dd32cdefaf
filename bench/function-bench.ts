/**
 * Metric 4: the Eventarc function as Cloud Run runs it (functions-framework, signature type
 * cloudevent, dist/functions/index.js) against a Firestore emulator, starting executions with its
 * Workflows client in a local engine (its Executions API on loopback), where a receiving workflow
 * keeps each execution's argument and labels.
 *
 * - import time of dist/functions/index.js in a fresh node process;
 * - cold start: spawn to the first 2xx answer to a failed late-boot report, next to a bare
 *   functions-framework "hello" function and a bare first Firestore call measured in the same run;
 * - a burst of deliveries (10% duplicates) from the synthetic fleet: events per second, events
 *   lost (no `done` record in the ledger), duplicate executions, non-2xx answers, peak RSS.
 */
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { LocalEngine } from '@bootwarden/workflows-emulator';
import { baselineToDocument } from '../core/baseline.js';
import { eventKeyLabel, eventKeyOf } from '../core/contracts.js';
import type { JsonObject } from '../core/json.js';
import { parseEnvelope } from '../core/parse.js';
import { eventarcBody } from '../devstack/entries.js';
import { startFirestoreEmulator } from '../devstack/firestore-emulator.js';
import { startReceivingEngine } from '../devstack/receiving-engine.js';
import { helperPath, runNode } from './children.js';
import { Fleet, Rng, type Expected } from './fleet.js';
import { postEventarc } from '../devstack/eventarc.js';
import { freePort, spawnFunctionServer, spawnNode, type NodeProcess } from './function-processes.js';
import { info, log, metric, seconds, type Metric } from './metrics.js';

const PROJECT = 'demo-bootwarden';
const IMPORT_TARGET_MS = 150;
const FIRST_EVENT_FACTOR = 2;
const RSS_TARGET_MB = 256;
/** Old-generation heap cap of the server, as for a 256 MiB instance. */
const HEAP_CAP_MB = 192;
const IMPORT_RUNS = 5;
const COLD_RUNS = 3;
const CONCURRENCY = 32;
const DUPLICATE_SHARE = 0.1;
const START_TIMEOUT_MS = 60_000;

export interface FunctionBenchOptions {
  /** Deliveries in the burst, duplicates included. */
  readonly deliveries: number;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const fixed = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));

/** An Eventarc delivery in binary content mode: ce-* headers, the messagePublished body as JSON. */
function deliver(url: string, body: string, id: string): Promise<Response> {
  return postEventarc(url, body, { id, source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/integrity` });
}

function refused(e: unknown): boolean {
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED' || cause?.code === 'ECONNRESET';
}

/**
 * Posts the delivery until the server accepts the connection, then returns the milliseconds from
 * the server's spawn to its 2xx answer. A non-2xx answer or an early exit is an error.
 */
async function firstAnswerMs(server: NodeProcess, url: string, body: string, id: string): Promise<number> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const ended = server.exited();
    if (ended !== null) throw new Error(`the server ended (${ended}) before answering: ${server.tail()}`);
    let res: Response;
    try {
      res = await deliver(url, body, id);
    } catch (e) {
      if (!refused(e)) throw e;
      if (performance.now() > deadline) {
        throw new Error(`the server did not accept connections within ${START_TIMEOUT_MS / 1000} s`, { cause: e });
      }
      await sleep(2);
      continue;
    }
    const text = await res.text();
    const ms = performance.now() - server.spawnedAt;
    if (!res.ok) throw new Error(`the first answer was ${res.status} ${text.slice(0, 200)}: ${server.tail()}`);
    return ms;
  }
}

/** Median import time of dist/functions/index.js, measured inside fresh node processes. */
async function importMs(): Promise<number | null> {
  const runs: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const r = await runNode(helperPath('function-import-child.js'), [], 'function-import');
    const ms = Number(r.stdout.trim());
    if (r.code !== 0 || !Number.isFinite(ms)) {
      log(`function: ERROR the import child exited with ${String(r.code ?? r.signal)}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
      return null;
    }
    runs.push(ms);
  }
  log(`function: import of dist/functions/index.js: ${runs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  return median(runs);
}

/** Spawn of a node process to the end of its first Firestore document read. */
async function firestoreFirstCallMs(emulatorHost: string): Promise<number> {
  const child = spawnNode([helperPath('function-firestore-child.js'), PROJECT], {
    FIRESTORE_EMULATOR_HOST: emulatorHost,
    METADATA_SERVER_DETECTION: 'none',
  });
  try {
    await child.waitForLine((l) => l === 'done', START_TIMEOUT_MS);
    return performance.now() - child.spawnedAt;
  } finally {
    await child.stop();
  }
}

async function helloFirstRequestMs(): Promise<number> {
  const port = await freePort();
  const server = spawnFunctionServer({ target: 'hello', source: helperPath('hello-function.js'), port, env: {} });
  try {
    return await firstAnswerMs(server, `http://127.0.0.1:${port}/`, '{"hello":"world"}', 'hello-1');
  } finally {
    await server.stop();
  }
}

interface Run {
  readonly prefix: string;
  /** The local engine whose Executions API the function starts executions in. */
  readonly receiver: LocalEngine;
  readonly env: Record<string, string>;
}

function functionRun(receiver: LocalEngine, emulatorHost: string, baselineCollection: string, prefix: string): Run {
  return {
    prefix,
    receiver,
    env: {
      FIRESTORE_EMULATOR_HOST: emulatorHost,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      // The function's Workflows client, against the engine's Executions API on loopback.
      BOOTWARDEN_WORKFLOW_LOCATION: receiver.engine.location,
      BOOTWARDEN_WORKFLOWS_API_URL: `${receiver.callbacks.url}/`,
      BOOTWARDEN_COLLECTION_PREFIX: prefix,
      BOOTWARDEN_BASELINE_COLLECTION: baselineCollection,
      METADATA_SERVER_DETECTION: 'none',
      // A 256 MiB function instance: the heap is sized for that memory, as on Cloud Run functions.
      // Uncapped on this 24 GiB machine, V8 lets garbage pile up far past what the function keeps
      // alive (about 50 MB after 10,000 events), and RSS would say nothing about fitting in 256 MiB.
      NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}`,
    },
  };
}

function spawnBootwarden(run: Run, port: number, onLine?: (line: string) => void): NodeProcess {
  return spawnFunctionServer({ target: 'onIntegrityEvent', source: helperPath('../functions/index.js'), port, env: run.env }, onLine);
}

function keyOf(entry: JsonObject): string {
  const parsed = parseEnvelope(entry);
  if (!parsed.ok) throw new Error(`a generated entry was rejected: ${parsed.rejection.message}`);
  return eventKeyOf(parsed.event.entry);
}

interface LedgerRecord {
  readonly state?: string;
  readonly outcome?: string | null;
  readonly decision?: { readonly action?: string } | null;
  readonly executionName?: string | null;
}

async function ledger(db: Firestore, prefix: string): Promise<Map<string, LedgerRecord>> {
  const snap = await db.collection(`${prefix}events`).get();
  return new Map(snap.docs.map((d) => [d.id, d.data() as LedgerRecord]));
}

/** The `event` label of each execution the run's function started (its collections name the run). */
function executionLabels(run: Run): string[] {
  return run.receiver.engine
    .listExecutions({})
    .filter((r) => (JSON.parse(r.argument ?? '{}') as { collections?: { prefix?: string } }).collections?.prefix === run.prefix)
    .map((r) => r.labels['event'] ?? '');
}

/** Spawn to the first 2xx answer to a failed late-boot report whose measurements are known-good. */
async function functionFirstEventMs(db: Firestore, run: Run, fleet: Fleet, ordinal: number): Promise<number> {
  const { entry } = fleet.failedLateBoot(1_000_000 + ordinal, true);
  const key = keyOf(entry);
  const messageId = String(9_000_000_000_000_000 + ordinal);
  const port = await freePort();
  const server = spawnBootwarden(run, port);
  let ms: number;
  try {
    ms = await firstAnswerMs(server, `http://127.0.0.1:${port}/`, JSON.stringify(eventarcBody(entry, messageId)), messageId);
  } finally {
    await server.stop();
  }
  const record = (await ledger(db, run.prefix)).get(key);
  const executions = executionLabels(run);
  if (record?.state !== 'done' || record.decision?.action !== 'relearn' || executions.length !== 1) {
    log(
      `function: ERROR cold start ${ordinal}: ledger record ${JSON.stringify(record ?? null)}, ${executions.length} executions; ` +
        'expected a done relearn and one execution',
    );
  }
  return ms;
}

interface Delivery {
  readonly unique: number;
  readonly messageId: string;
  readonly body: string;
  readonly order: number;
}

interface UniqueEntry {
  readonly key: string;
  readonly expect: Expected;
}

/** `total` deliveries: originals in log order, each duplicate somewhere after its original. */
function burst(fleet: Fleet, total: number): { uniques: UniqueEntry[]; deliveries: Delivery[]; sameId: number; newId: number } {
  const duplicates = Math.round(total * DUPLICATE_SHARE);
  const uniqueCount = total - duplicates;
  const rng = new Rng(97);
  const uniques: UniqueEntry[] = [];
  const entries: JsonObject[] = [];
  const deliveries: Delivery[] = [];
  let nextMessageId = 4_000_000_000_000_000;
  for (let i = 0; i < uniqueCount; i++) {
    const g = fleet.entry(i);
    const messageId = String(nextMessageId++);
    uniques.push({ key: keyOf(g.entry), expect: g.expect });
    entries.push(g.entry);
    deliveries.push({ unique: i, messageId, body: JSON.stringify(eventarcBody(g.entry, messageId)), order: i });
  }
  let sameId = 0;
  let newId = 0;
  for (let d = 0; d < duplicates; d++) {
    const j = rng.int(uniqueCount);
    const original = deliveries[j] as Delivery;
    const order = j + 1 + rng.next() * (uniqueCount - j);
    if (d % 2 === 0) {
      sameId++;
      deliveries.push({ unique: j, messageId: original.messageId, body: original.body, order });
    } else {
      newId++;
      const messageId = String(nextMessageId++);
      deliveries.push({ unique: j, messageId, body: JSON.stringify(eventarcBody(entries[j] as JsonObject, messageId)), order });
    }
  }
  deliveries.sort((a, b) => a.order - b.order);
  return { uniques, deliveries, sameId, newId };
}

interface ServerLog {
  readonly severities: Map<string, number>;
  readonly errors: string[];
}

function serverLog(): { log: ServerLog; onLine: (line: string) => void } {
  const severities = new Map<string, number>();
  const errors: string[] = [];
  return {
    log: { severities, errors },
    onLine: (line) => {
      let severity = 'TEXT';
      let text = line;
      try {
        const o = JSON.parse(line) as { severity?: unknown; message?: unknown };
        if (typeof o.severity === 'string') severity = o.severity;
        if (typeof o.message === 'string') text = o.message;
      } catch {
        // functions-framework's own lines are plain text
      }
      severities.set(severity, (severities.get(severity) ?? 0) + 1);
      if ((severity === 'ERROR' || severity === 'WARNING') && errors.length < 5) errors.push(`${severity} ${text.slice(0, 300)}`);
    },
  };
}

async function throughput(db: Firestore, run: Run, fleet: Fleet, total: number): Promise<Metric[]> {
  const build = performance.now();
  const { uniques, deliveries, sameId, newId } = burst(fleet, total);
  log(
    `function: burst of ${deliveries.length.toLocaleString('en-US')} deliveries: ${uniques.length.toLocaleString('en-US')} entries + ` +
      `${sameId} duplicates with the same message id + ${newId} with a new one (built in ${seconds(build).toFixed(1)} s)`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const { log: serverLines, onLine } = serverLog();
  const server = spawnBootwarden(run, port, onLine);
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let nonOk = 0;
  let burstSeconds: number;
  let rssKb: number | null;
  try {
    // The first delivery warms the server up (and is part of the burst's deliveries and checks).
    const first = deliveries[0] as Delivery;
    const coldMs = await firstAnswerMs(server, url, first.body, first.messageId);
    log(`function: server up and first delivery answered ${coldMs.toFixed(0)} ms after spawn; posting the rest, ${CONCURRENCY} at a time`);
    let next = 1;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const d = deliveries[next++];
        if (d === undefined) return;
        const t = performance.now();
        let status: string;
        try {
          const res = await deliver(url, d.body, d.messageId);
          await res.arrayBuffer();
          status = String(res.status);
          if (!res.ok) nonOk++;
        } catch (e) {
          status = `error: ${message(e)}`;
          nonOk++;
        }
        latencies.push(performance.now() - t);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    burstSeconds = seconds(started);
    rssKb = server.peakRssKb();
  } finally {
    await server.stop();
  }
  const posted = deliveries.length - 1;
  const perSecond = posted / burstSeconds;
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  log(
    `function: ${posted.toLocaleString('en-US')} deliveries in ${burstSeconds.toFixed(1)} s = ${perSecond.toFixed(0)}/s; ` +
      `latency p50 ${fixed(p50)} ms, p99 ${fixed(p99)} ms, max ${fixed(latencies[latencies.length - 1] ?? null)} ms; ` +
      `answers ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
  );
  log(`function: server log lines by severity: ${[...serverLines.severities].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  for (const e of serverLines.errors) log(`function: server said: ${e}`);

  // Every entry must have a done record in the ledger.
  const records = await ledger(db, run.prefix);
  let lost = 0;
  const outcomes = new Map<string, number>();
  const expectedLabels = new Set<string>();
  let wrongAction = 0;
  for (const u of uniques) {
    const r = records.get(u.key);
    if (r?.state !== 'done') {
      lost++;
      continue;
    }
    const outcome = `${r.outcome ?? 'null'}${r.decision?.action === undefined ? '' : `/${r.decision.action}`}`;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const action = r.decision?.action;
    if (action !== undefined && action !== 'ignore') expectedLabels.add(eventKeyLabel(u.key));
    // Stale reports have no decision; the others must be decided as the generator expects (a stop
    // beyond the blast-radius guard's limits is a hold).
    if (action !== undefined && action !== u.expect && !(u.expect === 'stop' && action === 'hold')) wrongAction++;
  }
  log(
    `function: ledger ${run.prefix}events: ${records.size.toLocaleString('en-US')} records; outcomes ${[...outcomes]
      .sort()
      .map(([o, n]) => `${o} ${n}`)
      .join(', ')}; ${lost} entries without a done record`,
  );
  if (wrongAction > 0) log(`function: ERROR ${wrongAction} entries were decided differently from what the generator expects`);

  // One execution per entry decided relearn or stop, none for duplicates.
  const labels = executionLabels(run);
  const distinct = new Set(labels);
  const duplicateExecutions = labels.length - distinct.size;
  const unexpected = [...distinct].filter((l) => !expectedLabels.has(l)).length;
  const missing = [...expectedLabels].filter((l) => !distinct.has(l)).length;
  const executionsMatch = distinct.size === expectedLabels.size && unexpected === 0 && missing === 0;
  log(
    `function: ${labels.length.toLocaleString('en-US')} executions recorded, ${distinct.size.toLocaleString('en-US')} distinct events; ` +
      `${expectedLabels.size.toLocaleString('en-US')} entries decided relearn or stop in the ledger` +
      (executionsMatch ? '' : ` (ERROR: ${unexpected} executions for no such entry, ${missing} such entries without an execution)`),
  );
  const rssMb = rssKb === null ? null : rssKb / 1024;
  if (rssKb === null) log('function: peak RSS unavailable (no /proc?)');
  return [
    info('function_deliveries', deliveries.length, 'deliveries'),
    info('function_events_per_second', perSecond, 'events/s'),
    info('function_latency_p50_ms', p50, 'ms'),
    info('function_latency_p99_ms', p99, 'ms'),
    metric('function_lost_events', lost, 'events', '= 0', lost === 0),
    metric('function_duplicate_executions', duplicateExecutions, 'executions', '= 0', duplicateExecutions === 0 && executionsMatch),
    info('function_executions', distinct.size, 'executions'),
    info('function_non_2xx', nonOk, 'answers'),
    metric(
      'function_peak_rss_mb',
      rssMb,
      'MB',
      `< ${RSS_TARGET_MB} (heap capped at ${HEAP_CAP_MB})`,
      rssMb !== null && rssMb < RSS_TARGET_MB,
    ),
  ];
}

const THROUGHPUT_NAMES: readonly [string, string, string][] = [
  ['function_events_per_second', 'events/s', 'n/a'],
  ['function_lost_events', 'events', '= 0'],
  ['function_duplicate_executions', 'executions', '= 0'],
  ['function_non_2xx', 'answers', 'n/a'],
  ['function_peak_rss_mb', 'MB', `< ${RSS_TARGET_MB} (heap capped at ${HEAP_CAP_MB})`],
];

async function measured<T>(what: string, f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch (e) {
    log(`function: ERROR ${what}: ${message(e)}`);
    return null;
  }
}

export async function benchFunction(opts: FunctionBenchOptions): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const importMedian = await importMs();
  metrics.push(
    metric('function_import_ms', importMedian, 'ms', `< ${IMPORT_TARGET_MS}`, importMedian !== null && importMedian < IMPORT_TARGET_MS),
  );

  const t = performance.now();
  const emulator = await startFirestoreEmulator({ projectId: PROJECT });
  log(
    `function: ${emulator.kind} Firestore emulator at ${emulator.host} (started in ${seconds(t).toFixed(1)} s)` +
      (emulator.fallbackReason === undefined ? '' : `; gcloud not used: ${emulator.fallbackReason}`),
  );
  // The benchmark's own client (baselines in, ledger out) talks to the emulator only.
  const clientEnv: Record<string, string> = { FIRESTORE_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: 'none' };
  const savedEnv = Object.keys(clientEnv).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, clientEnv);
  let db: Firestore | null = null;
  let receiver: LocalEngine | null = null;
  try {
    const { Firestore } = await import('@google-cloud/firestore');
    const database = new Firestore({ projectId: PROJECT });
    db = database;
    const id = randomBytes(5).toString('hex');
    receiver = await startReceivingEngine(PROJECT);
    const fleet = new Fleet(11);
    const baselineCollection = `bench_${id}_known_good_measurements`;
    await Promise.all(fleet.knownBaselines.map((b) => database.collection(baselineCollection).doc(b.id).set(baselineToDocument(b))));
    log(`function: ${fleet.knownBaselines.length} known-good baselines in ${baselineCollection}; collections of this run: bench_${id}_*`);

    // Cold starts, interleaved so that each kind sees the same machine state.
    const hello: number[] = [];
    const firestore: number[] = [];
    const first: number[] = [];
    for (let r = 0; r < COLD_RUNS; r++) {
      const f = await measured('first Firestore call', () => firestoreFirstCallMs(emulator.host));
      if (f !== null) firestore.push(f);
      const h = await measured('hello function', () => helloFirstRequestMs());
      if (h !== null) hello.push(h);
      const run = functionRun(receiver, emulator.host, baselineCollection, `bench_${id}_c${r}_`);
      const e = await measured('function cold start', () => functionFirstEventMs(database, run, fleet, r));
      if (e !== null) first.push(e);
      log(`function: cold start ${r + 1}/${COLD_RUNS}: firestore first call ${fixed(f)} ms, hello ${fixed(h)} ms, function ${fixed(e)} ms`);
    }
    const h = hello.length === COLD_RUNS ? median(hello) : null;
    const f = firestore.length === COLD_RUNS ? median(firestore) : null;
    const e = first.length === COLD_RUNS ? median(first) : null;
    const baseline = h !== null && f !== null ? h + f : null;
    metrics.push(
      info('hello_first_request_ms', h, 'ms'),
      info('firestore_first_call_ms', f, 'ms'),
      metric(
        'function_first_event_ms',
        e,
        'ms',
        `<= ${FIRST_EVENT_FACTOR}x (hello + firestore first call)`,
        e !== null && baseline !== null && e <= FIRST_EVENT_FACTOR * baseline,
      ),
      info('function_first_event_vs_baseline', e !== null && baseline !== null ? e / baseline : null, 'x'),
    );

    const run = functionRun(receiver, emulator.host, baselineCollection, `bench_${id}_t_`);
    const rows = await measured('throughput', () => throughput(database, run, fleet, opts.deliveries));
    metrics.push(...(rows ?? THROUGHPUT_NAMES.map(([name, unit, target]) => metric(name, null, unit, target, target === 'n/a'))));
    return metrics;
  } finally {
    await receiver?.close();
    await db?.terminate();
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await emulator.stop();
  }
}
