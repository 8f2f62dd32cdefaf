/**
 * Message contracts shared by every entry point: the argument of the response workflow, its
 * execution labels, the event key and the Compute requestId. Defined once; the function writes
 * them and the workflow (and later the Slack app) read them.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { baselineToDocument, METADATA_FIELD, newBaseline } from './baseline.js';
import type { Decision } from './decide.js';
import { BootwardenError } from './errors.js';
import { isBootReport, type EntryIdentity, type InstanceRef, type IntegrityEvent } from './event.js';
import { toFirestoreFields, type FirestoreValue } from './firestore-rest.js';
import type { Measurement } from './measurements.js';

export const RESPONSE_ARGUMENT_VERSION = 1;
/** Cloud Workflows refuses an execution argument over 32 KB. */
/** The response workflow's id: deployed as workflows/integrity-response.workflows.yaml (cloudbuild.yaml). */
export const RESPONSE_WORKFLOW_ID = 'integrity-response';

export const MAX_ARGUMENT_BYTES = 32 * 1024;

export interface ResponseArgument {
  readonly version: typeof RESPONSE_ARGUMENT_VERSION;
  /** Hex SHA-256 of the log entry identity: the key of the event ledger. */
  readonly eventKey: string;
  readonly entry: EntryIdentity;
  /**
   * The entry's time with at most six fraction digits: Cloud Logging writes nanoseconds, and the
   * workflow's time.parse reads RFC 3339 "with up to a microsecond precision".
   */
  readonly reportedAt: string;
  readonly messageId: string | null;
  readonly instance: InstanceRef;
  readonly bootCounter: string | null;
  readonly eventKind: string;
  readonly decision: {
    readonly action: Decision['action'];
    readonly intendedAction: Decision['intendedAction'];
    readonly reasonCode: Decision['reasonCode'];
    readonly reason: string;
    readonly dryRun: boolean;
  };
  readonly fingerprint: string | null;
  readonly baselineId: string | null;
  readonly diff: {
    readonly changed: readonly { pcrNum: string; from: Measurement; to: Measurement }[];
    readonly added: readonly Measurement[];
    readonly removed: readonly Measurement[];
  } | null;
  /** Deterministic UUID for Compute's `requestId`: a retried or duplicated call is deduplicated by Compute. */
  readonly requestId: string;
  /** The `requestId` of the `instances.start` after an approval (another UUID: Compute dedupes per id). */
  readonly startRequestId: string;
  /**
   * The collections the function used. The workflow never takes a document's place from the
   * argument: it builds every path from its own configuration (the same two variables) and
   * refuses to run when this differs from it.
   */
  readonly collections: ResponseCollections;
  /**
   * `bootOrder(bootCounter + 1)`: the boot document (under the VM's state in `<prefix>instances`)
   * whose existence means the VM has booted again and this event is stale. Null without a bootCounter.
   */
  readonly nextBoot: string | null;
  /**
   * The reported PCRs as a baseline document stores them (Firestore REST fields,
   * `PCR_n: {hashAlgo, pcrNum, value}`): a relearn requires the baseline it re-reads to hold
   * exactly these, and an approval promotes exactly these. Empty for an event without a report.
   */
  readonly pcrFields: Record<string, FirestoreValue>;
  /**
   * bootwarden's metadata for the baseline an approval promotes (the `bootwarden` field, REST-encoded;
   * the workflow fills `addedBy` and `addedAt`), under the document id `fingerprint` in the
   * configured baseline collection. Null when there is nothing to promote.
   */
  readonly promotion: { readonly metadata: FirestoreValue } | null;
  readonly decidedAt: string;
  /**
   * The blast-radius guard's slots this event holds (`<prefix>stop_slots/<id>`,
   * core/blast-radius.ts): the workflow releases them when Compute has no such VM (stop_skipped).
   */
  readonly stopSlots: readonly string[];
}

/**
 * Where baselines and bootwarden's own documents live (BOOTWARDEN_BASELINE_COLLECTION and
 * BOOTWARDEN_COLLECTION_PREFIX): the function and the response workflow are configured alike.
 */
export interface ResponseCollections {
  readonly prefix: string;
  readonly baselines: string;
}

/** The event ledger's collection: the workflow writes its audit record to `<events>/<eventKey>`. */
export function eventsCollection(prefix: string): string {
  return `${prefix}events`;
}

/** Per-instance state: `<instances>/<instanceStateId>`, its boots under `/boots/<bootOrder>`. */
export function instancesCollection(prefix: string): string {
  return `${prefix}instances`;
}

