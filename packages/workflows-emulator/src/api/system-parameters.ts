/**
 * Google's system parameters, as every local REST API here reads them (the Executions API of the
 * engine and the local Compute API of the stack): the query parameters every Google REST API
 * accepts beside its own, listed once.
 *
 * The list is https://cloud.google.com/apis/docs/system-parameters (its table: `$alt`/`alt`,
 * `$apiVersion`, `$.xgafv`, `$callback`/`callback`, `$ct`, `$fields`/`fields`, `$key`/`key`,
 * `passwd`/`password`, `$prettyPrint`/`prettyPrint`, `quotaUser`, `$outputDefaults`, `$unique`,
 * `$userProject`) and the standard parameters of each API's discovery document
 * (https://workflowexecutions.googleapis.com/$discovery/rest?version=v1, and Compute's standard
 * query parameters, https://cloud.google.com/compute/docs/reference/parameters): `access_token`,
 * `oauth_token`, `upload_protocol`, `uploadType`, `trace`, and Compute's legacy `userIp`.
 * What each does here:
 *
 * - `alt`: `json` (the default), and `json;enum-encoding=int` (what google-gax sends when its
 *   client asks for numeric enums). `media`, `proto` and `sse` are refused: the local APIs answer
 *   JSON only.
 * - `prettyPrint`: `true` (the default: indented JSON) or `false`; `1` and `0` too, which is how
 *   Google's own google-gax sends it (`$prettyPrint=0`).
 * - `$.xgafv`: `2`, the default error format (`{error: {code, message, status}}`). `1` is refused:
 *   the page says only Google's client libraries should use it and documents no shape for it.
 * - `fields`: a partial response, in the syntax of Google's partial-response pages
 *   (https://developers.google.com/custom-search/v1/performance#partial): `a,b` selects several
 *   fields, `a/b` a field of a field, `a(b,c)` several fields of a field (of each element of a
 *   list), `*` every field at its level. Names are checked against the response's schema: a name
 *   the resource does not have is refused with 400, as Google refuses an invalid selection; one the
 *   resource has but leaves unset selects nothing. Selecting keys inside a map (`labels/app`) is
 *   refused as not supported locally.
 * - `quotaUser`, `trace`, `userIp`, `$unique`, `$userProject`, `upload_protocol`, `uploadType`:
 *   accepted and without effect here (no quotas, caches, billing projects or media uploads).
 * - `$ct`: `application/json` (the body is JSON); any other content type is refused.
 * - `$outputDefaults`: `false`; `true` is refused (the local APIs do not print default values).
 * - `key`, `access_token`, `oauth_token`: refused: the local stack issues no API keys and reads
 *   its tokens only from the `Authorization: Bearer` header.
 * - `callback` (JSONP) and `$apiVersion` are refused as not served locally; `passwd` and
 *   `password` are refused: the platform reserves them so that passwords stay out of URLs.
 *
 * A parameter is read in the forms the page's table gives it (`?$foo=`, or `?%24foo=` URL-encoded,
 * and for some also `?foo=`); a bare name that is not one of them is the method's to accept.
 */

/** Why a system parameter was refused: a 400 with Google's INVALID_ARGUMENT, and this message. */
export class SystemParameterError extends Error {
  readonly code = 'invalid_argument';
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = 'SystemParameterError';
  }
}

type Handling = 'alt' | 'prettyPrint' | 'xgafv' | 'fields' | 'ct' | 'outputDefaults' | 'ignored' | { readonly refused: string };

const TOKENS_IN_HEADER = { refused: 'the local APIs read tokens from the Authorization: Bearer header only; send the token there' };
const NO_KEYS = { refused: 'the local stack issues no API keys: authenticate with a local token in the Authorization header' };
const NO_JSONP = { refused: 'JSONP responses are not served by the local APIs; read the JSON response' };
const RESERVED = { refused: 'Google reserves this parameter so that passwords are never put in URLs' };

/**
 * Every system parameter, by the name a query gives it (the forms the page's table lists: `$alt`
 * and `alt`, but only `$.xgafv`, only `quotaUser`), and what the local APIs do with it.
 */
