/**
 * Argument checks shared by the standard library modules: each names the function and the
 * parameter at fault, and raises the documented error (TypeError for a wrong type, ValueError for
 * a value out of range).
 */
import { Bytes, isMap, raise, typeName, type Value, type WfMap } from '../run/values.js';

type Arg = Value | undefined;

export function present(fn: string, param: string, v: Arg): Value {
  if (v === undefined) raise('TypeError', `${fn}: missing argument '${param}'`);
  return v;
}

function wrongType(fn: string, param: string, expected: string, v: Arg): never {
  raise('TypeError', `${fn}: argument '${param}' must be ${expected}, got ${v === undefined ? 'nothing' : typeName(v)}`);
}

export function str(fn: string, param: string, v: Arg): string {
  if (typeof v !== 'string') wrongType(fn, param, 'a string', v);
  return v;
}

export function int(fn: string, param: string, v: Arg): bigint {
  if (typeof v !== 'bigint') wrongType(fn, param, 'an integer', v);
  return v;
}

export function num(fn: string, param: string, v: Arg): bigint | number {
  if (typeof v !== 'bigint' && typeof v !== 'number') wrongType(fn, param, 'a number', v);
  return v;
}

export function bool(fn: string, param: string, v: Arg): boolean {
  if (typeof v !== 'boolean') wrongType(fn, param, 'a boolean', v);
  return v;
}

export function list(fn: string, param: string, v: Arg): Value[] {
  if (!Array.isArray(v)) wrongType(fn, param, 'a list', v);
  return v;
}

export function map(fn: string, param: string, v: Arg): WfMap {
  if (v === undefined || v === null || !isMap(v)) wrongType(fn, param, 'a map', v);
  return v;
}

export function bytes(fn: string, param: string, v: Arg): Bytes {
  if (!(v instanceof Bytes)) wrongType(fn, param, 'bytes', v);
  return v;
}

/** An integer that fits a JavaScript index (list positions, string offsets, counts). */
export function index(fn: string, param: string, v: Arg): number {
  const n = int(fn, param, v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER))
    raise('ValueError', `${fn}: argument '${param}' is out of range`);
  return Number(n);
}
