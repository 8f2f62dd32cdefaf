import { describe, expect, it } from 'vitest';
import {
  claimStop,
  DEFAULT_BLAST_RADIUS,
  guardDecision,
  holdInstead,
  MemoryStopSlots,
  slotIds,
  windowStartOf,
  type BlastRadiusLimits,
} from '../../core/blast-radius.js';
import { decide, lookupOf, type Decision } from '../../core/decide.js';
import type { InstanceRef } from '../../core/event.js';
import { parseEnvelope } from '../../core/parse.js';
import type { StopSlot, StopSlotStore } from '../../core/ports/stop-slots.port.js';
import { bootReportEntry } from '../../devstack/entries.js';
import { KERNEL_26, TAMPERED } from '../support/fixtures.js';

const FP_A = 'a'.repeat(64);
const FP_B = 'b'.repeat(64);
const NOW = new Date('2026-12-02T13:45:10.500Z');
/** 2026-12-02T13:00:00Z in seconds since the epoch (computed outside bootwarden). */
const HOUR_START = 1796216400;

function vm(n: number, project = 'acme-prod'): InstanceRef {
  return { id: String(4_356_841_712_468_193_571n + BigInt(n)), project, zone: 'us-central1-a' };
}

/** The memory store, recording what it was asked, optionally yielding to other claims between calls. */
class RecordingSlots implements StopSlotStore {
  readonly inner = new MemoryStopSlots();
  readonly reads: string[][] = [];
  readonly creates: string[] = [];
  constructor(private readonly interleave = false) {}
  private async pause(): Promise<void> {
    if (this.interleave) for (let i = Math.floor(Math.random() * 4); i >= 0; i--) await new Promise((r) => setImmediate(r));
  }
  async holders(ids: readonly string[]): Promise<(string | null)[]> {
    this.reads.push([...ids]);
    await this.pause();
    const h = await this.inner.holders(ids);
    await this.pause();
    return h;
  }
  async create(id: string, slot: StopSlot): Promise<boolean> {
    this.creates.push(id);
    await this.pause();
    return this.inner.create(id, slot);
  }
}

const claim = (
  store: StopSlotStore,
  n: number,
  opts: { fp?: string; project?: string; now?: Date; limits?: Partial<BlastRadiusLimits> } = {},
) =>
  claimStop(
    store,
    { ...DEFAULT_BLAST_RADIUS, ...opts.limits },
    { eventKey: `event-${n}`, instance: vm(n, opts.project), fingerprint: opts.fp ?? FP_A, now: opts.now ?? NOW },
  );

describe('windows and slot ids', () => {
  it.each([
    ['2026-12-02T13:45:10.500Z', 3600, '2026-12-02T13:00:00.000Z'],
    ['2026-12-02T13:00:00.000Z', 3600, '2026-12-02T13:00:00.000Z'],
    ['2026-12-02T12:59:59.999Z', 3600, '2026-12-02T12:00:00.000Z'],
    ['2026-12-02T13:45:10.500Z', 86400, '2026-12-02T00:00:00.000Z'],
    ['2026-12-02T13:45:10.500Z', 60, '2026-12-02T13:45:00.000Z'],
  ])('at %s a %i s window starts at %s', (now, seconds, start) => {
    expect(windowStartOf(new Date(now), seconds).toISOString()).toBe(start);
  });

  it('names each slot by window, scope, key and index', () => {
    expect(slotIds(new Date(HOUR_START * 1000), 'fingerprint', FP_A, 3)).toEqual([
      `w${HOUR_START}-fingerprint-${FP_A}-0`,
      `w${HOUR_START}-fingerprint-${FP_A}-1`,
      `w${HOUR_START}-fingerprint-${FP_A}-2`,
    ]);
    expect(slotIds(new Date(HOUR_START * 1000), 'project', 'acme-prod', 0)).toEqual([]);
  });
});

