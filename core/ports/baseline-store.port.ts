import type { Baseline } from '../baseline.js';
import type { Rejection } from '../errors.js';
import type { Measurement } from '../measurements.js';

/** A document read from the store: a valid baseline, or the reason it is not one. */
export type StoredBaseline = { readonly id: string; readonly baseline: Baseline } | { readonly id: string; readonly invalid: Rejection };

/**
 * The `known_good_measurements` collection. `get` is one document read; deciding on an event
 * calls it at most once, and `withMeasurements` (one indexed query) only when `get` finds nothing,
 * so the cost of a decision does not grow with the number of baselines.
 * Implementations throw a retryable BootwardenError when the store is unavailable.
 */
export interface BaselineStore {
  /** One document by id (a fingerprint on the hot path); null when there is none. */
  get(id: string): Promise<StoredBaseline | null>;
  /**
   * Documents whose PCR values are these measurements' values, whatever their id (the tutorial's
   * `baseline1`, a Firestore auto-id): one indexed look-up, made only when the read by
   * fingerprint finds nothing. The caller checks the exact set; at most a few candidates.
   */
  withMeasurements(measurements: readonly Measurement[]): Promise<StoredBaseline[]>;
  /** Every document. For operators' commands and migrations, never for deciding on an event. */
  list(): AsyncIterable<StoredBaseline>;
  /** Creates the document; returns false (and writes nothing) when the id exists already. */
  create(baseline: Baseline): Promise<boolean>;
  /** Creates or overwrites the document (used to merge duplicates on import). */
  save(baseline: Baseline): Promise<void>;
  /** Deletes the document; returns false when there was none. */
  remove(id: string): Promise<boolean>;
}
