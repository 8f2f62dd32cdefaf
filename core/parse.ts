/**
 * Parsing and validation of everything an integrity event can arrive in:
 * a Cloud Logging LogEntry, a Pub/Sub message whose `data` is the base64 LogEntry, an Eventarc
 * `messagePublished` body `{message, subscription}`, or a structured-mode CloudEvent wrapping one.
 * The result is a typed event or a Rejection naming the field; this module never throws on input.
 */
import { decodeBase64Strict } from './base64.js';
import { cut, InputRejected, reject, rejection, type Rejection } from './errors.js';
import {
  INTEGRITY_EVENT_TYPE,
  INTEGRITY_LOG_ID,
  KNOWN_EVENT_KINDS,
  type BootReport,
  type Delivery,
  type EntryIdentity,
  type InstanceRef,
  type IntegrityEvent,
  type KnownEventKind,
} from './event.js';
import {
  assertByteSize,
  assertNoForbiddenKeys,
  isJsonObject,
  MAX_ENVELOPE_BYTES,
  MAX_LOG_ENTRY_BYTES,
  parseBoundedJson,
  type JsonObject,
  type JsonValue,
} from './json.js';
import { parseMeasurementList } from './measurements.js';
import { instantOf, msAfter, TIMESTAMP_EXPECTED, type Instant } from './time.js';

/** What is known about a rejected input, so that the rejection record can be traced. */
export interface RejectedContext {
  messageId: string | null;
  logName: string | null;
  insertId: string | null;
  timestamp: string | null;
  instanceId: string | null;
}

export type ParseOutcome =
  | { readonly ok: true; readonly event: IntegrityEvent }
  | { readonly ok: false; readonly rejection: Rejection; readonly context: RejectedContext };

export interface ParseOptions {
  /** The caller already checked nesting depth (the export splitter does). */
  readonly depthChecked?: boolean;
}

