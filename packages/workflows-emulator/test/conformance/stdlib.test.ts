/**
 * Conformance of the local Workflows engine: the standard library, called from workflows. Each row
 * is a tiny workflow and what Google documents for the function it calls, with the page it pins.
 * Rows marked `choice` pin behaviour the docs leave open (the math pages could not be read; their
 * rows pin the conservative choices written in src/stdlib/math.ts).
 *
 * Functions that need a clock, an environment, the execution record or a server (sys.*, http.*)
 * have their own tests after the table.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toPlain } from '../../src/run/values.js';
import { InstantClock, runText, useEngine } from '../support/runs.js';
import { startFake, type FakeServer, type RecordedRequest } from '../support/context.js';

const REF = 'https://cloud.google.com/workflows/docs/reference/stdlib';
const HELPERS = `${REF}/expression-helpers`;
const ENV_VARS = 'https://cloud.google.com/workflows/docs/reference/environment-variables';
const SLEEPING = 'https://cloud.google.com/workflows/docs/sleeping';
const HTTP_REQUESTS = 'https://cloud.google.com/workflows/docs/http-requests';
const ERROR_TYPES = 'https://cloud.google.com/workflows/docs/reference/syntax/error-types';
const PRICING = 'https://cloud.google.com/workflows/pricing';
const MATH_CHOICE = 'the math pages could not be read: the choice of src/stdlib/math.ts';

interface Row {
  readonly name: string;
  readonly doc: string;
  readonly yaml: string;
  readonly env?: Record<string, string>;
  readonly result?: unknown;
  /** The result's JSON text, where int vs double matters. */
  readonly resultText?: string;
  readonly error?: { readonly tags: readonly string[]; readonly message?: RegExp };
  readonly choice?: string;
}

/**
 * A workflow that assigns `vars` (YAML `name: value` lines) and returns `expr`. The expression is
 * written as a single-quoted YAML scalar, so it may hold `: `, `#`, `{` and double quotes freely.
 */
const ret = (expr: string, vars: readonly string[] = []): string => {
  const assign = vars.length === 0 ? '' : `- a:\n    assign:\n${vars.map((v) => `      - ${v}\n`).join('')}`;
  return `${assign}- r:\n    return: '\${${expr.replaceAll("'", "''")}}'\n`;
};

/** A workflow with one call step of `fn` with `args` (YAML lines under `args:`), returning its result. */
const callStep = (fn: string, args: readonly string[]): string =>
  `- c:\n    call: ${fn}\n    args:\n${args.map((a) => `      ${a}\n`).join('')}    result: out\n- r:\n    return: \${out}\n`;

/** A try step that raises `{code: 400}` until it is retried `max` times by `predicate`; returns the attempts. */
const retried = (predicate: string, max: number): string =>
  [
    '- init:',
    '    assign:',
    '      - n: 0',
    '- t:',
    '    try:',
    '      steps:',
    '        - count:',
    '            assign:',
    '              - n: ${n + 1}',
    '        - fail:',
    '            raise:',
    '              code: 400',
    '    retry:',
    `      predicate: \${${predicate}}`,
    `      max_retries: ${max}`,
    '      backoff:',
    '        initial_delay: 1',
    '        max_delay: 10',
    '        multiplier: 2',
    '    except:',
    '      as: e',
    '      steps:',
    '        - r:',
    '            return: ${n}',
    '',
  ].join('\n');

const ERRORS = [
  'e429: {code: 429, tags: [HttpError]}',
  'e502: {code: 502, tags: [HttpError]}',
  'e503: {code: 503, tags: [HttpError]}',
  'e404: {code: 404, tags: [HttpError]}',
  'broken: {tags: [ConnectionError]}',
  'refused: {tags: [ConnectionFailedError]}',
  'timeout: {tags: [TimeoutError]}',
];

