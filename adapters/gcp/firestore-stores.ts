/**
 * Firestore implementations of the ports: baselines (`known_good_measurements`), the event ledger,
 * per-instance state, rejected inputs and the blast-radius guard's stop slots. Every claim is a
 * create-once document; documents are only updated by the owner of their claim, so nothing
 * depends on transaction isolation.
 */
import type { DocumentSnapshot, Query } from '@google-cloud/firestore';
import { baselineFromDocument, baselineToDocument, METADATA_FIELD, type Baseline } from '../../core/baseline.js';
import { isJsonObject, type JsonValue } from '../../core/json.js';
import { bootOrder, eventsCollection, instancesCollection, instanceStateId, messageDocId } from '../../core/contracts.js';
import type { InstanceRef } from '../../core/event.js';
import type { Measurement } from '../../core/measurements.js';
import { relearnRecordFrom, type RelearnRecord } from '../../core/relearn-check.js';
import type { BaselineStore, StoredBaseline } from '../../core/ports/baseline-store.port.js';
import type {
  AwaitingDecision,
  CounterAnomaly,
  EventLedger,
  EventRecord,
  InstanceStateStore,
  JoinedEvent,
  NewEventRecord,
  RejectedInputStore,
} from '../../core/ports/event-ledger.port.js';
import type { StopSlot, StopSlotStore } from '../../core/ports/stop-slots.port.js';
import { approvalCollections } from './firestore-approval-store.js';
import { firestoreError, grpcCode, isAlreadyExists, isNotFound, type FirestoreProvider } from './firestore-client.js';

/** Collection names, from configuration. */
export interface CollectionNames {
  readonly prefix: string;
  readonly baselines: string;
  readonly events: string;
  readonly deliveries: string;
  readonly instances: string;
  readonly rejectedInputs: string;
  readonly stopSlots: string;
}

/**
 * How long bootwarden's records are kept: each carries `expiresAt` (a timestamp) for a Firestore
 * TTL policy (docs/deploy.md). Events (with the workflow's audit record) and rejected inputs are
 * kept for the configured days; a delivery only while Pub/Sub could still redeliver its message
 * (31 days, Pub/Sub's longest retention).
 */
export const DEFAULT_RETENTION_DAYS = 400;
export const DELIVERY_RETENTION_DAYS = 31;

function expiry(from: string, days: number): Date {
  return new Date(Date.parse(from) + days * 86_400_000);
}

export function collectionNames(prefix: string, baselines = 'known_good_measurements'): CollectionNames {
  return {
    prefix,
    baselines,
    events: eventsCollection(prefix),
    deliveries: `${prefix}deliveries`,
    instances: instancesCollection(prefix),
    rejectedInputs: `${prefix}rejected_inputs`,
    stopSlots: `${prefix}stop_slots`,
  };
}

/** Firestore values that are not JSON (timestamps, bytes, references) as JSON, so documents made by hand stay readable. */
function toJson(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown> & { toDate?: () => Date; path?: string; latitude?: number; toBase64?: () => string };
    if (typeof o.toDate === 'function') return o.toDate().toISOString();
    if (typeof o.toBase64 === 'function') return o.toBase64();
    if (Buffer.isBuffer(v)) return v.toString('base64');
    if (typeof o.path === 'string' && 'firestore' in o) return o.path;
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(o)) out[k] = toJson(x);
    return out;
  }
  return typeof v === 'bigint' ? v.toString() : null;
}

function stored(snap: DocumentSnapshot): StoredBaseline {
  const parsed = baselineFromDocument(snap.id, toJson(snap.data() ?? {}));
  return parsed.ok ? { id: snap.id, baseline: parsed.baseline } : { id: snap.id, invalid: parsed.rejection };
}

export class FirestoreBaselineStore implements BaselineStore {
  constructor(
    private readonly db: FirestoreProvider,
    readonly collection: string,
  ) {}

