/** Bounded JSON: size and nesting are checked before `JSON.parse` sees the text. */
import { Buffer } from 'node:buffer';
import { reject } from './errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A Cloud Logging LogEntry is at most 256 KB. */
export const MAX_LOG_ENTRY_BYTES = 256 * 1024;
/** A Pub/Sub or Eventarc envelope carries the entry base64-encoded (4/3 larger) plus attributes. */
export const MAX_ENVELOPE_BYTES = 512 * 1024;
/**
 * The largest body a Pub/Sub push (through Eventarc) can be, from Pub/Sub's resource limits
 * (https://cloud.google.com/pubsub/quotas#resource_limits): a message's data is at most 10 MB
 * (taken as MiB, the larger reading), base64 in the push body (4/3 larger); at most 100 attributes
 * of keys up to 256 bytes and values up to 1,024, each byte at worst a 6-character JSON escape;
 * and the envelope's own fields (message id, publish time, an ordering key of up to 1 KB,
 * subscription name) within 64 KiB. A body larger than this is no Pub/Sub push: refused unread.
 */
export const MAX_PUSH_BODY_BYTES = Math.ceil((10 * 1024 * 1024) / 3) * 4 + 100 * (256 + 1024) * 6 + 64 * 1024;
/** Real integrity entries nest 5 levels deep; anything past this is hostile or broken. */
export const MAX_JSON_DEPTH = 32;

/** Keys that must never become property names of objects we build from input. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Greatest nesting depth of `text`, stopping early once `limit` is exceeded. Strings are skipped. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Does an already-parsed value nest deeper than `limit`? Iterative: a hostile depth cannot overflow the stack. */
export function valueDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Rejects `text` when its UTF-8 encoding is larger than `maxBytes`. */
export function assertByteSize(text: string, what: string, maxBytes: number): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only count bytes when the text could be too large.
  if (text.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) reject('input_too_large', `${what} is ${bytes} bytes; the limit is ${maxBytes}`);
}

/**
 * Parses `text` as JSON after checking its size (UTF-8 bytes) and depth.
 * `what` names the input in error messages ("Pub/Sub message data", "log entry").
 */
export function parseBoundedJson(text: string, what: string, maxBytes: number, opts: { depthChecked?: boolean } = {}): JsonValue {
  assertByteSize(text, what, maxBytes);
  if (!opts.depthChecked && jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    reject('input_too_deep', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return reject('invalid_json', `${what} is not JSON: ${detail}`);
  }
}

function hasForbiddenKey(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.some(hasForbiddenKey);
  if (!isJsonObject(value)) return false;
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key) || hasForbiddenKey(value[key] as JsonValue)) return true;
  }
  return false;
}

/** Rejects any object key in `value` (recursively) that could pollute prototypes, naming where it is. */
export function assertNoForbiddenKeys(value: JsonValue, path: string): void {
  // Paths are only built on the rare input that has such a key.
  if (!hasForbiddenKey(value)) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoForbiddenKeys(v, `${path}[${i}]`));
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) reject('forbidden_key', `${path} has the key "${key}", which is not allowed`, `${path}.${key}`);
      assertNoForbiddenKeys(value[key] as JsonValue, `${path}.${key}`);
    }
  }
}
