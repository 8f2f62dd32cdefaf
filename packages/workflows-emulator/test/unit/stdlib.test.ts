/**
 * The pure standard library of the local Workflows engine, row by row against Google's reference
 * pages: every row names the page it pins as `doc`. Rows whose page says nothing on the point pin
 * the conservative choice written in the module's header comment (math's pages could not be read,
 * so its rows pin those choices too).
 */
import { describe, expect, it } from 'vitest';
import { functionTable, type CallContext } from '../../src/run/runtime.js';
import { pureFunctions } from '../../src/stdlib/pure.js';
import { Bytes, WorkflowError, type Value, type WfMap } from '../../src/run/values.js';
import { callStep, fakeContext, ManualClock } from '../support/context.js';

const REF = 'https://cloud.google.com/workflows/docs/reference/stdlib';
const HELPERS = `${REF}/expression-helpers`;
const table = functionTable(pureFunctions);

type Arg = Value | undefined;

interface Row {
  readonly doc: string;
  readonly fn: string;
  readonly args: readonly Arg[];
  readonly want: Value;
}

interface ErrorRow {
  readonly doc: string;
  readonly fn: string;
  readonly args: readonly Arg[];
  readonly tag: string;
  /** What the message must say besides the function's name. */
  readonly says: RegExp;
}

const m = (o: Readonly<Record<string, Value>>): WfMap => new Map(Object.entries(o));
const utf8 = (s: string): Bytes => new Bytes(new TextEncoder().encode(s));
const hex = (h: string): Bytes => new Bytes(Uint8Array.from(Buffer.from(h, 'hex')));

async function call(fn: string, args: readonly Arg[], ctx: CallContext = fakeContext().ctx): Promise<Value> {
  const f = table.get(fn);
  if (f === undefined) throw new Error(`no function ${fn}`);
  return await f.call(args, ctx);
}

async function failure(run: () => Promise<unknown>): Promise<{ tags: Value; message: string }> {
  const e = await run().then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof WorkflowError)) throw new Error(`expected a WorkflowError, got ${String(e)}`);
  const v = e.value as WfMap;
  const message = v.get('message');
  if (typeof message !== 'string') throw new Error('the error map has no message');
  return { tags: v.get('tags') ?? null, message };
}

const named = <T extends { fn: string }>(rows: readonly T[]): [string, T][] => rows.map((r, i) => [`${r.fn} #${i + 1}`, r]);

