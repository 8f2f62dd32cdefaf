/**
 * The whole loop on one machine (issue 12), in one process: simulated VMs write their entries, the
 * local log sink pushes them to the function (functions-framework, over HTTP), the function starts
 * executions through the Executions API, and the workflow acts on the fleet through its Compute API.
 *
 * - Latency, 200 events each: from a VM writing its late-boot report to Compute stopping it (an
 *   unknown kernel, one per VM so the guard stops every one) and to Compute relearning it (a kernel
 *   with a baseline). Waits in the workflow are skipped by the engine's clock, so the fleet's
 *   simulated operation time is not in these numbers; what is: the sink, the function (Firestore
 *   emulator), the Executions API, the engine and the Compute API.
 * - Burst: 1,000 VMs reboot onto a known-good kernel at once, with 10 % of the deliveries
 *   duplicated: every VM relearned exactly once, nothing lost (every entry acknowledged, no dead
 *   letter), no duplicate execution; the time until all are relearned and the process's peak RSS.
 */
import { newBaseline } from '../core/baseline.js';
import { FirestoreBaselineStore } from '../adapters/gcp/firestore-stores.js';
import { linuxChain, measurements, type BootChain } from '../devstack/fleet/vtpm.js';
import type { FleetInstance } from '../devstack/fleet/simulated-fleet.js';
import { startLocalStack, type LocalStack } from '../devstack/stack.js';
import { info, log, metric, type Metric, percentile } from './metrics.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const BASE = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const KNOWN = linuxChain({ kernel: 'linux-6.1.0-27-amd64' });

function fleetOf(n: number, prefix: string): FleetInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    project: PROJECT,
    zone: ZONE,
    name: `${prefix}-${String(i).padStart(4, '0')}`,
    id: String(7_300_000_000_000_000_000n + BigInt(i) * 104_729n),
    status: 'RUNNING' as const,
    bootCounter: 40n,
    chain: BASE,
  }));
}

async function stackOf(instances: FleetInstance[], options: { duplicateRate?: number } = {}): Promise<LocalStack> {
  const stack = await startLocalStack({
    projectId: PROJECT,
    instances,
    autoDecide: { decision: 'reject' },
    sink: { duplicateRate: options.duplicateRate ?? 0, seed: 12 },
    // Every stop is measured: limits high enough that the guard holds none of them.
    function: { write: () => undefined, env: { BOOTWARDEN_MAX_STOPS_PER_PROJECT: '500', BOOTWARDEN_MAX_STOPS: '500' } },
  });
  const at = new Date(stack.now()).toISOString();
  await new FirestoreBaselineStore(() => Promise.resolve(stack.db), 'known_good_measurements').save(
    newBaseline(measurements(KNOWN, 'late'), { addedBy: 'bench', addedAt: at, sourceEntry: null, note: 'the known-good kernel' }),
  );
  return stack;
}

/** Reboots each VM onto its chain, one at a time; the ms from its late-boot report to the `change` on it. */
async function latencies(stack: LocalStack, chains: (i: number) => BootChain, change: 'stopped' | 'relearned'): Promise<number[]> {
  const written = new Map<string, number>();
  const took: number[] = [];
  const off = stack.simulated.onChange((kind, vm) => {
    const t = written.get(vm.name);
    if (kind === change && t !== undefined) took.push(performance.now() - t);
  });
  try {
    for (const [i, vm] of stack.simulated.all().entries()) {
      stack.simulated.install(vm.name, chains(i));
      written.set(vm.name, performance.now());
      stack.simulated.reboot(vm.name);
      await stack.quiet();
    }
  } finally {
    off();
  }
  return took.sort((a, b) => a - b);
}

/** `events` VMs, each rebooted onto its chain in turn: the metrics of the time from report to `change`. */
async function latencyMetrics(
  events: number,
  name: 'stop' | 'relearn',
  chains: (i: number) => BootChain,
  change: 'stopped' | 'relearned',
): Promise<Metric[]> {
  const stack = await stackOf(fleetOf(events, name));
  try {
    const took = await latencies(stack, chains, change);
    const [p50, p99] = [percentile(took, 50), percentile(took, 99)];
    log(`loop: ${took.length} ${name}s, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`);
    return [
      metric(`loop_${name}_events`, took.length, 'events', `= ${events}`, took.length === events),
      metric(`loop_report_to_${name}_p50`, p50, 'ms', '< 1000', p50 < 1000),
      info(`loop_report_to_${name}_p99`, p99, 'ms'),
    ];
  } finally {
    await stack.close();
  }
}

export async function benchLoop(options: { events: number; burst: number }): Promise<Metric[]> {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const out: Metric[] = [];

  out.push(
    ...(await latencyMetrics(options.events, 'stop', (i) => linuxChain({ kernel: `linux-6.1.0-26-unknown-${i}` }), 'stopped')),
    ...(await latencyMetrics(options.events, 'relearn', () => KNOWN, 'relearned')),
  );

  const stack = await stackOf(fleetOf(options.burst, 'burst'), { duplicateRate: 0.1 });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    let entries = 0;
    stack.simulated.onEntry(() => entries++);
    const t = performance.now();
    for (const vm of stack.simulated.all()) {
      stack.simulated.install(vm.name, KNOWN);
      stack.simulated.reboot(vm.name);
    }
    const records = await stack.quiet();
    const seconds = (performance.now() - t) / 1000;
    const vms = stack.simulated.all();
    const relearnedOnce = vms.filter((vm) => stack.fleet.relearnCount(PROJECT, ZONE, vm.name) === 1).length;
    const acknowledged = new Set((stack.sink?.deliveries ?? []).filter((d) => d.status !== null && d.status < 300).map((d) => d.messageId))
      .size;
    const duplicates = (stack.sink?.deliveries.length ?? 0) - acknowledged;
    const byEvent = new Map<string, number>();
    for (const r of records) byEvent.set(r.labels['event'] ?? '', (byEvent.get(r.labels['event'] ?? '') ?? 0) + 1);
    const duplicateExecutions = [...byEvent.values()].reduce((n, c) => n + c - 1, 0);
    const lost = entries - acknowledged + (stack.sink?.deadLetters.length ?? 0);
    log(
      `loop: burst of ${vms.length} VMs in ${seconds.toFixed(1)} s: ${relearnedOnce} relearned once, ${lost} lost, ${duplicateExecutions} duplicate executions`,
    );
    out.push(
      metric('loop_burst_relearned_once', relearnedOnce, 'VMs', `= ${options.burst}`, relearnedOnce === options.burst),
      metric('loop_burst_lost', lost, 'entries', '= 0', lost === 0),
      metric('loop_burst_duplicate_executions', duplicateExecutions, 'executions', '= 0', duplicateExecutions === 0),
      info('loop_burst_duplicate_deliveries', duplicates, 'deliveries'),
      info('loop_burst_seconds', seconds, 's'),
      info('loop_burst_peak_rss', Math.round(peak / 1024 / 1024), 'MB'),
    );
  } finally {
    clearInterval(sampler);
    await stack.close();
  }
  return out;
}
