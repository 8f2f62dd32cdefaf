import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../core/base64.js';
import { InputRejected } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import {
  canonicalMeasurements,
  compareMeasurements,
  describeDiff,
  diffMeasurements,
  fingerprint,
  isFingerprint,
  parseMeasurement,
  sameMeasurements,
  type Measurement,
} from '../../core/measurements.js';
import { KERNEL_25, KERNEL_26, WINDOWS_NOV, WINDOWS_OCT } from '../support/fixtures.js';

const m = (pcrNum: string, value: string, hashAlgo: 'SHA1' | 'SHA256' = 'SHA256'): Measurement => ({ pcrNum, hashAlgo, value });
const V = (byte: number, len = 32): string => Buffer.alloc(len, byte).toString('base64');

describe('strict base64', () => {
  it.each([
    ['AAAA', true],
    ['QQ==', true],
    ['QUI=', true],
    [V(1), true],
    ['', false],
    ['QQ', false],
    ['QQ=', false],
    ['QR==', false],
    ['Q Q==', false],
    ['QQ==\n', false],
    ['QQ==QQ==', false],
    ['QQ-_', false],
    ['=QQQ', false],
  ])('%j → %s', (text, valid) => {
    expect(decodeBase64Strict(text).ok).toBe(valid);
  });

  it('names the offending character and where it is', () => {
    const r = decodeBase64Strict('AAAA$AAA');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toBe("has '$' at offset 4, which is not a base64 character");
  });
});

describe('fingerprint', () => {
  it('is SHA-256 over the sorted pcrNum|hashAlgo|value lines', () => {
    const ms = [m('PCR_7', V(7)), m('PCR_0', V(0)), m('PCR_14', V(14)), m('PCR_4', V(4))];
    const expected = createHash('sha256')
      .update([`PCR_0|SHA256|${V(0)}`, `PCR_4|SHA256|${V(4)}`, `PCR_7|SHA256|${V(7)}`, `PCR_14|SHA256|${V(14)}`].join('\n'))
      .digest('hex');
    expect(fingerprint(ms)).toBe(expected);
    expect(isFingerprint(expected)).toBe(true);
  });

  it('sorts PCR numbers numerically, not as text (PCR_14 after PCR_7)', () => {
    expect(canonicalMeasurements([m('PCR_14', V(1)), m('PCR_7', V(2)), m('PCR_11', V(3))]).map((x) => x.pcrNum)).toEqual([
      'PCR_7',
      'PCR_11',
      'PCR_14',
    ]);
  });

  it.each([
    ['Linux', KERNEL_26],
    ['Windows', WINDOWS_NOV],
  ])('does not depend on the order of a %s report', (_os, ms) => {
    const reversed = [...ms].reverse();
    const rotated = [...ms.slice(1), ...ms.slice(0, 1)];
    expect(fingerprint(reversed)).toBe(fingerprint(ms));
    expect(fingerprint(rotated)).toBe(fingerprint(ms));
  });

  it.each([
    ['a different value', [m('PCR_0', V(0)), m('PCR_4', V(5))]],
    ['a different hash bank', [m('PCR_0', V(0)), m('PCR_4', V(4, 20), 'SHA1')]],
    ['an extra PCR', [m('PCR_0', V(0)), m('PCR_4', V(4)), m('PCR_14', V(14))]],
    ['a missing PCR', [m('PCR_0', V(0))]],
  ])('changes with %s', (_what, other) => {
    expect(fingerprint(other)).not.toBe(fingerprint([m('PCR_0', V(0)), m('PCR_4', V(4))]));
  });
});

describe('exact-set matching', () => {
  const base = [m('PCR_0', V(0)), m('PCR_4', V(4)), m('PCR_7', V(7))];
  it.each([
    ['same set, other order', [m('PCR_7', V(7)), m('PCR_0', V(0)), m('PCR_4', V(4))], true],
    ['one value differs', [m('PCR_0', V(0)), m('PCR_4', V(9)), m('PCR_7', V(7))], false],
    ['same value, other algorithm', [m('PCR_0', V(0)), m('PCR_4', V(4), 'SHA1'), m('PCR_7', V(7))], false],
    ['a subset (the tutorial would match this)', [m('PCR_0', V(0)), m('PCR_4', V(4))], false],
    ['a superset, PCR_14 after MOK enrolment', [...base, m('PCR_14', V(14))], false],
    ['same size, other PCR', [m('PCR_0', V(0)), m('PCR_4', V(4)), m('PCR_8', V(7))], false],
  ])('%s → %s', (_name, report, expected) => {
    expect(sameMeasurements(report, base)).toBe(expected);
    expect(sameMeasurements(base, report)).toBe(expected);
    expect(fingerprint(report) === fingerprint(base)).toBe(expected);
  });

  it('a list that repeats a PCR never matches, in either position (the parser refuses such lists)', () => {
    const repeated = [m('PCR_0', V(0)), m('PCR_0', V(9)), m('PCR_4', V(4))];
    const covering = [m('PCR_0', V(9)), m('PCR_4', V(4)), m('PCR_4', V(4))];
    expect(sameMeasurements(covering, repeated)).toBe(false);
    expect(sameMeasurements(repeated, covering)).toBe(false);
  });
});