const KNOWN_KINDS: ReadonlySet<string> = new Set(KNOWN_EVENT_KINDS);
const NOT_EVENT_KEYS: ReadonlySet<string> = new Set(['@type', 'bootCounter']);
/** A decimal instance id or int64 (a boot counter), as a string: never parsed into a JavaScript number. */
export const INSTANCE_ID = /^[0-9]{1,20}$/;
export const INT64 = /^[0-9]{1,20}$/;
// Project ids are 6-30 chars; legacy domain-scoped ones look like "example.com:my-project".
export const PROJECT_ID = /^(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** A zone such as us-central1-a. */
export const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
/** The log's owner (`projects/P`, ...) and its log id. */
const LOG_NAME = /^((?:projects|organizations|folders|billingAccounts)\/[^/]+)\/logs\/(.+)$/;

/**
 * Length caps: nothing an entry's sender writes may make a record, a log line or the workflow's
 * argument unbounded. Cloud Logging documents log names of at most 512 characters; the others are
 * bootwarden's own bounds, far above what Google writes (insert ids and message ids of about 20).
 */
export const MAX_LENGTHS = { logName: 512, insertId: 256, messageId: 128, subscription: 512 } as const;
/** Clock skew allowed: how far an entry's time may be ahead of its publish time, or of the clock. */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** How far an entry's time may be before its publish time. */
export const MAX_BEHIND_PUBLISH_MS = 24 * 3600_000;

/** What a rejection records of an input nothing else was read from: at most its message id, cut to the cap. */
export function rejectedContextOf(messageId: string | null): RejectedContext {
  return {
    messageId: messageId?.slice(0, MAX_LENGTHS.messageId) ?? null,
    logName: null,
    insertId: null,
    timestamp: null,
    instanceId: null,
  };
}

function shown(v: JsonValue | undefined): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function requireString(obj: JsonObject, key: string, path: string): string {
  const v = obj[key];
  if (v === undefined || v === null) reject('missing_field', `${at(path, key)} is missing`, at(path, key));
  if (typeof v !== 'string') reject('invalid_field', `${at(path, key)} must be a string, got ${shown(v)}`, at(path, key));
  if (v === '') reject('invalid_field', `${at(path, key)} is empty`, at(path, key));
  return v;
}

function optionalString(obj: JsonObject, key: string, path: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') reject('invalid_field', `${at(path, key)} must be a string, got ${shown(v)}`, at(path, key));
  return v;
}

function requireObject(obj: JsonObject, key: string, path: string): JsonObject {
  const v = obj[key];
  if (v === undefined || v === null) reject('missing_field', `${at(path, key)} is missing`, at(path, key));
  if (!isJsonObject(v)) reject('invalid_field', `${at(path, key)} must be an object, got ${shown(v)}`, at(path, key));
  return v;
}

function capped(value: string, max: number, field: string): string {
  if (value.length > max) reject('field_too_long', `${field} is ${value.length} characters; at most ${max}`, field);
  return value;
}

/** The instant a timestamp field names, or a rejection (invalid_timestamp) naming the field. */
function requireInstant(obj: JsonObject, key: string, path: string): { text: string; instant: Instant } {
  const text = requireString(obj, key, path);
  const instant = instantOf(text);
  if (instant === null) reject('invalid_timestamp', `${at(path, key)} is ${shown(text)}; expected ${TIMESTAMP_EXPECTED}`, at(path, key));
  return { text, instant };
}

/** The entry's time against the publish time Pub/Sub gave the message (which the sender cannot choose). */
function checkAgainstPublishTime(timestamp: string, entryAt: Instant, publishTime: string | null): void {
  if (publishTime === null) return;
  const published = instantOf(publishTime);
  if (published === null)
    reject('invalid_timestamp', `message.publishTime is ${shown(publishTime)}; expected ${TIMESTAMP_EXPECTED}`, 'message.publishTime');
  const ahead = msAfter(entryAt, published);
  if (ahead > MAX_CLOCK_SKEW_MS)
    reject('timestamp_in_future', `timestamp ${timestamp} is after the message was published (${publishTime})`, 'timestamp');
  if (-ahead > MAX_BEHIND_PUBLISH_MS)
    reject('timestamp_skew', `timestamp ${timestamp} is more than 24 hours before the message was published (${publishTime})`, 'timestamp');
}

/**
 * An entry dated after `now` by more than the clock skew allowed: it was not logged yet. The
 * function checks against its clock, `bootwarden decide` and `replay` against the machine's.
 * The timestamp is a parsed event's (a real instant); one that is not is rejected as such.
 */
export function futureProblem(timestamp: string, now: Date): Rejection | null {
  const instant = instantOf(timestamp);
  if (instant === null) return rejection('invalid_timestamp', `timestamp ${shown(timestamp)}; expected ${TIMESTAMP_EXPECTED}`, 'timestamp');
  if (msAfter(instant, { ms: now.getTime(), nanos: 0 }) <= MAX_CLOCK_SKEW_MS) return null;
  return rejection('timestamp_in_future', `timestamp ${timestamp} is in the future (now ${now.toISOString()})`, 'timestamp');
}

function matching(obj: JsonObject, key: string, path: string, pattern: RegExp, expected: string): string {
  const v = requireString(obj, key, path);
  if (!pattern.test(v)) reject('invalid_field', `${at(path, key)} is ${shown(v)}; expected ${expected}`, at(path, key));
  return v;
}

function parseInstance(entry: JsonObject, ctx: RejectedContext): InstanceRef {
  const resource = requireObject(entry, 'resource', '');
  const type = requireString(resource, 'type', 'resource');
  if (type !== 'gce_instance') {
    reject('invalid_field', `resource.type is ${shown(type)}; integrity events come from "gce_instance"`, 'resource.type');
  }
  const labels = requireObject(resource, 'labels', 'resource');
  const rawId = labels['instance_id'];
  if (typeof rawId === 'number') {
    reject(
      'invalid_field',
      'resource.labels.instance_id is a JSON number; it must be a decimal string (numbers lose digits past 2^53)',
      'resource.labels.instance_id',
    );
  }
  const id = matching(labels, 'instance_id', 'resource.labels', INSTANCE_ID, 'a decimal string of 1 to 20 digits');
  ctx.instanceId = id;
  const project = matching(labels, 'project_id', 'resource.labels', PROJECT_ID, 'a project id like "my-project"');
  const zone = matching(labels, 'zone', 'resource.labels', ZONE, 'a zone like "us-central1-a"');
  return { id, project, zone };
}

function parseBootCounter(payload: JsonObject): string | null {
  const v = payload['bootCounter'];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return String(v);
  } else if (typeof v === 'string' && INT64.test(v)) {
    return BigInt(v) <= 0xffffffffffffffffn
      ? v.replace(/^0+(?=\d)/, '')
      : reject('invalid_field', 'jsonPayload.bootCounter is out of range', 'jsonPayload.bootCounter');
  }
  return reject(
    'invalid_field',
    `jsonPayload.bootCounter is ${shown(v)}; expected a non-negative integer as a decimal string`,
    'jsonPayload.bootCounter',
  );
}