/** The per-instance state document id: `project:zone:instanceId`. */
export function instanceStateId(i: InstanceRef): string {
  return `${i.project}:${i.zone}:${i.id}`;
}

/** Boot documents are ordered by their counter, zero-padded to the 20 digits of an int64. */
export function bootOrder(bootCounter: string): string {
  return bootCounter.padStart(20, '0');
}

export function eventKeyOf(entry: EntryIdentity): string {
  return createHash('sha256').update(`${entry.logName}\n${entry.insertId}\n${entry.timestamp}`).digest('hex');
}

/**
 * The document id for a Pub/Sub message id: its hex SHA-256. A message id is written by whoever
 * posts to the function; used raw as a document id, a `/` in it would name another collection.
 */
export function messageDocId(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex');
}

/** A UUID (version 8, RFC 9562 "custom") derived from the event key and the action: stable across retries. */
export function computeRequestId(eventKey: string, action: string): string {
  const b = createHash('sha256').update(`bootwarden-request\n${eventKey}\n${action}`).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Label values: lowercase letters, digits, `_` and `-`, at most 63 characters. */
function labelValue(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

/** The label that ties an execution to its event (label values are capped at 63 characters). */
export function eventKeyLabel(eventKey: string): string {
  return eventKey.slice(0, 63);
}

export function executionLabels(arg: ResponseArgument): Record<string, string> {
  const labels: Record<string, string> = {
    app: 'bootwarden',
    event: eventKeyLabel(arg.eventKey),
    'instance-id': labelValue(arg.instance.id),
    action: labelValue(arg.decision.action === 'notify' ? `notify-${arg.decision.intendedAction ?? ''}` : arg.decision.action),
  };
  if (arg.fingerprint !== null) labels['fingerprint'] = arg.fingerprint.slice(0, 16);
  return labels;
}

/** An RFC 3339 time with its fraction cut to six digits (truncated: never later than the original). */
export function toMicroseconds(timestamp: string): string {
  return timestamp.replace(/(\.[0-9]{6})[0-9]+/, '$1');
}

export function responseArgument(
  event: IntegrityEvent,
  decision: Decision,
  opts: { eventKey: string; decidedAt: string; collections: ResponseCollections },
): ResponseArgument {
  const report = isBootReport(event) ? event.report : null;
  const sourceEntry = { ...event.entry, instanceId: event.instance.id };
  const promotable = report !== null && event.kind === 'lateBootReportEvent' && decision.baselineId === null;
  const { [METADATA_FIELD]: metadata, ...pcrs } =
    report === null
      ? {}
      : toFirestoreFields(
          baselineToDocument(newBaseline(report.actualMeasurements, { addedBy: '', addedAt: '', sourceEntry, note: null })),
        );
  return {
    version: RESPONSE_ARGUMENT_VERSION,
    eventKey: opts.eventKey,
    entry: { ...event.entry },
    reportedAt: toMicroseconds(event.entry.timestamp),
    messageId: event.delivery?.messageId ?? null,
    instance: { ...event.instance },
    bootCounter: event.bootCounter,
    eventKind: event.kind,
    decision: {
      action: decision.action,
      intendedAction: decision.intendedAction,
      reasonCode: decision.reasonCode,
      reason: decision.reason,
      dryRun: decision.dryRun,
    },
    fingerprint: decision.fingerprint,
    baselineId: decision.baselineId,
    diff: decision.diff === null ? null : { changed: decision.diff.changed, added: decision.diff.added, removed: decision.diff.removed },
    requestId: computeRequestId(opts.eventKey, decision.intendedAction ?? decision.action),
    startRequestId: computeRequestId(opts.eventKey, 'start'),
    collections: { prefix: opts.collections.prefix, baselines: opts.collections.baselines },
    nextBoot: event.bootCounter === null ? null : bootOrder((BigInt(event.bootCounter) + 1n).toString()),
    pcrFields: pcrs,
    promotion: promotable && metadata !== undefined ? { metadata } : null,
    decidedAt: opts.decidedAt,
    stopSlots: [...(decision.stopSlots ?? [])],
  };
}

/** The argument as Workflows receives it (a JSON string), checked against the 32 KB limit. */
export function encodeArgument(arg: ResponseArgument): string {
  const text = JSON.stringify(arg);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_ARGUMENT_BYTES) {
    throw new BootwardenError(
      'invalid_input',
      `workflow argument for event ${arg.eventKey} is ${bytes} bytes; Cloud Workflows accepts at most ${MAX_ARGUMENT_BYTES}`,
    );
  }
  return text;
}
