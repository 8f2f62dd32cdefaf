import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { ExportSplitter, type SplitRecord } from '../../core/export-splitter.js';
import { BIG_ID_VM, failedLateBoot } from '../support/fixtures.js';

function split(input: string | Buffer, chunkSize = Infinity, maxBytes = 1 << 20, maxDepth = 32): SplitRecord[] {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const s = new ExportSplitter(maxBytes, maxDepth);
  const out: SplitRecord[] = [];
  const step = Math.min(chunkSize, Math.max(bytes.length, 1));
  for (let i = 0; i < bytes.length; i += step) s.push(bytes.subarray(i, i + step), out);
  s.end(out);
  return out;
}

const texts = (rs: SplitRecord[]): (string | null)[] => rs.map((r) => r.text);

/** A record as a literal: [ordinal, byteOffset, text, 'code: message' of the rejection]. */
type Row = [number, number, string | null, string | null];
const rows = (rs: SplitRecord[]): Row[] =>
  rs.map((r) => [r.ordinal, r.byteOffset, r.text, r.rejection === null ? null : `${r.rejection.code}: ${r.rejection.message}`]);

/**
 * The same bytes fed whole, in two chunks split at every index, and one byte at a time (as plain
 * Uint8Array views into a larger buffer, the way a stream may hand them over).
 */
