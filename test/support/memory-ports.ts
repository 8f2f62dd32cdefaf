/** In-memory fakes of the ingest ports that record what they were asked. */
import type { Baseline } from '../../core/baseline.js';
import { fingerprint, sameMeasurements, type Measurement } from '../../core/measurements.js';
import { BootwardenError } from '../../core/errors.js';
import type { ResponseArgument } from '../../core/contracts.js';
import type { InstanceRef } from '../../core/event.js';
import type { JsonValue } from '../../core/json.js';
import { relearnRecordFrom } from '../../core/relearn-check.js';
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
import type { ExecutionStarter, StartedExecution } from '../../core/ports/execution-starter.port.js';
import type { Logger } from '../../core/ports/logger.port.js';
import type { IngestSettings } from '../../core/ingest.js';
import { DEFAULT_BLAST_RADIUS, MemoryStopSlots } from '../../core/blast-radius.js';

/** Ingest settings for tests: the defaults, a short poll, the default collection names. */
export const INGEST_SETTINGS: IngestSettings = {
  dryRun: false,
  stopOnEarlyBootFailure: false,
  allowedProjects: null,
  sourceTopic: null,
  claimLeaseMs: 60_000,
  waitForOwnerMs: 1_000,
  pollMs: 100,
  collections: { prefix: 'bootwarden_', baselines: 'known_good_measurements' },
  blastRadius: DEFAULT_BLAST_RADIUS,
  maxBootCounterJump: 100,
};

export class MemoryBaselines implements BaselineStore {
  readonly gets: string[] = [];
  readonly docs = new Map<string, StoredBaseline>();
  constructor(...baselines: Baseline[]) {
    for (const b of baselines) this.docs.set(b.id, { id: b.id, baseline: b });
  }
  get(id: string) {
    this.gets.push(id);
    return Promise.resolve(this.docs.get(id) ?? null);
  }
  /** Look-ups by content, each recorded as the fingerprint of what was asked. */
  readonly contentLookups: string[] = [];
  withMeasurements(ms: readonly Measurement[]) {
    this.contentLookups.push(fingerprint(ms));
    return Promise.resolve([...this.docs.values()].filter((d) => 'baseline' in d && sameMeasurements(ms, d.baseline.measurements)));
  }
  async *list(): AsyncIterable<StoredBaseline> {
    yield* await Promise.resolve([...this.docs.values()]);
  }
  create(b: Baseline) {
    if (this.docs.has(b.id)) return Promise.resolve(false);
    this.docs.set(b.id, { id: b.id, baseline: b });
    return Promise.resolve(true);
  }
  save(b: Baseline) {
    this.docs.set(b.id, { id: b.id, baseline: b });
    return Promise.resolve();
  }
  remove(id: string) {
    return Promise.resolve(this.docs.delete(id));
  }
}

export class MemoryLedger implements EventLedger {
  readonly deliveries = new Map<string, string>();
  readonly events = new Map<string, EventRecord>();
  readonly attempts = new Set<string>();
  /** Set to make every call fail as if the database were down. */
  down = false;
  private check(): void {
    if (this.down) throw new BootwardenError('store_unavailable', 'ledger down (test)', { retryable: true });
  }
  recordDelivery(messageId: string, eventKey: string) {
    this.check();
    if (this.deliveries.has(messageId)) return Promise.resolve(false);
    this.deliveries.set(messageId, eventKey);
    return Promise.resolve(true);
  }
  claimEvent(r: NewEventRecord) {
    this.check();
    if (this.events.has(r.eventKey)) return Promise.resolve(false);
    this.events.set(r.eventKey, {
      ...r,
      attempt: 1,
      firstClaimedAt: r.claimedAt,
      state: 'processing',
      outcome: null,
      decision: null,
      executionName: null,
      completedAt: null,
    });
    return Promise.resolve(true);
  }
  takeOver(eventKey: string, attempt: number, claimedAt: string) {
    this.check();
    const key = `${eventKey}/${attempt}`;
    if (this.attempts.has(key)) return Promise.resolve(false);
    this.attempts.add(key);
    const e = this.events.get(eventKey);
    if (e !== undefined) this.events.set(eventKey, { ...e, attempt, claimedAt });
    return Promise.resolve(true);
  }
  getEvent(eventKey: string) {
    this.check();
    return Promise.resolve(this.events.get(eventKey) ?? null);
  }
  /** Events recorded into a waiting event's audit trail: waiting event key → joined events. */
  readonly joined = new Map<string, JoinedEvent[]>();
  recordJoined(eventKey: string, joined: JoinedEvent) {
    this.check();
    const list = this.joined.get(eventKey) ?? [];
    if (!list.some((j) => j.eventKey === joined.eventKey)) list.push(joined);
    this.joined.set(eventKey, list);
    return Promise.resolve();
  }
  completeEvent(eventKey: string, result: Parameters<EventLedger['completeEvent']>[1]) {
    this.check();
    const e = this.events.get(eventKey);
    if (e === undefined) throw new Error(`complete of unknown event ${eventKey}`);
    this.events.set(eventKey, { ...e, ...result, state: 'done' });
    return Promise.resolve();
  }
}

