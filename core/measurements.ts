/**
 * PCR measurements: validation, canonical order, fingerprint and diff.
 *
 * fingerprint = hex SHA-256 over the canonical list of `pcrNum|hashAlgo|value` lines joined by "\n",
 * sorted by PCR number, then hash algorithm. Order in the report never matters.
 */
import { createHash } from 'node:crypto';
import { decodeBase64Strict } from './base64.js';
import { reject } from './errors.js';
import { FORBIDDEN_KEYS, isJsonObject, type JsonValue } from './json.js';

/** Digest length in bytes per hash bank reported by Shielded VM. */
export const HASH_ALGO_BYTES = { SHA1: 20, SHA256: 32 } as const;
export type HashAlgo = keyof typeof HASH_ALGO_BYTES;

export interface Measurement {
  readonly pcrNum: string;
  readonly hashAlgo: HashAlgo;
  readonly value: string;
}

/**
 * Canonical padded base64 of exactly 20 (SHA1) or 32 (SHA256) bytes: 27 or 43 characters, the
 * last of which carries 2 unused bits that must be zero, then one '='. Checked without decoding.
 */
const CANONICAL_DIGEST: Record<HashAlgo, RegExp> = {
  SHA1: /^[A-Za-z0-9+/]{26}[AEIMQUYcgkosw048]=$/,
  SHA256: /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/,
};

/** TPM 2.0 has PCRs 0 to 23. */
const PCR_NUM = /^PCR_(?:[0-9]|1[0-9]|2[0-3])$/;

export function pcrIndex(pcrNum: string): number {
  return Number(pcrNum.slice(4));
}

function isHashAlgo(v: string): v is HashAlgo {
  return Object.prototype.hasOwnProperty.call(HASH_ALGO_BYTES, v);
}

/** Validates one `{hashAlgo, pcrNum, value}` object found at `path`. */
export function parseMeasurement(raw: JsonValue | undefined, path: string): Measurement {
  if (!isJsonObject(raw)) reject('invalid_field', `${path} must be an object {hashAlgo, pcrNum, value}`, path);
  for (const key of Object.keys(raw)) {
    if (FORBIDDEN_KEYS.has(key)) reject('forbidden_key', `${path} has the key "${key}", which is not allowed`, `${path}.${key}`);
  }
  const { pcrNum, hashAlgo, value } = raw;
  if (pcrNum === undefined) reject('missing_field', `${path}.pcrNum is missing`, `${path}.pcrNum`);
  if (typeof pcrNum !== 'string') reject('invalid_field', `${path}.pcrNum must be a string like "PCR_0"`, `${path}.pcrNum`);
  if (pcrNum === '') reject('invalid_field', `${path}.pcrNum is empty`, `${path}.pcrNum`);
  if (FORBIDDEN_KEYS.has(pcrNum)) reject('forbidden_key', `${path}.pcrNum is "${pcrNum}", which is not allowed`, `${path}.pcrNum`);
  if (!PCR_NUM.test(pcrNum)) {
    reject('invalid_field', `${path}.pcrNum is ${JSON.stringify(pcrNum.slice(0, 40))}; expected PCR_0 to PCR_23`, `${path}.pcrNum`);
  }
  if (hashAlgo === undefined) reject('missing_field', `${path}.hashAlgo is missing`, `${path}.hashAlgo`);
  if (typeof hashAlgo !== 'string' || !isHashAlgo(hashAlgo)) {
    reject(
      'unsupported_hash_algo',
      `${path}.hashAlgo is ${JSON.stringify(typeof hashAlgo === 'string' ? hashAlgo.slice(0, 40) : hashAlgo)}; expected one of ${Object.keys(HASH_ALGO_BYTES).join(', ')}`,
      `${path}.hashAlgo`,
    );
  }
  if (value === undefined) reject('missing_field', `${path}.value is missing`, `${path}.value`);
  if (typeof value !== 'string') reject('invalid_hash_value', `${path}.value must be a base64 string`, `${path}.value`);
  if (!CANONICAL_DIGEST[hashAlgo].test(value)) {
    // Slow path, only for bad values: say what exactly is wrong.
    const decoded = decodeBase64Strict(value);
    if (!decoded.ok) reject('invalid_hash_value', `${path}.value ${decoded.problem}`, `${path}.value`);
    const want = HASH_ALGO_BYTES[hashAlgo];
    reject(
      'invalid_hash_value',
      `${path}.value decodes to ${decoded.bytes.length} bytes; a ${hashAlgo} digest is ${want} bytes`,
      `${path}.value`,
    );
  }
  return { pcrNum, hashAlgo, value };
}

