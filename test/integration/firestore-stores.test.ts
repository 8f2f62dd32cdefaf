/** The Firestore adapters through the official client against the emulator. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Firestore, Timestamp } from '@google-cloud/firestore';
import { BootwardenError } from '../../core/errors.js';
import { describe, expect, it } from 'vitest';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import { fingerprint } from '../../core/measurements.js';
import type { StoredBaseline } from '../../core/ports/baseline-store.port.js';
import {
  collectionNames,
  FirestoreBaselineStore,
  FirestoreEventLedger,
  FirestoreInstanceState,
  FirestoreRejectedInputs,
  FirestoreStopSlots,
} from '../../adapters/gcp/firestore-stores.js';
import { claimStop, DEFAULT_BLAST_RADIUS } from '../../core/blast-radius.js';
import { messageDocId } from '../../core/contracts.js';
import { bootwarden, jsonLines } from '../support/cli.js';
import { firestoreEmulatorKind, useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { failedLateBoot, KERNEL_25, KERNEL_26, LINUX_VM } from '../support/fixtures.js';
import { useTmpDirs } from '../support/tmp.js';

const fs = useFirestore();
const tmp = useTmpDirs();
const provider = (): Promise<Firestore> => Promise.resolve(fs.db());
const names = collectionNames(fs.prefix, `${fs.prefix}known_good_measurements`);
const meta = { addedBy: 'alice', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: null };

describe('FirestoreBaselineStore', () => {
  const store = new FirestoreBaselineStore(provider, names.baselines);

  it('creates once, reads by id, lists in pages, saves and removes', async () => {
    const b = newBaseline(KERNEL_26, meta);
    expect(await store.create(b)).toBe(true);
    expect(await store.create(b)).toBe(false);
    expect(await store.get(b.id)).toEqual({ id: b.id, baseline: b });
    expect(await store.get('missing')).toBeNull();
    // A document made by hand in the console, with a timestamp field: readable, and listed.
    await fs
      .db()
      .collection(names.baselines)
      .doc('baseline1')
      .set({ ...Object.fromEntries(KERNEL_25.map((m) => [m.pcrNum, { ...m }])), created: new Date('2026-10-01T00:00:00Z') });
    const all: StoredBaseline[] = [];
    for await (const s of store.list()) all.push(s);
    expect(all.map((s) => s.id).sort()).toEqual(['baseline1', b.id].sort());
    const tutorial = all.find((s) => s.id === 'baseline1');
    expect(tutorial !== undefined && 'baseline' in tutorial ? tutorial.baseline.extraFields : null).toEqual({
      created: '2026-10-01T00:00:00.000Z',
    });
    expect(await store.remove('baseline1')).toBe(true);
    expect(await store.remove('baseline1')).toBe(false);
  });
});

describe('FirestoreBaselineStore.withMeasurements', () => {
  const col = `${fs.prefix}tutorial_known_good_measurements`;
  const store = new FirestoreBaselineStore(provider, col);

  it('finds tutorial documents (console-made, any id) by their PCR values, and only those', async (ctx) => {
    ctx.skip(
      firestoreEmulatorKind() === 'npm',
      'the npm Firestore emulator implements neither nested-field filters nor several filters in one query (see the next test)',
    );
    const fields = (ms: typeof KERNEL_25) => Object.fromEntries(ms.map((m) => [m.pcrNum, { ...m }]));
    await fs.db().collection(col).doc('baseline1').set(fields(KERNEL_25));
    const auto = await fs.db().collection(col).add(fields(KERNEL_25));
    await fs.db().collection(col).doc('baseline2').set(fields(KERNEL_26));
    // One PCR value differs: not a candidate.
    await fs
      .db()
      .collection(col)
      .doc('baseline3')
      .set(fields(KERNEL_25.map((m, i) => (i === 1 ? { ...m, value: KERNEL_26[1]!.value } : m))));
    const found = await store.withMeasurements([...KERNEL_25].reverse());
    expect(found.map((s) => s.id).sort()).toEqual([auto.id, 'baseline1'].sort());
    expect(found.every((s) => 'baseline' in s && s.baseline.fingerprint === fingerprint(KERNEL_25))).toBe(true);
    expect(await store.withMeasurements([])).toEqual([]);
  });

  it('on the npm emulator, which cannot run that query, finds nothing and says why', async (ctx) => {
    ctx.skip(firestoreEmulatorKind() !== 'npm', "gcloud's emulator serves the query (previous test)");
    const local = new FirestoreBaselineStore(provider, col);
    await fs
      .db()
      .collection(col)
      .doc('baseline1')
      .set(Object.fromEntries(KERNEL_25.map((m) => [m.pcrNum, { ...m }])));
    expect(await local.withMeasurements(KERNEL_25)).toEqual([]);
    expect(local.contentLookupUnsupported).toMatch(
      /^this Firestore cannot query .*tutorial_known_good_measurements by PCR values \(2 UNKNOWN: .*Not implemented\)$/,
    );
  });
});

describe('FirestoreEventLedger', () => {
  const ledger = new FirestoreEventLedger(provider, names);
  let events = 0;
  /** An event of its own per test, so that the tests hold in any order. */
  const newRecord = () => ({
    eventKey: `${++events}`.padStart(64, 'k'),
    entry: { logName: 'l', insertId: `i${events}`, timestamp: 't' },
    instance: LINUX_VM,
    bootCounter: '7',
    eventKind: 'lateBootReportEvent',
    messageIds: [`m${events}`],
    claimedAt: '2026-11-29T00:00:00.000Z',
  });

  it('claims an event once, even when 20 claim at the same time', async () => {
    const record = newRecord();
    const wins = await Promise.all(Array.from({ length: 20 }, () => ledger.claimEvent(record)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await ledger.getEvent(record.eventKey)).toMatchObject({ state: 'processing', attempt: 1 });
    // A timestamp for a TTL policy: 400 days (the default retention) after the claim.
    const doc = await fs.db().collection(names.events).doc(record.eventKey).get();
    expect((doc.get('expiresAt') as Timestamp).toDate().toISOString()).toBe('2028-01-03T00:00:00.000Z');
  });

  it('lets exactly one caller take over each attempt', async () => {
    const record = newRecord();
    expect(await ledger.claimEvent(record)).toBe(true);
    const wins = await Promise.all(Array.from({ length: 10 }, () => ledger.takeOver(record.eventKey, 2, '2026-11-29T01:00:00.000Z')));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // The first claim's time stays: a successor looks up executions started since then.
    expect(await ledger.getEvent(record.eventKey)).toMatchObject({
      attempt: 2,
      claimedAt: '2026-11-29T01:00:00.000Z',
      firstClaimedAt: record.claimedAt,
    });
  });

  it('records deliveries once and completes events', async () => {
    const record = newRecord();
    expect(await ledger.claimEvent(record)).toBe(true);
    const messageId = record.messageIds[0]!;
    expect(await ledger.recordDelivery(messageId, record.eventKey, '2026-11-29T00:00:01.000Z')).toBe(true);
    expect(await ledger.recordDelivery(messageId, record.eventKey, '2026-11-29T00:00:02.000Z')).toBe(false);
    // Kept while Pub/Sub could redeliver the message (31 days), under the hash of its id.
    const delivery = await fs.db().collection(names.deliveries).doc(messageDocId(messageId)).get();
    expect((delivery.get('expiresAt') as Timestamp).toDate().toISOString()).toBe('2026-12-30T00:00:01.000Z');
    await ledger.completeEvent(record.eventKey, { outcome: 'stale', decision: null, executionName: null, completedAt: 'later' });
    expect(await ledger.getEvent(record.eventKey)).toMatchObject({ state: 'done', outcome: 'stale', completedAt: 'later' });
  });
});