export class MemoryInstances implements InstanceStateStore {
  readonly boots = new Map<string, Set<string>>();
  readonly decisions: { instance: InstanceRef; summary: Parameters<InstanceStateStore['recordDecision']>[1] }[] = [];
  recordBoot(instance: InstanceRef, bootCounter: string) {
    const key = `${instance.project}/${instance.zone}/${instance.id}`;
    const set = this.boots.get(key) ?? new Set<string>();
    set.add(bootCounter);
    this.boots.set(key, set);
    return Promise.resolve([...set].reduce((a, b) => (BigInt(a) >= BigInt(b) ? a : b)));
  }
  latestBoot(instance: InstanceRef) {
    const set = this.boots.get(`${instance.project}/${instance.zone}/${instance.id}`);
    return Promise.resolve(set === undefined ? null : [...set].reduce((a, b) => (BigInt(a) >= BigInt(b) ? a : b)));
  }
  /** What the workflow wrote after its relearns, by instance (`project/zone/id`), as Firestore holds it. */
  readonly relearned = new Map<string, JsonValue>();
  relearnRecords = 0;
  /** The workflow's `awaiting` marks, by instance (`project/zone/id`); decided group ids. */
  readonly awaiting = new Map<string, AwaitingDecision>();
  readonly decidedGroups = new Set<string>();
  awaitingReads = 0;
  awaitingDecision(instance: InstanceRef, now: Date) {
    this.awaitingReads++;
    const a = this.awaiting.get(`${instance.project}/${instance.zone}/${instance.id}`);
    return Promise.resolve(a === undefined || Date.parse(a.until) <= now.getTime() || this.decidedGroups.has(a.groupId) ? null : a);
  }
  relearnRecord(instance: InstanceRef) {
    this.relearnRecords++;
    return Promise.resolve(relearnRecordFrom(this.relearned.get(`${instance.project}/${instance.zone}/${instance.id}`)));
  }
  readonly anomalies: { instance: InstanceRef; anomaly: CounterAnomaly }[] = [];
  recordCounterAnomaly(instance: InstanceRef, anomaly: CounterAnomaly) {
    this.anomalies.push({ instance, anomaly });
    return Promise.resolve();
  }
  recordDecision(instance: InstanceRef, summary: Parameters<InstanceStateStore['recordDecision']>[1]) {
    this.decisions.push({ instance, summary });
    return Promise.resolve();
  }
}

export class MemoryRejected implements RejectedInputStore {
  readonly records = new Map<string, Parameters<RejectedInputStore['record']>[1]>();
  /**
   * A record whose JSON is larger than this is refused as the Firestore adapter refuses a document
   * Firestore answers INVALID_ARGUMENT to (over 1 MiB there): a permanent invalid_input.
   */
  maxRecordBytes = Number.POSITIVE_INFINITY;
  record(id: string, entry: Parameters<RejectedInputStore['record']>[1]) {
    if (Buffer.byteLength(JSON.stringify(entry)) > this.maxRecordBytes)
      return Promise.reject(new BootwardenError('invalid_input', `Firestore refused to record rejected input ${id}: Document too large`));
    if (!this.records.has(id)) this.records.set(id, entry);
    return Promise.resolve();
  }
}

export class RecordingStarter implements ExecutionStarter {
  readonly started: { name: string; argument: ResponseArgument; labels: Record<string, string> }[] = [];
  readonly lookups: { label: string; startedSince: string }[] = [];
  failNext: BootwardenError | null = null;
  start(argument: ResponseArgument, labels: Readonly<Record<string, string>>): Promise<StartedExecution> {
    if (this.failNext !== null) {
      const e = this.failNext;
      this.failNext = null;
      return Promise.reject(e);
    }
    const name = `projects/p/locations/l/workflows/w/executions/${this.started.length + 1}`;
    this.started.push({ name, argument, labels: { ...labels } });
    return Promise.resolve({ name });
  }
  findByEventKey(label: string, startedSince: string) {
    this.lookups.push({ label, startedSince });
    const hit = this.started.find((s) => s.labels['event'] === label);
    return Promise.resolve(hit === undefined ? null : { name: hit.name });
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { severity: string; message: string; fields: Record<string, unknown> }[] = [];
  private add =
    (severity: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void this.lines.push({ severity, message, fields });
  debug = this.add('DEBUG');
  info = this.add('INFO');
  warn = this.add('WARNING');
  error = this.add('ERROR');
}

/** The stores and the starter of ingest, empty but for `known` baselines. */
export function memoryPorts(...known: Baseline[]) {
  return {
    baselines: new MemoryBaselines(...known),
    ledger: new MemoryLedger(),
    instances: new MemoryInstances(),
    rejected: new MemoryRejected(),
    starter: new RecordingStarter(),
    stopSlots: new MemoryStopSlots(),
  };
}