const results: readonly Row[] = [
  // Expression helpers
  { doc: HELPERS, fn: 'len', args: ['héllo😀'], want: 6n },
  { doc: HELPERS, fn: 'len', args: [[1n, 2n, 3n]], want: 3n },
  { doc: HELPERS, fn: 'len', args: [m({ a: 1n, b: 2n })], want: 2n },
  { doc: HELPERS, fn: 'keys', args: [m({ a: 1n, b: 2n })], want: ['a', 'b'] },
  { doc: HELPERS, fn: 'int', args: ['42'], want: 42n },
  { doc: HELPERS, fn: 'int', args: ['-7'], want: -7n },
  { doc: HELPERS, fn: 'int', args: [2.7], want: 2n },
  { doc: HELPERS, fn: 'int', args: [-2.7], want: -2n },
  { doc: HELPERS, fn: 'int', args: [5n], want: 5n },
  { doc: HELPERS, fn: 'double', args: ['2.7'], want: 2.7 },
  { doc: HELPERS, fn: 'double', args: ['1e3'], want: 1000 },
  { doc: HELPERS, fn: 'double', args: [42n], want: 42 },
  { doc: HELPERS, fn: 'string', args: [1.7], want: '1.7' },
  { doc: HELPERS, fn: 'string', args: [2.0], want: '2.0' },
  { doc: HELPERS, fn: 'string', args: [42n], want: '42' },
  { doc: HELPERS, fn: 'string', args: [true], want: 'true' },
  { doc: HELPERS, fn: 'default', args: [null, 'fallback'], want: 'fallback' },
  { doc: HELPERS, fn: 'default', args: ['value', 'fallback'], want: 'value' },
  { doc: HELPERS, fn: 'default', args: [false, 'fallback'], want: false },
  { doc: HELPERS, fn: 'if', args: [true, 'yes', 'no'], want: 'yes' },
  { doc: HELPERS, fn: 'if', args: [false, 'yes', 'no'], want: 'no' },
  { doc: HELPERS, fn: 'if', args: [null, 'yes', 'no'], want: 'no' },

  // map
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ key1: 'hello', key2: 'world' }), 'key2'], want: 'world' },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ key1: 'hello' }), 'missing'], want: null },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ a: m({ b: 'deep' }) }), ['a', 'b']], want: 'deep' },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ a: 'not a map' }), ['a', 'b']], want: null },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ a: m({}) }), ['a', 'b']], want: null },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [null, 'a'], want: null },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [[1n], 'a'], want: null },
  {
    doc: `${REF}/map/merge`,
    fn: 'map.merge',
    args: [m({ key1: 'hello', key2: 'world' }), m({ key3: 'good', key4: 'morning' })],
    want: m({ key1: 'hello', key2: 'world', key3: 'good', key4: 'morning' }),
  },
  {
    doc: `${REF}/map/merge`,
    fn: 'map.merge',
    args: [m({ key1: 'hello', key2: 'world' }), m({ key1: 'good', key2: 'morning' })],
    want: m({ key1: 'good', key2: 'morning' }),
  },
  { doc: `${REF}/map/merge`, fn: 'map.merge', args: [m({ a: m({ x: 1n }) }), m({ a: m({ y: 2n }) })], want: m({ a: m({ y: 2n }) }) },
  {
    doc: `${REF}/map/merge_nested`,
    fn: 'map.merge_nested',
    args: [m({ key1: m({ key2: 'value2' }) }), m({ key1: m({ key3: 'value3' }) })],
    want: m({ key1: m({ key2: 'value2', key3: 'value3' }) }),
  },
  {
    doc: `${REF}/map/merge_nested`,
    fn: 'map.merge_nested',
    args: [m({ key1: 'value1' }), m({ key1: 'value2' })],
    want: m({ key1: 'value2' }),
  },
  { doc: `${REF}/map/merge_nested`, fn: 'map.merge_nested', args: [m({ a: m({ x: 1n }) }), m({ a: 'flat' })], want: m({ a: 'flat' }) },
  { doc: `${REF}/map/delete`, fn: 'map.delete', args: [m({ key1: 'hello', key2: 'world' }), 'key2'], want: m({ key1: 'hello' }) },
  {
    doc: `${REF}/map/delete`,
    fn: 'map.delete',
    args: [m({ key1: 'value1', key2: 'value2' }), 'key3'],
    want: m({ key1: 'value1', key2: 'value2' }),
  },

  // list
  { doc: `${REF}/list/concat`, fn: 'list.concat', args: [['zero', 'one', 'two'], 'three'], want: ['zero', 'one', 'two', 'three'] },
  { doc: `${REF}/list/concat`, fn: 'list.concat', args: [[], null], want: [null] },
  { doc: `${REF}/list/prepend`, fn: 'list.prepend', args: [['zero', 'one', 'two'], 'three'], want: ['three', 'zero', 'one', 'two'] },
  { doc: `${REF}/list/prepend`, fn: 'list.prepend', args: [[1n], [2n]], want: [[2n], 1n] },

  // text
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['baaab', 'aa'], want: ['b', 'ab'] },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', 'a'], want: ['', 'bc'] },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', 'c'], want: ['ab', ''] },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abbc', 'b'], want: ['a', '', 'c'] },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', 'x'], want: ['abc'] },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['hello', 2n, 4n], want: 'll' },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['hello', -10n, 10n], want: 'hello' },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['hello', -3n, -1n], want: 'll' },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['😀a😀b', 1n, 3n], want: 'a😀' },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['hello', 4n, 2n], want: '' },
  { doc: `${REF}/text/find_all`, fn: 'text.find_all', args: ['00000', '00'], want: [0n, 2n] },
  { doc: `${REF}/text/find_all`, fn: 'text.find_all', args: ['Hello World', 'l'], want: [2n, 3n, 9n] },
  { doc: `${REF}/text/find_all`, fn: 'text.find_all', args: ['😀a😀a', 'a'], want: [1n, 3n] },
  { doc: `${REF}/text/find_all`, fn: 'text.find_all', args: ['abc', 'x'], want: [] },
  {
    doc: `${REF}/text/find_all_regex`,
    fn: 'text.find_all_regex',
    args: ['HelloWorld', 'Hello|World'],
    want: [m({ index: 0n, match: 'Hello' }), m({ index: 5n, match: 'World' })],
  },
  // Overlapping matches at the same index: the longest wins (not JavaScript's first alternative).
  { doc: `${REF}/text/find_all_regex`, fn: 'text.find_all_regex', args: ['ab', 'a|ab'], want: [m({ index: 0n, match: 'ab' })] },
  { doc: `${REF}/text/find_all_regex`, fn: 'text.find_all_regex', args: ['aab', '(a*)(ab)?'], want: [m({ index: 0n, match: 'aab' })] },
  { doc: `${REF}/text/find_all_regex`, fn: 'text.find_all_regex', args: ['😀ab', 'b'], want: [m({ index: 2n, match: 'b' })] },
  { doc: `${REF}/text/find_all_regex`, fn: 'text.find_all_regex', args: ['abc', 'x'], want: [] },
  {
    doc: `${REF}/text/find_all_regex`,
    fn: 'text.find_all_regex',
    args: ['baaac', 'a*'],
    want: [m({ index: 0n, match: '' }), m({ index: 1n, match: 'aaa' }), m({ index: 5n, match: '' })],
  },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['HelloWorld', 'Hello|Goodbye'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['HelloWorld', 'Goodbye'], want: false },
  // RE2 syntax (the pages say "Uses RE2 syntax"): where it differs from JavaScript's.
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a\nb', 'a.b'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a\rb', 'a.b'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a\nb', '(?s)a.b'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['x\nb', '^b'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['x\nb', '(?m)^b$'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['HELLO', '(?i)hello'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['HELLO', 'h(?i:ELLO)'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['hELLO', 'h(?i:ello)'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['B', '(?i)[a-c]'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['\u000b', '\\s'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['é', '\\w'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['7', '[[:digit:]]'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['é', '[[:^alpha:]]'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['αβγ', '^\\p{Greek}+$'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['axb', '\\Qa.b\\E'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['abc', '(?P<name>b)'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['foobar', '\\bbar'], want: false },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a{,2}', 'a{,2}'], want: true },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['Z', '[\\x{41}-\\x{5A}]'], want: true },
  { doc: `${REF}/text/replace_all`, fn: 'text.replace_all', args: ['Hello World', 'Hello', 'Goodbye'], want: 'Goodbye World' },
  { doc: `${REF}/text/replace_all`, fn: 'text.replace_all', args: ['aaa', 'aa', 'b'], want: 'ba' },
  { doc: `${REF}/text/replace_all`, fn: 'text.replace_all', args: ['abc', '', '-'], want: '-a-b-c-' },
  { doc: `${REF}/text/replace_all_regex`, fn: 'text.replace_all_regex', args: ['one two', 'one|two', 'three'], want: 'three three' },
  { doc: `${REF}/text/replace_all_regex`, fn: 'text.replace_all_regex', args: ['abc', 'x*', '-'], want: '-a-b-c-' },
  { doc: `${REF}/text/replace_all_regex`, fn: 'text.replace_all_regex', args: ['baaac', 'a*', '-'], want: '-b-c-' },
  { doc: `${REF}/text/replace_all_regex`, fn: 'text.replace_all_regex', args: ['a1b22', '(\\d+)', '<$1\\1>'], want: 'a<$1\\1>b<$1\\1>' },
  { doc: `${REF}/text/to_lower`, fn: 'text.to_lower', args: ['Hello World'], want: 'hello world' },
  { doc: `${REF}/text/to_lower`, fn: 'text.to_lower', args: ['ΣΑΣ'], want: 'σασ' },
  { doc: `${REF}/text/to_upper`, fn: 'text.to_upper', args: ['Hello World'], want: 'HELLO WORLD' },
  { doc: `${REF}/text/to_upper`, fn: 'text.to_upper', args: ['straße'], want: 'STRAßE' },
  { doc: `${REF}/text/url_encode`, fn: 'text.url_encode', args: ['a/b/c?item=d+e f'], want: 'a%2Fb%2Fc%3Fitem%3Dd%2Be%20f' },
  { doc: `${REF}/text/url_encode`, fn: 'text.url_encode', args: ['x.y-z_~é'], want: 'x.y-z_%7E%C3%A9' },
  { doc: `${REF}/text/url_encode_plus`, fn: 'text.url_encode_plus', args: ['a/b/c?item=d+e f'], want: 'a%2Fb%2Fc%3Fitem%3Dd%2Be+f' },
  { doc: `${REF}/text/url_decode`, fn: 'text.url_decode', args: ['a%2Fb%2Fc%3Fitem%3Dd%2Be'], want: 'a/b/c?item=d+e' },
  { doc: `${REF}/text/url_decode`, fn: 'text.url_decode', args: ['a+b%C3%A9'], want: 'a bé' },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['Hello World', 'UTF-8'], want: utf8('Hello World') },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['é'], want: hex('c3a9') },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['é', 'iso-8859-1'], want: hex('e9') },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['ą', 'ISO-8859-2'], want: hex('b1') },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['A', 'UTF-16BE'], want: hex('0041') },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: [utf8('Hello World'), 'UTF-8'], want: 'Hello World' },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: [hex('ff41')], want: '\ufffdA' },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: [hex('8041'), 'US-ASCII'], want: '\ufffdA' },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: [hex('b1'), 'iso-8859-2'], want: 'ą' },

  // json
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [m({ hello: 'world' })], want: utf8('{"hello":"world"}') },
  { doc: `${REF}/json/encode_to_string`, fn: 'json.encode_to_string', args: [m({ key1: 'hello' })], want: '{"key1":"hello"}' },
  { doc: `${REF}/json/encode_to_string`, fn: 'json.encode_to_string', args: [[1n, 2.5, 2.0, null, true]], want: '[1,2.5,2.0,null,true]' },
  { doc: `${REF}/json/encode_to_string`, fn: 'json.encode_to_string', args: [m({ a: [1n] }), false], want: '{"a":[1]}' },
  {
    doc: `${REF}/json/encode_to_string`,
    fn: 'json.encode_to_string',
    args: [m({ a: [1n], b: m({}) }), true],
    want: '{\n    "a": [\n        1\n    ],\n    "b": {}\n}',
  },
  {
    doc: `${REF}/json/encode_to_string`,
    fn: 'json.encode_to_string',
    args: [m({ a: [1n] }), m({ prefix: '>', indent: '\t' })],
    want: '{\n>\t"a": [\n>\t\t1\n>\t]\n>}',
  },
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [[1n], m({})], want: utf8('[\n    1\n]') },
  {
    doc: `${REF}/json/decode`,
    fn: 'json.decode',
    args: ['{"a": 1, "b": 1.0, "c": [true, null]}'],
    want: m({ a: 1n, b: 1, c: [true, null] }),
  },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: [utf8('{"hello":"world"}')], want: m({ hello: 'world' }) },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: [' "text" '], want: 'text' },

  // base64
  { doc: `${REF}/base64/encode`, fn: 'base64.encode', args: [utf8('Hello World')], want: 'SGVsbG8gV29ybGQ=' },
  { doc: `${REF}/base64/encode`, fn: 'base64.encode', args: [utf8('Hello World'), false], want: 'SGVsbG8gV29ybGQ' },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['SGVsbG8gV29ybGQ='], want: utf8('Hello World') },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['SGVsbG8g\r\nV29ybGQ='], want: utf8('Hello World') },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['SGVsbG8gV29ybGQ', false], want: utf8('Hello World') },

  // hash
  {
    doc: `${REF}/hash/compute_checksum`,
    fn: 'hash.compute_checksum',
    args: [utf8('Hello World'), 'SHA256'],
    want: new Bytes(Uint8Array.from(Buffer.from('pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=', 'base64'))),
  },
  {
    doc: `${REF}/hash/compute_checksum`,
    fn: 'hash.compute_checksum',
    args: [utf8(''), 'MD5'],
    want: hex('d41d8cd98f00b204e9800998ecf8427e'),
  },
  {
    doc: `${REF}/hash/compute_checksum`,
    fn: 'hash.compute_checksum',
    args: [utf8('abc'), 'SHA1'],
    want: hex('a9993e364706816aba3e25717850c26c9cd0d89d'),
  },

  // time
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1720788633n, 'GMT'], want: '2024-07-12T12:50:33.000000Z' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1720788633n], want: '2024-07-12T12:50:33.000000Z' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1720788633n, ''], want: '2024-07-12T12:50:33.000000Z' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1720788633n, 'Europe/Paris'], want: '2024-07-12T14:50:33.000000+02:00' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1720788633n, 'America/New_York'], want: '2024-07-12T08:50:33.000000-04:00' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1704903354.615087], want: '2024-01-10T16:15:54.615087Z' },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [-1.5], want: '1969-12-31T23:59:58.500000Z' },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08T12:01:00.000000Z'], want: 1715169660 },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08T14:01:00.5+02:00'], want: 1715169660.5 },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08t12:01:00z'], want: 1715169660 },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08T12:01:00.123456Z'], want: 1715169660.123456 },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-02-29T00:00:00Z'], want: 1709164800 },

  // math (conservative choices: its pages could not be read)
  { doc: `${REF}/math/abs`, fn: 'math.abs', args: [-5n], want: 5n },
  { doc: `${REF}/math/abs`, fn: 'math.abs', args: [-2.5], want: 2.5 },
  { doc: `${REF}/math/floor`, fn: 'math.floor', args: [-2.5], want: -3n },
  { doc: `${REF}/math/floor`, fn: 'math.floor', args: [2.7], want: 2n },
  { doc: `${REF}/math/floor`, fn: 'math.floor', args: [7n], want: 7n },
  { doc: `${REF}/math/max`, fn: 'math.max', args: [1n, 1.5], want: 1.5 },
  { doc: `${REF}/math/max`, fn: 'math.max', args: [3n, 2n], want: 3n },
  { doc: `${REF}/math/max`, fn: 'math.max', args: [2n, 2.0], want: 2n },
  { doc: `${REF}/math/min`, fn: 'math.min', args: [1n, 1.5], want: 1n },
  { doc: `${REF}/math/min`, fn: 'math.min', args: [-1.5, 3n], want: -1.5 },
];