  async get(id: string): Promise<StoredBaseline | null> {
    try {
      const snap = await (await this.db()).collection(this.collection).doc(id).get();
      return snap.exists ? stored(snap) : null;
    } catch (e) {
      throw firestoreError(`read baseline ${this.collection}/${id}`, e);
    }
  }

  async *list(): AsyncIterable<StoredBaseline> {
    const col = (await this.db()).collection(this.collection);
    const pageSize = 300;
    let last: DocumentSnapshot | null = null;
    for (;;) {
      let q = col.orderBy('__name__').limit(pageSize);
      if (last !== null) q = q.startAfter(last);
      let docs;
      try {
        docs = (await q.get()).docs;
      } catch (e) {
        throw firestoreError(`list ${this.collection}`, e);
      }
      const first = docs[0];
      if (last !== null && first !== undefined && first.id <= last.id) {
        // The npm emulator ignores cursors: never loop over the same page forever.
        throw firestoreError(
          `list ${this.collection}`,
          new Error('the database ignored the page cursor (an emulator without cursor support?)'),
        );
      }
      for (const d of docs) yield stored(d);
      if (docs.length < pageSize) return;
      last = docs[docs.length - 1] ?? null;
    }
  }

  /** Why the database cannot serve the look-up by PCR values (the npm emulator), once it said so. */
  contentLookupUnsupported: string | null = null;

  /**
   * Documents holding these PCR values under any id: one query of equality filters on the
   * `PCR_n.value` fields, which Firestore serves from its single-field indexes (no composite index).
   * The npm Firestore emulator implements neither nested fields nor several filters in a query:
   * there the look-up finds nothing and `contentLookupUnsupported` says why (the local stack prints
   * it); gcloud's emulator and Firestore serve it.
   */
  async withMeasurements(measurements: readonly Measurement[]): Promise<StoredBaseline[]> {
    if (measurements.length === 0 || this.contentLookupUnsupported !== null) return [];
    try {
      let q: Query = (await this.db()).collection(this.collection);
      for (const m of measurements) q = q.where(`${m.pcrNum}.value`, '==', m.value);
      return (await q.limit(10).get()).docs.map(stored);
    } catch (e) {
      if (isNotImplemented(e)) {
        this.contentLookupUnsupported = `this Firestore cannot query ${this.collection} by PCR values (${e instanceof Error ? e.message : String(e)})`;
        return [];
      }
      throw firestoreError(`look up baselines of ${this.collection} by their PCR values`, e);
    }
  }

  /** The most recently added baselines (by bootwarden's `addedAt`); documents without it are not listed. */
  async recent(limit: number): Promise<StoredBaseline[]> {
    try {
      const q = (await this.db()).collection(this.collection).orderBy(`${METADATA_FIELD}.addedAt`, 'desc').limit(limit);
      return (await q.get()).docs.map(stored);
    } catch (e) {
      throw firestoreError(`list recent baselines of ${this.collection}`, e);
    }
  }

  async create(baseline: Baseline): Promise<boolean> {
    const ref = (await this.db()).collection(this.collection).doc(baseline.id);
    return createOnce(`create baseline ${this.collection}/${baseline.id}`, () => ref.create(baselineToDocument(baseline)));
  }

  async save(baseline: Baseline): Promise<void> {
    try {
      await (await this.db()).collection(this.collection).doc(baseline.id).set(baselineToDocument(baseline));
    } catch (e) {
      throw firestoreError(`write baseline ${this.collection}/${baseline.id}`, e);
    }
  }

  async remove(id: string): Promise<boolean> {
    try {
      const ref = (await this.db()).collection(this.collection).doc(id);
      await ref.delete({ exists: true });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw firestoreError(`delete baseline ${this.collection}/${id}`, e);
    }
  }
}

async function createOnce(what: string, create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw firestoreError(what, e);
  }
}

export class FirestoreEventLedger implements EventLedger {
  constructor(
    private readonly db: FirestoreProvider,
    private readonly names: CollectionNames,
    private readonly retentionDays = DEFAULT_RETENTION_DAYS,
  ) {}