function parseBootReport(raw: JsonValue | undefined, path: string): BootReport {
  if (!isJsonObject(raw)) reject('invalid_field', `${path} must be an object, got ${shown(raw)}`, path);
  const passed = raw['policyEvaluationPassed'];
  if (passed === undefined) reject('missing_field', `${path}.policyEvaluationPassed is missing`, `${path}.policyEvaluationPassed`);
  if (typeof passed !== 'boolean') {
    reject('invalid_field', `${path}.policyEvaluationPassed must be true or false, got ${shown(passed)}`, `${path}.policyEvaluationPassed`);
  }
  const actualMeasurements = parseMeasurementList(raw['actualMeasurements'], `${path}.actualMeasurements`);
  if (actualMeasurements.length === 0) {
    reject('invalid_field', `${path}.actualMeasurements is empty; a boot report measures at least one PCR`, `${path}.actualMeasurements`);
  }
  const policy = raw['policyMeasurements'];
  const policyMeasurements = policy === undefined ? [] : parseMeasurementList(policy, `${path}.policyMeasurements`);
  return { policyEvaluationPassed: passed, actualMeasurements, policyMeasurements };
}

/** Validates a parsed LogEntry object. */
function eventFromLogEntry(entry: JsonObject, delivery: Delivery | null, ctx: RejectedContext): IntegrityEvent {
  const logName = capped(requireString(entry, 'logName', ''), MAX_LENGTHS.logName, 'logName');
  ctx.logName = logName;
  const [, logOwner, logId] = LOG_NAME.exec(logName) ?? [];
  if (logId !== INTEGRITY_LOG_ID && logId !== 'compute.googleapis.com/shielded_vm_integrity') {
    reject(
      'wrong_log_name',
      `logName is ${shown(logName)}; expected projects/PROJECT/logs/${INTEGRITY_LOG_ID} (check the log sink filter)`,
      'logName',
    );
  }
  const insertId = capped(requireString(entry, 'insertId', ''), MAX_LENGTHS.insertId, 'insertId');
  ctx.insertId = insertId;
  const { text: timestamp, instant } = requireInstant(entry, 'timestamp', '');
  ctx.timestamp = timestamp;
  checkAgainstPublishTime(timestamp, instant, delivery?.publishTime ?? null);
  const severity = optionalString(entry, 'severity', '');
  const entryIdentity: EntryIdentity = { logName, insertId, timestamp };
  const instance = parseInstance(entry, ctx);
  // The log is written in the VM's own project: an entry naming another is not the VM's.
  if (logOwner !== `projects/${instance.project}`)
    reject(
      'project_mismatch',
      `logName is in ${shown(logOwner)}, but resource.labels.project_id is ${shown(instance.project)}: a VM's integrity log is in its own project`,
      'logName',
    );

  if (entry['jsonPayload'] === undefined && entry['protoPayload'] !== undefined) {
    reject('wrong_payload_type', 'the entry has a protoPayload (an audit log?); integrity events carry a jsonPayload', 'protoPayload');
  }
  const payload = requireObject(entry, 'jsonPayload', '');
  assertNoForbiddenKeys(payload, 'jsonPayload');
  const type = payload['@type'];
  if (type !== INTEGRITY_EVENT_TYPE) {
    reject('wrong_payload_type', `jsonPayload.@type is ${shown(type)}; expected "${INTEGRITY_EVENT_TYPE}"`, 'jsonPayload.@type');
  }
  const bootCounter = parseBootCounter(payload);
  const base = { entry: entryIdentity, severity, instance, bootCounter, delivery };

  const eventKeys = Object.keys(payload).filter((k) => !NOT_EVENT_KEYS.has(k));
  const known = eventKeys.filter((k): k is KnownEventKind => KNOWN_KINDS.has(k));
  if (known.length > 1) {
    reject('multiple_event_kinds', `jsonPayload has ${known.join(' and ')}; an integrity event carries exactly one`, 'jsonPayload');
  }
  const kind = known[0];
  // An unknown kind is named by its keys in decisions and logs: a few, each cut.
  if (kind === undefined) return { ...base, kind: 'unknown', eventKeys: eventKeys.slice(0, 5).map((k) => cut(k, 64)) };
  const body = payload[kind];
  const path = `jsonPayload.${kind}`;
  switch (kind) {
    case 'earlyBootReportEvent':
    case 'lateBootReportEvent':
      if (bootCounter === null)
        reject(
          'missing_field',
          'jsonPayload.bootCounter is missing; a boot report needs it to tell boots apart',
          'jsonPayload.bootCounter',
        );
      return { ...base, kind, report: parseBootReport(body, path) };
    case 'sevLaunchAttestationReportEvent': {
      const details = isJsonObject(body) ? body : {};
      const passed = details['integrityEvaluationPassed'];
      if (passed !== undefined && typeof passed !== 'boolean') {
        reject(
          'invalid_field',
          `${path}.integrityEvaluationPassed must be true or false, got ${shown(passed)}`,
          `${path}.integrityEvaluationPassed`,
        );
      }
      return { ...base, kind, integrityEvaluationPassed: passed ?? null, details };
    }
    default:
      return { ...base, kind, details: isJsonObject(body) ? body : {} };
  }
}

