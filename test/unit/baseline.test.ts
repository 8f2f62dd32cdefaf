import { describe, expect, it } from 'vitest';
import {
  baselineFromDocument,
  baselineToDocument,
  isKeyedByFingerprint,
  METADATA_FIELD,
  newBaseline,
  validateBaselineId,
} from '../../core/baseline.js';
import type { JsonObject, JsonValue } from '../../core/json.js';
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

describe('baseline ids', () => {
  it.each([
    ['a__x__', null],
    ['a__x__b', null],
    ['a'.repeat(200), null],
    ['__x__', 'baseline id "__x__" must be 1-200 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'],
    ['a'.repeat(201), `baseline id "${'a'.repeat(80)}" must be 1-200 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`],
    [
      'abcdefghij'.repeat(9) + '/x',
      `baseline id "${'abcdefghij'.repeat(8)}" must be 1-200 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`,
    ],
  ])('validateBaselineId(%j) → %j', (id, expected) => {
    expect(validateBaselineId(id)).toBe(expected);
  });
});

const EVERY_FIELD = {
  fingerprint: 'f1',
  addedBy: 'alice',
  addedAt: '2026-11-01T00:00:00Z',
  sourceEntry: { logName: 'projects/acme-prod/logs/x', insertId: 'i1', timestamp: '2026-10-31T23:59:00Z', instanceId: '435' },
  importedFrom: ['baseline1', 'baseline2'],
  note: 'kernel 25',
};

describe('baseline metadata', () => {
  const withMetadata = (metadata: JsonValue): JsonObject => ({ ...tutorialDoc, [METADATA_FIELD]: metadata });

  it.each([
    ['null metadata', null, null],
    ['empty metadata', {}, { fingerprint: '', addedBy: '', addedAt: '', sourceEntry: null, importedFrom: [], note: null }],
    [
      'null fields',
      { fingerprint: null, addedBy: null, addedAt: null, sourceEntry: null, importedFrom: null, note: null },
      { fingerprint: '', addedBy: '', addedAt: '', sourceEntry: null, importedFrom: [], note: null },
    ],
    ['every field, read as written', EVERY_FIELD, EVERY_FIELD],
    [
      'non-string sourceEntry fields and importedFrom items',
      {
        sourceEntry: { logName: 7, insertId: 'i1', timestamp: null, instanceId: ['435'] },
        importedFrom: ['baseline1', 3, null, { id: 'x' }, 'baseline2'],
      },
      {
        fingerprint: '',
        addedBy: '',
        addedAt: '',
        sourceEntry: { logName: '', insertId: 'i1', timestamp: '', instanceId: '' },
        importedFrom: ['baseline1', 'baseline2'],
        note: null,
      },
    ],
    [
      'an empty sourceEntry',
      { sourceEntry: {} },
      {
        fingerprint: '',
        addedBy: '',
        addedAt: '',
        sourceEntry: { logName: '', insertId: '', timestamp: '', instanceId: '' },
        importedFrom: [],
        note: null,
      },
    ],
    [
      'sourceEntry and importedFrom of the wrong type',
      { sourceEntry: 'i1', importedFrom: 'baseline1' },
      { fingerprint: '', addedBy: '', addedAt: '', sourceEntry: null, importedFrom: [], note: null },
    ],
  ])('reads %s', (_name, metadata, expected) => {
    const r = baselineFromDocument('b', withMetadata(metadata));
    if (!r.ok) throw new Error(r.rejection.message);
    expect(r.baseline.metadata).toEqual(expected);
  });

  it.each([
    ['a string', 'x', 'b.bootwarden must be an object', 'b.bootwarden'],
    ['a list', ['x'], 'b.bootwarden must be an object', 'b.bootwarden'],
    ['a number addedBy', { addedBy: 5 }, 'b.bootwarden.addedBy must be a string', 'b.bootwarden.addedBy'],
    ['an object note', { note: { text: 'x' } }, 'b.bootwarden.note must be a string', 'b.bootwarden.note'],
  ])('rejects metadata that is %s', (_name, metadata, message, field) => {
    expect(baselineFromDocument('b', withMetadata(metadata))).toEqual({
      ok: false,
      id: 'b',
      rejection: { code: 'invalid_field', message, field },
    });
  });
});

describe('baseline document rejections', () => {
  it.each([
    ['not an object', [], 'invalid_field', 'baseline b must be a JSON object of PCR fields', 'b'],
    ['no PCR fields', { description: 'x' }, 'missing_field', 'baseline b has no PCR_n fields', 'b'],
    [
      'pcrNum disagreeing with the field name',
      { PCR_0: { ...tutorialDoc['PCR_4'] } },
      'invalid_field',
      'baseline b: field PCR_0 holds pcrNum PCR_4; they must agree',
      'b.PCR_0.pcrNum',
    ],
    [
      'a PCR field that is not a measurement',
      { PCR_0: 'abc' },
      'invalid_field',
      'b.PCR_0 must be an object {hashAlgo, pcrNum, value}',
      'b.PCR_0',
    ],
    [
      'a prototype field',
      { ...tutorialDoc, prototype: 1 },
      'forbidden_key',
      'baseline b has the field "prototype", which is not allowed',
      'b.prototype',
    ],
    [
      'a constructor field',
      { constructor: { x: 1 }, ...tutorialDoc },
      'forbidden_key',
      'baseline b has the field "constructor", which is not allowed',
      'b.constructor',
    ],
  ])('%s', (_name, doc: JsonValue, code, message, field) => {
    expect(baselineFromDocument('b', doc)).toEqual({ ok: false, id: 'b', rejection: { code, message, field } });
  });
});

describe('new baselines and their documents', () => {
  const SOURCE = { logName: 'projects/acme-prod/logs/x', insertId: 'i1', timestamp: '2026-10-31T23:59:00Z', instanceId: '435' };
  const fresh = () =>
    newBaseline(KERNEL_26, {
      addedBy: 'alice',
      addedAt: '2026-11-01T00:00:00Z',
      sourceEntry: { ...SOURCE },
      importedFrom: ['baseline1'],
      note: null,
    });

  it('a new baseline is keyed by its fingerprint', () => {
    const b = fresh();
    expect(b.id).toBe(fingerprint(KERNEL_26));
    expect(isKeyedByFingerprint(b)).toBe(true);
    expect(isKeyedByFingerprint({ ...b, id: 'baseline1' })).toBe(false);
  });

  it('writes sourceEntry and importedFrom into the document', () => {
    expect(baselineToDocument(fresh())[METADATA_FIELD]).toEqual({
      fingerprint: fingerprint(KERNEL_26),
      addedBy: 'alice',
      addedAt: '2026-11-01T00:00:00Z',
      sourceEntry: { logName: 'projects/acme-prod/logs/x', insertId: 'i1', timestamp: '2026-10-31T23:59:00Z', instanceId: '435' },
      importedFrom: ['baseline1'],
      note: null,
    });
  });

  it('the document is a copy: changing it leaves the baseline as it was', () => {
    const b = fresh();
    const md = baselineToDocument(b)[METADATA_FIELD] as { sourceEntry: Record<string, string>; importedFrom: string[] };
    md.sourceEntry['logName'] = 'changed';
    md.importedFrom.push('baseline2');
    expect(b.metadata?.sourceEntry).toEqual({
      logName: 'projects/acme-prod/logs/x',
      insertId: 'i1',
      timestamp: '2026-10-31T23:59:00Z',
      instanceId: '435',
    });
    expect(b.metadata?.importedFrom).toEqual(['baseline1']);
  });
});
