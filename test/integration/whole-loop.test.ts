/**
 * The whole loop on one machine (issue 12): simulated Shielded VMs boot and write their integrity
 * entries; the local log sink pushes them to the function as Eventarc does; the function starts
 * the response workflow through its Workflows client (the engine's Executions API); the workflow
 * stops, starts and relearns VMs through the fleet's Compute API, and asks the Slack app, where an
 * operator approves. Every assertion reads what a stand-in recorded: Compute calls, Slack
 * messages, executions, deliveries.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreBaselineStore } from '../../adapters/gcp/firestore-stores.js';
import { newBaseline } from '../../core/baseline.js';
import type { JsonObject } from '../../core/json.js';
import { parseEnvelope } from '../../core/parse.js';
import { bootReportEntry, eventarcBody } from '../../devstack/entries.js';
import { postEventarc } from '../../devstack/eventarc.js';
import { readFleetFile } from '../../devstack/fleet/fleet-file.js';
import { linuxChain, measurements, windowsChain, type BootChain } from '../../devstack/fleet/vtpm.js';
import type { FleetInstance } from '../../devstack/fleet/simulated-fleet.js';
import { CHANNEL } from '../../devstack/slack-local.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const KERNEL_26 = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const KERNEL_27 = linuxChain({ kernel: 'linux-6.1.0-27-amd64' });

const vm = (name: string, n: number, chain: BootChain): FleetInstance => ({
  project: PROJECT,
  zone: ZONE,
  name,
  id: String(7_234_918_840_192_837_000n + BigInt(n)),
  status: 'RUNNING',
  bootCounter: 3n,
  chain,
});

let stack: LocalStack;
const entries: JsonObject[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: PROJECT,
    clockStart: Date.parse('2026-11-05T08:00:00Z'),
    autoDecide: { decision: 'approve' },
    collectionPrefix: 'loop_',
    instances: [
      ...['web-0', 'web-1', 'web-2', 'web-3'].map((n, i) => vm(n, i, KERNEL_26)),
      vm('win-0', 9, windowsChain({ build: '20348.2700' })),
    ],
    sink: { duplicateRate: 0.5, seed: 7 },
    function: { write: () => undefined },
  });
  stack.simulated.onEntry((e) => entries.push(e));
});

afterAll(async () => {
  await stack.close();
});

const changes = (name: string): string[] =>
  stack.fleet.calls.filter((c) => c.target === name && c.method !== 'get' && c.method !== 'getOperation').map((c) => c.method);

function lateBoots(name: string): boolean[] {
  const id = stack.fleet.peek(PROJECT, ZONE, name)?.id;
  return entries.flatMap((e) => {
    const p = parseEnvelope(e);
    return p.ok && p.event.kind === 'lateBootReportEvent' && p.event.instance.id === id ? [p.event.report.policyEvaluationPassed] : [];
  });
}

describe('the whole loop', () => {
  it('a fleet that boots clean: every report delivered, nothing started', async () => {
    for (const v of stack.simulated.all()) stack.simulated.reboot(v.name);
    const records = await stack.quiet();
    expect(records).toEqual([]);
    expect(lateBoots('web-0')).toEqual([true]);
    expect(stack.sink?.deliveries.every((d) => d.status === 204 || d.status === 200)).toBe(true);
    // Duplicated deliveries (the same message id twice) and every entry, delivered.
    const ids = stack.sink?.deliveries.map((d) => d.messageId) ?? [];
    expect(new Set(ids).size).toBe(15); // 5 VMs × startup, early- and late-boot report
    expect(ids.length).toBeGreaterThan(15);
  });

  it('a kernel nobody has seen: stopped, approved in Slack, promoted, started, relearned; the next boot passes', async () => {
    stack.simulated.install('web-0', KERNEL_27);
    stack.simulated.reboot('web-0');
    const records = await stack.quiet();
    expect(changes('web-0')).toEqual(['stop', 'start', 'setShieldedInstanceIntegrityPolicy']);
    expect(stack.fleet.relearnCount(PROJECT, ZONE, 'web-0')).toBe(1);
    const outcomes = records.map((r) => (JSON.parse(r.result ?? '{}') as { outcome?: string }).outcome).sort();
    expect(outcomes).toEqual(['promoted_and_started', 'relearned']);
    expect(stack.slackApp.slack.channelMessages(CHANNEL)).toHaveLength(1);
    stack.simulated.reboot('web-0');
    await stack.quiet();
    expect(lateBoots('web-0')).toEqual([true, false, false, true]);
    expect(stack.engine.listExecutions({})).toHaveLength(2);
  });

  it('the same kernel on the rest: relearned automatically, no message, nothing stopped', async () => {
    for (const name of ['web-1', 'web-2', 'web-3']) {
      stack.simulated.install(name, KERNEL_27);
      stack.simulated.reboot(name);
    }
    await stack.quiet();
    for (const name of ['web-1', 'web-2', 'web-3']) expect(changes(name)).toEqual(['setShieldedInstanceIntegrityPolicy']);
    expect(stack.slackApp.slack.channelMessages(CHANNEL)).toHaveLength(1);
    expect(stack.engine.listExecutions({})).toHaveLength(5);
    expect(stack.sink?.deadLetters).toEqual([]);
  });
});

describe('a fleet file replayed against its inventory', () => {
  it('a known-good report of a VM that is not RUNNING, or was started after the report, is not relearned, with the reason', async () => {
    const KNOWN = measurements(KERNEL_27, 'late');
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bw-fleet-')), 'fleet.json');
    writeFileSync(
      file,
      JSON.stringify({
        instances: [
          { project: PROJECT, zone: ZONE, name: 'stopped-1', id: '4356841712468193571', status: 'TERMINATED' },
          {
            project: PROJECT,
            zone: ZONE,
            name: 'restarted-1',
            id: '4356841712468193572',
            lastStartTimestamp: '2026-11-01T02:30:00.000-08:00',
          },
        ],
      }),
    );
    const replay = await startLocalStack({
      projectId: PROJECT,
      clockStart: Date.parse('2026-11-01T10:00:05Z'),
      collectionPrefix: 'replay_',
      instances: await readFleetFile(file),
      function: { write: () => undefined },
    });
    try {
      await new FirestoreBaselineStore(() => Promise.resolve(replay.db), 'known_good_measurements').save(
        newBaseline(KNOWN, { addedBy: 'test', addedAt: '2026-10-30T00:00:00Z', sourceEntry: null, note: null }),
      );
      // Reports logged at 10:00 UTC (02:00 PST), before restarted-1 was started at 02:30 PST.
      for (const [n, id] of ['4356841712468193571', '4356841712468193572'].entries()) {
        const entry = bootReportEntry('lateBootReportEvent', {
          instance: { project: PROJECT, zone: ZONE, id },
          bootCounter: 7,
          actual: KNOWN,
          policy: measurements(KERNEL_26, 'late'),
          timestamp: '2026-11-01T10:00:00.123456789Z',
        });
        const res = await postEventarc(replay.functionUrl ?? '', eventarcBody(entry, `91000000000000${n}`), {
          source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/shielded-vm-integrity`,
        });
        expect(res.status).toBeLessThan(300);
      }
      const records = await replay.quiet();
      const results = records
        .map((r) => ({ vm: r.labels['instance-id'], ...(JSON.parse(r.result ?? '{}') as { outcome: string; reason: string }) }))
        .sort((a, b) => String(a.vm).localeCompare(String(b.vm)));
      expect(results).toEqual([
        expect.objectContaining({
          vm: '4356841712468193571',
          outcome: 'relearn_skipped',
          reason: 'the instance is TERMINATED, not RUNNING; the policy would be learned from another boot',
        }),
        expect.objectContaining({
          vm: '4356841712468193572',
          outcome: 'relearn_skipped',
          reason: expect.stringMatching(/^stale: the instance was started at 2026-11-01T02:30:00.000-08:00, after this report$/) as string,
        }),
      ]);
      expect(replay.fleet.callsTo('setShieldedInstanceIntegrityPolicy')).toEqual([]);
    } finally {
      await replay.close();
    }
  });
});

describe('a burst of 1,000 VMs', () => {
  it('rebooting onto a known-good kernel at once, with redelivered and republished messages: each relearned exactly once, nothing lost', async () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => vm(`node-${String(i).padStart(4, '0')}`, 100 + i, KERNEL_26));
    const burst = await startLocalStack({
      projectId: PROJECT,
      clockStart: Date.parse('2026-11-05T08:00:00Z'),
      collectionPrefix: 'burst_',
      instances: fleet,
      sink: { duplicateRate: 0.1, republishRate: 0.05, seed: 3 },
      function: { write: () => undefined },
    });
    try {
      await new FirestoreBaselineStore(() => Promise.resolve(burst.db), 'known_good_measurements').save(
        newBaseline(measurements(KERNEL_27, 'late'), { addedBy: 'test', addedAt: '2026-11-04T00:00:00Z', sourceEntry: null, note: null }),
      );
      for (const v of fleet) {
        burst.simulated.install(v.name, KERNEL_27);
        burst.simulated.reboot(v.name);
      }
      const records = await burst.quiet();
      // Every VM relearned exactly once by Compute's count; a repeated request would show as deduplicated.
      const counts = fleet.map((v) => `${v.name}: ${burst.fleet.relearnCount(PROJECT, ZONE, v.name)}`);
      expect(counts.filter((c) => !c.endsWith(': 1'))).toEqual([]);
      // One execution per VM: of its three entries only the late-boot report starts one; all relearned.
      const outcomes = new Map<string, number>();
      for (const r of records) {
        const o = (JSON.parse(r.result ?? '{}') as { outcome?: string }).outcome ?? r.state;
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }
      expect(Object.fromEntries(outcomes)).toEqual({ relearned: 1000 });
      expect(new Set(records.map((r) => r.labels['event'])).size).toBe(1000);
      // Nothing lost: every message acknowledged at last, no dead letter; duplicates were delivered.
      const sink = burst.sink!;
      expect(sink.deadLetters).toEqual([]);
      const acked = new Set(sink.deliveries.filter((d) => d.status !== null && d.status < 300).map((d) => d.messageId));
      expect(acked.size).toBe(new Set(sink.deliveries.map((d) => d.messageId)).size);
      // Each boot writes a startup event, an early- and a late-boot report.
      expect(new Set(sink.deliveries.map((d) => d.insertId)).size).toBe(3000);
      expect(sink.deliveries.length).toBeGreaterThan(3000);
    } finally {
      await burst.close();
    }
  }, 600_000);
});
