import { describe, expect, it } from 'vitest';
import {
  baselineFromDocument,
  baselineToDocument,
  isKeyedByFingerprint,
  METADATA_FIELD,
  newBaseline,
  validateBaselineId,
} from '../../core/baseline.js';
import { fingerprint } from '../../core/measurements.js';
import { KERNEL_25, KERNEL_26 } from '../support/fixtures.js';

/** A document exactly as the tutorial's console steps create it. */
const tutorialDoc = Object.fromEntries(KERNEL_25.map((m) => [m.pcrNum, { hashAlgo: m.hashAlgo, pcrNum: m.pcrNum, value: m.value }]));

describe('baseline documents', () => {
  it('reads a tutorial-made document under any id', () => {
    const r = baselineFromDocument('baseline1', tutorialDoc);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.baseline.fingerprint).toBe(fingerprint(KERNEL_25));
    expect(r.baseline.metadata).toBeNull();
    expect(isKeyedByFingerprint(r.baseline)).toBe(false);
    expect(baselineToDocument(r.baseline)).toEqual(tutorialDoc);
  });

  it('writes PCR fields in the tutorial shape and metadata under one reserved field', () => {
    const b = newBaseline(KERNEL_26, { addedBy: 'alice', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: 'kernel 26' });
    const doc = baselineToDocument(b);
    expect(Object.keys(doc).sort()).toEqual(['PCR_0', 'PCR_4', 'PCR_7', METADATA_FIELD]);
    expect(doc['PCR_4']).toEqual({ hashAlgo: 'SHA256', pcrNum: 'PCR_4', value: KERNEL_26[1]?.value });
    expect(doc[METADATA_FIELD]).toMatchObject({ fingerprint: b.id, addedBy: 'alice', note: 'kernel 26', importedFrom: [] });
    expect(b.id).toBe(fingerprint(KERNEL_26));
    const back = baselineFromDocument(b.id, JSON.parse(JSON.stringify(doc)));
    expect(back).toEqual({ ok: true, baseline: b });
  });

  it('keeps fields it does not know, so a rewrite loses nothing', () => {
    const r = baselineFromDocument('baseline1', { ...tutorialDoc, description: 'golden image', owner: { team: 'sre' } });
    if (!r.ok) throw new Error(r.rejection.message);
    expect(baselineToDocument(r.baseline)).toMatchObject({ description: 'golden image', owner: { team: 'sre' } });
  });

  it.each([
    ['not an object', [], 'invalid_field'],
    ['no PCR fields', { description: 'x' }, 'missing_field'],
    ['pcrNum disagreeing with the field name', { PCR_0: { ...tutorialDoc['PCR_4'] } }, 'invalid_field'],
    ['a PCR field that is not a measurement', { PCR_0: 'abc' }, 'invalid_field'],
    ['a bad hash value', { PCR_0: { hashAlgo: 'SHA256', pcrNum: 'PCR_0', value: 'short' } }, 'invalid_hash_value'],
    ['a __proto__ field', JSON.parse(`{"__proto__": {"x": 1}, "PCR_0": ${JSON.stringify(tutorialDoc['PCR_0'])}}`), 'forbidden_key'],
  ])('rejects a document with %s', (_name, doc, code) => {
    const r = baselineFromDocument('b', doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.code).toBe(code);
  });

  it.each([
    ['baseline1', true],
    ['a'.repeat(64), true],
    ['../etc/passwd', false],
    ['.hidden', false],
    ['a/b', false],
    ['__reserved__', false],
    ['', false],
  ])('id %j valid: %s', (id, valid) => {
    expect(validateBaselineId(id) === null).toBe(valid);
  });
});
