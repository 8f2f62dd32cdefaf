import type { InstanceRef } from '../event.js';

/** One stop the blast-radius guard allowed: a create-once document per (scope, window, index). */
export interface StopSlot {
  /** The event key that took the slot: a redelivery of that event finds its own slot again. */
  readonly holder: string;
  readonly instance: InstanceRef;
  readonly fingerprint: string | null;
  readonly scope: string;
  readonly windowStart: string;
  readonly claimedAt: string;
  /** When the slot is of no more use (the window's end): a Firestore TTL policy may delete it. */
  readonly expiresAt: string;
}

/**
 * The blast-radius guard's records. Counting rests on create-once documents only (no transaction,
 * no read-modify-write), so that concurrent deliveries can never take more slots than exist.
 */
export interface StopSlotStore {
  /** The holder (event key) of each slot, null where it is free: one read for all of them. */
  holders(ids: readonly string[]): Promise<(string | null)[]>;
  /** Takes the slot; false when it is taken already. */
  create(id: string, slot: StopSlot): Promise<boolean>;
}
