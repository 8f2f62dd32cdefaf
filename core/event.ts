/** The typed integrity event, whatever envelope it arrived in. */
import type { JsonObject } from './json.js';
import type { Measurement } from './measurements.js';

export const INTEGRITY_EVENT_TYPE = 'type.googleapis.com/cloud_integrity.IntegrityEvent';
export const INTEGRITY_LOG_ID = 'compute.googleapis.com%2Fshielded_vm_integrity';

/** Every event key Shielded VM is documented to log. Anything else is `unknown` and ignored. */
export const KNOWN_EVENT_KINDS = [
  'earlyBootReportEvent',
  'lateBootReportEvent',
  'startupEvent',
  'shutdownEvent',
  'clearTPMEvent',
  'setShieldedInstanceIntegrityPolicy',
  'updateShieldedInstanceConfig',
  'sevLaunchAttestationReportEvent',
] as const;
export type KnownEventKind = (typeof KNOWN_EVENT_KINDS)[number];
export type BootReportKind = 'earlyBootReportEvent' | 'lateBootReportEvent';

/** `instance_id` is a decimal string of up to 20 digits: never a JS number. */
export interface InstanceRef {
  readonly id: string;
  readonly project: string;
  readonly zone: string;
}

/** Identity of one log entry: Cloud Logging may publish the same entry twice through a sink. */
export interface EntryIdentity {
  readonly logName: string;
  readonly insertId: string;
  readonly timestamp: string;
}

/** How the entry was delivered, when it came through Pub/Sub (directly or via Eventarc). */
export interface Delivery {
  readonly messageId: string | null;
  readonly publishTime: string | null;
  readonly subscription: string | null;
}

export interface BootReport {
  readonly policyEvaluationPassed: boolean;
  readonly actualMeasurements: readonly Measurement[];
  readonly policyMeasurements: readonly Measurement[];
}

interface EventBase {
  readonly entry: EntryIdentity;
  readonly severity: string | null;
  readonly instance: InstanceRef;
  /** int64 as a decimal string; compare with BigInt. Null when the entry has none. */
  readonly bootCounter: string | null;
  readonly delivery: Delivery | null;
}

export type IntegrityEvent =
  | (EventBase & { readonly kind: BootReportKind; readonly report: BootReport })
  | (EventBase & {
      readonly kind: 'sevLaunchAttestationReportEvent';
      readonly integrityEvaluationPassed: boolean | null;
      readonly details: JsonObject;
    })
  | (EventBase & {
      readonly kind: Exclude<KnownEventKind, BootReportKind | 'sevLaunchAttestationReportEvent'>;
      readonly details: JsonObject;
    })
  | (EventBase & { readonly kind: 'unknown'; readonly eventKeys: readonly string[] });

export type EventKind = IntegrityEvent['kind'];
export type BootReportEvent = Extract<IntegrityEvent, { kind: BootReportKind }>;

export function isBootReport(e: IntegrityEvent): e is BootReportEvent {
  return e.kind === 'earlyBootReportEvent' || e.kind === 'lateBootReportEvent';
}

/** Compares two int64 decimal strings. */
export function compareBootCounters(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
