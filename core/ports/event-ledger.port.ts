import type { Decision } from '../decide.js';
import type { RejectedContext } from '../parse.js';
import type { Rejection } from '../errors.js';
import type { EntryIdentity, InstanceRef } from '../event.js';
import type { RelearnRecord } from '../relearn-check.js';

/** How an event ended, as the audit trail records it. */
/**
 * `joined`: the VM already had an execution waiting for a decision; the event is in that one's audit trail.
 * `rejected`: decided, but its response could never be started (recorded as response_not_startable).
 */
export type EventOutcome = 'decided' | 'stale' | 'ignored' | 'joined' | 'rejected';

/** An event recorded into the audit trail of the execution that was waiting for its VM. */
export interface JoinedEvent {
  readonly eventKey: string;
  readonly bootCounter: string | null;
  readonly eventKind: string;
  readonly action: string;
  readonly reasonCode: string;
  readonly fingerprint: string | null;
  readonly at: string;
}

/** The execution of a VM that waits for an operator's decision (written by the workflow, `awaiting`). */
export interface AwaitingDecision {
  readonly execution: string;
  readonly eventKey: string;
  readonly groupId: string;
  /** Its approval deadline: after it the execution no longer waits. */
  readonly until: string;
}

/**
 * A boot counter that went backwards (below the latest recorded boot) or jumped (beyond
 * BOOTWARDEN_MAX_BOOT_COUNTER_JUMP): this entry or an earlier one of the VM may be forged.
 */
export interface CounterAnomaly {
  readonly kind: 'backwards' | 'jump';
  readonly bootCounter: string;
  readonly latestBoot: string;
  readonly eventKey: string;
  readonly at: string;
}

export interface EventRecord {
  readonly eventKey: string;
  readonly entry: EntryIdentity;
  readonly instance: InstanceRef;
  readonly bootCounter: string | null;
  readonly eventKind: string;
  readonly messageIds: readonly string[];
  /** Which claim generation owns the event; a takeover after a crash increments it. */
  readonly attempt: number;
  /** When the current attempt claimed the event. */
  readonly claimedAt: string;
  /** When attempt 1 claimed it: no execution for the event can have started before. */
  readonly firstClaimedAt: string;
  readonly state: 'processing' | 'done';
  readonly outcome: EventOutcome | null;
  readonly decision: Pick<
    Decision,
    'action' | 'intendedAction' | 'reasonCode' | 'reason' | 'fingerprint' | 'baselineId' | 'dryRun' | 'heldBy'
  > | null;
  readonly executionName: string | null;
  readonly completedAt: string | null;
  /** Set when the event's boot counter was implausible (core/ingest.ts). */
  readonly counterAnomaly?: CounterAnomaly;
}

export type NewEventRecord = Omit<
  EventRecord,
  'state' | 'outcome' | 'decision' | 'executionName' | 'completedAt' | 'attempt' | 'firstClaimedAt'
>;

/**
 * The event ledger: each log entry (by event key) and each Pub/Sub message is processed once.
 * Every claim is a create-once document, never read-then-write, so that concurrent redeliveries
 * are safe even where the database does not isolate transactions. Only the owner of a claim
 * writes to the event's record afterwards.
 */
export interface EventLedger {
  /** Records a delivery; false when this message id was seen before. */
  recordDelivery(messageId: string, eventKey: string, receivedAt: string): Promise<boolean>;
  /** Creates the event record (attempt 1); false when it exists already. */
  claimEvent(record: NewEventRecord): Promise<boolean>;
  /** Takes over an abandoned claim: true for exactly one caller per attempt number. */
  takeOver(eventKey: string, attempt: number, claimedAt: string): Promise<boolean>;
  getEvent(eventKey: string): Promise<EventRecord | null>;
  /** Records `joined` under the waiting event `eventKey` (create-once: a redelivery records it once). */
  recordJoined(eventKey: string, joined: JoinedEvent): Promise<void>;
  /** Written by the owner only. */
  completeEvent(
    eventKey: string,
    result: {
      outcome: EventOutcome;
      decision: EventRecord['decision'];
      executionName: string | null;
      completedAt: string;
      counterAnomaly?: CounterAnomaly;
    },
  ): Promise<void>;
}

/** Per-instance state: which boots were seen, and the last decision. */
export interface InstanceStateStore {
  /** Records that `bootCounter` was seen (create-once per boot) and returns the highest boot seen so far. */
  recordBoot(instance: InstanceRef, bootCounter: string, seenAt: string): Promise<string>;
  /** The highest boot recorded for the instance, or null when none is. */
  latestBoot(instance: InstanceRef): Promise<string | null>;
  /**
   * What the response workflow last relearned on the instance (the `relearned` field it writes),
   * a reason it cannot be read, or null when it relearned nothing yet.
   */
  relearnRecord(instance: InstanceRef): Promise<RelearnRecord | string | null>;
  /**
   * The instance's execution that still waits for a decision at `now`: the workflow marked it
   * (`awaiting`), its deadline has not passed and its approval group is not decided. Else null.
   */
  awaitingDecision(instance: InstanceRef, now: Date): Promise<AwaitingDecision | null>;
  /** Records the VM's latest counter anomaly (`counterAnomaly` on its state). */
  recordCounterAnomaly(instance: InstanceRef, anomaly: CounterAnomaly): Promise<void>;
  recordDecision(
    instance: InstanceRef,
    summary: { eventKey: string; bootCounter: string | null; action: string; reasonCode: string; executionName: string | null; at: string },
  ): Promise<void>;
}

/** Rejected inputs are recorded, never dropped silently: bounded raw payload, reason and time. */
export interface RejectedInputStore {
  /** Create-once by id, so that a redelivered bad message is recorded once. */
  record(
    id: string,
    entry: { rejection: Rejection; context: RejectedContext; raw: string; rawBytes: number; truncated: boolean; receivedAt: string },
  ): Promise<void>;
}