describe('diff against the policy', () => {
  it('a kernel update changes PCR_4 only', () => {
    const d = diffMeasurements(KERNEL_25, KERNEL_26);
    expect(d.changed.map((c) => c.pcrNum)).toEqual(['PCR_4']);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.unchanged).toEqual(['PCR_0', 'PCR_7']);
    expect(describeDiff(d)).toBe('PCR_4 changed');
  });

  it('a Windows patch changes PCR_4 and PCR_11', () => {
    expect(describeDiff(diffMeasurements(WINDOWS_OCT, WINDOWS_NOV))).toBe('PCR_4 changed, PCR_11 changed');
  });

  it('reports added and removed PCRs, and a bank change as a change', () => {
    const before = [m('PCR_0', V(0)), m('PCR_4', V(4)), m('PCR_7', V(7))];
    const after = [m('PCR_0', V(0)), m('PCR_4', V(4, 20), 'SHA1'), m('PCR_14', V(14))];
    const d = diffMeasurements(before, after);
    expect(d.changed).toEqual([{ pcrNum: 'PCR_4', from: before[1], to: after[1] }]);
    expect(d.added).toEqual([after[2]]);
    expect(d.removed).toEqual([before[2]]);
    expect(describeDiff(d)).toBe('PCR_4 changed, PCR_14 added, PCR_7 removed');
  });

  it('says so when nothing differs', () => {
    expect(describeDiff(diffMeasurements(KERNEL_25, [...KERNEL_25].reverse()))).toBe('no PCR differs from the policy');
  });
});

describe('measurement details', () => {
  const reason = (raw: unknown): unknown => {
    try {
      parseMeasurement(raw as JsonValue, 'm');
    } catch (e) {
      if (e instanceof InputRejected) return e.rejection;
      throw e;
    }
    return 'accepted';
  };
  it.each([
    ['not an object', 'PCR_0', { code: 'invalid_field', message: 'm must be an object {hashAlgo, pcrNum, value}', field: 'm' }],
    [
      'pcrNum not a string',
      { pcrNum: 0, hashAlgo: 'SHA256', value: V(0) },
      { code: 'invalid_field', message: 'm.pcrNum must be a string like "PCR_0"', field: 'm.pcrNum' },
    ],
    [
      'hashAlgo missing',
      { pcrNum: 'PCR_0', value: V(0) },
      { code: 'missing_field', message: 'm.hashAlgo is missing', field: 'm.hashAlgo' },
    ],
    ['value missing', { pcrNum: 'PCR_0', hashAlgo: 'SHA256' }, { code: 'missing_field', message: 'm.value is missing', field: 'm.value' }],
    [
      'a forbidden key',
      JSON.parse('{"pcrNum":"PCR_0","hashAlgo":"SHA256","value":"' + V(0) + '","__proto__":{}}') as unknown,
      { code: 'forbidden_key', message: 'm has the key "__proto__", which is not allowed', field: 'm.__proto__' },
    ],
    [
      'a long pcrNum, shown cut to 40 characters',
      { pcrNum: `PCR_${'9'.repeat(60)}`, hashAlgo: 'SHA256', value: V(0) },
      { code: 'invalid_field', message: `m.pcrNum is "PCR_${'9'.repeat(36)}"; expected PCR_0 to PCR_23`, field: 'm.pcrNum' },
    ],
    [
      'a long hashAlgo, shown cut to 40 characters',
      { pcrNum: 'PCR_0', hashAlgo: 'S'.repeat(50), value: V(0) },
      { code: 'unsupported_hash_algo', message: `m.hashAlgo is "${'S'.repeat(40)}"; expected one of SHA1, SHA256`, field: 'm.hashAlgo' },
    ],
    [
      'a hashAlgo that is not a string',
      { pcrNum: 'PCR_0', hashAlgo: 256, value: V(0) },
      { code: 'unsupported_hash_algo', message: 'm.hashAlgo is 256; expected one of SHA1, SHA256', field: 'm.hashAlgo' },
    ],
    [
      'an empty value',
      { pcrNum: 'PCR_0', hashAlgo: 'SHA256', value: '' },
      { code: 'invalid_hash_value', message: 'm.value is empty', field: 'm.value' },
    ],
    ['PCR_23 is the last', { pcrNum: 'PCR_23', hashAlgo: 'SHA1', value: V(1, 20) }, 'accepted'],
  ])('%s', (_name, raw, expected) => {
    expect(reason(raw)).toEqual(expected);
  });

  it('orders the same PCR by hash bank (SHA1 before SHA256), PCRs by number first', () => {
    const sha1 = m('PCR_4', V(1, 20), 'SHA1');
    const sha256 = m('PCR_4', V(1));
    expect(compareMeasurements(sha1, sha256)).toBe(-1);
    expect(compareMeasurements(sha256, sha1)).toBe(1);
    expect(compareMeasurements(sha1, { ...sha1 })).toBe(0);
    expect(canonicalMeasurements([sha256, m('PCR_0', V(0)), sha1]).map((x) => `${x.pcrNum}/${x.hashAlgo}`)).toEqual([
      'PCR_0/SHA256',
      'PCR_4/SHA1',
      'PCR_4/SHA256',
    ]);
  });

  it('a diff sorts each PCR into exactly one of added, removed, changed (value or bank) and unchanged', () => {
    const before = [m('PCR_0', V(0)), m('PCR_4', V(4)), m('PCR_7', V(7)), m('PCR_8', V(8))];
    const after = [m('PCR_0', V(0)), m('PCR_4', V(5)), m('PCR_7', V(7, 20), 'SHA1'), m('PCR_14', V(14))];
    const d = diffMeasurements(before, after);
    expect(d.added.map((x) => x.pcrNum)).toEqual(['PCR_14']);
    expect(d.removed.map((x) => x.pcrNum)).toEqual(['PCR_8']);
    expect(d.changed.map((c) => [c.pcrNum, c.from.value, c.to.value])).toEqual([
      ['PCR_4', V(4), V(5)],
      ['PCR_7', V(7), V(7, 20)],
    ]);
    expect(d.unchanged).toEqual(['PCR_0']);
  });
});
