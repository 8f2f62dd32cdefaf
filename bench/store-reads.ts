/**
 * Metric 2: document reads per decision against a DirectoryBaselineStore holding N baselines,
 * bootwarden's `decideWithStore` (one read by fingerprint; on a miss, one look-up by PCR values)
 * next to the tutorial's algorithm (stream the collection until a document matches); and a store
 * of which half the documents are not keyed by their fingerprint.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DirectoryBaselineStore } from '../adapters/local/file-baseline-store.js';
import { baselineToDocument, type Baseline } from '../core/baseline.js';
import { decideWithStore } from '../core/decide.js';
import type { IntegrityEvent } from '../core/event.js';
import { parseEnvelope } from '../core/parse.js';
import { bootReportEntry } from '../devstack/entries.js';
import { Fleet, fillerBaseline, type Upgrade } from './fleet.js';
import { info, log, metric, seconds, type Metric } from './metrics.js';
import { tutorialDecide } from './tutorial.js';

interface BenchEvent {
  readonly event: IntegrityEvent;
  readonly expect: 'relearn' | 'stop';
}

/** Events streamed through the tutorial's algorithm: enough to average, few enough to finish. */
export function tutorialEventCount(baselines: number, events: number): number {
  return Math.min(events, Math.max(3, Math.floor(40_000 / baselines)));
}

function writeBaseline(dir: string, b: Baseline): void {
  writeFileSync(path.join(dir, `${b.id}.json`), `${JSON.stringify(baselineToDocument(b), null, 2)}\n`);
}

/** `count` failed late-boot events, alternately known-good (one of `known`) and unknown. */
function failedLateBootEvents(fleet: Fleet, known: readonly Upgrade[], count: number): BenchEvent[] {
  const unknown = [...fleet.unknownLinux, ...fleet.unknownWindows];
  const events: BenchEvent[] = [];
  for (let j = 0; j < count; j++) {
    const isKnown = j % 2 === 0;
    const pool = isKnown ? known : unknown;
    const upgrade = pool[Math.floor(j / 2) % pool.length] as Upgrade;
    const vm = fleet.vms[j % fleet.vms.length];
    if (vm === undefined) throw new Error('the fleet has no VMs');
    const entry = bootReportEntry('lateBootReportEvent', {
      instance: vm.ref,
      bootCounter: 100 + j,
      actual: upgrade.actual,
      policy: upgrade.policy,
      passed: false,
    });
    const parsed = parseEnvelope(entry);
    if (!parsed.ok) throw new Error(`generated event ${j} was rejected: ${parsed.rejection.message}`);
    events.push({ event: parsed.event, expect: isKnown ? 'relearn' : 'stop' });
  }
  return events;
}

/** decideWithStore over `events`: wrong actions, the most reads one decision made, reads and seconds per decision. */
async function measureDecisions(store: DirectoryBaselineStore, events: readonly BenchEvent[]) {
  store.documentReads = 0;
  let wrong = 0;
  let maxReads = 0;
  const start = performance.now();
  for (const e of events) {
    const before = store.documentReads;
    const d = await decideWithStore(e.event, store);
    maxReads = Math.max(maxReads, store.documentReads - before);
    if (d.action !== e.expect) wrong++;
  }
  return { wrong, maxReads, readsPerDecision: store.documentReads / events.length, secondsPerDecision: seconds(start) / events.length };
}