  async recordDelivery(messageId: string, eventKey: string, receivedAt: string): Promise<boolean> {
    const ref = (await this.db()).collection(this.names.deliveries).doc(messageDocId(messageId));
    const expiresAt = expiry(receivedAt, DELIVERY_RETENTION_DAYS);
    return createOnce(`record delivery ${messageId}`, () => ref.create({ messageId, eventKey, receivedAt, expiresAt }));
  }

  async claimEvent(record: NewEventRecord): Promise<boolean> {
    const ref = (await this.db()).collection(this.names.events).doc(record.eventKey);
    const doc: EventRecord = {
      ...record,
      attempt: 1,
      firstClaimedAt: record.claimedAt,
      state: 'processing',
      outcome: null,
      decision: null,
      executionName: null,
      completedAt: null,
    };
    const expiresAt = expiry(record.claimedAt, this.retentionDays);
    return createOnce(`claim event ${record.eventKey}`, () => ref.create({ ...doc, expiresAt }));
  }

  async takeOver(eventKey: string, attempt: number, claimedAt: string): Promise<boolean> {
    const ref = (await this.db()).collection(this.names.events).doc(eventKey);
    const won = await createOnce(`take over event ${eventKey}`, () =>
      ref.collection('attempts').doc(String(attempt)).create({ attempt, claimedAt }),
    );
    if (won) {
      try {
        await ref.update({ attempt, claimedAt });
      } catch (e) {
        throw firestoreError(`take over event ${eventKey}`, e);
      }
    }
    return won;
  }

  async getEvent(eventKey: string): Promise<EventRecord | null> {
    try {
      const snap = await (await this.db()).collection(this.names.events).doc(eventKey).get();
      return snap.exists ? (toJson(snap.data()) as unknown as EventRecord) : null;
    } catch (e) {
      throw firestoreError(`read event ${eventKey}`, e);
    }
  }

  async recordJoined(eventKey: string, joined: JoinedEvent): Promise<void> {
    const ref = (await this.db()).collection(this.names.events).doc(eventKey).collection('joined_events').doc(joined.eventKey);
    await createOnce(`record event ${joined.eventKey} in the audit trail of event ${eventKey}`, () =>
      ref.create({ ...joined, expiresAt: expiry(joined.at, this.retentionDays) }),
    );
  }

  async completeEvent(eventKey: string, result: Parameters<EventLedger['completeEvent']>[1]): Promise<void> {
    try {
      await (
        await this.db()
      )
        .collection(this.names.events)
        .doc(eventKey)
        .update({
          state: 'done',
          ...result,
          ...(result.counterAnomaly === undefined ? {} : { counterAnomaly: { ...result.counterAnomaly } }),
        });
    } catch (e) {
      throw firestoreError(`record the outcome of event ${eventKey}`, e);
    }
  }
}

/** What `overview` gives an operator. */
export interface InstanceOverview {
  readonly lastDecision: { readonly action: string; readonly reasonCode: string; readonly at: string } | null;
  readonly latestBoot: { readonly bootCounter: string; readonly seenAt: string } | null;
  readonly relearned: { readonly fingerprint: string; readonly at: string } | null;
  readonly awaiting: AwaitingDecision | null;
}

export class FirestoreInstanceState implements InstanceStateStore {
  constructor(
    private readonly db: FirestoreProvider,
    private readonly names: CollectionNames,
  ) {}

  async recordBoot(instance: InstanceRef, bootCounter: string, seenAt: string): Promise<string> {
    const boots = (await this.db()).collection(this.names.instances).doc(instanceStateId(instance)).collection('boots');
    // Boots are create-once documents ordered by a zero-padded counter: the highest is the latest,
    // however deliveries interleave.
    const order = bootOrder(bootCounter);
    await createOnce(`record boot ${bootCounter} of ${instanceStateId(instance)}`, () =>
      boots.doc(order).create({ bootCounter, order, seenAt }),
    );
    return (await this.latestBoot(instance)) ?? bootCounter;
  }