const rows: Row[] = [
  // -- expression helpers ----------------------------------------------------------------------
  { name: 'len counts the characters of a string', doc: HELPERS, yaml: ret('len("héllo😀")'), resultText: '6' },
  {
    name: 'len of a list and of a map',
    doc: HELPERS,
    yaml: ret('[len(l), len(m)]', ['l: [1, 2, 3]', 'm: {a: 1, b: 2}']),
    resultText: '[3,2]',
  },
  { name: 'len of an integer', doc: HELPERS, yaml: ret('len(5)'), error: { tags: ['TypeError'], message: /len/ } },
  { name: 'keys of a map', doc: HELPERS, yaml: ret('keys(m)', ['m: {a: 1, b: 2}']), result: ['a', 'b'] },
  { name: 'keys of a list', doc: HELPERS, yaml: ret('keys(["a"])'), error: { tags: ['TypeError'], message: /keys/ } },
  {
    name: 'int of a string and of doubles (toward zero)',
    doc: HELPERS,
    yaml: ret('[int("42"), int("-7"), int(2.7), int(-2.7)]'),
    resultText: '[42,-7,2,-2]',
  },
  { name: 'int of a decimal string', doc: HELPERS, yaml: ret('int("2.7")'), error: { tags: ['ValueError'], message: /int/ } },
  { name: 'double of a string and of an integer', doc: HELPERS, yaml: ret('[double("2.7"), double(42)]'), resultText: '[2.7,42.0]' },
  { name: 'double of a word', doc: HELPERS, yaml: ret('double("abc")'), error: { tags: ['ValueError'], message: /double/ } },
  {
    name: 'string of an integer, a double and a boolean',
    doc: HELPERS,
    yaml: ret('[string(42), string(1.7), string(true)]'),
    result: ['42', '1.7', 'true'],
  },
  { name: 'string of a list', doc: HELPERS, yaml: ret('string([1])'), error: { tags: ['TypeError'], message: /string/ } },
  {
    name: 'default replaces null only, as with map.get',
    doc: HELPERS,
    yaml: ret('[default(map.get(m, "missing"), "fallback"), default(m.k, "fallback"), default(false, "fallback")]', ['m: {k: v}']),
    result: ['fallback', 'v', false],
  },
  {
    name: 'if picks by its condition; null counts as false',
    doc: HELPERS,
    yaml: ret('[if(true, "yes", "no"), if(false, "yes", "no"), if(null, "yes", "no")]'),
    result: ['yes', 'no', 'no'],
  },
  { name: 'if needs a boolean condition', doc: HELPERS, yaml: ret('if("yes", 1, 2)'), error: { tags: ['TypeError'], message: /if/ } },

  // -- map ----------------------------------------------------------------------------------------
  { name: 'map.get', doc: `${REF}/map/get`, yaml: ret('map.get(m, "key2")', ['m: {key1: hello, key2: world}']), result: 'world' },
  {
    name: 'map.get gives null for a missing key and follows a list of keys',
    doc: `${REF}/map/get`,
    yaml: ret('[map.get(m, "x"), map.get(m, ["a", "b"]), map.get(m, ["a", "x", "y"])]', ['m: {a: {b: deep}}']),
    result: [null, 'deep', null],
  },
  {
    name: 'map.get with a key that is not a string',
    doc: `${REF}/map/get`,
    yaml: ret('map.get(m, 1)', ['m: {a: 1}']),
    error: { tags: ['TypeError'], message: /map\.get/ },
  },
  {
    name: 'map.merge: the second map wins',
    doc: `${REF}/map/merge`,
    yaml: ret('map.merge(first, second)', ['first: {key1: hello, key2: world}', 'second: {key1: good, key3: morning}']),
    result: { key1: 'good', key2: 'world', key3: 'morning' },
  },
  {
    name: 'map.merge with a list',
    doc: `${REF}/map/merge`,
    yaml: ret('map.merge(m, [1])', ['m: {a: 1}']),
    error: { tags: ['TypeError'], message: /map\.merge/ },
  },
  {
    name: 'map.merge_nested merges maps at every level',
    doc: `${REF}/map/merge_nested`,
    yaml: ret('map.merge_nested(first, second)', ['first: {key1: {key2: value2}}', 'second: {key1: {key3: value3}}']),
    result: { key1: { key2: 'value2', key3: 'value3' } },
  },
  {
    name: 'map.merge_nested with a string',
    doc: `${REF}/map/merge_nested`,
    yaml: ret('map.merge_nested("x", m)', ['m: {a: 1}']),
    error: { tags: ['TypeError'], message: /map\.merge_nested/ },
  },
  {
    name: 'map.delete returns a copy without the key; the map is unchanged',
    doc: `${REF}/map/delete`,
    yaml: ret('[map.delete(m, "key2"), map.delete(m, "key3"), m]', ['m: {key1: hello, key2: world}']),
    result: [{ key1: 'hello' }, { key1: 'hello', key2: 'world' }, { key1: 'hello', key2: 'world' }],
  },
  { name: 'map.delete on a list', doc: `${REF}/map/delete`, yaml: ret('map.delete([1], "a")'), error: { tags: ['TypeError'] } },

  // -- list -------------------------------------------------------------------------------------
  {
    name: 'list.concat appends to a copy',
    doc: `${REF}/list/concat`,
    yaml: ret('[list.concat(l, "three"), l]', ['l: [zero, one, two]']),
    result: [
      ['zero', 'one', 'two', 'three'],
      ['zero', 'one', 'two'],
    ],
  },
  {
    name: 'list.concat on a map',
    doc: `${REF}/list/concat`,
    yaml: ret('list.concat(m, 1)', ['m: {a: 1}']),
    error: { tags: ['TypeError'], message: /list\.concat/ },
  },
  {
    name: 'list.prepend',
    doc: `${REF}/list/prepend`,
    yaml: ret('list.prepend(l, "three")', ['l: [zero, one, two]']),
    result: ['three', 'zero', 'one', 'two'],
  },
  {
    name: 'list.prepend on a string',
    doc: `${REF}/list/prepend`,
    yaml: ret('list.prepend("abc", 1)'),
    error: { tags: ['TypeError'], message: /list\.prepend/ },
  },

  // -- text -------------------------------------------------------------------------------------
  {
    name: 'text.split',
    doc: `${REF}/text/split`,
    yaml: ret('[text.split("baaab", "aa"), text.split("abc", "x")]'),
    result: [['b', 'ab'], ['abc']],
  },
  {
    name: 'text.split by an empty separator',
    doc: `${REF}/text/split`,
    yaml: ret('text.split("abc", "")'),
    error: { tags: ['ValueError'], message: /text\.split/ },
  },
  {
    name: 'text.substring takes characters; indexes out of range are clamped',
    doc: `${REF}/text/substring`,
    yaml: ret('[text.substring("hello", 2, 4), text.substring("hello", -10, 10), text.substring("😀a😀b", 1, 3)]'),
    result: ['ll', 'hello', 'a😀'],
  },
  {
    name: 'text.substring with a double index',
    doc: `${REF}/text/substring`,
    yaml: ret('text.substring("hello", 1.5, 3)'),
    error: { tags: ['TypeError'], message: /text\.substring/ },
  },
  {
    name: 'text.find_all gives character indexes',
    doc: `${REF}/text/find_all`,
    yaml: ret('[text.find_all("Hello World", "l"), text.find_all("00000", "00")]'),
    resultText: '[[2,3,9],[0,2]]',
  },
  {
    name: 'text.find_all of an integer',
    doc: `${REF}/text/find_all`,
    yaml: ret('text.find_all("abc", 1)'),
    error: { tags: ['TypeError'], message: /text\.find_all/ },
  },
  {
    name: 'text.find_all_regex',
    doc: `${REF}/text/find_all_regex`,
    yaml: ret('text.find_all_regex("HelloWorld", "Hello|World")'),
    result: [
      { index: 0, match: 'Hello' },
      { index: 5, match: 'World' },
    ],
  },
  {
    name: 'text.find_all_regex with an unclosed group',
    doc: `${REF}/text/find_all_regex`,
    yaml: ret('text.find_all_regex("abc", "(a")'),
    error: { tags: ['ValueError'], message: /text\.find_all_regex/ },
  },
  {
    name: 'text.match_regex',
    doc: `${REF}/text/match_regex`,
    yaml: ret('[text.match_regex("HelloWorld", "Hello|Goodbye"), text.match_regex("HelloWorld", "Goodbye")]'),
    result: [true, false],
  },
  {
    name: 'text.match_regex uses RE2: no lookahead',
    doc: `${REF}/text/match_regex`,
    yaml: ret('text.match_regex("foo", "(?=f)")'),
    error: { tags: ['ValueError'], message: /text\.match_regex/ },
  },
  {
    name: 'text.replace_all',
    doc: `${REF}/text/replace_all`,
    yaml: ret('text.replace_all("Hello World", "Hello", "Goodbye")'),
    result: 'Goodbye World',
  },
  {
    name: 'text.replace_all with a null replacement',
    doc: `${REF}/text/replace_all`,
    yaml: ret('text.replace_all("abc", "a", null)'),
    error: { tags: ['TypeError'], message: /text\.replace_all/ },
  },
  {
    name: 'text.replace_all_regex',
    doc: `${REF}/text/replace_all_regex`,
    yaml: ret('text.replace_all_regex("one two", "one|two", "three")'),
    result: 'three three',
  },
  {
    name: 'text.replace_all_regex with an unclosed class',
    doc: `${REF}/text/replace_all_regex`,
    yaml: ret('text.replace_all_regex("abc", "[", "x")'),
    error: { tags: ['ValueError'], message: /text\.replace_all_regex/ },
  },
  { name: 'text.to_lower', doc: `${REF}/text/to_lower`, yaml: ret('text.to_lower("Hello World")'), result: 'hello world' },
  { name: 'text.to_lower of an integer', doc: `${REF}/text/to_lower`, yaml: ret('text.to_lower(1)'), error: { tags: ['TypeError'] } },
  { name: 'text.to_upper', doc: `${REF}/text/to_upper`, yaml: ret('text.to_upper("Hello World")'), result: 'HELLO WORLD' },
  { name: 'text.to_upper of null', doc: `${REF}/text/to_upper`, yaml: ret('text.to_upper(null)'), error: { tags: ['TypeError'] } },
  {
    name: 'text.url_encode',
    doc: `${REF}/text/url_encode`,
    yaml: ret('text.url_encode("a/b/c?item=d+e f")'),
    result: 'a%2Fb%2Fc%3Fitem%3Dd%2Be%20f',
  },
  { name: 'text.url_encode of an integer', doc: `${REF}/text/url_encode`, yaml: ret('text.url_encode(1)'), error: { tags: ['TypeError'] } },
  {
    name: 'text.url_encode_plus',
    doc: `${REF}/text/url_encode_plus`,
    yaml: ret('text.url_encode_plus("a/b/c?item=d+e f")'),
    result: 'a%2Fb%2Fc%3Fitem%3Dd%2Be+f',
  },
  {
    name: 'text.url_encode_plus of a boolean',
    doc: `${REF}/text/url_encode_plus`,
    yaml: ret('text.url_encode_plus(true)'),
    error: { tags: ['TypeError'] },
  },
  {
    name: 'text.url_decode',
    doc: `${REF}/text/url_decode`,
    yaml: ret('[text.url_decode("a%2Fb%2Fc%3Fitem%3Dd%2Be"), text.url_decode("a+b%C3%A9")]'),
    result: ['a/b/c?item=d+e', 'a bé'],
  },
  {
    name: 'text.url_decode of a dangling %',
    doc: `${REF}/text/url_decode`,
    yaml: ret('text.url_decode("100%")'),
    error: { tags: ['ValueError'], message: /text\.url_decode/ },
  },
  {
    name: 'text.encode to UTF-8 and to ISO-8859-1',
    doc: `${REF}/text/encode`,
    yaml: ret(
      '[base64.encode(text.encode("Hello World", "UTF-8")), base64.encode(text.encode("é")), base64.encode(text.encode("é", "iso-8859-1"))]',
    ),
    result: ['SGVsbG8gV29ybGQ=', 'w6k=', '6Q=='],
  },
  {
    name: 'text.encode of a character the charset lacks',
    doc: `${REF}/text/encode`,
    yaml: ret('text.encode("é", "US-ASCII")'),
    error: { tags: ['ValueError'], message: /text\.encode/ },
  },
  {
    name: 'text.decode',
    doc: `${REF}/text/decode`,
    yaml: ret('text.decode(base64.decode("SGVsbG8gV29ybGQ="), "UTF-8")'),
    result: 'Hello World',
  },
  {
    name: 'text.decode of a string',
    doc: `${REF}/text/decode`,
    yaml: ret('text.decode("abc")'),
    error: { tags: ['TypeError'], message: /text\.decode/ },
  },

  // -- json -------------------------------------------------------------------------------------
  {
    name: 'json.encode gives bytes',
    doc: `${REF}/json/encode`,
    yaml: ret('text.decode(json.encode(m))', ['m: {hello: world}']),
    result: '{"hello":"world"}',
  },
  {
    name: 'json.encode of bytes',
    doc: `${REF}/json/encode`,
    yaml: ret('json.encode(text.encode("x"))'),
    error: { tags: ['ValueError'], message: /json\.encode/ },
  },
  {
    name: 'json.encode_to_string keeps integers and doubles apart',
    doc: `${REF}/json/encode_to_string`,
    yaml: ret('json.encode_to_string([1, 2.5, 2.0, null, true, m])', ['m: {key1: hello}']),
    result: '[1,2.5,2.0,null,true,{"key1":"hello"}]',
  },
  {
    name: 'json.encode_to_string with indentation',
    doc: `${REF}/json/encode_to_string`,
    yaml: ret('json.encode_to_string(m, true)', ['m: {a: [1]}']),
    result: '{\n    "a": [\n        1\n    ]\n}',
  },
  {
    name: 'json.encode_to_string of bytes',
    doc: `${REF}/json/encode_to_string`,
    yaml: ret('json.encode_to_string([text.encode("x")])'),
    error: { tags: ['ValueError'], message: /json\.encode_to_string/ },
  },
  {
    name: 'json.decode of a string and of bytes',
    doc: `${REF}/json/decode`,
    yaml: ret(`[json.decode('{"a": 1, "b": 2.0, "c": [true, null]}'), json.decode(text.encode("[1]"))]`),
    resultText: '[{"a":1,"b":2.0,"c":[true,null]},[1]]',
  },
  {
    name: 'json.decode of invalid JSON',
    doc: `${REF}/json/decode`,
    yaml: ret(`json.decode('{"a": ')`),
    error: { tags: ['ValueError'], message: /json\.decode/ },
  },

  // -- base64 -----------------------------------------------------------------------------------
  {
    name: 'base64.encode with and without padding',
    doc: `${REF}/base64/encode`,
    yaml: ret('[base64.encode(text.encode("Hello World")), base64.encode(text.encode("Hello World"), false)]'),
    result: ['SGVsbG8gV29ybGQ=', 'SGVsbG8gV29ybGQ'],
  },
  {
    name: 'base64.encode of a string',
    doc: `${REF}/base64/encode`,
    yaml: ret('base64.encode("Hello")'),
    error: { tags: ['TypeError'], message: /base64\.encode/ },
  },
  {
    name: 'base64.decode with and without padding',
    doc: `${REF}/base64/decode`,
    yaml: ret('[text.decode(base64.decode("SGVsbG8gV29ybGQ=")), text.decode(base64.decode("SGVsbG8gV29ybGQ", false))]'),
    result: ['Hello World', 'Hello World'],
  },
  {
    name: 'base64.decode outside the alphabet',
    doc: `${REF}/base64/decode`,
    yaml: ret('base64.decode("SGVs*G8=")'),
    error: { tags: ['ValueError'], message: /base64\.decode/ },
  },

  // -- hash -------------------------------------------------------------------------------------
  {
    name: 'hash.compute_checksum SHA256 and MD5',
    doc: `${REF}/hash/compute_checksum`,
    yaml: ret(
      '[base64.encode(hash.compute_checksum(text.encode("Hello World"), "SHA256")), base64.encode(hash.compute_checksum(text.encode(""), "MD5"))]',
    ),
    result: ['pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=', Buffer.from('d41d8cd98f00b204e9800998ecf8427e', 'hex').toString('base64')],
  },
  {
    name: 'hash.compute_checksum of an unsupported algorithm',
    doc: `${REF}/hash/compute_checksum`,
    yaml: ret('hash.compute_checksum(text.encode("a"), "CRC32C")'),
    error: { tags: ['ValueError'], message: /hash\.compute_checksum/ },
  },
  {
    name: 'hash.compute_checksum of a string',
    doc: `${REF}/hash/compute_checksum`,
    yaml: ret('hash.compute_checksum("text", "SHA256")'),
    error: { tags: ['TypeError'], message: /hash\.compute_checksum/ },
  },

  // -- time -------------------------------------------------------------------------------------
  {
    name: 'time.format in UTC and in a timezone, with microseconds',
    doc: `${REF}/time/format`,
    yaml: ret('[time.format(1720788633), time.format(1720788633, "Europe/Paris"), time.format(1704903354.615087)]'),
    result: ['2024-07-12T12:50:33.000000Z', '2024-07-12T14:50:33.000000+02:00', '2024-01-10T16:15:54.615087Z'],
  },
  {
    name: 'time.format in an unknown timezone',
    doc: `${REF}/time/format`,
    yaml: ret('time.format(0, "Nowhere/City")'),
    error: { tags: ['ValueError'], message: /time\.format/ },
  },
  {
    name: 'time.parse gives double seconds',
    doc: `${REF}/time/parse`,
    yaml: ret('[time.parse("2024-05-08T12:01:00.000000Z"), time.parse("2024-05-08T14:01:00.5+02:00")]'),
    resultText: '[1715169660.0,1715169660.5]',
  },
  {
    name: 'time.parse of a time that is not RFC 3339',
    doc: `${REF}/time/parse`,
    yaml: ret('time.parse("2024-05-08 12:01:00")'),
    error: { tags: ['ValueError'], message: /time\.parse/ },
  },

  // -- uuid -------------------------------------------------------------------------------------
  {
    name: 'uuid.generate gives a new random UUID string each time',
    doc: `${REF}/uuid/generate`,
    yaml: ret('[text.match_regex(u, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"), u != uuid.generate()]', [
      'u: ${uuid.generate()}',
    ]),
    result: [true, true],
  },

  // -- math -------------------------------------------------------------------------------------
  {
    name: 'math.abs',
    doc: `${REF}/math/abs`,
    yaml: ret('[math.abs(-5), math.abs(-2.5), math.abs(3)]'),
    resultText: '[5,2.5,3]',
    choice: MATH_CHOICE,
  },
  {
    name: 'math.abs of a string',
    doc: `${REF}/math/abs`,
    yaml: ret('math.abs("1")'),
    error: { tags: ['TypeError'], message: /math\.abs/ },
    choice: MATH_CHOICE,
  },
  {
    name: 'math.floor',
    doc: `${REF}/math/floor`,
    yaml: ret('[math.floor(-2.5), math.floor(2.7), math.floor(7)]'),
    resultText: '[-3,2,7]',
    choice: MATH_CHOICE,
  },
  {
    name: 'math.floor of a string',
    doc: `${REF}/math/floor`,
    yaml: ret('math.floor("2.5")'),
    error: { tags: ['TypeError'], message: /math\.floor/ },
    choice: MATH_CHOICE,
  },
  { name: 'math.max', doc: `${REF}/math/max`, yaml: ret('[math.max(1, 1.5), math.max(3, 2)]'), resultText: '[1.5,3]', choice: MATH_CHOICE },
  {
    name: 'math.max with null',
    doc: `${REF}/math/max`,
    yaml: ret('math.max(1, null)'),
    error: { tags: ['TypeError'], message: /math\.max/ },
    choice: MATH_CHOICE,
  },
  {
    name: 'math.min',
    doc: `${REF}/math/min`,
    yaml: ret('[math.min(1, 1.5), math.min(-1.5, 3)]'),
    resultText: '[1,-1.5]',
    choice: MATH_CHOICE,
  },
  {
    name: 'math.min of a list',
    doc: `${REF}/math/min`,
    yaml: ret('math.min([1], 2)'),
    error: { tags: ['TypeError'], message: /math\.min/ },
    choice: MATH_CHOICE,
  },

  {
    name: 'map.get with a list of keys drills into nested maps',
    doc: `${REF}/map/get`,
    yaml: '- a:\n    assign:\n      - m:\n          labels:\n            env: prod\n- r:\n    return: ${[map.get(m, ["labels", "env"]), map.get(m, ["labels", "nope", "x"])]}\n',
    result: ['prod', null],
  },
  {
    name: 'map.get with an empty list of keys is refused',
    doc: `${REF}/map/get`,
    yaml: '- a:\n    assign:\n      - m:\n          k: 1\n- r:\n    return: ${map.get(m, [])}\n',
    error: { tags: ['UndocumentedError'], message: /empty list of keys is undocumented/ },
    choice: 'strict: the reference does not say what an empty list of keys gives',
  },
  // -- sys (the parts needing no clock or record) ----------------------------------------------------
  {
    name: 'sys.get_env reads a user-defined variable',
    doc: `${REF}/sys/get_env`,
    yaml: ret('sys.get_env("ZONE")'),
    env: { ZONE: 'europe-west1-b' },
    result: 'europe-west1-b',
  },
  {
    name: 'sys.get_env of an unset variable gives the default',
    doc: `${REF}/sys/get_env`,
    yaml: ret('sys.get_env("UNSET_VARIABLE", "fallback")'),
    result: 'fallback',
  },
  {
    name: 'sys.get_env of an unset variable without a default is refused',
    doc: `${REF}/sys/get_env`,
    yaml: ret('sys.get_env("UNSET_VARIABLE")'),
    error: { tags: ['UndocumentedError'], message: /UNSET_VARIABLE is not set.*undocumented.*pass a default/ },
    choice: 'strict: the reference does not say what an unset variable gives without a default, so the engine refuses it',
  },
  {
    name: 'sys.get_env with a default that is not a string',
    doc: `${REF}/sys/get_env`,
    yaml: ret('sys.get_env("UNSET_VARIABLE", 1)'),
    error: { tags: ['TypeError'], message: /sys\.get_env/ },
  },
  {
    name: 'sys.log with an unknown severity',
    doc: `${REF}/sys/log`,
    yaml: '- l:\n    call: sys.log\n    args:\n      data: x\n      severity: LOUD\n',
    error: { tags: ['ValueError'], message: /sys\.log/ },
  },
  {
    name: 'sys.log without data, text or json',
    doc: `${REF}/sys/log`,
    yaml: '- l:\n    call: sys.log\n    args:\n      severity: INFO\n',
    error: { tags: ['TypeError'], message: /sys\.log/ },
  },
  {
    name: 'sys.sleep for longer than a year',
    doc: SLEEPING,
    yaml: callStep('sys.sleep', ['seconds: 31536001']),
    error: { tags: ['ValueError'], message: /sys\.sleep/ },
  },
  {
    name: 'sys.sleep with a string',
    doc: `${REF}/sys/sleep`,
    yaml: callStep('sys.sleep', ['seconds: "10"']),
    error: { tags: ['TypeError'], message: /sys\.sleep/ },
  },
  {
    name: 'sys.sleep_until a time that is not RFC 3339',
    doc: `${REF}/sys/sleep_until`,
    yaml: callStep('sys.sleep_until', ['time: tomorrow']),
    error: { tags: ['ValueError'], message: /sys\.sleep_until/ },
  },

  // -- retry predicates ---------------------------------------------------------------------------
  {
    name: 'retry.always retries every error up to max_retries',
    doc: `${REF}/retry/always`,
    yaml: retried('retry.always', 2),
    resultText: '3',
  },
  { name: 'retry.never retries nothing', doc: `${REF}/retry/never`, yaml: retried('retry.never', 2), resultText: '1' },
  {
    name: 'http.default_retry_predicate: 429, 502, 503, 504, ConnectionError, ConnectionFailedError, TimeoutError',
    doc: `${REF}/http/default_retry_predicate`,
    yaml: ret(
      '[http.default_retry_predicate(e429), http.default_retry_predicate(e502), http.default_retry_predicate(e503), http.default_retry_predicate(e404), http.default_retry_predicate(broken), http.default_retry_predicate(refused), http.default_retry_predicate(timeout)]',
      ERRORS,
    ),
    result: [true, true, true, false, true, true, true],
  },
  {
    name: 'http.default_retry_predicate_non_idempotent: 429, 503 and ConnectionFailedError only',
    doc: `${REF}/http/default_retry_predicate_non_idempotent`,
    yaml: ret(
      '[http.default_retry_predicate_non_idempotent(e429), http.default_retry_predicate_non_idempotent(e502), http.default_retry_predicate_non_idempotent(e503), http.default_retry_predicate_non_idempotent(e404), http.default_retry_predicate_non_idempotent(broken), http.default_retry_predicate_non_idempotent(refused), http.default_retry_predicate_non_idempotent(timeout)]',
      ERRORS,
    ),
    result: [true, false, true, false, false, true, false],
  },
  {
    name: 'http.default_retry_predicate as a custom retry predicate',
    doc: `${REF}/http/default_retry_predicate`,
    yaml: retried('http.default_retry_predicate', 3),
    resultText: '1',
  },
];

