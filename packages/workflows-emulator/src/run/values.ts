/**
 * The value model of the local Workflows engine.
 *
 * Workflows has integers (64-bit signed), doubles, strings, booleans, bytes, null, lists and maps
 * ("Data types" in the syntax reference). JavaScript numbers cannot tell `1` from `1.0`, so here
 * an integer is a `bigint` and a double is a `number`. Maps are `Map`s (no prototype keys, insertion
 * order kept). Values are never mutated in place: an assignment to `a.b[0]` copies the containers
 * along the path, so sharing a value between variables is always safe.
 */

export class Bytes {
  constructor(readonly data: Uint8Array) {}
}

export type WfMap = Map<string, Value>;
export type Value = null | boolean | bigint | number | string | Bytes | Value[] | WfMap;

export const INT_MIN = -(2n ** 63n);
export const INT_MAX = 2n ** 63n - 1n;

/** An error raised inside a workflow: the raised value is what `except: as: e` sees. */
export class WorkflowError extends Error {
  constructor(readonly value: Value) {
    super(errorMessageOf(value));
    this.name = 'WorkflowError';
  }
}

/** The error map of a built-in error: `{message, tags: [tag]}` plus any extra fields. */
export function errorMap(tags: string | readonly string[], message: string, extra?: Readonly<Record<string, Value>>): WfMap {
  const m: WfMap = new Map<string, Value>([['message', message]]);
  m.set('tags', typeof tags === 'string' ? [tags] : [...tags]);
  for (const [k, v] of Object.entries(extra ?? {})) m.set(k, v);
  return m;
}

/** Throws a built-in error (TypeError, KeyError, IndexError, ValueError, ZeroDivisionError, ...). */
export function raise(tag: string, message: string, extra?: Readonly<Record<string, Value>>): never {
  throw new WorkflowError(errorMap(tag, message, extra));
}

export function errorMessageOf(value: Value): string {
  if (typeof value === 'string') return value;
  if (value instanceof Map) {
    const message = value.get('message');
    const tags = value.get('tags');
    const tagText = Array.isArray(tags) ? tags.filter((t) => typeof t === 'string').join(', ') : '';
    if (typeof message === 'string') return tagText === '' ? message : `${tagText}: ${message}`;
  }
  return encodeJson(value, { lenient: true });
}

export function isMap(v: Value): v is WfMap {
  return v instanceof Map;
}
export function isList(v: Value): v is Value[] {
  return Array.isArray(v);
}
export function isNumber(v: Value): v is bigint | number {
  return typeof v === 'bigint' || typeof v === 'number';
}

export function typeName(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'integer';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    default:
      if (v instanceof Bytes) return 'bytes';
      return Array.isArray(v) ? 'list' : 'map';
  }
}

/** An integer result, or an error when it leaves the 64-bit range. */
export function checkedInt(n: bigint): bigint {
  if (n < INT_MIN || n > INT_MAX) raise('ValueError', `integer overflow: the result does not fit in 64 bits`);
  return n;
}

export function toDouble(v: bigint | number): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Deep equality. An integer equals a double of the same numeric value (`1 == 1.0`). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === typeof b) return a === b;
    return toDouble(a) === toDouble(b);
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Bytes || b instanceof Bytes) {
    if (!(a instanceof Bytes && b instanceof Bytes) || a.data.length !== b.data.length) return false;
    return a.data.every((x, i) => x === b.data[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => valuesEqual(x, b[i] as Value));
  }
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    if (!b.has(k) || !valuesEqual(v, b.get(k) as Value)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// JSON: a parser that keeps integers and doubles apart (`1` is an integer, `1.0` and `1e3` are
// doubles), and an encoder that writes them back the same way.

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

const MAX_JSON_DEPTH = 512;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

export function parseJson(text: string): Value {
  let i = 0;
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, i);
  };
  const value = (depth: number): Value => {
    if (depth > MAX_JSON_DEPTH) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const m: WfMap = new Map();
      ws();
      if (text[i] === '}') {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        m.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return m;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const l: Value[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return l;
      }
      for (;;) {
        l.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return l;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m === null) return fail(i >= text.length ? 'unexpected end of JSON' : `unexpected ${JSON.stringify(text[i])}`);
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = BigInt(m[0]);
      // Integers beyond 64 bits become doubles, like a JSON number that no int64 can hold.
      return n < INT_MIN || n > INT_MAX ? Number(m[0]) : n;
    }
    return Number(m[0]);
  };
  const str = (): string => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      const j = text.indexOf('"', i);
      if (j < 0) {
        i = start;
        fail('unterminated string');
      }
      const chunk = text.slice(i, j);
      const bs = chunk.indexOf('\\');
      if (bs < 0) {
        if (hasControl(chunk)) fail('control character in a string');
        out += chunk;
        i = j + 1;
        return out;
      }
      const plain = text.slice(i, i + bs);
      if (hasControl(plain)) fail('control character in a string');
      out += plain;
      i += bs + 1;
      const e = text[i];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        i++;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
        out += String.fromCharCode(parseInt(text.slice(i + 1, i + 5), 16));
        i += 5;
      } else {
        fail('invalid escape in a string');
      }
    }
  };
  const v = value(0);
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return v;
}