function everyWay(input: string | Buffer, maxBytes = 1 << 20, maxDepth = 32): [string, SplitRecord[]][] {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const run = (chunks: Uint8Array[]): SplitRecord[] => {
    const s = new ExportSplitter(maxBytes, maxDepth);
    const out: SplitRecord[] = [];
    for (const c of chunks) s.push(c, out);
    s.end(out);
    return out;
  };
  const ways: [string, SplitRecord[]][] = [['whole', run([bytes])]];
  for (let k = 1; k < bytes.length; k++) ways.push([`split at byte ${k}`, run([bytes.subarray(0, k), bytes.subarray(k)])]);
  ways.push(['byte by byte', run(Array.from(bytes, (_, i) => new Uint8Array(bytes.buffer, bytes.byteOffset + i, 1)))]);
  return ways;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const entry = JSON.stringify(failedLateBoot());
const tricky = { a: 'brackets ] } [ { and "quotes" and \\ backslashes', b: [1, { c: '\u00e9\u{1F510}' }] };

describe('export splitter', () => {
  it.each([
    ['a gcloud JSON array, pretty-printed', JSON.stringify([JSON.parse(entry), tricky], null, 2), 2],
    ['a compact JSON array', `[${entry},${JSON.stringify(tricky)}]`, 2],
    ['JSON Lines', `${entry}\n${JSON.stringify(tricky)}\n`, 2],
    ['JSON Lines with CRLF and blank lines', `${entry}\r\n\r\n${JSON.stringify(tricky)}\r\n`, 2],
    ['one pretty-printed object', JSON.stringify(tricky, null, 2), 1],
    ['an empty array', '[ ]', 0],
    ['an empty file', '', 0],
    ['a BOM before the array', `\ufeff[${entry}]`, 1],
  ])('splits %s the same way at any chunk boundary', (_name, input, n) => {
    const whole = split(input);
    expect(whole).toHaveLength(n);
    for (const r of whole) expect(() => JSON.parse(r.text ?? 'x') as unknown).not.toThrow();
    for (const size of [1, 2, 3, 7, 64]) expect(texts(split(input, size))).toEqual(texts(whole));
  });

  it('keeps multi-byte UTF-8 characters split across chunks intact', () => {
    const input = Buffer.from(`[${JSON.stringify(tricky)}]`);
    expect(JSON.parse(split(input, 1)[0]?.text ?? '')).toEqual(tricky);
  });

  it('numbers entries and gives their byte offsets', () => {
    const rs = split(`[${entry}, {"x":1}]`);
    expect(rs.map((r) => r.ordinal)).toEqual([1, 2]);
    expect(rs[1]?.byteOffset).toBe(1 + entry.length + 2);
  });

  it('in JSON Lines, a broken line is one rejected entry and the next line is still read', () => {
    const rs = split(`{"a":1}\n{"b": [1, \n{"c":3}\n`);
    expect(texts(rs)).toEqual(['{"a":1}', '{"b": [1, ', '{"c":3}']);
    expect(() => JSON.parse(rs[1]?.text ?? '') as unknown).toThrow();
  });

  it('hands a truncated last entry to JSON.parse, and does not report the missing ] again', () => {
    const rs = split(`[${entry}, {"x": 1`, 5);
    expect(rs.map((r) => r.rejection)).toEqual([null, null]);
    expect(rs[1]?.text).toBe('{"x": 1');
  });

  it('rejects an oversized entry without buffering it, and goes on', () => {
    const big = JSON.stringify({ pad: 'x'.repeat(5000) });
    const rs = split(`[${big}, {"ok":1}]`, 100, 1000);
    expect(rs[0]?.rejection?.code).toBe('input_too_large');
    expect(rs[0]?.rejection?.message).toContain(`${big.length} bytes`);
    expect(rs[1]?.text).toBe('{"ok":1}');
  });

  it('rejects an entry nested too deep, and goes on', () => {
    const rs = split(`[${'['.repeat(50)}${']'.repeat(50)}, {"ok":1}]`, 7, 1 << 20, 32);
    expect(rs[0]?.rejection?.code).toBe('input_too_deep');
    expect(rs[1]?.text).toBe('{"ok":1}');
  });

  it.each([
    ['an array without its ]', `[${entry}`, 'before the closing ]'],
    ['data after the array', `[${entry}] {"x":1} [2]`, 'after the closing ]'],
    ['a stray }', '{"a":1}}', "unexpected '}'"],
  ])('reports %s as a rejected record', (_name, input, message) => {
    const rs = split(input, 5);
    const bad = rs.filter((r) => r.rejection !== null);
    expect(bad).toHaveLength(1);
    expect(bad[0]?.rejection?.message).toContain(message);
  });

  it.each<[string, string | Buffer, Row[]]>([
    [
      'strings with escaped quotes and backslashes, empty strings and brackets inside strings',
      String.raw`["","","say \"hi","C:\\",{"":"\"}"},"]"]`,
      [
        [1, 1, '""', null],
        [2, 4, '""', null],
        [3, 7, String.raw`"say \"hi"`, null],
        [4, 18, String.raw`"C:\\"`, null],
        [5, 25, String.raw`{"":"\"}"}`, null],
        [6, 36, '"]"', null],
      ],
    ],
    [
      'bare values in an array, each ended by a different separator',
      '[-1.5e3 ,true\t,null\r\n,false\n,7]',
      [
        [1, 1, '-1.5e3', null],
        [2, 9, 'true', null],
        [3, 15, 'null', null],
        [4, 22, 'false', null],
        [5, 29, '7', null],
      ],
    ],
    [
      'bare values one after another, each ended by the next value or a stray }',
      '1[2]3"s"4{"a":5}6}',
      [
        [1, 0, '1', null],
        [2, 1, '[2]', null],
        [3, 4, '3', null],
        [4, 5, '"s"', null],
        [5, 8, '4', null],
        [6, 9, '{"a":5}', null],
        [7, 16, '6', null],
        [8, 17, null, "invalid_json: unexpected '}' at byte 17"],
      ],
    ],
    [
      'JSON Lines where a line breaks off inside a string',
      '{"a":1}\n{"msg":"cut here\n{"b":"x"}\n',
      [
        [1, 0, '{"a":1}', null],
        [2, 8, '{"msg":"cut here', null],
        [3, 25, '{"b":"x"}', null],
      ],
    ],
    [
      'values whose first one has a line break inside a string (so not JSON Lines)',
      '{"msg":"two\nlines"}\n{"b":\n2}\n',
      [
        [1, 0, '{"msg":"two\nlines"}', null],
        [2, 20, '{"b":\n2}', null],
      ],
    ],
    [
      'pretty-printed values one after another, a compact one between them (jq output)',
      '{\n  "a": 1\n}\n{"b":2}\n{\n  "c": [\n    3\n  ]\n}\n',
      [
        [1, 0, '{\n  "a": 1\n}', null],
        [2, 13, '{"b":2}', null],
        [3, 21, '{\n  "c": [\n    3\n  ]\n}', null],
      ],
    ],
    [
      'a tab-indented array',
      '[\n\t{\n\t\t"a": 1\n\t},\n\t{"b": 2}\n]\n',
      [
        [1, 3, '{\n\t\t"a": 1\n\t}', null],
        [2, 19, '{"b": 2}', null],
      ],
    ],
    [
      'JSON Lines after a byte order mark',
      Buffer.concat([BOM, Buffer.from('{"a":1}\n{"b":2}\n')]),
      [
        [1, 3, '{"a":1}', null],
        [2, 11, '{"b":2}', null],
      ],
    ],
    ['an empty array', '[]', []],
    ['an empty array in whitespace', ' \r\n[\n\t]\n', []],
    ['whitespace only', ' \n\t\r\n', []],
    [
      'a stray byte after an empty array',
      Buffer.from([0x5b, 0x5d, 0xbf]),
      [[1, 2, null, "invalid_json: data after the closing ] of the export's array at byte 2"]],
    ],
    [
      'data after the closing ] of the array, reported once',
      '[{"a":1}]\n{"b":2}\n[3]\n',
      [
        [1, 1, '{"a":1}', null],
        [2, 10, null, "invalid_json: data after the closing ] of the export's array at byte 10"],
      ],
    ],
    [
      'a stray comma, ] and } between JSON Lines, each reported',
      '{"a":1},{"b":2}]\n{"c":3}}\n',
      [
        [1, 0, '{"a":1}', null],
        [2, 7, null, "invalid_json: unexpected ',' at byte 7"],
        [3, 8, '{"b":2}', null],
        [4, 15, null, "invalid_json: unexpected ']' at byte 15"],
        [5, 17, '{"c":3}', null],
        [6, 24, null, "invalid_json: unexpected '}' at byte 24"],
      ],
    ],
    [
      'a stray } inside an array',
      '[{"a":1}},{"b":2}]',
      [
        [1, 1, '{"a":1}', null],
        [2, 8, null, "invalid_json: unexpected '}' at byte 8"],
        [3, 10, '{"b":2}', null],
      ],
    ],
    [
      'an array cut off after a comma',
      '[{"a":1},',
      [
        [1, 1, '{"a":1}', null],
        [2, 9, null, 'invalid_json: the export ends before the closing ] of its array (truncated file?)'],
      ],
    ],
    [
      'an array cut off inside an entry',
      '[{"a":1},{"b":',
      [
        [1, 1, '{"a":1}', null],
        [2, 9, '{"b":', null],
      ],
    ],
  ])('splits %s exactly: whole, at every chunk boundary, byte by byte', (_name, input, expected) => {
    for (const [how, rs] of everyWay(input)) expect(rows(rs), how).toEqual(expected);
  });

  it.each<[string, string, number, number, Row[]]>([
    [
      'entries of exactly maxBytes are kept, one byte more is rejected',
      '[{"a":1},{"ab":1},1234567,12345678]',
      7,
      32,
      [
        [1, 1, '{"a":1}', null],
        [2, 9, null, 'input_too_large: entry is 8 bytes; the limit is 7'],
        [3, 18, '1234567', null],
        [4, 26, null, 'input_too_large: entry is 8 bytes; the limit is 7'],
      ],
    ],
    [
      'a truncated last entry of exactly maxBytes is kept',
      '{"a":1}\n{"b":2',
      6,
      32,
      [
        [1, 0, null, 'input_too_large: entry is 7 bytes; the limit is 6'],
        [2, 8, '{"b":2', null],
      ],
    ],
    [
      'entries nested exactly maxDepth deep in an array are kept, one level more is rejected',
      '[{"a":{"b":[1]}},{"a":{"b":[[1]]}}]',
      1 << 20,
      3,
      [
        [1, 1, '{"a":{"b":[1]}}', null],
        [2, 17, null, 'input_too_deep: entry nests deeper than 3 levels'],
      ],
    ],
    [
      'values nested exactly maxDepth deep are kept, one level more is rejected',
      '{"a":{"b":[1]}}\n{"a":{"b":[[1]]}}\n',
      1 << 20,
      3,
      [
        [1, 0, '{"a":{"b":[1]}}', null],
        [2, 16, null, 'input_too_deep: entry nests deeper than 3 levels'],
      ],
    ],
  ])('at the limits: %s, at every chunk boundary', (_name, input, maxBytes, maxDepth, expected) => {
    for (const [how, rs] of everyWay(input, maxBytes, maxDepth)) expect(rows(rs), how).toEqual(expected);
  });

  it('splits an export of real entries the same way at every chunk boundary', () => {
    const entries = [
      failedLateBoot(),
      failedLateBoot({ instance: BIG_ID_VM, bootCounter: 12, timestamp: '2026-11-02T23:59:59.999999999Z' }),
    ];
    for (const input of [JSON.stringify(entries, null, 2), entries.map((e) => JSON.stringify(e)).join('\n')]) {
      for (const [how, rs] of everyWay(input)) {
        expect(
          rs.map((r) => [r.ordinal, r.rejection, JSON.parse(r.text ?? 'null')] as unknown),
          how,
        ).toEqual([
          [1, null, entries[0]],
          [2, null, entries[1]],
        ]);
      }
    }
  });

  it('holds no more than maxBytes of an oversized entry, however long it runs', () => {
    const s = new ExportSplitter(1 << 16, 32);
    const out: SplitRecord[] = [];
    s.push(Buffer.from('[{"textPayload":"'), out);
    const body = Buffer.alloc(1 << 16, 'x');
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 512; i++) s.push(body, out);
    const grown = process.memoryUsage().arrayBuffers - before;
    s.push(Buffer.from('"}]'), out);
    s.end(out);
    expect(grown).toBeLessThan(8 << 20);
    expect(rows(out)).toEqual([[1, 1, null, 'input_too_large: entry is 33554450 bytes; the limit is 65536']]);
  });
});