describe('Workflows standard library conformance (local engine)', () => {
  const engine = useEngine();
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const out = await runText(await engine(), row.yaml, row.env === undefined ? {} : { env: row.env });
    if (row.error !== undefined) {
      expect(out.state, `${row.doc}: ${out.record.result ?? ''}`).toBe('FAILED');
      expect(out.error?.tags).toEqual(row.error.tags);
      if (row.error.message !== undefined) expect(String(out.error?.message)).toMatch(row.error.message);
    } else {
      expect(out.state, `${row.doc}: ${out.record.error?.payload ?? ''}`).toBe('SUCCEEDED');
      if ('result' in row) expect(out.result).toEqual(row.result);
      if (row.resultText !== undefined) expect(out.record.result).toBe(row.resultText);
    }
  });
});

describe('sys.get_env: the built-in variables', () => {
  const engine = useEngine();
  it(`GOOGLE_CLOUD_* name the project, location, workflow, revision and execution (${ENV_VARS}, ${REF}/sys/get_env)`, async () => {
    const yaml = [
      '- r:',
      '    return:',
      '      project: ${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}',
      '      number: ${sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")}',
      '      location: ${sys.get_env("GOOGLE_CLOUD_LOCATION")}',
      '      workflow: ${sys.get_env("GOOGLE_CLOUD_WORKFLOW_ID")}',
      '      revision: ${sys.get_env("GOOGLE_CLOUD_WORKFLOW_REVISION_ID")}',
      '      execution: ${sys.get_env("GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID")}',
      '',
    ].join('\n');
    const out = await runText(await engine(), yaml);
    expect(out.state).toBe('SUCCEEDED');
    const env = out.result as Record<string, string>;
    expect(out.record.name).toBe(
      `projects/${env['project']}/locations/${env['location']}/workflows/${env['workflow']}/executions/${env['execution']}`,
    );
    expect(env['workflow']).toBe(out.record.workflowId);
    expect(env['number']).toMatch(/^[0-9]+$/);
    expect(env['revision']).toMatch(/^\S+$/);
  });
});

