/**
 * The local Workflows engine: interpreter speed on a loop-heavy workflow (billable steps per
 * second), and the memory each execution costs while it waits on a callback (1,000 at once, in a
 * child process so the heap holds nothing else).
 */
import { loadLocalWorkflowText, startLocalEngine } from '@bootwarden/workflows-emulator';
import { helperPath, runNode } from './children.js';
import { info, log, metric, seconds, type Metric } from './metrics.js';
import { WAITING_PREFIX, type WaitingStats } from './child-protocol.js';

const TARGET_KB_PER_WAITING = 100;

/** Assignments, a switch and arithmetic in a loop: what the response workflow's steps look like. */
export const LOOP_WORKFLOW = `main:
  params: [args]
  steps:
    - init:
        assign:
          - total: 0
          - seen: {}
    - loop:
        for:
          value: i
          range: \${[1, args.n]}
          steps:
            - compute:
                assign:
                  - total: \${total + i * 2 - i % 7}
                  - seen.last: \${i}
            - branch:
                switch:
                  - condition: \${i % 3 == 0}
                    assign:
                      - total: \${total - 1}
    - done:
        return: \${total}
`;

export async function benchWorkflows(options: { iterations: number; waiting: number }): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const local = await startLocalEngine();
  try {
    local.engine.deploy('loop', loadLocalWorkflowText(LOOP_WORKFLOW, 'loop.workflows.yaml'));
    // Warm-up, then the measured run.
    await local.engine.wait(local.engine.startExecution('loop', { argument: '{"n": 2000}' }).name);
    log(`workflows: interpreting a loop of ${options.iterations.toLocaleString('en-US')} iterations`);
    const started = performance.now();
    const done = await local.engine.wait(local.engine.startExecution('loop', { argument: JSON.stringify({ n: options.iterations }) }).name);
    const elapsed = seconds(started);
    if (done.state !== 'SUCCEEDED') throw new Error(`the loop workflow ended ${done.state}: ${done.error?.payload ?? ''}`);
    const steps = done.billing.internal + done.billing.external;
    metrics.push(info('workflows: interpreter speed', steps / elapsed, 'steps/s'));
    metrics.push(info('workflows: loop billable steps', steps, 'steps'));
  } finally {
    await local.close();
  }

  log(`workflows: ${options.waiting.toLocaleString('en-US')} executions waiting on callbacks (child process)`);
  const child = await runNode(helperPath('workflows-memory-child.js'), [String(options.waiting)], 'workflows');
  const line = child.stdout.split('\n').find((l) => l.startsWith(WAITING_PREFIX));
  if (child.code !== 0 || line === undefined) {
    log(`workflows: ERROR the waiting-executions child failed (exit ${String(child.code)})`);
    metrics.push(metric('workflows: memory per waiting execution', null, 'KB', `< ${TARGET_KB_PER_WAITING}`, false));
    return metrics;
  }
  const stats = JSON.parse(line.slice(WAITING_PREFIX.length)) as WaitingStats;
  const perExecution = stats.heapBytesPerExecution / 1024;
  metrics.push(
    metric(
      'workflows: memory per waiting execution',
      perExecution,
      'KB',
      `< ${TARGET_KB_PER_WAITING}`,
      perExecution < TARGET_KB_PER_WAITING,
    ),
  );
  metrics.push(info('workflows: callbacks delivered and completed', stats.completed, `of ${stats.executions}`));
  metrics.push(info('workflows: callback round trips', stats.completed / stats.deliverSeconds, 'executions/s'));
  return metrics;
}