describe('FirestoreInstanceState', () => {
  const state = new FirestoreInstanceState(provider, names);
  it('returns the highest boot seen, whatever the order of arrival (numeric, not text, order)', async () => {
    const instance = { ...LINUX_VM, id: '5208419335617043102' };
    expect(await state.latestBoot(instance)).toBeNull();
    expect(await state.recordBoot(instance, '9', 'a')).toBe('9');
    expect(await state.recordBoot(instance, '10', 'b')).toBe('10');
    expect(await state.recordBoot(instance, '8', 'c')).toBe('10');
    expect(await state.recordBoot(instance, '10', 'd')).toBe('10');
    expect(await state.latestBoot(instance)).toBe('10');
  });
});

describe('FirestoreRejectedInputs', () => {
  it('records a rejected input once per id', async () => {
    const rejected = new FirestoreRejectedInputs(provider, names, 30);
    const entry = {
      rejection: { code: 'invalid_json' as const, message: 'bad', field: null },
      context: { messageId: 'm', logName: null, insertId: null, timestamp: null, instanceId: null },
      raw: '{',
      rawBytes: 1,
      truncated: false,
      receivedAt: '2026-11-29T00:00:00.000Z',
    };
    await rejected.record('msg-m', entry);
    await rejected.record('msg-m', { ...entry, receivedAt: '2026-11-29T00:00:05.000Z' });
    const doc = await fs.db().collection(names.rejectedInputs).doc('msg-m').get();
    expect(doc.data()).toMatchObject({ receivedAt: '2026-11-29T00:00:00.000Z' });
    expect((doc.get('expiresAt') as Timestamp).toDate().toISOString()).toBe('2026-12-29T00:00:00.000Z');
  });
});

