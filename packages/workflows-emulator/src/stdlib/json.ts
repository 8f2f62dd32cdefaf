/**
 * The `json` module (https://cloud.google.com/workflows/docs/reference/stdlib/json/encode,
 * .../encode_to_string, .../decode).
 *
 * `indent` is a boolean or a map with optional string `prefix` (default "") and `indent` (default
 * four spaces); `true` is the empty map, `false` (or null) is no indentation. When indenting, each
 * element starts on a new line beginning with `prefix` and one `indent` per nesting level; the
 * first line carries no prefix. Map keys keep their insertion order and `<`, `>`, `&` are not
 * escaped (the reference is silent on both). An `indent` of another type is a TypeError, an
 * unknown key in the `indent` map a ValueError.
 */
import type { StdFunction } from '../run/runtime.js';
import { Bytes, encodeJson, isMap, JsonSyntaxError, parseJson, raise, typeName, type Value } from '../run/values.js';
import { present } from './check.js';

const LEVEL = '\u0001'; // never appears raw in JSON text: control characters in strings are escaped

interface Indent {
  readonly prefix: string;
  readonly indent: string;
}

function indentOption(fn: string, v: Value | undefined): Indent | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (v === true) return { prefix: '', indent: '    ' };
  if (!isMap(v)) return raise('TypeError', `${fn}: argument 'indent' must be a boolean or a map, got ${typeName(v)}`);
  let prefix = '';
  let indent = '    ';
  for (const [k, x] of v) {
    if (k !== 'prefix' && k !== 'indent')
      raise('ValueError', `${fn}: argument 'indent' has an unknown key ${JSON.stringify(k)} (use prefix, indent)`);
    if (typeof x !== 'string') raise('TypeError', `${fn}: argument 'indent.${k}' must be a string, got ${typeName(x)}`);
    if (k === 'prefix') prefix = x;
    else indent = x;
  }
  return { prefix, indent };
}

function containsBytes(v: Value): boolean {
  if (v instanceof Bytes) return true;
  if (Array.isArray(v)) return v.some(containsBytes);
  if (v !== null && isMap(v)) return [...v.values()].some(containsBytes);
  return false;
}

function encode(fn: string, data: Value | undefined, indent: Value | undefined): string {
  const d = present(fn, 'data', data);
  const options = indentOption(fn, indent);
  if (containsBytes(d)) raise('ValueError', `${fn}: bytes cannot be JSON-encoded (use base64.encode first)`);
  if (options === undefined) return encodeJson(d);
  return encodeJson(d, { indent: LEVEL })
    .split('\n')
    .map((line, i) => {
      if (i === 0) return line;
      let depth = 0;
      while (line[depth] === LEVEL) depth++;
      return options.prefix + options.indent.repeat(depth) + line.slice(depth);
    })
    .join('\n');
}

export const jsonFunctions: readonly StdFunction[] = [
  {
    name: 'json.encode',
    params: ['data', 'indent'],
    required: 1,
    call: ([data, indent]) => new Bytes(new TextEncoder().encode(encode('json.encode', data, indent))),
  },
  {
    name: 'json.encode_to_string',
    params: ['data', 'indent'],
    required: 1,
    call: ([data, indent]) => encode('json.encode_to_string', data, indent),
  },
  {
    name: 'json.decode',
    params: ['data'],
    required: 1,
    call([data]) {
      const d = present('json.decode', 'data', data);
      let text: string;
      // Bytes are read as by text.decode(data, "UTF-8"): undecodable bytes become U+FFFD.
      if (d instanceof Bytes) text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(d.data);
      else if (typeof d === 'string') text = d;
      else return raise('TypeError', `json.decode: argument 'data' must be a string or bytes, got ${typeName(d)}`);
      try {
        return parseJson(text);
      } catch (e) {
        if (e instanceof JsonSyntaxError) raise('ValueError', `json.decode: invalid JSON: ${e.message}`);
        throw e;
      }
    },
  },
];