function decodeMessageData(message: JsonObject, path: string): JsonObject {
  const data = message['data'];
  if (data === undefined || data === null || data === '') reject('missing_field', `${path}.data is missing or empty`, `${path}.data`);
  if (typeof data !== 'string') reject('invalid_field', `${path}.data must be a base64 string, got ${shown(data)}`, `${path}.data`);
  if (data.length > Math.ceil(MAX_LOG_ENTRY_BYTES / 3) * 4) {
    reject('input_too_large', `${path}.data decodes to more than ${MAX_LOG_ENTRY_BYTES} bytes, the LogEntry limit`, `${path}.data`);
  }
  const decoded = decodeBase64Strict(data);
  if (!decoded.ok) reject('invalid_base64', `${path}.data ${decoded.problem}`, `${path}.data`);
  const text = decoded.bytes.toString('utf8');
  const entry = parseBoundedJson(text, `${path}.data (the LogEntry)`, MAX_LOG_ENTRY_BYTES);
  if (!isJsonObject(entry)) reject('invalid_field', `${path}.data must hold a LogEntry object`, `${path}.data`);
  return entry;
}

function stringOf(obj: JsonObject, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

function optionalCapped(value: string | null, max: number, field: string): string | null {
  return value === null ? null : capped(value, max, field);
}

/** The message id, kept (cut to the cap) for a rejection's record before it is checked against the cap. */
function takeMessageId(messageId: string | null, field: string, ctx: RejectedContext): string | null {
  ctx.messageId = rejectedContextOf(messageId).messageId;
  return messageId === null ? null : capped(messageId, MAX_LENGTHS.messageId, field);
}

/** Recognises the envelope and returns the LogEntry object plus delivery metadata. */
function unwrap(value: JsonValue, ctx: RejectedContext): { entry: JsonObject; delivery: Delivery | null } {
  if (Array.isArray(value)) {
    reject('unrecognized_envelope', 'input is a JSON array (a log export?); give one entry, or use `bootwarden replay` for exports');
  }
  if (!isJsonObject(value)) reject('unrecognized_envelope', `input is ${shown(value)}, not a JSON object`);
  let body = value;
  let cloudEventId: string | null = null;
  if (typeof value['specversion'] === 'string' && value['data'] !== undefined) {
    // Structured-mode CloudEvent around an Eventarc body.
    cloudEventId = stringOf(value, 'id');
    if (!isJsonObject(value['data'])) reject('invalid_field', 'CloudEvent data must be an object {message, subscription}', 'data');
    body = value['data'];
  }
  if (body['message'] !== undefined) {
    const message = requireObject(body, 'message', 'body');
    const messageId = takeMessageId(stringOf(message, 'messageId', 'message_id') ?? cloudEventId, 'message.messageId', ctx);
    const delivery: Delivery = {
      messageId,
      publishTime: stringOf(message, 'publishTime', 'publish_time'),
      subscription: optionalCapped(stringOf(body, 'subscription'), MAX_LENGTHS.subscription, 'subscription'),
    };
    return { entry: decodeMessageData(message, 'message'), delivery };
  }
  if (typeof body['data'] === 'string' && ['messageId', 'message_id', 'attributes', 'publishTime', 'publish_time'].some((k) => k in body)) {
    const messageId = takeMessageId(stringOf(body, 'messageId', 'message_id'), 'messageId', ctx);
    const delivery: Delivery = { messageId, publishTime: stringOf(body, 'publishTime', 'publish_time'), subscription: null };
    return { entry: decodeMessageData(body, 'message'), delivery };
  }
  if ('jsonPayload' in body || 'logName' in body || 'insertId' in body || 'protoPayload' in body) {
    return { entry: body, delivery: null };
  }
  const keys = Object.keys(body)
    .slice(0, 5)
    .map((k) => cut(k, 40))
    .join(', ');
  return reject(
    'unrecognized_envelope',
    `input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: ${keys || 'none'})`,
  );
}

function outcome(run: (ctx: RejectedContext) => IntegrityEvent): ParseOutcome {
  const ctx = rejectedContextOf(null);
  try {
    return { ok: true, event: run(ctx) };
  } catch (e) {
    if (e instanceof InputRejected) return { ok: false, rejection: e.rejection, context: ctx };
    throw e;
  }
}

/** Parses one already-decoded JSON value (any supported envelope). */
export function parseEnvelope(value: JsonValue): ParseOutcome {
  return outcome((ctx) => {
    const { entry, delivery } = unwrap(value, ctx);
    return eventFromLogEntry(entry, delivery, ctx);
  });
}

/** Parses one JSON text (any supported envelope), enforcing size and depth limits first. */
export function parseEnvelopeText(text: string, opts: ParseOptions = {}): ParseOutcome {
  return outcome((ctx) => {
    const value = parseBoundedJson(text, 'input', MAX_ENVELOPE_BYTES, opts);
    const { entry, delivery } = unwrap(value, ctx);
    if (delivery === null) assertByteSize(text, 'log entry', MAX_LOG_ENTRY_BYTES);
    return eventFromLogEntry(entry, delivery, ctx);
  });
}
