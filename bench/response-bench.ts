/**
 * The response workflow's cost: billable steps per path (relearn, stop+approve, stop+reject,
 * stop+timeout, and a VM held by the blast-radius guard: hold+approve, hold+reject) counted by the local engine running the deployed YAML against the Firestore
 * emulator, a recording Compute fleet and the Slack app (with its Web API stand-in); and what 1,000,000 events of
 * each path cost at Google's published prices (https://cloud.google.com/workflows/pricing:
 * internal steps USD 0.01 per 1,000, external USD 0.025 per 1,000, beyond the free tier).
 */
import { randomBytes } from 'node:crypto';
import type { ResponseCollections } from '../core/contracts.js';
import { fileBaseline, scenario, SCENARIO_CLOCK_START, SCENARIO_VM_STARTED } from '../devstack/response-scenarios.js';
import { startLocalStack } from '../devstack/stack.js';
import type { ExecutionRecord } from '@bootwarden/workflows-emulator';
import { info, log, metric, type Metric } from './metrics.js';

const PROJECT = 'demo-bootwarden';
/** USD per step, beyond the free tier. */
const INTERNAL_PRICE = 0.01 / 1000;
const EXTERNAL_PRICE = 0.025 / 1000;
// A relearn re-reads its baseline and checks every field (one step each) before trusting it, and records
// what it relearned for the next boot's check: 12 steps before that. Every path checks its argument
// first (one step per reported PCR, the fingerprint, the try that records any failure: 6 for three
// PCRs), and a path that asks an approver checks the diff it shows (one step per list and entry: 4).
const TARGETS: Readonly<Record<string, number>> = { relearn: 27, 'stop+approve': 38 };

type Path = 'relearn' | 'stop+approve' | 'stop+reject' | 'stop+timeout' | 'hold+approve' | 'hold+reject';
/** What each path must end in: a cheaper count from another path (a stale skip) is no measurement. */
const OUTCOME: Readonly<Record<Path, string>> = {
  relearn: 'relearned',
  'stop+approve': 'promoted_and_started',
  'stop+reject': 'rejected',
  'stop+timeout': 'expired',
  'hold+approve': 'relearned',
  'hold+reject': 'rejected',
};

export async function benchResponse(): Promise<Metric[]> {
  const id = randomBytes(4).toString('hex');
  const collections: ResponseCollections = { prefix: `bench_${id}_`, baselines: `bench_${id}_known_good_measurements` };
  const stack = await startLocalStack({
    projectId: PROJECT,
    clockStart: SCENARIO_CLOCK_START,
    collectionPrefix: collections.prefix,
    baselineCollection: collections.baselines,
  });
  try {
    const results = new Map<Path, ExecutionRecord>();
    let n = 0;
    for (const path of ['relearn', 'stop+approve', 'stop+reject', 'stop+timeout', 'hold+approve', 'hold+reject'] as const) {
      log(`response: running the ${path} path`);
      const vm = { project: PROJECT, zone: 'us-central1-a', id: String(1_000_000_000_000_000n + BigInt(++n)) };
      stack.fleet.addInstance({
        project: vm.project,
        zone: vm.zone,
        name: `bench-${n}`,
        id: vm.id,
        lastStartTimestamp: SCENARIO_VM_STARTED,
      });
      stack.deploy(path === 'stop+timeout' ? 1 : 3600);
      const kind = path === 'relearn' ? 'relearn' : path.startsWith('hold') ? 'hold' : 'stop';
      const s = scenario(kind, { instance: vm, bootCounter: 7, collections });
      if (kind === 'relearn') await fileBaseline(stack.db, collections, s);
      const decision = path.endsWith('+approve') ? 'approve' : path.endsWith('+reject') ? 'reject' : undefined;
      const done = await stack.run(s.argument, decision === undefined ? undefined : { decision });
      if (done.state !== 'SUCCEEDED') throw new Error(`the ${path} path ended ${done.state}: ${done.error?.payload ?? ''}`);
      const outcome = (JSON.parse(done.result ?? '{}') as { outcome?: string }).outcome;
      if (outcome !== OUTCOME[path])
        throw new Error(`the ${path} path ended in ${String(outcome)}, not ${OUTCOME[path]}: its steps would measure another path`);
      results.set(path, done);
    }
    const metrics: Metric[] = [];
    for (const [path, r] of results) {
      const steps = r.billing.internal + r.billing.external - r.billing.polls;
      const target = TARGETS[path];
      metrics.push(
        target === undefined
          ? info(`response: ${path} billable steps (excluding polls)`, steps, 'steps')
          : metric(`response: ${path} billable steps (excluding polls)`, steps, 'steps', `<= ${target}`, steps <= target),
      );
      metrics.push(info(`response: ${path} operation polls`, r.billing.polls, 'steps'));
      // Locally the Slack app is on 127.0.0.1, an external host; deployed on Cloud Run
      // (*.run.app) its calls are internal steps. Both figures, polls included.
      const asCounted = (r.billing.internal * INTERNAL_PRICE + r.billing.external * EXTERNAL_PRICE) * 1_000_000;
      const onCloudRun = (r.billing.internal + r.billing.external) * INTERNAL_PRICE * 1_000_000;
      metrics.push(info(`response: ${path} cost per 1,000,000 events (Slack app on Cloud Run)`, onCloudRun, 'USD'));
      if (r.billing.external > 0) metrics.push(info(`response: ${path} cost per 1,000,000 events (as counted locally)`, asCounted, 'USD'));
    }
    return metrics;
  } finally {
    await stack.close();
  }
}