describe('sys.log: the execution record', () => {
  const engine = useEngine();
  it(`logs data, text or json with a severity (${REF}/sys/log)`, async () => {
    const yaml = [
      '- a:',
      '    call: sys.log',
      '    args:',
      '      data: Log my error message',
      '      severity: ERROR',
      '- b:',
      '    call: sys.log',
      '    args:',
      '      data: plain',
      '- c:',
      '    call: sys.log',
      '    args:',
      '      json: {Message1: json}',
      '      severity: INFO',
      '- d:',
      '    call: sys.log',
      '    args:',
      '      text: [1, 2.5]',
      '      severity: WARNING',
      '- r:',
      '    return: done',
      '',
    ].join('\n');
    const out = await runText(await engine(), yaml);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.record.logs.map((l) => ({ severity: l.severity, payload: toPlain(l.payload) }))).toEqual([
      { severity: 'ERROR', payload: 'Log my error message' },
      { severity: 'DEFAULT', payload: 'plain' },
      { severity: 'INFO', payload: { Message1: 'json' } },
      { severity: 'WARNING', payload: '[1,2.5]' },
    ]);
  });
});

describe('the clock: sys.now, sys.sleep, sys.sleep_until, retry backoff', () => {
  const clock = new InstantClock();
  const engine = useEngine({ clock });
  // The clock moves with every sleep: each test sets it, so that the tests hold in any order.
  beforeEach(() => {
    clock.time = Date.UTC(2024, 4, 8, 12, 1, 0, 250);
  });
  /** Runs `yaml` and gives the outcome with the sleeps it asked for. */
  const run = async (yaml: string) => {
    const before = clock.sleeps.length;
    const out = await runText(await engine(), yaml);
    return { out, sleeps: clock.sleeps.slice(before) };
  };

  it(`sys.now gives the execution clock's time as double seconds (${REF}/sys/now)`, async () => {
    const { out } = await run('- r:\n    return: ${sys.now()}\n');
    expect(out.record.result).toBe('1715169660.25');
  });

  it(`sys.sleep waits its seconds on the execution clock (${REF}/sys/sleep)`, async () => {
    const yaml = [
      '- t0:',
      '    assign:',
      '      - t0: ${sys.now()}',
      '- s:',
      '    call: sys.sleep',
      '    args:',
      '      seconds: 1.5',
      '- r:',
      '    return: ${sys.now() - t0}',
      '',
    ].join('\n');
    const { out, sleeps } = await run(yaml);
    expect(out.record.result).toBe('1.5');
    expect(sleeps).toEqual([1500]);
  });

  it(`sys.sleep_until waits until an RFC 3339 time and returns at once for a past one (${REF}/sys/sleep_until)`, async () => {
    const yaml = [
      '- s:',
      '    call: sys.sleep_until',
      '    args:',
      '      time: ${time.format(sys.now() + 10)}',
      '- past:',
      '    call: sys.sleep_until',
      '    args:',
      '      time: "2000-01-01T00:00:00Z"',
      '- r:',
      '    return: done',
      '',
    ].join('\n');
    const { out, sleeps } = await run(yaml);
    expect(out.state).toBe('SUCCEEDED');
    expect(sleeps).toEqual([10_000]);
  });

  it(`a custom retry with backoff \${retry.default_backoff} waits 1 s, then x1.25 (${REF}/retry/default_backoff)`, async () => {
    const yaml = retried('retry.always', 2).replace(
      '      backoff:\n        initial_delay: 1\n        max_delay: 10\n        multiplier: 2\n',
      '      backoff: ${retry.default_backoff}\n',
    );
    const { out, sleeps } = await run(yaml);
    expect(out.record.result).toBe('3');
    expect(sleeps).toEqual([1000, 1250]);
  });
});