const errors: readonly ErrorRow[] = [
  // Expression helpers
  { doc: HELPERS, fn: 'len', args: [5n], tag: 'TypeError', says: /'value'.*integer/ },
  { doc: HELPERS, fn: 'len', args: [utf8('ab')], tag: 'TypeError', says: /'value'.*bytes/ },
  { doc: HELPERS, fn: 'keys', args: [['a']], tag: 'TypeError', says: /'map'.*list/ },
  { doc: HELPERS, fn: 'int', args: ['2.7'], tag: 'ValueError', says: /"2\.7"/ },
  { doc: HELPERS, fn: 'int', args: ['ten'], tag: 'ValueError', says: /"ten"/ },
  { doc: HELPERS, fn: 'int', args: ['9223372036854775808'], tag: 'ValueError', says: /64-bit/ },
  { doc: HELPERS, fn: 'int', args: [1e300], tag: 'ValueError', says: /64-bit/ },
  { doc: HELPERS, fn: 'int', args: [true], tag: 'TypeError', says: /'value'.*boolean/ },
  { doc: HELPERS, fn: 'double', args: ['abc'], tag: 'ValueError', says: /"abc"/ },
  { doc: HELPERS, fn: 'double', args: ['inf'], tag: 'ValueError', says: /"inf"/ },
  { doc: HELPERS, fn: 'double', args: [null], tag: 'TypeError', says: /'value'.*null/ },
  { doc: HELPERS, fn: 'string', args: [[1n]], tag: 'TypeError', says: /'value'.*list/ },
  { doc: HELPERS, fn: 'string', args: [null], tag: 'TypeError', says: /'value'.*null/ },
  { doc: HELPERS, fn: 'if', args: ['yes', 1n, 2n], tag: 'TypeError', says: /'condition'.*string/ },
  { doc: HELPERS, fn: 'default', args: [null], tag: 'TypeError', says: /'defaultVal'/ },

  // map
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ a: 1n }), 1n], tag: 'TypeError', says: /'keys'.*integer/ },
  { doc: `${REF}/map/get`, fn: 'map.get', args: [m({ a: 1n }), ['a', 1n]], tag: 'TypeError', says: /'keys'.*list of strings/ },
  { doc: `${REF}/map/merge`, fn: 'map.merge', args: [m({}), [1n]], tag: 'TypeError', says: /'second'.*list/ },
  { doc: `${REF}/map/merge`, fn: 'map.merge', args: [null, m({})], tag: 'TypeError', says: /'first'.*null/ },
  { doc: `${REF}/map/merge_nested`, fn: 'map.merge_nested', args: ['x', m({})], tag: 'TypeError', says: /'first'.*string/ },
  { doc: `${REF}/map/delete`, fn: 'map.delete', args: [[1n], 'a'], tag: 'TypeError', says: /'map'.*list/ },
  { doc: `${REF}/map/delete`, fn: 'map.delete', args: [m({}), 1n], tag: 'TypeError', says: /'key'.*integer/ },

  // list
  { doc: `${REF}/list/concat`, fn: 'list.concat', args: [m({}), 1n], tag: 'TypeError', says: /'objs'.*map/ },
  { doc: `${REF}/list/prepend`, fn: 'list.prepend', args: ['abc', 1n], tag: 'TypeError', says: /'objs'.*string/ },

  // text
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', ''], tag: 'ValueError', says: /'separator'.*empty/ },
  { doc: `${REF}/text/split`, fn: 'text.split', args: [1n, ','], tag: 'TypeError', says: /'source'.*integer/ },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', null], tag: 'TypeError', says: /'separator'.*null/ },
  { doc: `${REF}/text/split`, fn: 'text.split', args: ['abc', '\ud800'], tag: 'ValueError', says: /'separator'.*UTF-8/ },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: ['hello', 1.5, 3n], tag: 'TypeError', says: /'start'.*double/ },
  { doc: `${REF}/text/substring`, fn: 'text.substring', args: [['h'], 0n, 1n], tag: 'TypeError', says: /'source'.*list/ },
  { doc: `${REF}/text/find_all`, fn: 'text.find_all', args: ['abc', 1n], tag: 'TypeError', says: /'substr'.*integer/ },
  {
    doc: `${REF}/text/find_all_regex`,
    fn: 'text.find_all_regex',
    args: ['abc', '(a'],
    tag: 'ValueError',
    says: /invalid regular expression.*missing closing \)/,
  },
  { doc: `${REF}/text/find_all_regex`, fn: 'text.find_all_regex', args: [5n, 'a'], tag: 'TypeError', says: /'source'.*integer/ },
  {
    doc: `${REF}/text/match_regex`,
    fn: 'text.match_regex',
    args: ['foo', '(?=f)'],
    tag: 'ValueError',
    says: /unsupported Perl syntax: `\(\?=`/,
  },
  {
    doc: `${REF}/text/match_regex`,
    fn: 'text.match_regex',
    args: ['foo', '(?<!f)o'],
    tag: 'ValueError',
    says: /invalid regular expression/,
  },
  {
    doc: `${REF}/text/match_regex`,
    fn: 'text.match_regex',
    args: ['ff', '(f)\\1'],
    tag: 'ValueError',
    says: /invalid escape sequence: `\\1`/,
  },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', 'a**'], tag: 'ValueError', says: /nested repetition/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', '*a'], tag: 'ValueError', says: /missing argument/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', 'a{1001}'], tag: 'ValueError', says: /repeat count/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', 'a\\Z'], tag: 'ValueError', says: /invalid escape/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', '\\p{Bogus}'], tag: 'ValueError', says: /\\p\{Bogus\}/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', '[z-a]'], tag: 'ValueError', says: /class range/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', 'a)'], tag: 'ValueError', says: /unexpected \)/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', '(?P<n>a)(?P<n>b)'], tag: 'ValueError', says: /duplicate/ },
  { doc: `${REF}/text/match_regex`, fn: 'text.match_regex', args: ['a', 1n], tag: 'TypeError', says: /'regexp'.*integer/ },
  { doc: `${REF}/text/replace_all`, fn: 'text.replace_all', args: ['abc', 'a', null], tag: 'TypeError', says: /'repl'.*null/ },
  {
    doc: `${REF}/text/replace_all_regex`,
    fn: 'text.replace_all_regex',
    args: ['abc', '[', 'x'],
    tag: 'ValueError',
    says: /missing closing \]/,
  },
  { doc: `${REF}/text/to_lower`, fn: 'text.to_lower', args: [1n], tag: 'TypeError', says: /'source'.*integer/ },
  { doc: `${REF}/text/to_upper`, fn: 'text.to_upper', args: [null], tag: 'TypeError', says: /'source'.*null/ },
  { doc: `${REF}/text/url_encode`, fn: 'text.url_encode', args: [1n], tag: 'TypeError', says: /'source'/ },
  { doc: `${REF}/text/url_encode_plus`, fn: 'text.url_encode_plus', args: [true], tag: 'TypeError', says: /'source'/ },
  { doc: `${REF}/text/url_decode`, fn: 'text.url_decode', args: ['100%'], tag: 'ValueError', says: /'%'.*two hexadecimal/ },
  { doc: `${REF}/text/url_decode`, fn: 'text.url_decode', args: ['%zz'], tag: 'ValueError', says: /two hexadecimal/ },
  { doc: `${REF}/text/url_decode`, fn: 'text.url_decode', args: [1n], tag: 'TypeError', says: /'source'/ },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['é', 'US-ASCII'], tag: 'ValueError', says: /cannot be represented in US-ASCII/ },
  { doc: `${REF}/text/encode`, fn: 'text.encode', args: ['a', 'no-such-charset'], tag: 'ValueError', says: /unsupported charset/ },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: [utf8('a'), 'no-such-charset'], tag: 'ValueError', says: /unsupported charset/ },
  { doc: `${REF}/text/decode`, fn: 'text.decode', args: ['abc'], tag: 'TypeError', says: /'data'.*string/ },

  // json
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [m({ b: utf8('x') })], tag: 'ValueError', says: /bytes/ },
  { doc: `${REF}/json/encode_to_string`, fn: 'json.encode_to_string', args: [[utf8('x')]], tag: 'ValueError', says: /bytes/ },
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [1n, 'yes'], tag: 'TypeError', says: /'indent'.*string/ },
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [1n, m({ prefix: 1n })], tag: 'TypeError', says: /'indent\.prefix'/ },
  { doc: `${REF}/json/encode`, fn: 'json.encode', args: [1n, m({ width: '  ' })], tag: 'ValueError', says: /unknown key "width"/ },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: ['{"a": '], tag: 'ValueError', says: /invalid JSON/ },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: ['[1,]'], tag: 'ValueError', says: /invalid JSON/ },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: [utf8('nope')], tag: 'ValueError', says: /invalid JSON/ },
  { doc: `${REF}/json/decode`, fn: 'json.decode', args: [42n], tag: 'TypeError', says: /'data'.*integer/ },

  // base64
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['SGVs*G8='], tag: 'ValueError', says: /"\*".*alphabet/ },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['SGVsbG8gV29ybGQ'], tag: 'ValueError', says: /multiple of 4/ },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['Zg=a'], tag: 'ValueError', says: /padding is misplaced/ },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: ['Zg==', false], tag: 'ValueError', says: /padding is false/ },
  { doc: `${REF}/base64/decode`, fn: 'base64.decode', args: [utf8('Zg==')], tag: 'TypeError', says: /'data'.*bytes/ },
  { doc: `${REF}/base64/encode`, fn: 'base64.encode', args: ['Hello'], tag: 'TypeError', says: /'data'.*string/ },
  { doc: `${REF}/base64/encode`, fn: 'base64.encode', args: [utf8('a'), 'no'], tag: 'TypeError', says: /'padding'.*string/ },

  // hash
  { doc: `${REF}/hash/compute_checksum`, fn: 'hash.compute_checksum', args: ['text', 'SHA256'], tag: 'TypeError', says: /'data'.*string/ },
  {
    doc: `${REF}/hash/compute_checksum`,
    fn: 'hash.compute_checksum',
    args: [utf8('a'), 1n],
    tag: 'TypeError',
    says: /'algorithm'.*integer/,
  },
  {
    doc: `${REF}/hash/compute_checksum`,
    fn: 'hash.compute_checksum',
    args: [utf8('a'), 'CRC32C'],
    tag: 'ValueError',
    says: /unsupported algorithm "CRC32C"/,
  },

  // time
  { doc: `${REF}/time/format`, fn: 'time.format', args: ['1720788633'], tag: 'TypeError', says: /'seconds'.*string/ },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [0n, 'Nowhere/City'], tag: 'ValueError', says: /unknown timezone/ },
  { doc: `${REF}/time/format`, fn: 'time.format', args: [1e12], tag: 'ValueError', says: /0001 to 9999/ },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: [1715169660n], tag: 'TypeError', says: /'value'.*integer/ },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08 12:01:00'], tag: 'ValueError', says: /RFC 3339/ },
  // "with up to a microsecond precision": Cloud Logging's nine digits are refused, not cut.
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2026-09-16T12:08:04.024575365Z'], tag: 'ValueError', says: /9 fraction digits/ },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08T12:01:00.1234567Z'], tag: 'ValueError', says: /microsecond/ },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-02-30T00:00:00Z'], tag: 'ValueError', says: /RFC 3339/ },
  { doc: `${REF}/time/parse`, fn: 'time.parse', args: ['2024-05-08T12:01:00'], tag: 'ValueError', says: /RFC 3339/ },

  // math (conservative choices)
  { doc: `${REF}/math/abs`, fn: 'math.abs', args: [-9223372036854775808n], tag: 'ValueError', says: /64 bits/ },
  { doc: `${REF}/math/abs`, fn: 'math.abs', args: ['1'], tag: 'TypeError', says: /'x'.*string/ },
  { doc: `${REF}/math/floor`, fn: 'math.floor', args: [1e19], tag: 'ValueError', says: /64-bit/ },
  { doc: `${REF}/math/max`, fn: 'math.max', args: [1n, null], tag: 'TypeError', says: /'y'.*null/ },
  { doc: `${REF}/math/min`, fn: 'math.min', args: [[1n], 2n], tag: 'TypeError', says: /'x'.*list/ },
];