export const SYSTEM_PARAMETERS: ReadonlyMap<string, Handling> = new Map<string, Handling>([
  ['$alt', 'alt'],
  ['alt', 'alt'],
  ['$prettyPrint', 'prettyPrint'],
  ['prettyPrint', 'prettyPrint'],
  ['$.xgafv', 'xgafv'],
  ['$fields', 'fields'],
  ['fields', 'fields'],
  ['$ct', 'ct'],
  ['$outputDefaults', 'outputDefaults'],
  ['quotaUser', 'ignored'],
  ['$unique', 'ignored'],
  ['$userProject', 'ignored'],
  ['trace', 'ignored'],
  ['userIp', 'ignored'],
  ['upload_protocol', 'ignored'],
  ['uploadType', 'ignored'],
  ['$key', NO_KEYS],
  ['key', NO_KEYS],
  ['access_token', TOKENS_IN_HEADER],
  ['oauth_token', TOKENS_IN_HEADER],
  ['$callback', NO_JSONP],
  ['callback', NO_JSONP],
  ['$apiVersion', { refused: 'the local APIs serve one version each and do not take $apiVersion' }],
  ['passwd', RESERVED],
  ['password', RESERVED],
]);

/** A parsed `fields` mask: for each field, its own mask, or `true` for the whole field. */
export type FieldMask = ReadonlyMap<string, FieldMask | true>;

/**
 * What the fields of a response message are: a nested message (its schema), a map (any keys; its
 * values cannot be selected into), or a scalar (strings, numbers, booleans, enums, timestamps).
 * Lists are transparent: a repeated field has the kind of its elements.
 */
export type FieldKind = { readonly message: MessageSchema } | 'map' | 'scalar';
export type MessageSchema = (field: string) => FieldKind | undefined;

export interface SystemParameters {
  /** Indented JSON (Google's default) or compact. */
  readonly prettyPrint: boolean;
  /** Enums as numbers (`$alt=json;enum-encoding=int`). */
  readonly numericEnums: boolean;
  /** The partial response asked for, if any. */
  readonly fields: FieldMask | undefined;
}

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
]);

/**
 * Splits a request's query into its system parameters (read and checked here) and the method's own
 * parameters (for the API to check against the method's list). Throws SystemParameterError.
 */
export function readSystemParameters(query: URLSearchParams): { system: SystemParameters; api: URLSearchParams } {
  const api = new URLSearchParams();
  let prettyPrint = true;
  let numericEnums = false;
  let fields: FieldMask | undefined;
  for (const [key, value] of query) {
    const handling = SYSTEM_PARAMETERS.get(key);
    if (handling === undefined) {
      if (key.startsWith('$'))
        throw new SystemParameterError(`Unknown system parameter "${key}": Google's system parameters are ${systemParameterNames()}.`);
      api.append(key, value);
      continue;
    }
    if (typeof handling === 'object')
      throw new SystemParameterError(`System parameter "${key}" is not accepted here: ${handling.refused}.`);
    switch (handling) {
      case 'alt': {
        const [format = '', ...options] = value.split(';').map((s) => s.trim());
        if (format !== 'json') {
          throw new SystemParameterError(
            ['media', 'proto', 'sse'].includes(format)
              ? `Invalid value at '${key}': "${value}": the local API answers JSON only (alt=json).`
              : `Invalid value at '${key}': "${value}"; expected one of json, media, proto, sse (the local API answers json only).`,
          );
        }
        for (const option of options) {
          if (option !== 'enum-encoding=int')
            throw new SystemParameterError(`Invalid value at '${key}': "${value}": the only option of alt=json is enum-encoding=int.`);
          numericEnums = true;
        }
        break;
      }
      case 'prettyPrint': {
        const b = BOOLEANS.get(value);
        if (b === undefined) throw new SystemParameterError(`Invalid value at '${key}': "${value}"; expected true or false.`);
        prettyPrint = b;
        break;
      }
      case 'xgafv':
        if (value === '1')
          throw new SystemParameterError(
            `"${key}=1" asks for error format 1, whose shape Google does not document (it is for Google's client libraries): the local API answers error format 2 only.`,
          );
        if (value !== '2') throw new SystemParameterError(`Invalid value at '${key}': "${value}"; expected 1 or 2.`);
        break;
      case 'fields':
        fields = value.trim() === '' ? undefined : parseFieldMask(value);
        break;
      case 'ct':
        if (value.split(';')[0]?.trim().toLowerCase() !== 'application/json')
          throw new SystemParameterError(`Invalid value at '${key}': "${value}": the local API reads JSON bodies only (application/json).`);
        break;
      case 'outputDefaults': {
        const b = BOOLEANS.get(value);
        if (b === undefined) throw new SystemParameterError(`Invalid value at '${key}': "${value}"; expected true or false.`);
        if (b) throw new SystemParameterError(`"${key}=true" is not supported by the local API: it does not print default values.`);
        break;
      }
      case 'ignored':
        break;
    }
  }
  return { system: { prettyPrint, numericEnums, fields }, api };
}