export async function benchStoreReads(root: string, sizes: readonly number[], eventCount: number): Promise<Metric[]> {
  const dir = path.join(root, 'store-reads-baselines');
  mkdirSync(dir);
  const fleet = new Fleet(7, 500);
  const store = new DirectoryBaselineStore(dir);
  const metrics: Metric[] = [];
  let written = 0;
  let fillers = 0;

  for (const n of [...sizes].sort((a, b) => a - b)) {
    // The store grows from one size to the next: known-good baselines first, then fillers.
    const writeStart = performance.now();
    while (written < Math.min(n, fleet.knownBaselines.length)) writeBaseline(dir, fleet.knownBaselines[written++] as Baseline);
    while (written < n) {
      writeBaseline(dir, fillerBaseline(fillers++));
      written++;
    }
    log(`store reads: ${n.toLocaleString('en-US')} baselines in ${dir} (wrote them in ${seconds(writeStart).toFixed(1)} s)`);
    const known = fleet.knownUpgrades.slice(0, Math.min(n, fleet.knownUpgrades.length));
    const events = failedLateBootEvents(fleet, known, eventCount);

    // bootwarden: decideWithStore, one read by fingerprint (and, on a miss, one look-up by PCR values).
    const { wrong, maxReads, readsPerDecision: ourReads, secondsPerDecision: ourSeconds } = await measureDecisions(store, events);
    if (wrong > 0) log(`store reads: ERROR decideWithStore gave ${wrong} of ${events.length} wrong actions with ${n} baselines`);

    // The tutorial: stream the collection per event.
    const tutorialEvents = events.slice(0, tutorialEventCount(n, events.length));
    let tutorialWrong = 0;
    let streamed = 0;
    store.documentReads = 0;
    const start = performance.now();
    for (const e of tutorialEvents) {
      const d = await tutorialDecide(e.event, store);
      streamed += d.documentsStreamed;
      if (d.action !== e.expect) tutorialWrong++;
    }
    const tutorialSeconds = seconds(start) / tutorialEvents.length;
    const tutorialReads = store.documentReads / tutorialEvents.length;
    if (tutorialWrong > 0) log(`store reads: ERROR the tutorial port gave ${tutorialWrong} wrong actions with ${n} baselines`);
    if (streamed !== store.documentReads) log(`store reads: note: ${streamed} documents streamed, ${store.documentReads} reads counted`);
    log(
      `store reads: N=${n}: decideWithStore ${ourReads.toFixed(2)} reads/decision over ${events.length} events; ` +
        `tutorial ${tutorialReads.toFixed(1)} reads/decision over ${tutorialEvents.length} events`,
    );

    metrics.push(
      metric(`store_max_reads_per_decision_${n}`, maxReads, 'reads', '<= 2', wrong === 0 && maxReads <= 2),
      info(`store_reads_per_decision_${n}`, ourReads, 'reads/decision'),
      info(`store_seconds_per_decision_${n}`, ourSeconds, 's'),
      info(`tutorial_reads_per_decision_${n}`, tutorialReads, 'reads/decision'),
      info(`tutorial_seconds_per_decision_${n}`, tutorialSeconds, 's'),
    );
  }
  metrics.push(...(await halfUnkeyed(root, fleet, Math.max(...sizes), eventCount)));
  return metrics;
}

/**
 * The tutorial user's store: `n` baselines of which half (known-good ones included) are filed
 * under ids that are not their fingerprint (`baseline<i>`). A known-good report must still be
 * relearned, in at most two reads; the index of those documents is built once, counted apart.
 */
async function halfUnkeyed(root: string, fleet: Fleet, n: number, eventCount: number): Promise<Metric[]> {
  const dir = path.join(root, 'store-reads-half-unkeyed');
  mkdirSync(dir);
  const writeStart = performance.now();
  const all: Baseline[] = [...fleet.knownBaselines.slice(0, n)];
  for (let i = 0; all.length < n; i++) all.push(fillerBaseline(i));
  all.forEach((b, i) => writeBaseline(dir, i % 2 === 0 ? b : { ...b, id: `baseline${i}` }));
  log(
    `store reads: ${n.toLocaleString('en-US')} baselines, half not keyed by fingerprint (wrote them in ${seconds(writeStart).toFixed(1)} s)`,
  );
  const store = new DirectoryBaselineStore(dir);
  const events = failedLateBootEvents(fleet, fleet.knownUpgrades.slice(0, Math.min(n, fleet.knownUpgrades.length)), eventCount);
  const { wrong, maxReads, readsPerDecision, secondsPerDecision } = await measureDecisions(store, events);
  if (wrong > 0) log(`store reads: ERROR ${wrong} of ${events.length} wrong actions with half the baselines not keyed by fingerprint`);
  log(`store reads: half unkeyed: at most ${maxReads} reads per decision; the index read ${store.indexReads} documents once`);
  return [
    metric(`store_max_reads_per_decision_${n}_half_unkeyed`, maxReads, 'reads', '<= 2', wrong === 0 && maxReads <= 2),
    info(`store_reads_per_decision_${n}_half_unkeyed`, readsPerDecision, 'reads/decision'),
    info(`store_index_build_reads_${n}_half_unkeyed`, store.indexReads, 'reads (once)'),
    info(`store_seconds_per_decision_${n}_half_unkeyed`, secondsPerDecision, 's'),
  ];
}