describe('claimStop', () => {
  it('allows 3 stops per fingerprint and hour by default, then holds, naming the limit and the window', async () => {
    const store = new RecordingSlots();
    const verdicts = [];
    for (let n = 0; n < 5; n++) verdicts.push(await claim(store, n));
    expect(verdicts.map((v) => v.stop)).toEqual([true, true, true, false, false]);
    expect(verdicts[0]).toEqual({
      stop: true,
      slots: [`w${HOUR_START}-fingerprint-${FP_A}-0`, `w${HOUR_START}-project-acme-prod-0`, `w${HOUR_START}-overall-all-0`],
    });
    expect(verdicts[3]).toEqual({
      stop: false,
      heldBy: { scope: 'fingerprint', limit: 3, windowSeconds: 3600, windowStart: '2026-12-02T13:00:00.000Z' },
      slots: [],
    });
    // A slot says who took it and when it is of no more use (a TTL policy may delete it then).
    expect(store.inner.slots.get(`w${HOUR_START}-fingerprint-${FP_A}-2`)).toEqual({
      holder: 'event-2',
      instance: vm(2),
      fingerprint: FP_A,
      scope: 'fingerprint',
      windowStart: '2026-12-02T13:00:00.000Z',
      claimedAt: '2026-12-02T13:45:10.500Z',
      expiresAt: '2026-12-02T14:00:00.000Z',
    });
    // A held claim reads the fingerprint's slots once and tries no create: they are all taken.
    expect(store.reads.at(-1)).toHaveLength(3);
    expect(store.creates.filter((id) => id.includes('fingerprint'))).toHaveLength(3);
  });

  it('a redelivered event gets its own slots back, never new ones, even when the scope is full', async () => {
    const store = new RecordingSlots();
    const first = await claim(store, 0);
    for (let n = 1; n < 3; n++) await claim(store, n);
    const creates = store.creates.length;
    expect(await claim(store, 0)).toEqual(first);
    expect(store.creates).toHaveLength(creates);
    expect(store.inner.slots.size).toBe(9);
  });

  it('a new window allows new stops; the one before stays full', async () => {
    const store = new MemoryStopSlots();
    for (let n = 0; n < 3; n++) await claim(store, n);
    expect((await claim(store, 3, { now: new Date('2026-12-02T13:59:59.999Z') })).stop).toBe(false);
    expect((await claim(store, 4, { now: new Date('2026-12-02T14:00:00.000Z') })).stop).toBe(true);
  });

  it('counts per fingerprint: another fingerprint has its own slots', async () => {
    const store = new MemoryStopSlots();
    for (let n = 0; n < 3; n++) await claim(store, n);
    expect((await claim(store, 3, { fp: FP_B })).stop).toBe(true);
  });

  it('counts per project and overall', async () => {
    const store = new MemoryStopSlots();
    const limits = { perFingerprint: 100, perProject: 2, overall: 3 };
    const fp = (n: number) => n.toString(16).padStart(64, '0');
    expect((await claim(store, 0, { fp: fp(0), limits })).stop).toBe(true);
    expect((await claim(store, 1, { fp: fp(1), limits })).stop).toBe(true);
    // Held at the project scope, it still holds its fingerprint slot: the workflow gives it back when Compute has no such VM.
    expect(await claim(store, 2, { fp: fp(2), limits })).toEqual({
      stop: false,
      heldBy: expect.objectContaining({ scope: 'project', limit: 2 }) as unknown,
      slots: [`w${HOUR_START}-fingerprint-${fp(2)}-0`],
    });
    expect((await claim(store, 3, { fp: fp(3), limits, project: 'acme-dev' })).stop).toBe(true);
    expect(await claim(store, 4, { fp: fp(4), limits, project: 'acme-test' })).toMatchObject({
      stop: false,
      heldBy: { scope: 'overall', limit: 3 },
    });
  });

  it('a slot taken for a VM that a later scope holds stays taken: the guard errs on holding', async () => {
    const store = new MemoryStopSlots();
    const limits = { perFingerprint: 2, perProject: 1 };
    expect((await claim(store, 0, { limits })).stop).toBe(true);
    expect(await claim(store, 1, { limits })).toMatchObject({ stop: false, heldBy: { scope: 'project' } });
    expect(await claim(store, 2, { limits, project: 'acme-dev' })).toMatchObject({ stop: false, heldBy: { scope: 'fingerprint' } });
  });

  it('a report without a fingerprint (none is ever stopped so) counts under the key "none"', async () => {
    const store = new MemoryStopSlots();
    const v = await claimStop(store, DEFAULT_BLAST_RADIUS, { eventKey: 'e', instance: vm(0), fingerprint: null, now: NOW });
    expect(v).toMatchObject({
      stop: true,
      slots: [`w${HOUR_START}-fingerprint-none-0`, `w${HOUR_START}-project-acme-prod-0`, `w${HOUR_START}-overall-all-0`],
    });
  });

  it('a limit of 0 holds every VM without touching the store', async () => {
    const store = new RecordingSlots();
    expect(await claim(store, 0, { limits: { perFingerprint: 0 } })).toMatchObject({
      stop: false,
      heldBy: { scope: 'fingerprint', limit: 0 },
    });
    expect([store.reads, store.creates]).toEqual([[], []]);
  });

  it('200 concurrent claims for one fingerprint: exactly 3 stop, each event holds at most one slot per scope', async () => {
    const store = new RecordingSlots(true);
    const verdicts = await Promise.all(Array.from({ length: 200 }, (_, n) => claim(store, n)));
    const stopped = verdicts.filter((v) => v.stop);
    expect(stopped).toHaveLength(3);
    const holders = [...store.inner.slots.values()].map((s) => `${s.scope} ${s.holder}`);
    expect(new Set(holders).size).toBe(holders.length);
    expect(store.inner.slots.size).toBe(9);
  });
});