describe('a document Firestore refuses', () => {
  // Firestore documents are at most 1 MiB (https://cloud.google.com/firestore/quotas#limits); a larger
  // one is INVALID_ARGUMENT (https://cloud.google.com/firestore/docs/understand-error-codes), refused
  // on every retry: a permanent invalid_input, so that ingest records a smaller one and acknowledges.
  it('a rejected-input record over 1 MiB: a permanent invalid_input error, nothing written', async () => {
    const rejected = new FirestoreRejectedInputs(provider, names, 30);
    const entry = {
      rejection: { code: 'unrecognized_envelope' as const, message: 'input is neither a LogEntry…', field: null },
      context: { messageId: '9812273641520099', logName: null, insertId: null, timestamp: null, instanceId: null },
      raw: 'x'.repeat(1024 * 1024 + 1),
      rawBytes: 1024 * 1024 + 1,
      truncated: false,
      receivedAt: '2026-11-29T00:00:00.000Z',
    };
    const refused = await rejected.record('msg-too-large', entry).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(BootwardenError);
    expect(refused).toMatchObject({ code: 'invalid_input', retryable: false });
    expect((await fs.db().collection(names.rejectedInputs).doc('msg-too-large').get()).exists).toBe(false);
    await rejected.record('msg-too-large', { ...entry, raw: '(not kept)', truncated: true });
    expect((await fs.db().collection(names.rejectedInputs).doc('msg-too-large').get()).get('raw')).toBe('(not kept)');
  });
});

describe('FirestoreStopSlots', () => {
  const slots = new FirestoreStopSlots(provider, names.stopSlots);
  const slot = (holder: string) => ({
    holder,
    instance: LINUX_VM,
    fingerprint: 'f'.repeat(64),
    scope: 'fingerprint',
    windowStart: '2026-12-02T13:00:00.000Z',
    claimedAt: '2026-12-02T13:45:10.500Z',
    expiresAt: '2026-12-02T14:00:00.000Z',
  });

  it('takes a slot once and reads the holders of several slots in one call, in the order asked', async () => {
    expect(await slots.create('s-1', slot('event-a'))).toBe(true);
    expect(await slots.create('s-1', slot('event-b'))).toBe(false);
    expect(await slots.create('s-2', slot('event-c'))).toBe(true);
    expect(await slots.holders(['s-2', 'missing', 's-1'])).toEqual(['event-c', null, 'event-a']);
    const stored = await fs.db().collection(names.stopSlots).doc('s-1').get();
    expect({ ...stored.data(), expiresAt: (stored.get('expiresAt') as Timestamp).toDate().toISOString() }).toEqual(slot('event-a'));
  });

  it('50 concurrent claims for one fingerprint: exactly 3 stop, each slot held by one of them', async () => {
    const now = new Date('2026-12-02T13:45:10.500Z');
    const verdicts = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        claimStop(slots, DEFAULT_BLAST_RADIUS, {
          eventKey: `claim-${n}`,
          instance: { ...LINUX_VM, id: String(BigInt(LINUX_VM.id) + BigInt(n)) },
          fingerprint: 'e'.repeat(64),
          now,
        }),
      ),
    );
    expect(verdicts.filter((v) => v.stop)).toHaveLength(3);
    const ids = verdicts.flatMap((v) => (v.stop ? v.slots : []));
    expect(new Set(ids).size).toBe(9);
  });
});

describe('bootwarden baselines --store firestore', () => {
  it('adds, lists and imports against the emulator, and decide finds the baseline', async () => {
    const env = {
      FIRESTORE_EMULATOR_HOST: process.env['FIRESTORE_EMULATOR_HOST'] ?? '',
      GOOGLE_CLOUD_PROJECT: 'demo-bootwarden',
      BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}cli_baselines`,
    };
    const dir = tmp();
    const entry = path.join(dir, 'entry.json');
    writeFileSync(entry, JSON.stringify(failedLateBoot()));
    const added = await bootwarden(['baselines', 'add', '--store', 'firestore', '--from-entry', entry], { env });
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain(`added baseline ${fingerprint(KERNEL_26)}`);
    await fs
      .db()
      .collection(`${fs.prefix}cli_baselines`)
      .doc('baseline1')
      .set(baselineToDocument({ ...newBaseline(KERNEL_25, meta), id: 'baseline1', metadata: null }));
    const imported = await bootwarden(['baselines', 'import', '--json', '--store', 'firestore'], { env });
    expect(jsonLines(imported.stdout)).toMatchObject([{ from: 'baseline1', to: fingerprint(KERNEL_25), outcome: 'rekeyed' }]);
    const list = await bootwarden(['baselines', 'list', '--json', '--store', 'firestore'], { env });
    expect(jsonLines(list.stdout).map((r) => r['id'])).toEqual([fingerprint(KERNEL_25), fingerprint(KERNEL_26)].sort());
    const decided = await bootwarden(['decide', '--json', '--store', 'firestore', entry], { env });
    expect(jsonLines(decided.stdout)).toMatchObject([{ action: 'relearn', baseline: fingerprint(KERNEL_26) }]);
  });

  it('says what is missing without GOOGLE_CLOUD_PROJECT', async () => {
    const r = await bootwarden(['baselines', 'list', '--store', 'firestore']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('bootwarden: --store firestore needs GOOGLE_CLOUD_PROJECT (the project of the Firestore database)\n');
  });
});