/** Validates a measurement list; a PCR may appear once only ("last one wins" would hide tampering). */
export function parseMeasurementList(raw: JsonValue | undefined, path: string): Measurement[] {
  if (raw === undefined) reject('missing_field', `${path} is missing`, path);
  if (!Array.isArray(raw)) reject('invalid_field', `${path} must be a list of measurements`, path);
  const seen = new Set<string>();
  return raw.map((item, i) => {
    const m = parseMeasurement(item, `${path}[${i}]`);
    if (seen.has(m.pcrNum)) reject('duplicate_pcr', `${path} lists ${m.pcrNum} more than once`, `${path}[${i}].pcrNum`);
    seen.add(m.pcrNum);
    return m;
  });
}

export function compareMeasurements(a: Measurement, b: Measurement): number {
  return pcrIndex(a.pcrNum) - pcrIndex(b.pcrNum) || (a.hashAlgo < b.hashAlgo ? -1 : a.hashAlgo > b.hashAlgo ? 1 : 0);
}

/** Sorted copy with only the three measured fields. */
export function canonicalMeasurements(ms: readonly Measurement[]): Measurement[] {
  return ms.map(({ pcrNum, hashAlgo, value }) => ({ pcrNum, hashAlgo, value })).sort(compareMeasurements);
}

const fingerprints = new WeakMap<readonly Measurement[], string>();

/** Memoised per list: parsed reports are immutable, and a decision asks for the same list's fingerprint more than once. */
export function fingerprint(ms: readonly Measurement[]): string {
  const cached = fingerprints.get(ms);
  if (cached !== undefined) return cached;
  const lines = canonicalMeasurements(ms).map((m) => `${m.pcrNum}|${m.hashAlgo}|${m.value}`);
  const fp = createHash('sha256').update(lines.join('\n')).digest('hex');
  fingerprints.set(ms, fp);
  return fp;
}

const FINGERPRINT = /^[0-9a-f]{64}$/;
export function isFingerprint(s: string): boolean {
  return FINGERPRINT.test(s);
}

/** Exact-set rule: same PCRs, and for each, equal hashAlgo and value. */
export function sameMeasurements(a: readonly Measurement[], b: readonly Measurement[]): boolean {
  if (a.length !== b.length) return false;
  const byPcr = new Map(b.map((m) => [m.pcrNum, m]));
  if (byPcr.size !== b.length) return false;
  return a.every((m) => {
    const other = byPcr.get(m.pcrNum);
    return other !== undefined && other.hashAlgo === m.hashAlgo && other.value === m.value;
  });
}

export interface PcrChange {
  readonly pcrNum: string;
  readonly from: Measurement;
  readonly to: Measurement;
}

/** What changed going from `before` (e.g. the VM's policy) to `after` (e.g. what it measured). */
export interface MeasurementDiff {
  readonly added: Measurement[];
  readonly removed: Measurement[];
  readonly changed: PcrChange[];
  readonly unchanged: string[];
}

export function diffMeasurements(before: readonly Measurement[], after: readonly Measurement[]): MeasurementDiff {
  const old = new Map(before.map((m) => [m.pcrNum, m]));
  const now = new Map(after.map((m) => [m.pcrNum, m]));
  const added: Measurement[] = [];
  const changed: PcrChange[] = [];
  const unchanged: string[] = [];
  for (const m of canonicalMeasurements(after)) {
    const was = old.get(m.pcrNum);
    if (was === undefined) added.push(m);
    else if (was.hashAlgo !== m.hashAlgo || was.value !== m.value) changed.push({ pcrNum: m.pcrNum, from: was, to: m });
    else unchanged.push(m.pcrNum);
  }
  const removed = canonicalMeasurements(before).filter((m) => !now.has(m.pcrNum));
  return { added, removed, changed, unchanged };
}

/** One line for people: "PCR_4 changed, PCR_14 added". */
export function describeDiff(d: MeasurementDiff): string {
  const parts = [
    ...d.changed.map((c) => `${c.pcrNum} changed`),
    ...d.added.map((m) => `${m.pcrNum} added`),
    ...d.removed.map((m) => `${m.pcrNum} removed`),
  ];
  return parts.length === 0 ? 'no PCR differs from the policy' : parts.join(', ');
}