export interface EncodeOptions {
  /** Indentation (json.encode's `indent`): a number of spaces or a string. */
  readonly indent?: number | string;
  /** Encode bytes and non-finite doubles as text instead of failing (messages, logs). */
  readonly lenient?: boolean;
}

/** JSON text of a value. Doubles with an integral value keep a `.0` so they read back as doubles. */
export function encodeJson(v: Value, options: EncodeOptions = {}): string {
  const indent = typeof options.indent === 'number' ? ' '.repeat(options.indent) : (options.indent ?? '');
  const out: string[] = [];
  const write = (x: Value, depth: number): void => {
    if (x === null) out.push('null');
    else if (typeof x === 'boolean') out.push(x ? 'true' : 'false');
    else if (typeof x === 'bigint') out.push(x.toString());
    else if (typeof x === 'number') out.push(encodeDouble(x, options.lenient === true));
    else if (typeof x === 'string') out.push(JSON.stringify(x));
    else if (x instanceof Bytes) {
      if (options.lenient !== true) raise('TypeError', 'bytes cannot be encoded as JSON: use base64.encode first');
      out.push(JSON.stringify(`<${x.data.length} bytes>`));
    } else if (Array.isArray(x)) {
      if (x.length === 0) return void out.push('[]');
      out.push('[');
      x.forEach((item, n) => {
        if (n > 0) out.push(',');
        newline(depth + 1);
        write(item, depth + 1);
      });
      newline(depth);
      out.push(']');
    } else {
      if (x.size === 0) return void out.push('{}');
      out.push('{');
      let n = 0;
      for (const [k, item] of x) {
        if (n++ > 0) out.push(',');
        newline(depth + 1);
        out.push(JSON.stringify(k), indent === '' ? ':' : ': ');
        write(item, depth + 1);
      }
      newline(depth);
      out.push('}');
    }
  };
  const newline = (depth: number): void => {
    if (indent !== '') out.push('\n', indent.repeat(depth));
  };
  write(v, 0);
  return out.join('');
}

function encodeDouble(x: number, lenient: boolean): string {
  if (!Number.isFinite(x)) {
    if (lenient) return JSON.stringify(String(x));
    raise('ValueError', `the double ${x} cannot be encoded as JSON`);
  }
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * A value from plain JavaScript data (JSON.parse output, SDK results). Integral numbers within
 * the safe range become integers; others doubles. Use `parseJson` when the text is at hand: it
 * keeps `1.0` a double.
 */
export function fromPlain(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
    case 'bigint':
      return x;
    case 'number':
      return Number.isSafeInteger(x) ? BigInt(x) : x;
    case 'object':
      if (x instanceof Uint8Array) return new Bytes(x);
      if (Array.isArray(x)) return x.map(fromPlain);
      if (x instanceof Map) return new Map([...x].map(([k, v]) => [String(k), fromPlain(v)]));
      if (x instanceof Date) return x.toISOString();
      return new Map(
        Object.entries(x as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, fromPlain(v)]),
      );
    default:
      throw new TypeError(`a ${typeof x} is not a Workflows value`);
  }
}

/**
 * Plain JavaScript data of a value (for JSON.stringify, SDK calls and test assertions). Integers
 * become numbers when they are safe integers and decimal strings otherwise; bytes become base64.
 */
export function toPlain(v: Value): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString();
  if (v instanceof Bytes) return Buffer.from(v.data).toString('base64');
  if (Array.isArray(v)) return v.map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, x] of v) Object.defineProperty(o, k, { value: toPlain(x), enumerable: true, writable: true, configurable: true });
  return o;
}

/** Approximate size in bytes of a value, for the 512 KB variable limit. */
export function sizeOf(v: Value): number {
  if (v === null || typeof v === 'boolean') return 4;
  if (typeof v === 'bigint' || typeof v === 'number') return 8;
  if (typeof v === 'string') return v.length;
  if (v instanceof Bytes) return v.data.length;
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + sizeOf(x), 2);
  let n = 2;
  for (const [k, x] of v) n += k.length + sizeOf(x);
  return n;
}

/**
 * The text of a scalar, as string() writes it and as `+` converts an INTEGER, DOUBLE or BOOL
 * joined to a STRING (syntax reference, data types: implicit conversions); null otherwise.
 */
export function scalarText(v: Value): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number') return encodeJson(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}
