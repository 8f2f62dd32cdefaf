/**
 * The response workflow's cost: billable steps per path (relearn, stop+approve, stop+reject,
 * stop+timeout) counted by the local engine running the deployed YAML against the Firestore
 * emulator, a recording Compute fleet and the Slack app stand-in; and what 1,000,000 events of
 * each path cost at Google's published prices (https://cloud.google.com/workflows/pricing:
 * internal steps USD 0.01 per 1,000, external USD 0.025 per 1,000, beyond the free tier).
 */
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { RecordingInstanceControl } from '../adapters/local/recording-instance-control.js';
import type { CollectionNames } from '../core/contracts.js';
import { ApprovalsStandIn } from '../local/approvals-stand-in.js';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';
import { RESPONSE_WORKFLOW_ID, responseWorkflowFile, scenario } from '../local/response-scenarios.js';
import { SkipWaitsClock } from '../local/workflows/clocks.js';
import type { ExecutionRecord } from '../local/workflows/engine.js';
import { loadLocalWorkflow, startLocalEngine } from '../local/workflows/local-engine.js';
import { info, log, metric, type Metric } from './metrics.js';

const PROJECT = 'demo-bootwarden';
/** USD per step, beyond the free tier. */
const INTERNAL_PRICE = 0.01 / 1000;
const EXTERNAL_PRICE = 0.025 / 1000;
const TARGETS: Readonly<Record<string, number>> = { relearn: 12, 'stop+approve': 30 };

type Path = 'relearn' | 'stop+approve' | 'stop+reject' | 'stop+timeout';

export async function benchResponse(): Promise<Metric[]> {
  const emulator = await startFirestoreEmulator({ projectId: PROJECT });
  // The clients talk to the emulator only: no metadata server to ask.
  const env: Record<string, string> = { FIRESTORE_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: 'none' };
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  let db: Firestore | undefined;
  try {
    const { Firestore: Client } = await import('@google-cloud/firestore');
    const client = new Client({ projectId: PROJECT });
    db = client;
    const id = randomBytes(4).toString('hex');
    const collections: CollectionNames = {
      baselines: `bench_${id}_known_good_measurements`,
      events: `bench_${id}_events`,
      instances: `bench_${id}_instances`,
    };
    const fleet = new RecordingInstanceControl();
    const local = await startLocalEngine({ clock: new SkipWaitsClock(), instances: fleet, firestore: () => client, projectId: PROJECT });
    const slackApp = new ApprovalsStandIn(local.tokens);
    await slackApp.start();
    const program = await loadLocalWorkflow(responseWorkflowFile());
    const deploy = (timeoutSeconds: number): void =>
      local.engine.deploy(RESPONSE_WORKFLOW_ID, program, {
        BOOTWARDEN_SLACK_APP_URL: slackApp.url,
        BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: String(timeoutSeconds),
      });
    try {
      const results = new Map<Path, ExecutionRecord>();
      let n = 0;
      const run = async (path: Path): Promise<void> => {
        const vm = { project: PROJECT, zone: 'us-central1-a', id: String(1_000_000_000_000_000n + BigInt(++n)) };
        fleet.addInstance({ project: vm.project, zone: vm.zone, name: `bench-${n}`, id: vm.id });
        deploy(path === 'stop+timeout' ? 1 : 3600);
        const s = scenario(path === 'relearn' ? 'relearn' : 'stop', { instance: vm, bootCounter: 7, collections });
        const started = local.engine.startExecution(RESPONSE_WORKFLOW_ID, { argument: JSON.stringify(s.argument) });
        if (path === 'stop+approve' || path === 'stop+reject') {
          const request = await (async () => {
            for (;;) {
              const r = slackApp.approvals.find((a) => a.instance.id === vm.id);
              if (r !== undefined && local.engine.getExecution(started.name).currentStep?.step === 'wait_decision') return r;
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          })();
          await slackApp.decide(request, path === 'stop+approve' ? 'approve' : 'reject');
        }
        const done = await local.engine.wait(started.name);
        if (done.state !== 'SUCCEEDED') throw new Error(`the ${path} path ended ${done.state}: ${done.error?.payload ?? ''}`);
        results.set(path, done);
      };
      for (const path of ['relearn', 'stop+approve', 'stop+reject', 'stop+timeout'] as const) {
        log(`response: running the ${path} path`);
        await run(path);
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
        // Locally the Slack app stand-in is on 127.0.0.1, an external host; deployed on Cloud Run
        // (*.run.app) its calls are internal steps. Both figures, polls included.
        const asCounted = (r.billing.internal * INTERNAL_PRICE + r.billing.external * EXTERNAL_PRICE) * 1_000_000;
        const onCloudRun = (r.billing.internal + r.billing.external) * INTERNAL_PRICE * 1_000_000;
        metrics.push(info(`response: ${path} cost per 1,000,000 events (Slack app on Cloud Run)`, onCloudRun, 'USD'));
        if (r.billing.external > 0)
          metrics.push(info(`response: ${path} cost per 1,000,000 events (as counted locally)`, asCounted, 'USD'));
      }
      return metrics;
    } finally {
      await slackApp.close();
      await local.close();
    }
  } finally {
    await db?.terminate();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await emulator.stop();
  }
}
