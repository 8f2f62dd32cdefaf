/**
 * Checks a JSON value against a message of the Compute API's own descriptors: the protobuf
 * descriptors the official client `@google-cloud/compute` ships (build/protos/protos.json,
 * package google.cloud.compute.v1), read with the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/) as Compute's REST API writes it:
 * - every field exists in its message (an unknown field is an error);
 * - int64 and uint64 (and their fixed/sint variants) are decimal strings; int32 and the other
 *   32-bit integers are integral numbers; float and double numbers; bool booleans; string strings;
 * - enums are strings naming one of the enum's values. Compute declares most enum-valued fields as
 *   `string` with the values in a nested enum named after the field (`status` → `Status`,
 *   `stackType` → `StackType`): such a string must name one of them too (never the
 *   `UNDEFINED_…` value, which means "not set");
 * - repeated fields are arrays, maps are objects, messages are objects checked recursively.
 * Returns every violation as "path: what is wrong" (none: an empty list).
 */
import { readFileSync } from 'node:fs';
import { computeProtosPath } from '../../devstack/fleet/compute-descriptors.js';

interface FieldDescriptor {
  readonly type: string;
  readonly rule?: string;
  readonly keyType?: string;
}

interface TypeDescriptor {
  readonly fields?: Readonly<Record<string, FieldDescriptor>>;
  readonly values?: Readonly<Record<string, number>>;
  readonly nested?: Readonly<Record<string, TypeDescriptor>>;
}

interface Root {
  readonly nested: {
    readonly google: {
      readonly nested: { readonly cloud: { readonly nested: { readonly compute: { readonly nested: { readonly v1: TypeDescriptor } } } } };
    };
  };
}

let computeV1: TypeDescriptor | undefined;

/** google.cloud.compute.v1 of the installed client's descriptors (read once). */
function descriptors(): TypeDescriptor {
  if (computeV1 === undefined) {
    const root = JSON.parse(readFileSync(computeProtosPath(), 'utf8')) as Root;
    computeV1 = root.nested.google.nested.cloud.nested.compute.nested.v1;
  }
  return computeV1;
}

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const FLOAT = new Set(['float', 'double']);

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A type named in `scope` (a message), else at package level, as protobuf resolves it. */
function resolve(scope: TypeDescriptor, name: string): TypeDescriptor | undefined {
  return scope.nested?.[name] ?? descriptors().nested?.[name];
}

function checkEnum(enumType: TypeDescriptor, v: unknown, path: string, out: string[]): void {
  const names = Object.keys(enumType.values ?? {}).filter((n) => !n.startsWith('UNDEFINED_'));
  if (typeof v !== 'string' || !names.includes(v)) out.push(`${path}: expected one of ${names.join(', ')}, got ${describe(v)}`);
}

function checkScalar(field: FieldDescriptor, owner: TypeDescriptor, name: string, v: unknown, path: string, out: string[]): void {
  const t = field.type;
  if (INT64.has(t)) {
    if (typeof v !== 'string' || !/^-?[0-9]+$/.test(v)) out.push(`${path}: ${t} is a decimal string, got ${describe(v)}`);
  } else if (INT32.has(t)) {
    if (typeof v !== 'number' || !Number.isInteger(v)) out.push(`${path}: ${t} is an integral number, got ${describe(v)}`);
  } else if (FLOAT.has(t)) {
    if (typeof v !== 'number') out.push(`${path}: ${t} is a number, got ${describe(v)}`);
  } else if (t === 'bool') {
    if (typeof v !== 'boolean') out.push(`${path}: bool is a boolean, got ${describe(v)}`);
  } else if (t === 'string' || t === 'bytes') {
    if (typeof v !== 'string') out.push(`${path}: ${t} is a string, got ${describe(v)}`);
    // Compute's enum-valued strings: the values are the nested enum named after the field.
    const values = owner.nested?.[upperFirst(name)];
    if (t === 'string' && values?.values !== undefined) checkEnum(values, v, path, out);
  } else {
    const type = resolve(owner, t);
    if (type === undefined) out.push(`${path}: type ${t} is not in the descriptors`);
    else if (type.values !== undefined) checkEnum(type, v, path, out);
    else checkMessage(type, t, v, path, out);
  }
}

function checkMessage(type: TypeDescriptor, typeName: string, v: unknown, path: string, out: string[]): void {
  if (!isObject(v)) {
    out.push(`${path}: ${typeName} is an object, got ${describe(v)}`);
    return;
  }
  for (const [name, value] of Object.entries(v)) {
    const at = `${path}.${name}`;
    const field = type.fields?.[name];
    if (field === undefined) {
      out.push(`${at}: ${typeName} has no field ${name}`);
      continue;
    }
    if (field.rule === 'repeated') {
      if (!Array.isArray(value)) out.push(`${at}: repeated ${field.type} is an array, got ${describe(value)}`);
      else value.forEach((item, i) => checkScalar(field, type, name, item, `${at}[${i}]`, out));
    } else if (field.keyType !== undefined) {
      if (!isObject(value)) out.push(`${at}: map<${field.keyType}, ${field.type}> is an object, got ${describe(value)}`);
      else for (const [k, item] of Object.entries(value)) checkScalar({ type: field.type }, type, '', item, `${at}.${k}`, out);
    } else checkScalar(field, type, name, value, at, out);
  }
}

/** Violations of `value` against google.cloud.compute.v1.<message>. */
export function descriptorViolations(message: string, value: unknown): string[] {
  const type = descriptors().nested?.[message];
  if (type?.fields === undefined) throw new Error(`google.cloud.compute.v1.${message} is not a message of the descriptors`);
  const out: string[] = [];
  checkMessage(type, message, value, message, out);
  return out;
}