describe('Workflows standard library: results', () => {
  it.each(named(results))('%s', async (_name, row) => {
    expect(row.doc).toMatch(/^https:\/\/cloud\.google\.com\/workflows\/docs\//);
    expect(await call(row.fn, row.args)).toEqual(row.want);
  });
});

describe('Workflows standard library: errors', () => {
  it.each(named(errors))('%s', async (_name, row) => {
    expect(row.doc).toMatch(/^https:\/\/cloud\.google\.com\/workflows\/docs\//);
    const { tags, message } = await failure(() => call(row.fn, row.args));
    expect(tags).toEqual([row.tag]);
    expect(message).toContain(row.fn);
    expect(message).toMatch(row.says);
  });
});

describe('Workflows standard library: properties the rows cannot show', () => {
  it('copies instead of changing its arguments (map/merge, list/concat: "a copy")', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/map/merge, .../list/concat
    const first = m({ a: m({ x: 1n }) });
    const objs: Value[] = [1n];
    await call('map.merge_nested', [first, m({ a: m({ y: 2n }) })]);
    await call('map.delete', [first, 'a']);
    await call('list.concat', [objs, 2n]);
    expect(first).toEqual(m({ a: m({ x: 1n }) }));
    expect(objs).toEqual([1n]);
  });

  it('keeps the first map key order and appends new keys (map/merge)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/map/merge
    const merged = (await call('map.merge', [m({ b: 1n, a: 2n }), m({ c: 3n, b: 4n })])) as WfMap;
    expect([...merged]).toEqual([
      ['b', 4n],
      ['a', 2n],
      ['c', 3n],
    ]);
  });

  it('generates random version 4 UUIDs (uuid/generate)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/uuid/generate
    const a = await call('uuid.generate', []);
    const b = await call('uuid.generate', []);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });

  it('reads the clock as double seconds (sys/now)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/now
    const clock = new ManualClock(Date.UTC(2024, 4, 8, 12, 1, 0, 250));
    expect(await call('sys.now', [], fakeContext({ clock }).ctx)).toBe(1715169660.25);
  });

  it('reads environment variables with an optional default (sys/get_env)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/get_env
    const base = fakeContext().ctx;
    const ctx: CallContext = { ...base, env: new Map([['GOOGLE_CLOUD_LOCATION', 'us-central1']]) };
    expect(await call('sys.get_env', ['GOOGLE_CLOUD_LOCATION'], ctx)).toBe('us-central1');
    expect(await call('sys.get_env', ['UNSET', 'fallback'], ctx)).toBe('fallback');
    const unset = await failure(() => call('sys.get_env', ['UNSET'], ctx));
    expect(unset.tags).toEqual(['UndocumentedError']);
    expect(unset.message).toMatch(/UNSET is not set/);
    const bad = await failure(() => call('sys.get_env', ['UNSET', 1n], ctx));
    expect(bad.tags).toEqual(['TypeError']);
    expect(bad.message).toMatch(/sys\.get_env: argument 'default'/);
  });

  it('logs data, text or json with a severity (sys/log)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/log
    const clock = new ManualClock(1_000);
    const { ctx, logs } = fakeContext({ clock });
    const log = table.get('sys.log');
    if (log === undefined) throw new Error('no sys.log');
    expect(await callStep(log, { data: 'Log my error message', severity: 'ERROR' }, ctx)).toBeNull();
    await log.call(['plain'], ctx); // positional: [data, severity, text, json, timeout]
    await log.call([null, 'ERROR', 'as text'], ctx);
    await callStep(log, { data: { Message1: 'a map' } }, ctx);
    await callStep(log, { json: { Message1: 'json' }, severity: 'INFO' }, ctx);
    await callStep(log, { text: [1, 2.5] }, ctx);
    expect(logs).toEqual([
      { severity: 'ERROR', payload: 'Log my error message', time: 1_000 },
      { severity: 'DEFAULT', payload: 'plain', time: 1_000 },
      { severity: 'ERROR', payload: 'as text', time: 1_000 },
      { severity: 'DEFAULT', payload: m({ Message1: 'a map' }), time: 1_000 },
      { severity: 'INFO', payload: m({ Message1: 'json' }), time: 1_000 },
      { severity: 'DEFAULT', payload: '[1,2.5]', time: 1_000 },
    ]);
  });

  it.each([
    ['none of data, text, json', {}, 'TypeError', /one of 'data', 'text' or 'json'/],
    ['two of them', { data: 'a', text: 'b' }, 'TypeError', /only one of/],
    ['json that is not a map', { json: 'x' }, 'TypeError', /'json' must be a dict/],
    ['bytes as data', { data: utf8('x') }, 'TypeError', /'data'.*bytes/],
    ['an unknown severity', { data: 'x', severity: 'LOUD' }, 'ValueError', /'severity'/],
    ['a timeout that is not a number', { data: 'x', timeout: 'soon' }, 'TypeError', /'timeout'/],
  ] as const)('rejects %s (sys/log)', async (_what, args, tag, says) => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/log
    const { ctx, logs } = fakeContext();
    const log = table.get('sys.log');
    if (log === undefined) throw new Error('no sys.log');
    const e = await failure(() => callStep(log, args, ctx));
    expect(e.tags).toEqual([tag]);
    expect(e.message).toContain('sys.log');
    expect(e.message).toMatch(says);
    expect(logs).toEqual([]);
  });

  it('sleeps on the execution clock (sys/sleep)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/sleep
    const clock = new ManualClock(0);
    const { ctx } = fakeContext({ clock });
    let done = false;
    const sleeping = call('sys.sleep', [1.5], ctx).then((v) => {
      done = true;
      return v;
    });
    await clock.advance(1_499);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(await sleeping).toBeNull();
    expect(clock.now()).toBe(1_500);
  });

  it('limits sleeps to one year (sys/sleep, workflows/docs/sleeping)', async () => {
    // doc: https://cloud.google.com/workflows/docs/sleeping ("up to a maximum of 31536000")
    const { ctx } = fakeContext({ clock: new ManualClock(0) });
    for (const [seconds, says] of [
      [31_536_001n, /at most 31536000/],
      [-1n, /must not be negative/],
    ] as const) {
      const e = await failure(() => call('sys.sleep', [seconds], ctx));
      expect(e.tags).toEqual(['ValueError']);
      expect(e.message).toMatch(says);
    }
    const e = await failure(() => call('sys.sleep', ['10'], ctx));
    expect(e.tags).toEqual(['TypeError']);
    expect(e.message).toMatch(/sys\.sleep: argument 'seconds'/);
  });

  it('sleeps until an RFC 3339 time at most a year away (sys/sleep_until)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/sys/sleep_until
    const clock = new ManualClock(Date.UTC(2024, 4, 8, 13, 22, 48));
    const { ctx } = fakeContext({ clock });
    const sleeping = call('sys.sleep_until', ['2024-05-08T13:22:58Z'], ctx);
    expect(clock.pending).toBe(1);
    await clock.advance(10_000);
    expect(await sleeping).toBeNull();
    expect(await call('sys.sleep_until', ['2000-01-01T00:00:00Z'], ctx)).toBeNull();
    expect(clock.pending).toBe(0);
    const far = await failure(() => call('sys.sleep_until', ['2026-01-01T00:00:00Z'], ctx));
    expect(far.tags).toEqual(['ValueError']);
    expect(far.message).toMatch(/sys\.sleep_until: .*one year/);
    const bad = await failure(() => call('sys.sleep_until', ['tomorrow'], ctx));
    expect(bad.tags).toEqual(['ValueError']);
    expect(bad.message).toMatch(/sys\.sleep_until: argument 'time'/);
  });

  it('marks the blocking functions as call-step only (stdlib overview)', () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/overview ("sys.sleep, and sys.log cannot be used inside an expression")
    const callOnly = pureFunctions.filter((f) => f.callOnly === true).map((f) => f.name);
    expect(callOnly.sort()).toEqual(['sys.log', 'sys.sleep', 'sys.sleep_until']);
  });

  it('matches leftmost-longest across long text (text/replace_all_regex)', async () => {
    // doc: https://cloud.google.com/workflows/docs/reference/stdlib/text/replace_all_regex
    const source = 'abc def ghi '.repeat(5_000);
    const out = await call('text.replace_all_regex', [source, 'a|ab', '-']);
    expect(out).toBe('-c def ghi '.repeat(5_000));
  });
});
