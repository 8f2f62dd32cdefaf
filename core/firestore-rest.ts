/**
 * Firestore REST typed values (`{stringValue}`, `{mapValue: {fields}}`, ...), the encoding that
 * the Workflows Firestore connector sends and receives. Pure: used to hand the workflow documents
 * it can write as they are.
 */
import type { JsonObject, JsonValue } from './json.js';

export type FirestoreValue =
  | { nullValue: null }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number }
  | { stringValue: string }
  | { arrayValue: { values: FirestoreValue[] } }
  | { mapValue: { fields: Record<string, FirestoreValue> } };

export function toFirestoreValue(v: JsonValue): FirestoreValue {
  if (v === null) return { nullValue: null };
  if (typeof v === 'boolean') return { booleanValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toFirestoreValue) } };
  return { mapValue: { fields: toFirestoreFields(v) } };
}

export function toFirestoreFields(obj: JsonObject): Record<string, FirestoreValue> {
  const fields: Record<string, FirestoreValue> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toFirestoreValue(v);
  return fields;
}

export function fromFirestoreValue(v: FirestoreValue): JsonValue {
  if ('nullValue' in v) return null;
  if ('booleanValue' in v) return v.booleanValue;
  if ('integerValue' in v) return Number(v.integerValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('stringValue' in v) return v.stringValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(fromFirestoreValue);
  return fromFirestoreFields(v.mapValue.fields ?? {});
}

export function fromFirestoreFields(fields: Record<string, FirestoreValue>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(fields)) out[k] = fromFirestoreValue(v);
  return out;
}