  async latestBoot(instance: InstanceRef): Promise<string | null> {
    try {
      const boots = (await this.db()).collection(this.names.instances).doc(instanceStateId(instance)).collection('boots');
      const latest = await boots.orderBy('order', 'desc').limit(1).get();
      const data = latest.docs[0]?.data() as { bootCounter?: unknown } | undefined;
      return typeof data?.bootCounter === 'string' ? data.bootCounter : null;
    } catch (e) {
      throw firestoreError(`read the latest boot of ${instanceStateId(instance)}`, e);
    }
  }

  /** A field the workflow writes on the instance's state document, as JSON (null when absent). */
  private async stateField(instance: InstanceRef, field: 'relearned' | 'awaiting'): Promise<JsonValue> {
    try {
      const snap = await (await this.db()).collection(this.names.instances).doc(instanceStateId(instance)).get();
      return snap.exists ? toJson(snap.get(field)) : null;
    } catch (e) {
      throw firestoreError(`read ${field} of ${instanceStateId(instance)}`, e);
    }
  }

  async relearnRecord(instance: InstanceRef): Promise<RelearnRecord | string | null> {
    return relearnRecordFrom(await this.stateField(instance, 'relearned'));
  }

  async awaitingDecision(instance: InstanceRef, now: Date): Promise<AwaitingDecision | null> {
    const a = await this.stateField(instance, 'awaiting');
    if (!isJsonObject(a)) return null;
    const { execution, eventKey, groupId, until } = a;
    if (typeof execution !== 'string' || typeof eventKey !== 'string' || typeof groupId !== 'string' || typeof until !== 'string')
      return null;
    // Both name documents: only the shapes the workflow writes (an event key, a group id) are used.
    if (!(Date.parse(until) > now.getTime()) || !/^[A-Za-z0-9_-]{1,128}$/.test(groupId) || !/^[0-9a-f]{64}$/.test(eventKey)) return null;
    try {
      const decided = await (await this.db()).collection(approvalCollections(this.names.prefix).decisions).doc(groupId).get();
      return decided.exists ? null : { execution, eventKey, groupId, until };
    } catch (e) {
      throw firestoreError(`read whether approval group ${groupId} of ${instanceStateId(instance)} is decided`, e);
    }
  }

  /**
   * What an operator reads of a VM (`bootwarden instances`, `relearn`): its last decision, the
   * latest boot seen (counter and when), whether a relearn is on record and whether operators are
   * being asked. Null when bootwarden has never seen the VM.
   */
  async overview(instance: InstanceRef, now: Date): Promise<InstanceOverview | null> {
    const id = instanceStateId(instance);
    try {
      const ref = (await this.db()).collection(this.names.instances).doc(id);
      const [snap, boots] = await Promise.all([ref.get(), ref.collection('boots').orderBy('order', 'desc').limit(1).get()]);
      const boot = boots.docs[0]?.data() as { bootCounter?: unknown; seenAt?: unknown } | undefined;
      if (!snap.exists && boot === undefined) return null;
      const last = toJson(snap.get('lastDecision'));
      const relearned = relearnRecordFrom(toJson(snap.get('relearned')));
      return {
        lastDecision:
          isJsonObject(last) && typeof last['action'] === 'string' && typeof last['at'] === 'string'
            ? { action: last['action'], reasonCode: typeof last['reasonCode'] === 'string' ? last['reasonCode'] : '', at: last['at'] }
            : null,
        latestBoot:
          typeof boot?.bootCounter === 'string' && typeof boot.seenAt === 'string'
            ? { bootCounter: boot.bootCounter, seenAt: boot.seenAt }
            : null,
        relearned: relearned !== null && typeof relearned !== 'string' ? { fingerprint: relearned.fingerprint, at: relearned.at } : null,
        awaiting: await this.awaitingDecision(instance, now),
      };
    } catch (e) {
      throw firestoreError(`read the state of ${id}`, e);
    }
  }

