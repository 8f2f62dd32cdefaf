import { describe, expect, it } from 'vitest';
import { ExportSplitter, type SplitRecord } from '../../core/export-splitter.js';
import { failedLateBoot } from '../support/fixtures.js';

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
});
