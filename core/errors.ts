/**
 * Errors with a stable `code`. The single `retryable` bit decides what an entry point does:
 * a permanent error (bad input, bad configuration) is recorded and acknowledged; a retryable one
 * (a store or API that is down) is thrown so that the platform redelivers.
 */

/** Why an input was rejected. Stable: tests, logs and the rejected-input records key on these. */
export const REJECTION_CODES = [
  'input_too_large',
  'input_too_deep',
  'invalid_json',
  'invalid_base64',
  'unrecognized_envelope',
  'wrong_log_name',
  'wrong_payload_type',
  'missing_field',
  'invalid_field',
  'forbidden_key',
  'multiple_event_kinds',
  'duplicate_pcr',
  'unsupported_hash_algo',
  'invalid_hash_value',
  'unreadable_input',
  'project_not_allowed',
  'unexpected_event_type',
  'unexpected_source',
  'field_too_long',
  'project_mismatch',
  /** A timestamp that names no real instant (month 13, February 30, an offset of +24:00). */
  'invalid_timestamp',
  'timestamp_in_future',
  'timestamp_skew',
  'implausible_boot_counter',
  /** The event was claimed and decided, but Workflows will never take its argument. */
  'response_not_startable',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** A rejected input: what is wrong and where. `field` is a dotted path into the input when known. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
  readonly field: string | null;
}

/**
 * A rejection's message and field are cut to these lengths: they quote the input (keys, values,
 * paths built from its keys), and a record or log line must stay bounded whatever it holds.
 */
export const MAX_REJECTION_LENGTHS = { message: 1000, field: 256 } as const;

/** `text` within `max` UTF-16 units, never ending in half a surrogate pair; `…` marks a cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = text.slice(0, max - 1);
  return `${/[\uD800-\uDBFF]$/.test(kept) ? kept.slice(0, -1) : kept}…`;
}

export function rejection(code: RejectionCode, message: string, field: string | null = null): Rejection {
  return {
    code,
    message: cut(message, MAX_REJECTION_LENGTHS.message),
    field: field === null ? null : cut(field, MAX_REJECTION_LENGTHS.field),
  };
}

/** Thrown when validation fails deep inside a parser; caught at the parser's edge and returned as a Rejection. */
export class InputRejected extends Error {
  readonly rejection: Rejection;
  constructor(r: Rejection) {
    super(r.message);
    this.name = 'InputRejected';
    this.rejection = r;
  }
}

export function reject(code: RejectionCode, message: string, field: string | null = null): never {
  throw new InputRejected(rejection(code, message, field));
}

export type ErrorCode =
  | 'config_invalid'
  | 'usage'
  | 'not_found'
  | 'already_exists'
  | 'invalid_baseline_document'
  | 'invalid_baseline_id'
  | 'store_unavailable'
  | 'io_error'
  | 'invalid_input'
  | 'event_in_progress';

export class BootwardenError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BootwardenError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isBootwardenError(e: unknown): e is BootwardenError {
  return e instanceof BootwardenError;
}