  /**
   * An operator's relearn (`bootwarden relearn`): recorded on the VM's state, and the workflow's
   * relearn record removed, since the policy is no longer the measurements it names (the next
   * passing boot is then not compared with them).
   */
  async recordManualRelearn(
    instance: InstanceRef,
    record: { by: string; at: string; bootCounter: string; requestId: string },
  ): Promise<void> {
    try {
      const { FieldValue } = await import('@google-cloud/firestore');
      await (
        await this.db()
      )
        .collection(this.names.instances)
        .doc(instanceStateId(instance))
        .set({ instance: { ...instance }, manualRelearn: record, relearned: FieldValue.delete() }, { merge: true });
    } catch (e) {
      throw firestoreError(`record the relearn of ${instanceStateId(instance)}`, e);
    }
  }

  async recordCounterAnomaly(instance: InstanceRef, anomaly: CounterAnomaly): Promise<void> {
    try {
      await (
        await this.db()
      )
        .collection(this.names.instances)
        .doc(instanceStateId(instance))
        .set({ instance: { ...instance }, counterAnomaly: { ...anomaly } }, { merge: true });
    } catch (e) {
      throw firestoreError(`record the counter anomaly of ${instanceStateId(instance)}`, e);
    }
  }

  async recordDecision(
    instance: InstanceRef,
    summary: { eventKey: string; bootCounter: string | null; action: string; reasonCode: string; executionName: string | null; at: string },
  ): Promise<void> {
    try {
      await (
        await this.db()
      )
        .collection(this.names.instances)
        .doc(instanceStateId(instance))
        .set({ instance: { ...instance }, lastDecision: summary, updatedAt: summary.at }, { merge: true });
    } catch (e) {
      throw firestoreError(`record the last decision of ${instanceStateId(instance)}`, e);
    }
  }
}

export class FirestoreRejectedInputs implements RejectedInputStore {
  constructor(
    private readonly db: FirestoreProvider,
    private readonly names: CollectionNames,
    private readonly retentionDays = DEFAULT_RETENTION_DAYS,
  ) {}

  async record(id: string, entry: Parameters<RejectedInputStore['record']>[1]): Promise<void> {
    const ref = (await this.db()).collection(this.names.rejectedInputs).doc(id);
    await createOnce(`record rejected input ${id}`, () =>
      ref.create({
        ...entry,
        rejection: { ...entry.rejection },
        context: { ...entry.context },
        expiresAt: expiry(entry.receivedAt, this.retentionDays),
      }),
    );
  }
}

/** The blast-radius guard's slots: one getAll for a scope's slots, create-once to take one. */
export class FirestoreStopSlots implements StopSlotStore {
  constructor(
    private readonly db: FirestoreProvider,
    private readonly collection: string,
  ) {}

  async holders(ids: readonly string[]): Promise<(string | null)[]> {
    try {
      const db = await this.db();
      const snaps = await db.getAll(...ids.map((id) => db.collection(this.collection).doc(id)));
      const byId = new Map(snaps.map((s) => [s.id, s.exists ? String(s.get('holder')) : null]));
      return ids.map((id) => byId.get(id) ?? null);
    } catch (e) {
      throw firestoreError(`read stop slots of ${this.collection}`, e);
    }
  }

  async create(id: string, slot: StopSlot): Promise<boolean> {
    const ref = (await this.db()).collection(this.collection).doc(id);
    // A timestamp, as a TTL policy needs: the slot is of no use after its window.
    const expiresAt = new Date(slot.expiresAt);
    return createOnce(`take stop slot ${this.collection}/${id}`, () => ref.create({ ...slot, instance: { ...slot.instance }, expiresAt }));
  }
}

/** UNIMPLEMENTED, or the npm emulator's UNKNOWN "Not implemented": the database lacks the feature (not an outage). */
function isNotImplemented(e: unknown): boolean {
  const code = grpcCode(e);
  return code === 12 || (code === 2 && e instanceof Error && /Not implemented/.test(e.message));
}
