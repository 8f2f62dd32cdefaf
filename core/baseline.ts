/**
 * Baselines: documents of `known_good_measurements`.
 *
 * The PCR fields keep the tutorial's shape so that documents made by hand in the console stay
 * readable: `PCR_0: {hashAlgo, pcrNum, value}`, `PCR_4: {...}`, ... bootwarden's own metadata
 * lives under the one reserved field `bootwarden`. Any other field is kept as it is.
 * A baseline made by bootwarden has its fingerprint as document id, so that deciding on an event
 * reads one document, whatever the number of baselines.
 */
import { InputRejected, reject, type Rejection } from './errors.js';
import { FORBIDDEN_KEYS, isJsonObject, type JsonObject, type JsonValue } from './json.js';
import { canonicalMeasurements, fingerprint, parseMeasurement, type Measurement } from './measurements.js';

export const COLLECTION = 'known_good_measurements';
export const METADATA_FIELD = 'bootwarden';
const PCR_FIELD = /^PCR_[0-9]+$/;

/** Where a baseline came from, for the audit trail. */
export interface BaselineMetadata {
  readonly fingerprint: string;
  readonly addedBy: string;
  readonly addedAt: string;
  /** The log entry whose measurements were promoted, when there was one. */
  readonly sourceEntry: { logName: string; insertId: string; timestamp: string; instanceId: string } | null;
  /** Ids this baseline had before `baselines import` re-keyed it. */
  readonly importedFrom: readonly string[];
  readonly note: string | null;
}

export interface Baseline {
  readonly id: string;
  readonly measurements: readonly Measurement[];
  readonly fingerprint: string;
  readonly metadata: BaselineMetadata | null;
  /** Fields that are neither PCRs nor ours, kept so that nothing is lost on rewrite. */
  readonly extraFields: JsonObject;
}

/**
 * Firestore document id rules, plus what is safe as a file name. Starting with a letter or digit
 * also keeps out the ids Firestore reserves (`__...__`).
 */
const DOC_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export function validateBaselineId(id: string): string | null {
  if (!DOC_ID.test(id))
    return `baseline id ${JSON.stringify(id.slice(0, 80))} must be 1-200 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`;
  return null;
}

function parseMetadata(raw: JsonValue | undefined, id: string): BaselineMetadata | null {
  if (raw === undefined || raw === null) return null;
  const path = `${id}.${METADATA_FIELD}`;
  if (!isJsonObject(raw)) reject('invalid_field', `${path} must be an object`, path);
  const str = (k: string): string | null => {
    const v = raw[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') reject('invalid_field', `${path}.${k} must be a string`, `${path}.${k}`);
    return v;
  };
  const src = raw['sourceEntry'];
  let sourceEntry: BaselineMetadata['sourceEntry'] = null;
  if (isJsonObject(src)) {
    const s = (k: string): string => (typeof src[k] === 'string' ? src[k] : '');
    sourceEntry = { logName: s('logName'), insertId: s('insertId'), timestamp: s('timestamp'), instanceId: s('instanceId') };
  }
  const imported = raw['importedFrom'];
  return {
    fingerprint: str('fingerprint') ?? '',
    addedBy: str('addedBy') ?? '',
    addedAt: str('addedAt') ?? '',
    sourceEntry,
    importedFrom: Array.isArray(imported) ? imported.filter((x): x is string => typeof x === 'string') : [],
    note: str('note'),
  };
}

export type BaselineParse = { ok: true; baseline: Baseline } | { ok: false; id: string; rejection: Rejection };

/** Reads a stored document faithfully. Tutorial documents (no metadata, any id) are valid. */
export function baselineFromDocument(id: string, doc: JsonValue): BaselineParse {
  try {
    if (!isJsonObject(doc)) reject('invalid_field', `baseline ${id} must be a JSON object of PCR fields`, id);
    const measurements: Measurement[] = [];
    const extraFields: JsonObject = {};
    for (const [key, value] of Object.entries(doc)) {
      if (FORBIDDEN_KEYS.has(key)) reject('forbidden_key', `baseline ${id} has the field "${key}", which is not allowed`, `${id}.${key}`);
      if (key === METADATA_FIELD) continue;
      if (PCR_FIELD.test(key)) {
        const m = parseMeasurement(value, `${id}.${key}`);
        if (m.pcrNum !== key) {
          reject('invalid_field', `baseline ${id}: field ${key} holds pcrNum ${m.pcrNum}; they must agree`, `${id}.${key}.pcrNum`);
        }
        measurements.push(m);
      } else {
        extraFields[key] = value;
      }
    }
    if (measurements.length === 0) reject('missing_field', `baseline ${id} has no PCR_n fields`, id);
    const canonical = canonicalMeasurements(measurements);
    return {
      ok: true,
      baseline: {
        id,
        measurements: canonical,
        fingerprint: fingerprint(canonical),
        metadata: parseMetadata(doc[METADATA_FIELD], id),
        extraFields,
      },
    };
  } catch (e) {
    if (e instanceof InputRejected) return { ok: false, id, rejection: e.rejection };
    throw e;
  }
}

/** The stored form: tutorial-shaped PCR fields, extra fields untouched, our metadata under one key. */
export function baselineToDocument(b: Baseline): JsonObject {
  const doc: JsonObject = { ...b.extraFields };
  for (const m of canonicalMeasurements(b.measurements)) {
    doc[m.pcrNum] = { hashAlgo: m.hashAlgo, pcrNum: m.pcrNum, value: m.value };
  }
  if (b.metadata !== null) {
    const md = b.metadata;
    doc[METADATA_FIELD] = {
      fingerprint: md.fingerprint,
      addedBy: md.addedBy,
      addedAt: md.addedAt,
      sourceEntry: md.sourceEntry === null ? null : { ...md.sourceEntry },
      importedFrom: [...md.importedFrom],
      note: md.note,
    };
  }
  return doc;
}

/** A new baseline keyed by its fingerprint. */
export function newBaseline(
  measurements: readonly Measurement[],
  meta: Omit<BaselineMetadata, 'fingerprint' | 'importedFrom'> & { importedFrom?: readonly string[] },
  extraFields: JsonObject = {},
): Baseline {
  const canonical = canonicalMeasurements(measurements);
  const fp = fingerprint(canonical);
  return {
    id: fp,
    measurements: canonical,
    fingerprint: fp,
    metadata: { ...meta, fingerprint: fp, importedFrom: meta.importedFrom ?? [] },
    extraFields,
  };
}

/** True when the document's id is the fingerprint of its PCRs: the hot path can find it. */
export function isKeyedByFingerprint(b: Baseline): boolean {
  return b.id === b.fingerprint;
}
