/**
 * Builds Shielded VM integrity log entries in the documented Cloud Logging shape. Used by the
 * examples, tests and benchmarks, and by the simulated fleet of the local stack.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { INTEGRITY_EVENT_TYPE, INTEGRITY_LOG_ID, type InstanceRef } from '../core/event.js';
import type { JsonObject } from '../core/json.js';
import type { HashAlgo, Measurement } from '../core/measurements.js';

/** PCRs a late-boot report carries: Linux 0, 4, 7 (+14 after MOK enrolment); Windows adds 11, 13, 14. */
export const LINUX_PCRS = ['PCR_0', 'PCR_4', 'PCR_7'] as const;
export const LINUX_MOK_PCRS = ['PCR_0', 'PCR_4', 'PCR_7', 'PCR_14'] as const;
export const WINDOWS_PCRS = ['PCR_0', 'PCR_4', 'PCR_7', 'PCR_11', 'PCR_13', 'PCR_14'] as const;

/** A deterministic digest of the right size for `algo`, derived from `seed`, base64. */
export function digest(algo: HashAlgo, seed: string): string {
  const h = createHash(algo === 'SHA1' ? 'sha1' : 'sha256');
  return h.update(seed).digest('base64');
}

/**
 * Measurements of a boot: one component per PCR (firmware for PCR_0, the boot chain for PCR_4,
 * the Secure Boot policy for PCR_7, ...). Equal components measure alike on every VM, so a kernel
 * update changes PCR_4 only.
 */
export function measure(components: Readonly<Record<string, string>>, algo: HashAlgo = 'SHA256'): Measurement[] {
  return Object.entries(components).map(([pcrNum, component]) => ({
    hashAlgo: algo,
    pcrNum,
    value: digest(algo, `${pcrNum}:${component}`),
  }));
}

/** A Linux boot: firmware, kernel and Secure Boot db versions. */
export function linuxBoot(kernel: string, firmware = 'ovmf-2026-09', secureBoot = 'db-2024-06'): Measurement[] {
  return measure({ PCR_0: firmware, PCR_4: kernel, PCR_7: secureBoot });
}

export interface EntryOptions {
  instance: InstanceRef;
  bootCounter: number | string;
  insertId?: string;
  timestamp?: string;
  severity?: string;
}

function baseEntry(o: EntryOptions, payload: JsonObject, severity: string): JsonObject {
  // Cloud Logging writes nanoseconds.
  const ts = o.timestamp ?? '2026-11-01T10:00:00.123456789Z';
  return {
    insertId:
      o.insertId ??
      createHash('sha1')
        .update(`${o.instance.id}/${String(o.bootCounter)}/${JSON.stringify(payload)}`)
        .digest('hex')
        .slice(0, 14),
    jsonPayload: { '@type': INTEGRITY_EVENT_TYPE, bootCounter: String(o.bootCounter), ...payload },
    resource: { type: 'gce_instance', labels: { instance_id: o.instance.id, project_id: o.instance.project, zone: o.instance.zone } },
    timestamp: ts,
    severity: o.severity ?? severity,
    logName: `projects/${o.instance.project}/logs/${INTEGRITY_LOG_ID}`,
    receiveTimestamp: nanosecondsLater(ts, 417_262_815n),
  };
}

/**
 * An RFC 3339 time `ns` nanoseconds after `ts`, with nine fraction digits as Cloud Logging writes
 * them (`digits: 3` gives milliseconds, as Pub/Sub writes `publishTime`).
 */
export function nanosecondsLater(ts: string, ns: bigint, digits: 3 | 9 = 9): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (m === null) return ts; // not a UTC time: left as the caller wrote it (a test of bad input)
  const [, seconds = '', fraction = ''] = m;
  const total = BigInt(Date.parse(`${seconds}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, '0')) + ns;
  const whole = new Date(Number(total / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(total % 1_000_000_000n)
    .padStart(9, '0')
    .slice(0, digits)}Z`;
}

function measurementJson(ms: readonly Measurement[]): JsonObject[] {
  return ms.map((m) => ({ hashAlgo: m.hashAlgo, pcrNum: m.pcrNum, value: m.value }));
}

export function bootReportEntry(
  kind: 'earlyBootReportEvent' | 'lateBootReportEvent',
  o: EntryOptions & { actual: readonly Measurement[]; policy: readonly Measurement[]; passed?: boolean },
): JsonObject {
  const passed = o.passed ?? sameValues(o.actual, o.policy);
  return baseEntry(
    o,
    {
      [kind]: {
        actualMeasurements: measurementJson(o.actual),
        policyEvaluationPassed: passed,
        policyMeasurements: measurementJson(o.policy),
      },
    },
    passed ? 'NOTICE' : 'ERROR',
  );
}

function sameValues(a: readonly Measurement[], b: readonly Measurement[]): boolean {
  const key = (ms: readonly Measurement[]): string =>
    ms
      .map((m) => `${m.pcrNum}|${m.hashAlgo}|${m.value}`)
      .sort()
      .join('\n');
  return key(a) === key(b);
}

export function simpleEventEntry(kind: string, o: EntryOptions, body: JsonObject = {}): JsonObject {
  return baseEntry(o, { [kind]: body }, 'NOTICE');
}

/** The entry as Pub/Sub delivers it: `data` is the base64 of the LogEntry JSON. */
export function pubsubMessage(entry: JsonObject, messageId = '1000000000000001'): JsonObject {
  const received = entry['receiveTimestamp'] ?? entry['timestamp'];
  return {
    data: Buffer.from(JSON.stringify(entry)).toString('base64'),
    attributes: { 'logging.googleapis.com/timestamp': String((entry['timestamp'] as string | undefined) ?? '') },
    messageId,
    publishTime: nanosecondsLater(typeof received === 'string' ? received : '2026-11-01T10:00:00Z', 183_000_000n, 3),
  };
}

/** The body of an Eventarc `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent. */
export function eventarcBody(
  entry: JsonObject,
  messageId = '1000000000000001',
  subscription = 'projects/my-project/subscriptions/eventarc-integrity-sub',
): JsonObject {
  return { message: pubsubMessage(entry, messageId), subscription };
}