describe('holdInstead and guardDecision', () => {
  const entry = bootReportEntry('lateBootReportEvent', { instance: vm(0), bootCounter: 7, actual: TAMPERED, policy: KERNEL_26 });
  const parsed = parseEnvelope(entry);
  if (!parsed.ok) throw new Error(parsed.rejection.message);
  const stop = decide(parsed.event, lookupOf());

  it('turns a stop into a hold: same facts, the reason says which limit and that the VM keeps running', () => {
    const held = holdInstead(stop, { scope: 'fingerprint', limit: 3, windowSeconds: 3600, windowStart: '2026-12-02T13:00:00.000Z' });
    expect(held).toEqual({
      ...stop,
      action: 'hold',
      intendedAction: 'stop',
      reason: `${stop.reason}; held, not stopped: 3 VMs were already stopped with these measurements since 2026-12-02T13:00:00.000Z (BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT=3 per 3600 s); the VM keeps running unchanged until an operator decides`,
      heldBy: { scope: 'fingerprint', limit: 3, windowSeconds: 3600, windowStart: '2026-12-02T13:00:00.000Z' },
    });
    expect(holdInstead(stop, { scope: 'project', limit: 1, windowSeconds: 60, windowStart: 'W' }).reason).toContain(
      '1 VM was already stopped in this project since W (BOOTWARDEN_MAX_STOPS_PER_PROJECT=1 per 60 s)',
    );
    expect(holdInstead(stop, { scope: 'overall', limit: 0, windowSeconds: 60, windowStart: 'W' }).reason).toContain(
      'held, not stopped: BOOTWARDEN_MAX_STOPS is 0: no VM in all is stopped automatically',
    );
  });

  it('only a stop is guarded: relearn, notify and ignore pass untouched and take no slot', async () => {
    const store = new RecordingSlots();
    const others: Decision[] = [
      { ...stop, action: 'relearn', intendedAction: 'relearn' },
      { ...stop, action: 'notify', dryRun: true },
      { ...stop, action: 'ignore', intendedAction: null },
    ];
    for (const d of others)
      expect(await guardDecision(store, DEFAULT_BLAST_RADIUS, d, { eventKey: 'e', instance: vm(0), now: NOW })).toBe(d);
    expect([store.reads, store.creates]).toEqual([[], []]);
    const limits = { ...DEFAULT_BLAST_RADIUS, perFingerprint: 0 };
    expect(await guardDecision(store, limits, stop, { eventKey: 'e', instance: vm(0), now: NOW })).toMatchObject({
      action: 'hold',
      heldBy: { scope: 'fingerprint', limit: 0 },
    });
  });
});