function systemParameterNames(): string {
  return [...SYSTEM_PARAMETERS.keys()].filter((k) => k.startsWith('$')).join(', ');
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$|^\*$/;
const MAX_FIELD_DEPTH = 32;

/**
 * Parses `a,b/c,items(name,id)` into a mask. Throws SystemParameterError naming what is wrong.
 * Grammar: list := path (',' path)*; path := name ('/' name)* ['(' list ')']; name := field | '*'.
 */
export function parseFieldMask(text: string): FieldMask {
  let at = 0;
  const fail = (what: string): never => {
    throw new SystemParameterError(`Invalid field selection "${text}": ${what} at character ${at + 1}.`);
  };
  const name = (): string => {
    const m = /^[A-Za-z0-9_*]+/.exec(text.slice(at));
    const got = m?.[0] ?? '';
    if (got === '') fail('a field name is expected');
    if (!NAME.test(got)) fail(`"${got}" is not a field name`);
    at += got.length;
    return got;
  };
  const merge = (into: Map<string, FieldMask | true>, key: string, value: FieldMask | true): void => {
    const had = into.get(key);
    if (had === true || value === true) into.set(key, true);
    else if (had === undefined) into.set(key, value);
    else {
      const both = new Map(had);
      for (const [k, v] of value) merge(both, k, v);
      into.set(key, both);
    }
  };
  let depth = 0;
  const list = (): Map<string, FieldMask | true> => {
    // Deeper than any message of these APIs; bounds the recursion a hostile query could ask for.
    if (++depth > MAX_FIELD_DEPTH) fail(`the selection nests deeper than ${MAX_FIELD_DEPTH} levels`);
    const out = new Map<string, FieldMask | true>();
    for (;;) {
      while (text[at] === ' ') at++;
      const path = [name()];
      while (text[at] === '/') {
        at++;
        path.push(name());
        if (path.length > MAX_FIELD_DEPTH) fail(`the selection nests deeper than ${MAX_FIELD_DEPTH} levels`);
      }
      let leaf: FieldMask | true = true;
      if (text[at] === '(') {
        at++;
        leaf = list();
        if (text[at] !== ')') fail('")" is expected');
        at++;
        depth--;
      }
      const last = path.pop() as string;
      let value: FieldMask | true = new Map([[last, leaf]]);
      for (const key of path.reverse()) value = new Map([[key, value]]);
      for (const [k, v] of value) merge(out, k, v);
      while (text[at] === ' ') at++;
      if (text[at] !== ',') return out;
      at++;
    }
  };
  const mask = list();
  if (at !== text.length) fail(`"${text[at] ?? ''}" is unexpected`);
  return mask;
}

/** The response with only the fields of `mask` (checked against the schema by checkFieldMask). */
export function selectFields(body: unknown, mask: FieldMask, schema: MessageSchema): unknown {
  if (Array.isArray(body)) return body.map((item) => selectFields(item, mask, schema));
  const source = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  const pick = (field: string, sub: FieldMask | true): void => {
    if (!Object.hasOwn(source, field)) return;
    const kind = schema(field);
    if (sub === true) out[field] = source[field];
    else if (kind !== undefined && typeof kind === 'object') out[field] = selectFields(source[field], sub, kind.message);
  };
  for (const [field, sub] of mask) {
    if (field === '*') for (const k of Object.keys(source)) pick(k, sub);
    else pick(field, sub);
  }
  return out;
}

/**
 * Checks a mask against the response's schema before the method acts, so that a bad selection
 * changes nothing (and is refused whether or not the response would have had the field).
 */
export function checkFieldMask(mask: FieldMask | undefined, schema: MessageSchema, path = ''): void {
  for (const [field, sub] of mask ?? []) {
    if (field === '*') continue;
    const kind = schema(field);
    if (kind === undefined) throw new SystemParameterError(`Invalid field selection ${path}${field}: the resource has no such field.`);
    if (sub === true) continue;
    if (kind === 'map')
      throw new SystemParameterError(
        `Invalid field selection ${path}${field}/…: selecting keys of a map is not supported by the local API; select ${path}${field} whole.`,
      );
    if (kind === 'scalar') throw new SystemParameterError(`Invalid field selection ${path}${field}/…: ${field} has no fields.`);
    checkFieldMask(sub, kind.message, `${path}${field}/`);
  }
}

/** The JSON text of a response: its partial response when `fields` was given, indented unless `prettyPrint=false`. */
export function renderResponse(body: unknown, system: SystemParameters, schema: MessageSchema): string {
  checkFieldMask(system.fields, schema);
  const selected = system.fields === undefined ? body : selectFields(body, system.fields, schema);
  return system.prettyPrint ? `${JSON.stringify(selected, null, 2)}\n` : JSON.stringify(selected);
}

/** A message's fields given as a table: `{ name: 'scalar' | 'map' | () => MessageSchema }` (a thunk, for recursion). */
export function messageSchema(fields: Readonly<Record<string, 'scalar' | 'map' | (() => MessageSchema)>>): MessageSchema {
  return (field) => {
    if (!Object.hasOwn(fields, field)) return undefined;
    const kind = fields[field];
    return typeof kind === 'function' ? { message: kind() } : kind;
  };
}

/** A protobuf.js JSON descriptor (a namespace or a message), as `protos.json` files hold them. */
export interface ProtoJsonType {
  readonly fields?: Readonly<Record<string, { readonly type: string; readonly keyType?: string }>>;
  readonly nested?: Readonly<Record<string, ProtoJsonType>>;
  readonly values?: unknown;
}

/**
 * A message's schema from a protobuf.js JSON descriptor (the `protos.json` an official Google
 * client ships): `root` the parsed file, `type` the full name (`google.cloud.compute.v1.Instance`).
 * Field names are the JSON names (protobuf.js gives them in lowerCamelCase); messages outside the
 * descriptor (google.protobuf.Timestamp, …) are scalars in JSON.
 */
export function descriptorSchema(root: ProtoJsonType, type: string): MessageSchema {
  const lookup = (path: readonly string[]): ProtoJsonType | undefined => {
    let node: ProtoJsonType | undefined = root;
    for (const part of path) node = node?.nested?.[part];
    return node;
  };
  const cache = new Map<string, MessageSchema>();
  const schemaOf = (fullName: string): MessageSchema => {
    const known = cache.get(fullName);
    if (known !== undefined) return known;
    const message = lookup(fullName.split('.'));
    if (message?.fields === undefined) throw new Error(`descriptorSchema: ${fullName} is not a message of the descriptor`);
    const fields = message.fields;
    const scope = fullName.split('.');
    const resolve = (name: string): string | undefined => {
      // protobuf's scoping: the innermost enclosing scope that has the name wins.
      for (let i = scope.length; i >= 0; i--) {
        const candidate = [...scope.slice(0, i), ...name.split('.')];
        if (lookup(candidate) !== undefined) return candidate.join('.');
      }
      return undefined;
    };
    const schema: MessageSchema = (field) => {
      if (!Object.hasOwn(fields, field)) return undefined;
      const f = fields[field];
      if (f === undefined) return undefined;
      if (f.keyType !== undefined) return 'map';
      const target = resolve(f.type);
      // The well-known types (Timestamp, Duration, Struct, …) have their own JSON forms: scalars here.
      if (target === undefined || target.startsWith('google.protobuf.')) return 'scalar';
      const node = lookup(target.split('.'));
      return node?.fields !== undefined ? { message: schemaOf(target) } : 'scalar';
    };
    cache.set(fullName, schema);
    return schema;
  };
  return schemaOf(type);
}
