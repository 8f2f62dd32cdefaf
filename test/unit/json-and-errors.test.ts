/** Bounded JSON (size, depth, prototype keys) and the error types every entry point reports. */
import { describe, expect, it } from 'vitest';
import { BootwardenError, InputRejected, isBootwardenError, reject } from '../../core/errors.js';
import { compareBootCounters } from '../../core/event.js';
import {
  assertByteSize,
  assertNoForbiddenKeys,
  jsonDepthExceeds,
  parseBoundedJson,
  valueDepthExceeds,
  type JsonValue,
} from '../../core/json.js';

function rejectionOf(run: () => unknown) {
  try {
    run();
  } catch (e) {
    if (e instanceof InputRejected) return e.rejection;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('valueDepthExceeds (a body already parsed)', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
    return v;
  };
  it.each([
    [0, false],
    [32, false],
    [33, true],
    [200_000, true],
  ])('%i levels against a limit of 32: %s (iterative: no stack overflow)', (depth, expected) => {
    expect(valueDepthExceeds(nested(depth), 32)).toBe(expected);
  });
  it('looks into every branch, not only the first', () => {
    expect(valueDepthExceeds({ a: 1, b: [2, { c: nested(31) }] }, 32)).toBe(true);
    expect(valueDepthExceeds({ a: 1, b: [2, { c: nested(29) }] }, 32)).toBe(false);
  });
});

describe('jsonDepthExceeds', () => {
  it.each([
    ['2 levels, limit 2', '{"a":[1]}', 2, false],
    ['3 levels, limit 2', '{"a":[[1]]}', 2, true],
    ['brackets inside a string do not count', '{"a":"[[[[["}', 1, false],
    ['an escaped quote does not end the string', '{"a":"\\"[[[["}', 1, false],
    ['an escaped backslash before the closing quote ends it', '{"a":"\\\\"}', 1, false],
    ['closing brackets bring the depth back down', '[[1],[2],[3]]', 2, false],
    ['siblings after a closed level count from the right depth', '[[1]][[[2]]]', 2, true],
    ['objects and arrays both count', '[{"a":{"b":1}}]', 2, true],
    ['a string that opens on the last character', '["', 1, false],
  ])('%s', (_name, text, limit, expected) => {
    expect(jsonDepthExceeds(text, limit)).toBe(expected);
  });
});

describe('assertByteSize', () => {
  it('counts UTF-8 bytes: at the limit passes, one byte over is refused with both numbers', () => {
    assertByteSize('é'.repeat(5), 'the entry', 10);
    expect(rejectionOf(() => assertByteSize('é'.repeat(5) + 'a', 'the entry', 10))).toEqual({
      code: 'input_too_large',
      message: 'the entry is 11 bytes; the limit is 10',
      field: null,
    });
  });

  it('a text of multi-byte characters is measured, not guessed from its length', () => {
    expect(rejectionOf(() => assertByteSize('€€€€', 'input', 11))).toEqual({
      code: 'input_too_large',
      message: 'input is 12 bytes; the limit is 11',
      field: null,
    });
  });
});

describe('parseBoundedJson', () => {
  it('parses what fits', () => {
    expect(parseBoundedJson('{"a":[1,"x"]}', 'input', 100)).toEqual({ a: [1, 'x'] });
  });

  it('refuses depth past 32 unless the caller has checked it already', () => {
    const deep = '['.repeat(33) + ']'.repeat(33);
    expect(rejectionOf(() => parseBoundedJson(deep, 'the message', 1000))).toEqual({
      code: 'input_too_deep',
      message: 'the message nests deeper than 32 levels',
      field: null,
    });
    expect(parseBoundedJson(deep, 'the message', 1000, { depthChecked: true })).toHaveLength(1);
    expect(parseBoundedJson('['.repeat(32) + ']'.repeat(32), 'the message', 1000)).toHaveLength(1);
  });

  it('names the input in a JSON error', () => {
    expect(rejectionOf(() => parseBoundedJson('{', 'message.data', 100))).toEqual({
      code: 'invalid_json',
      message: expect.stringMatching(/^message\.data is not JSON: /) as unknown,
      field: null,
    });
  });
});

describe('assertNoForbiddenKeys', () => {
  const parsed = (text: string): JsonValue => JSON.parse(text) as JsonValue;
  it.each([
    ['at the top', '{"__proto__":{"x":1}}', 'root has the key "__proto__", which is not allowed', 'root.__proto__'],
    [
      'in a nested object',
      '{"a":{"b":{"constructor":1}}}',
      'root.a.b has the key "constructor", which is not allowed',
      'root.a.b.constructor',
    ],
    ['in a list', '{"a":[{"ok":1},{"prototype":2}]}', 'root.a[1] has the key "prototype", which is not allowed', 'root.a[1].prototype'],
    [
      'in a list at the top',
      '[1,[{"__proto__":null}]]',
      'root[1][0] has the key "__proto__", which is not allowed',
      'root[1][0].__proto__',
    ],
  ])('names the key %s', (_name, text, message, field) => {
    expect(rejectionOf(() => assertNoForbiddenKeys(parsed(text), 'root'))).toEqual({ code: 'forbidden_key', message, field });
  });

  it.each([
    ['plain values', '{"a":[1,"__proto__",{"b":null}]}'],
    ['a list of lists', '[[1],[2,[3]]]'],
    ['a scalar', '"constructor"'],
  ])('accepts %s (the words may appear as values)', (_name, text) => {
    expect(() => assertNoForbiddenKeys(parsed(text), 'root')).not.toThrow();
  });
});

describe('errors', () => {
  it('InputRejected carries the rejection and names itself', () => {
    const e = new InputRejected({ code: 'invalid_field', message: 'm', field: 'f' });
    expect(e.name).toBe('InputRejected');
    expect(e.message).toBe('m');
    expect(() => reject('missing_field', 'x is missing', 'x')).toThrow(InputRejected);
  });

  it('BootwardenError: code, retryable (false unless said), the cause kept only when given', () => {
    const cause = new Error('socket hang up');
    const e = new BootwardenError('store_unavailable', 'Firestore down', { retryable: true, cause });
    expect([e.name, e.code, e.retryable, e.message, e.cause]).toEqual([
      'BootwardenError',
      'store_unavailable',
      true,
      'Firestore down',
      cause,
    ]);
    const plain = new BootwardenError('config_invalid', 'bad');
    expect(plain.retryable).toBe(false);
    expect('cause' in plain).toBe(false);
    expect(isBootwardenError(plain)).toBe(true);
    expect(isBootwardenError(new Error('x'))).toBe(false);
  });
});

describe('compareBootCounters', () => {
  it.each([
    ['9', '10', -1],
    ['10', '9', 1],
    ['10', '10', 0],
    ['18446744073709551615', '18446744073709551614', 1],
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(compareBootCounters(a, b)).toBe(expected);
  });
});
