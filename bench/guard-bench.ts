/**
 * The blast-radius guard under a rollout: 200 reports of one unknown fingerprint claim a stop at
 * once through the Firestore adapter against the emulator. Exactly 3 (the default limit) may be
 * stopped; the rest are held. Also how long a claim takes and how many Firestore calls it makes.
 */
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { FirestoreStopSlots } from '../adapters/gcp/firestore-stores.js';
import { claimStop, DEFAULT_BLAST_RADIUS, type GuardVerdict } from '../core/blast-radius.js';
import type { StopSlot, StopSlotStore } from '../core/ports/stop-slots.port.js';
import { startFirestoreEmulator } from '../devstack/firestore-emulator.js';
import { info, log, metric, type Metric, percentile } from './metrics.js';

const REPORTS = 200;

/** Counts the calls one claim makes. */
class Counted implements StopSlotStore {
  calls = 0;
  constructor(private readonly inner: StopSlotStore) {}
  holders(ids: readonly string[]): Promise<(string | null)[]> {
    this.calls++;
    return this.inner.holders(ids);
  }
  create(id: string, slot: StopSlot): Promise<boolean> {
    this.calls++;
    return this.inner.create(id, slot);
  }
}

export async function benchGuard(): Promise<Metric[]> {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const emulator = await startFirestoreEmulator({ projectId: 'demo-bootwarden' });
  const db = new Firestore({ projectId: 'demo-bootwarden', host: emulator.host, ssl: false });
  try {
    const collection = `bench_${randomBytes(4).toString('hex')}_stop_slots`;
    const store = new FirestoreStopSlots(() => Promise.resolve(db), collection);
    // One instant for all: the claims share a window, as a rollout's reports within the hour do.
    const now = new Date();
    const claim = (store: StopSlotStore, n: number, fingerprint: string) =>
      claimStop(store, DEFAULT_BLAST_RADIUS, {
        eventKey: `bench-event-${n}`,
        instance: { id: String(6_100_000_000_000_000_000n + BigInt(n)), project: `acme-${n}`, zone: 'us-central1-a' },
        fingerprint,
        now,
      });
    // One claim alone, the common case (one VM fails): how long the guard adds to a stop decision.
    // Each on its own fingerprint and project, so that only the overall limit is shared.
    await claim(store, -1, randomBytes(32).toString('hex'));
    const alone: number[] = [];
    for (let n = 0; n < 15; n++) {
      const t = performance.now();
      await claim(store, 1000 + n, randomBytes(32).toString('hex'));
      alone.push(performance.now() - t);
    }
    alone.sort((a, b) => a - b);

    const fingerprint = randomBytes(32).toString('hex');
    const burst = performance.now();
    const results = await Promise.all(
      Array.from({ length: REPORTS }, async (_, n) => {
        const counted = new Counted(store);
        const t = performance.now();
        const verdict: GuardVerdict = await claim(counted, n, fingerprint);
        return { verdict, ms: performance.now() - t, calls: counted.calls };
      }),
    );
    const burstMs = performance.now() - burst;
    const stopped = results.filter((r) => r.verdict.stop);
    const held = results.filter((r) => !r.verdict.stop);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const heldCalls = Math.max(...held.map((r) => r.calls));
    log(
      `guard: ${REPORTS} concurrent claims on the ${emulator.kind} emulator: ${stopped.length} stopped, ${held.length} held; ` +
        `all decided in ${burstMs.toFixed(0)} ms (p50 ${percentile(ms, 50).toFixed(1)} ms); at most ${heldCalls} Firestore calls per hold; ` +
        `a claim alone: p50 ${percentile(alone, 50).toFixed(1)} ms, max ${percentile(alone, 100).toFixed(1)} ms`,
    );
    const limit = DEFAULT_BLAST_RADIUS.perFingerprint;
    return [
      metric(`guard_${REPORTS}_concurrent_stopped`, stopped.length, 'VMs', `= ${limit}`, stopped.length === limit),
      metric(`guard_${REPORTS}_concurrent_held`, held.length, 'VMs', `= ${REPORTS - limit}`, held.length === REPORTS - limit),
      // A hold reads the fingerprint's slots once and tries at most each of them.
      metric('guard_firestore_calls_per_hold_max', heldCalls, 'calls', `<= ${1 + limit}`, heldCalls <= 1 + limit),
      info('guard_firestore_calls_per_stop_max', Math.max(...stopped.map((r) => r.calls)), 'calls'),
      metric(`guard_${REPORTS}_concurrent_all_decided_ms`, burstMs, 'ms', '< 15000', burstMs < 15_000),
      // Before a stop: three reads and three creates, one scope after the other.
      metric('guard_claim_alone_p50_ms', percentile(alone, 50), 'ms', '< 200', percentile(alone, 50) < 200),
    ];
  } finally {
    await db.terminate();
    await emulator.stop();
  }
}