// -------------------------------------------------------------------------------------------------
// http.* against a loopback server that records what it was asked.

/** Calls the fake at `args.url + path` with `call` and `args` (YAML lines), returning the response. */
const httpCall = (call: string, path: string, args: readonly string[] = []): string =>
  [
    'main:',
    '  params: [args]',
    '  steps:',
    '    - c:',
    `        call: ${call}`,
    '        args:',
    `          url: \${args.url + "${path}"}`,
    ...args.map((a) => `          ${a}`),
    '        result: r',
    '    - done:',
    '        return: ${r}',
    '',
  ].join('\n');

const answer =
  (status: number, body: string) =>
  (_req: RecordedRequest, res: ServerResponse): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  };

describe('http.* through workflows, against a loopback fake', () => {
  const clock = new InstantClock();
  const engine = useEngine({ clock });
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  /** Runs `yaml` with `{url}` as its argument; gives the outcome, the requests and the sleeps it made. */
  const run = async (yaml: string) => {
    const requests = fake.requests.length;
    const sleeps = clock.sleeps.length;
    const out = await runText(await engine(), yaml, { argument: { url: fake.url } });
    return { out, requests: fake.requests.slice(requests), sleeps: clock.sleeps.slice(sleeps) };
  };

  it(`http.get sends the query and headers and gives {body, code, headers}; the step is external (${REF}/http/get, ${PRICING})`, async () => {
    fake.respond(answer(200, '{"ok": true, "n": 1}'));
    const { out, requests } = await run(httpCall('http.get', '/items', ['headers:', '  X-Trace: abc', 'query:', '  q: a b', '  n: 7']));
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(requests).toHaveLength(1);
    const req = requests[0] as RecordedRequest;
    expect(req.method).toBe('GET');
    const url = new URL(req.url, fake.url);
    expect(url.pathname).toBe('/items');
    expect([...url.searchParams]).toEqual([
      ['q', 'a b'],
      ['n', '7'],
    ]);
    expect(req.headers['x-trace']).toBe('abc');
    expect(req.headers['user-agent']).toContain('GoogleCloudWorkflows');
    expect(out.result).toMatchObject({ code: 200, body: { ok: true, n: 1 }, headers: { 'Content-Type': 'application/json' } });
    expect(out.record.billing).toEqual({ internal: 1, external: 1, polls: 0 });
  });

  it(`http.post sends a map body as JSON with an OIDC token for the URL (${REF}/http/post, ${HTTP_REQUESTS})`, async () => {
    fake.respond(answer(201, '{}'));
    const { out, requests } = await run(
      httpCall('http.post', '/hook', ['auth:', '  type: OIDC', 'body:', '  instance: vm-1', '  count: 2']),
    );
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect((out.result as { code: number }).code).toBe(201);
    const req = requests[0] as RecordedRequest;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(req.body.toString('utf8'))).toEqual({ instance: 'vm-1', count: 2 });
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    expect(token).toBeDefined();
    const verified = (await engine()).tokens.verify(token ?? '');
    expect(verified).toMatchObject({ ok: true, claims: { type: 'OIDC', aud: `${fake.url}/hook` } });
  });

  it.each([
    ['http.put', 'PUT', ['body:', '  k: v']],
    ['http.patch', 'PATCH', ['body:', '  k: v']],
    ['http.delete', 'DELETE', []],
    ['http.request', 'OPTIONS', ['method: OPTIONS']],
  ] as const)(`%s sends %s (${REF}/http/request)`, async (call, method, args) => {
    fake.respond(answer(200, '{}'));
    const { out, requests } = await run(httpCall(call, '/m', args));
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(requests.map((r) => [r.method, r.url])).toEqual([[method, '/m']]);
  });

  it(`an answer of 503 raises HttpError with the code, headers and body (${ERROR_TYPES}, ${REF}/http/get)`, async () => {
    fake.respond(answer(503, '{"error": "busy"}'));
    const { out, requests } = await run(httpCall('http.get', '/busy'));
    expect(out.state).toBe('FAILED');
    expect(out.error).toMatchObject({
      tags: ['HttpError'],
      code: 503,
      message: 'HTTP server responded with error code 503',
      body: { error: 'busy' },
      headers: { 'Content-Type': 'application/json' },
    });
    expect(requests).toHaveLength(1);
  });

  it(`retry: \${http.default_retry} retries 503 twice, waiting 1 s then 1.25 s (${REF}/http/default_retry, ${REF}/retry/default_backoff)`, async () => {
    let n = 0;
    fake.respond((req, res) => answer(++n <= 2 ? 503 : 200, '{"attempt": true}')(req, res));
    const yaml = [
      'main:',
      '  params: [args]',
      '  steps:',
      '    - t:',
      '        try:',
      '          call: http.get',
      '          args:',
      '            url: ${args.url + "/flaky"}',
      '          result: r',
      '        retry: ${http.default_retry}',
      '    - done:',
      '        return: ${r.code}',
      '',
    ].join('\n');
    const { out, requests, sleeps } = await run(yaml);
    expect(out.state, out.record.error?.payload).toBe('SUCCEEDED');
    expect(out.record.result).toBe('200');
    expect(requests.map((r) => r.url)).toEqual(['/flaky', '/flaky', '/flaky']);
    expect(sleeps).toEqual([1000, 1250]);
    // The try step, two retries (each a billed step), the return.
    expect(out.steps).toBe(4);
  });
});
