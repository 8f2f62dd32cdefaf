/**
 * The expression helpers (https://cloud.google.com/workflows/docs/reference/stdlib/expression-helpers):
 * conversions `int`, `double`, `string`; `len`, `keys`; conditionals `default`, `if`. (`in` is an
 * operator of the expression language, not a function.)
 *
 * All arguments arrive evaluated. `default` needs nothing more: the reference pairs it with
 * map.get, which returns null for a missing key instead of raising KeyError. For `if` the
 * reference's note on evaluation could not be read; both branches are evaluated by the caller.
 *
 * Where the reference is silent: conversions accept their own type unchanged (int(3), double(1.5),
 * string("a")); int() of a double truncates toward zero; int() of a string takes an optional sign
 * and decimal digits only; double() of a string takes decimal notation with an optional exponent
 * (no "inf"/"nan"); string() of a double writes the shortest round-trip digits and keeps ".0" on
 * integral values, as json.encode does; len() of bytes is a TypeError (the reference lists list,
 * map and string). No `bool()` or `type()` helper is documented, so none is defined.
 */
import type { StdFunction } from '../run/runtime.js';
import { checkedInt, INT_MAX, INT_MIN, isMap, raise, scalarText, typeName, type Value } from '../run/values.js';
import { map, present } from './check.js';

function wrongType(fn: string, param: string, expected: string, v: Value): never {
  return raise('TypeError', `${fn}: argument '${param}' must be ${expected}, got ${typeName(v)}`);
}

function toInt(v: Value): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) raise('ValueError', `int: cannot convert ${v} to an integer`);
    const t = BigInt(Math.trunc(v));
    if (t < INT_MIN || t > INT_MAX) raise('ValueError', `int: ${v} is out of the 64-bit integer range`);
    return t;
  }
  if (typeof v === 'string') {
    if (!/^[+-]?\d+$/.test(v)) raise('ValueError', `int: cannot convert ${JSON.stringify(v)} to an integer`);
    const n = BigInt(v);
    if (n < INT_MIN || n > INT_MAX) raise('ValueError', `int: ${JSON.stringify(v)} is out of the 64-bit integer range`);
    return checkedInt(n);
  }
  return wrongType('int', 'value', 'a string or a double', v);
}

function toDouble(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) raise('ValueError', `double: cannot convert ${JSON.stringify(v)} to a double`);
    const d = Number(v);
    if (!Number.isFinite(d)) raise('ValueError', `double: ${JSON.stringify(v)} is out of the double range`);
    return d;
  }
  return wrongType('double', 'value', 'a string or an integer', v);
}

function toStr(v: Value): string {
  return scalarText(v) ?? wrongType('string', 'value', 'an integer, a double or a boolean', v);
}

export const expressionHelperFunctions: readonly StdFunction[] = [
  {
    name: 'int',
    params: ['value'],
    required: 1,
    call: ([v]) => toInt(present('int', 'value', v)),
  },
  {
    name: 'double',
    params: ['value'],
    required: 1,
    call: ([v]) => toDouble(present('double', 'value', v)),
  },
  {
    name: 'string',
    params: ['value'],
    required: 1,
    call: ([v]) => toStr(present('string', 'value', v)),
  },
  {
    name: 'len',
    params: ['value'],
    required: 1,
    call([v]) {
      const x = present('len', 'value', v);
      if (typeof x === 'string') return BigInt(Array.from(x).length);
      if (Array.isArray(x)) return BigInt(x.length);
      if (x !== null && isMap(x)) return BigInt(x.size);
      return wrongType('len', 'value', 'a list, a map or a string', x);
    },
  },
  {
    name: 'keys',
    params: ['map'],
    required: 1,
    call: ([m]) => [...map('keys', 'map', m).keys()],
  },
  {
    name: 'default',
    params: ['val', 'defaultVal'],
    required: 2,
    call([val, defaultVal]) {
      const v = present('default', 'val', val);
      const d = present('default', 'defaultVal', defaultVal);
      return v === null ? d : v;
    },
  },
  {
    name: 'if',
    params: ['condition', 'ifTrue', 'ifFalse'],
    required: 3,
    call([condition, ifTrue, ifFalse]) {
      const c = present('if', 'condition', condition);
      const t = present('if', 'ifTrue', ifTrue);
      const f = present('if', 'ifFalse', ifFalse);
      // The reference: true gives ifTrue, false or null gives ifFalse. Other types are rejected.
      if (c !== null && typeof c !== 'boolean') wrongType('if', 'condition', 'a boolean or null', c);
      return c === true ? t : f;
    },
  },
];
