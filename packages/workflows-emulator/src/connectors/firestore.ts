/**
 * The Firestore connector methods (`googleapis.firestore.v1.projects.databases.documents.*`),
 * backed by the official Node client against the emulator. They take and return the REST shapes:
 * a Document is `{name, fields, createTime, updateTime}` and every field a typed Value
 * (`{stringValue}`, `{integerValue: "42"}`, `{mapValue: {fields}}`, `{arrayValue: {values}}`...).
 * https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/Overview,
 * https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.documents,
 * https://cloud.google.com/firestore/docs/reference/rest/v1/Value
 *
 * - get (GET): name, mask.fieldPaths → the Document; a missing one is HttpError 404.
 * - createDocument (POST): parent, collectionId, documentId (else one is generated; Google's
 *   sample passes it as `query: {documentId}`, which works too), mask.fieldPaths, body → the
 *   Document; an existing documentId is HttpError 409 (ALREADY_EXISTS).
 * - patch (PATCH): name, updateMask.fieldPaths, mask.fieldPaths, currentDocument.exists |
 *   currentDocument.updateTime, body → the Document after the write. Without updateMask the body
 *   replaces the document (creating it if needed); with one, only the listed fields change and
 *   listed fields absent from the body are deleted. exists:false → create once (409 if present);
 *   exists:true on a missing document → 404.
 * - delete (DELETE): name, currentDocument.* → `{}`.
 * Arguments the reference spells with a dot are taken in both forms its pages show: the method
 * page's table names `updateMask.fieldPaths`, `mask.fieldPaths`, `currentDocument.exists`, and its
 * YAML snippet nests them (`updateMask: {fieldPaths: [...]}`), as Google's connector sample nests
 * `query: {documentId}` (workflows-samples src/connectors/connector_firestore.workflows.yaml).
 * Given both ways at once, a call is refused (ValueError).
 *
 * Choices of this local stand-in, where the client cannot be exact:
 * - The Node client writes every safe-integer number as an integer, so a `doubleValue` with an
 *   integral value (2.0) is stored, and read back, as `integerValue`. Integers beyond 2^53 are
 *   written exactly (as bigint); they read back exactly only from a client made with
 *   `useBigInt: true` (recommended for the local engine), otherwise they lose precision.
 * - patch with `currentDocument` and no updateMask (replace only if it exists / was last updated
 *   at) runs in a transaction; the npm emulator does not isolate transactions and ignores
 *   `updateTime` preconditions, so correctness must not rest on them there (ARCHITECTURE.md).
 * - The npm emulator (0.3.15) merges on every write and cannot delete fields, so there a patch
 *   without updateMask does not drop the fields the body lacks, and masked fields absent from the
 *   body stay; it also cannot hold integers beyond 2^53. The gcloud emulator behaves like Firestore.
 * - The project in a name is not checked (the emulator serves any project through one client);
 *   the database must be the client's. `readTime` and `transaction` are not supported.
 */
import type * as FirestoreSdk from '@google-cloud/firestore';
import type { DocumentReference, DocumentSnapshot, Firestore, Timestamp } from '@google-cloud/firestore';
import type { CallContext, ConnectorMethod } from '../run/runtime.js';
import { Bytes, isMap, raise, typeName, WorkflowError, type Value, type WfMap } from '../run/values.js';
import { connectorParams, dottedArg, httpError, optionalString, requiredString, withRetries, type RetryPolicy } from './common.js';

export const FIRESTORE_PREFIX = 'googleapis.firestore.v1.projects.databases.documents';

/** Gives the client for a call, or raises (naming `connector`) when there is none. */
export type FirestoreSource = (connector: string) => Promise<Firestore>;

type Sdk = typeof FirestoreSdk;
let sdkModule: Promise<Sdk> | null = null;
/** The SDK's value classes (Timestamp, GeoPoint, FieldValue...), loaded on the first call only. */
function loadSdk(): Promise<Sdk> {
  sdkModule ??= import('@google-cloud/firestore') as Promise<Sdk>;
  return sdkModule;
}

// --- errors ----------------------------------------------------------------------------------

const GRPC_TO_HTTP: Record<number, readonly [number, string]> = {
  1: [499, 'CANCELLED'],
  2: [500, 'UNKNOWN'],
  3: [400, 'INVALID_ARGUMENT'],
  4: [504, 'DEADLINE_EXCEEDED'],
  5: [404, 'NOT_FOUND'],
  6: [409, 'ALREADY_EXISTS'],
  7: [403, 'PERMISSION_DENIED'],
  8: [429, 'RESOURCE_EXHAUSTED'],
  9: [400, 'FAILED_PRECONDITION'],
  10: [409, 'ABORTED'],
  11: [400, 'OUT_OF_RANGE'],
  12: [501, 'UNIMPLEMENTED'],
  13: [500, 'INTERNAL'],
  14: [503, 'UNAVAILABLE'],
  15: [500, 'DATA_LOSS'],
  16: [401, 'UNAUTHENTICATED'],
};

/** The REST error Firestore answers with: `{error: {code, message, status}}`. */
function restError(status: number, statusName: string, message: string): WorkflowError {
  return httpError(status, { error: { code: status, message, status: statusName } });
}

function invalid(message: string): WorkflowError {
  return restError(400, 'INVALID_ARGUMENT', message);
}

/**
 * Runs client calls, mapping a gRPC failure to the REST HttpError (UNAVAILABLE → 503 and so on)
 * and the client's own validation errors to 400. Anything else is a fault of this engine: rethrown.
 */
async function sdkCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof WorkflowError) throw e;
    const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
    const mapped = code === undefined ? undefined : GRPC_TO_HTTP[code];
    const details = typeof e === 'object' && e !== null && 'details' in e && typeof e.details === 'string' ? e.details : '';
    const message = details !== '' ? details : e instanceof Error ? e.message : String(e);
    if (mapped !== undefined) throw restError(mapped[0], mapped[1], message);
    if (e instanceof Error && e.message.includes(' is not a valid ')) throw invalid(e.message);
    throw e;
  }
}

// --- names and field paths -------------------------------------------------------------------

interface DocLocation {
  /** projects/P/databases/D/documents */
  readonly root: string;
  /** Path relative to the root: `collection/doc[/collection/doc...]`. */
  readonly path: string;
}

function checkDatabase(db: Firestore, project: string, database: string): void {
  if (database !== db.databaseId) {
    throw restError(
      404,
      'NOT_FOUND',
      `The database ${database} does not exist for project ${project} (the local engine serves ${db.databaseId})`,
    );
  }
}

function splitPath(path: string, what: string): string[] {
  const parts = path.split('/');
  if (parts.some((p) => p === '')) throw invalid(`${what} has an empty path segment: ${path}`);
  return parts;
}

function documentName(db: Firestore, name: string): DocLocation {
  const m = /^(projects\/([^/]+)\/databases\/([^/]+)\/documents)\/(.+)$/.exec(name);
  if (m === null)
    throw invalid(`Document name "${name}" is not of the form projects/{project_id}/databases/{database_id}/documents/{document_path}.`);
  const [, root = '', project = '', database = '', path = ''] = m;
  if (splitPath(path, 'Document name').length % 2 !== 0)
    throw invalid(`Document name "${name}" has an odd number of path segments: it names a collection.`);
  checkDatabase(db, project, database);
  return { root, path };
}

function parentName(db: Firestore, parent: string): DocLocation {
  const m = /^(projects\/([^/]+)\/databases\/([^/]+)\/documents)(?:\/(.+))?$/.exec(parent);
  if (m === null)
    throw invalid(`Parent "${parent}" is not of the form projects/{project_id}/databases/{database_id}/documents[/{document_path}].`);
  const [, root = '', project = '', database = '', path = ''] = m;
  if (path !== '' && splitPath(path, 'Parent').length % 2 !== 0)
    throw invalid(`Parent "${parent}" must name a document, not a collection.`);
  checkDatabase(db, project, database);
  return { root, path };
}

/** A field path (`a.b`, `` `a.b`.c ``) into its segments. */
function parseFieldPath(text: string): string[] {
  const segments: string[] = [];
  let i = 0;
  const bad = (): never => {
    throw invalid(`Invalid field path: ${text}`);
  };
  if (text === '') bad();
  for (;;) {
    let segment = '';
    if (text[i] === '`') {
      i++;
      while (i < text.length && text[i] !== '`') {
        if (text[i] === '\\') i++;
        segment += text[i] ?? '';
        i++;
      }
      if (text[i] !== '`') bad();
      i++;
    } else {
      const dot = text.indexOf('.', i);
      segment = dot < 0 ? text.slice(i) : text.slice(i, dot);
      if (segment.includes('`')) bad();
      i = dot < 0 ? text.length : dot;
    }
    if (segment === '') bad();
    segments.push(segment);
    if (i === text.length) return segments;
    if (text[i] !== '.') bad();
    i++;
  }
}

function fieldPathsArg(connector: string, args: WfMap, dotted: string): string[][] | undefined {
  const v = dottedArg(connector, args, dotted);
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((p): p is string => typeof p === 'string')) {
    raise('TypeError', `${connector}: argument '${dotted}' must be a list of strings, got ${typeName(v)}`);
  }
  const paths = list.map(parseFieldPath);
  paths.forEach((a, n) =>
    paths.forEach((b, m) => {
      if (n !== m && a.length <= b.length && a.every((s, k) => s === b[k])) {
        throw invalid(`${dotted}: field paths overlap: ${list[n] ?? ''} and ${list[m] ?? ''}`);
      }
    }),
  );
  return paths;
}

type Data = Record<string, unknown>;

function isPlainObject(x: unknown): x is Data {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function getPath(data: Data, segments: readonly string[]): unknown {
  let cur: unknown = data;
  for (const s of segments) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, s)) return undefined;
    cur = cur[s];
  }
  return cur;
}

function setPath(data: Data, segments: readonly string[], value: unknown): void {
  let cur = data;
  segments.forEach((s, n) => {
    if (n === segments.length - 1) {
      Object.defineProperty(cur, s, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    const next = Object.hasOwn(cur, s) ? cur[s] : undefined;
    if (isPlainObject(next)) cur = next;
    else {
      const created: Data = {};
      Object.defineProperty(cur, s, { value: created, enumerable: true, writable: true, configurable: true });
      cur = created;
    }
  });
}

/** The fields of `data` that the paths name (a projection, as `mask` does). */
function pick(data: Data, paths: readonly (readonly string[])[]): Data {
  const out: Data = {};
  for (const p of paths) {
    const v = getPath(data, p);
    if (v !== undefined) setPath(out, p, v);
  }
  return out;
}

// --- REST Value ⇄ client values -----------------------------------------------------------------

interface Env {
  readonly sdk: Sdk;
  readonly db: Firestore;
  readonly root: string;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseTimestamp(env: Env, text: string, where: string): Timestamp {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  const ms = m === null ? Number.NaN : Date.parse(`${m[1] ?? ''}${(m[3] ?? '').toUpperCase()}`);
  if (m === null || Number.isNaN(ms)) throw invalid(`${where}: "${text}" is not an RFC 3339 timestamp`);
  const nanos = Number((m[2] ?? '').padEnd(9, '0'));
  try {
    return new env.sdk.Timestamp(Math.floor(ms / 1000), nanos);
  } catch (e) {
    throw invalid(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as Google's JSON APIs write timestamps. */
export function formatTimestamp(ts: { readonly seconds: number; readonly nanoseconds: number }): string {
  const base = new Date(ts.seconds * 1000).toISOString().slice(0, 19);
  const n = ts.nanoseconds;
  if (n === 0) return `${base}Z`;
  const digits = n % 1_000_000 === 0 ? 3 : n % 1000 === 0 ? 6 : 9;
  return `${base}.${String(n).padStart(9, '0').slice(0, digits)}Z`;
}

function single(v: Value, where: string): [string, Value] {
  if (!isMap(v) || v.size !== 1) {
    throw invalid(
      `${where}: a Value is a map with exactly one of nullValue, booleanValue, integerValue, doubleValue, timestampValue, stringValue, bytesValue, referenceValue, geoPointValue, arrayValue, mapValue`,
    );
  }
  const entry = [...v][0];
  if (entry === undefined) throw invalid(`${where}: empty Value`);
  return entry;
}

function decodeValue(env: Env, v: Value, where: string): unknown {
  const [kind, x] = single(v, where);
  const wrong = (expected: string): never => {
    throw invalid(`${where}.${kind} must be ${expected}, got ${typeName(x)}`);
  };
  switch (kind) {
    case 'nullValue':
      return null;
    case 'booleanValue':
      return typeof x === 'boolean' ? x : wrong('a boolean');
    case 'integerValue': {
      let n: bigint;
      if (typeof x === 'bigint') n = x;
      else if (typeof x === 'string' && /^-?[0-9]+$/.test(x)) n = BigInt(x);
      else return wrong('an integer or a decimal string');
      if (n < INT64_MIN || n > INT64_MAX) throw invalid(`${where}.integerValue is out of the 64-bit range`);
      return n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case 'doubleValue':
      if (typeof x === 'number' || typeof x === 'bigint') return Number(x);
      if (x === 'NaN' || x === 'Infinity' || x === '-Infinity') return Number(x);
      return wrong('a number');
    case 'stringValue':
      return typeof x === 'string' ? x : wrong('a string');
    case 'bytesValue':
      if (x instanceof Bytes) return Buffer.from(x.data);
      if (typeof x === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(x)) return Buffer.from(x, 'base64');
      return wrong('base64 text or bytes');
    case 'timestampValue':
      return typeof x === 'string' ? parseTimestamp(env, x, `${where}.timestampValue`) : wrong('an RFC 3339 string');
    case 'geoPointValue': {
      if (!isMap(x)) return wrong('a map {latitude, longitude}');
      const lat = x.get('latitude') ?? 0;
      const lng = x.get('longitude') ?? 0;
      if ((typeof lat !== 'number' && typeof lat !== 'bigint') || (typeof lng !== 'number' && typeof lng !== 'bigint')) {
        return wrong('a map of numbers {latitude, longitude}');
      }
      try {
        return new env.sdk.GeoPoint(Number(lat), Number(lng));
      } catch (e) {
        throw invalid(`${where}.geoPointValue: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    case 'referenceValue': {
      if (typeof x !== 'string') return wrong('a document name');
      return env.db.doc(documentName(env.db, x).path);
    }
    case 'arrayValue': {
      if (!isMap(x)) return wrong('a map {values: [...]}');
      const values = x.get('values');
      if (values === undefined || values === null) return [];
      if (!Array.isArray(values)) throw invalid(`${where}.arrayValue.values must be a list, got ${typeName(values)}`);
      return values.map((item, n) => decodeValue(env, item, `${where}.arrayValue.values[${n}]`));
    }
    case 'mapValue': {
      if (!isMap(x)) return wrong('a map {fields: {...}}');
      return decodeFields(env, x.get('fields'), `${where}.mapValue.fields`);
    }
    default:
      throw invalid(`${where}: unknown Value type '${kind}'`);
  }
}

function decodeFields(env: Env, fields: Value | undefined, where: string): Data {
  const out: Data = {};
  if (fields === undefined || fields === null) return out;
  if (!isMap(fields)) throw invalid(`${where} must be a map, got ${typeName(fields)}`);
  for (const [k, v] of fields) {
    if (k === '') throw invalid(`${where}: empty field name`);
    Object.defineProperty(out, k, { value: decodeValue(env, v, `${where}.${k}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function typed(kind: string, x: Value): WfMap {
  return new Map([[kind, x]]);
}

function encodeValue(env: Env, x: unknown): Value {
  if (x === null || x === undefined) return typed('nullValue', null);
  if (typeof x === 'boolean') return typed('booleanValue', x);
  if (typeof x === 'string') return typed('stringValue', x);
  if (typeof x === 'bigint') return typed('integerValue', x.toString());
  if (typeof x === 'number') {
    if (Number.isSafeInteger(x) && !Object.is(x, -0)) return typed('integerValue', String(x));
    return typed('doubleValue', Number.isFinite(x) ? x : String(x));
  }
  if (x instanceof env.sdk.Timestamp) return typed('timestampValue', formatTimestamp(x));
  if (x instanceof env.sdk.GeoPoint) {
    return typed(
      'geoPointValue',
      new Map<string, Value>([
        ['latitude', x.latitude],
        ['longitude', x.longitude],
      ]),
    );
  }
  if (x instanceof env.sdk.DocumentReference) return typed('referenceValue', `${env.root}/${(x as DocumentReference).path}`);
  if (x instanceof Uint8Array) return typed('bytesValue', Buffer.from(x).toString('base64'));
  if (Array.isArray(x)) {
    const values = x.map((item) => encodeValue(env, item));
    return typed('arrayValue', values.length === 0 ? new Map() : new Map([['values', values]]));
  }
  if (isPlainObject(x)) {
    const fields = encodeFields(env, x);
    return typed('mapValue', fields.size === 0 ? new Map() : new Map([['fields', fields]]));
  }
  throw restError(500, 'INTERNAL', `the local Firestore connector cannot encode a ${Object.prototype.toString.call(x)}`);
}

function encodeFields(env: Env, data: Data): WfMap {
  return new Map(Object.entries(data).map(([k, v]) => [k, encodeValue(env, v)]));
}

function documentValue(env: Env, name: string, data: Data, createTime: Timestamp, updateTime: Timestamp): WfMap {
  const doc: WfMap = new Map<string, Value>([['name', name]]);
  const fields = encodeFields(env, data);
  if (fields.size > 0) doc.set('fields', fields);
  doc.set('createTime', formatTimestamp(createTime));
  doc.set('updateTime', formatTimestamp(updateTime));
  return doc;
}

function snapshotValue(env: Env, name: string, snap: DocumentSnapshot, mask: readonly (readonly string[])[] | undefined): WfMap {
  const { createTime, updateTime } = snap;
  if (createTime === undefined || updateTime === undefined) throw restError(404, 'NOT_FOUND', `Document "${name}" not found.`);
  const data = snap.data() ?? {};
  return documentValue(env, name, mask === undefined ? data : pick(data, mask), createTime, updateTime);
}

function documentBody(connector: string, args: WfMap, name?: string): WfMap {
  const body = args.get('body');
  if (body === undefined || body === null) raise('TypeError', `${connector}: missing argument 'body' (a Document: {fields: {...}})`);
  if (!isMap(body)) raise('TypeError', `${connector}: argument 'body' must be a map (a Document), got ${typeName(body)}`);
  for (const key of body.keys()) {
    if (!['name', 'fields', 'createTime', 'updateTime'].includes(key))
      throw invalid(`Invalid JSON payload received. Unknown name "${key}" in Document.`);
  }
  const bodyName = body.get('name');
  if (bodyName !== undefined && bodyName !== null) {
    if (name === undefined) throw invalid('Document.name must not be set when creating a document.');
    if (bodyName !== name)
      throw invalid(
        `Document.name ${typeof bodyName === 'string' ? `"${bodyName}"` : `(a ${typeName(bodyName)})`} differs from the name argument "${name}".`,
      );
  }
  return body;
}

// --- the methods -------------------------------------------------------------------------------

interface Call {
  readonly connector: string;
  readonly args: WfMap;
  readonly ctx: CallContext;
  readonly db: Firestore;
  readonly sdk: Sdk;
  readonly deadline: number;
}

function attempt<T>(c: Call, policy: RetryPolicy, run: () => Promise<T>): Promise<T> {
  return withRetries(c.ctx, policy, c.deadline, () => sdkCall(run));
}

function precondition(c: Call): { exists?: boolean; updateTime?: Timestamp } {
  const exists = dottedArg(c.connector, c.args, 'currentDocument.exists');
  const updateTime = dottedArg(c.connector, c.args, 'currentDocument.updateTime');
  if (exists !== undefined && exists !== null && typeof exists !== 'boolean') {
    raise('TypeError', `${c.connector}: argument 'currentDocument.exists' must be a boolean, got ${typeName(exists)}`);
  }
  if (updateTime !== undefined && updateTime !== null && typeof updateTime !== 'string') {
    raise('TypeError', `${c.connector}: argument 'currentDocument.updateTime' must be a timestamp string, got ${typeName(updateTime)}`);
  }
  const hasExists = typeof exists === 'boolean';
  const hasTime = typeof updateTime === 'string';
  if (hasExists && hasTime) throw invalid('A precondition may set only one of exists and updateTime.');
  const env = { sdk: c.sdk, db: c.db, root: '' };
  return {
    ...(hasExists ? { exists } : {}),
    ...(hasTime ? { updateTime: parseTimestamp(env, updateTime, 'currentDocument.updateTime') } : {}),
  };
}

async function getDocument(c: Call): Promise<Value> {
  const name = requiredString(c.connector, c.args, 'name');
  for (const unsupported of ['readTime', 'transaction']) {
    if (c.args.get(unsupported) !== undefined)
      raise('ValueError', `${c.connector}: argument '${unsupported}' is not supported by the local engine`);
  }
  const mask = fieldPathsArg(c.connector, c.args, 'mask.fieldPaths');
  const loc = documentName(c.db, name);
  const env: Env = { sdk: c.sdk, db: c.db, root: loc.root };
  const snap = await attempt(c, 'idempotent', () => c.db.doc(loc.path).get());
  if (!snap.exists) throw restError(404, 'NOT_FOUND', `Document "${name}" not found.`);
  return snapshotValue(env, name, snap, mask);
}

/**
 * The document id: `documentId`, or `query: {documentId}` as Google's own connector sample writes
 * it (workflows-samples, connector_firestore: it deploys and runs there, and the id is the one
 * read back). Any other key under `query`, or both forms at once, is undocumented: refused.
 */
function createDocumentId(connector: string, args: WfMap): string | undefined {
  const direct = optionalString(connector, args, 'documentId');
  const query = args.get('query');
  if (query === undefined || query === null) return direct;
  if (!isMap(query)) return raise('TypeError', `${connector}: argument 'query' must be a map, got ${typeName(query)}`);
  const unknown = [...query.keys()].filter((k) => k !== 'documentId');
  if (unknown.length > 0 || direct !== undefined)
    raise(
      'UndocumentedError',
      `${connector}: 'query' with ${unknown.length > 0 ? unknown.join(', ') : 'documentId given twice'} is undocumented (the local engine takes only query.documentId, as Google's sample writes it)`,
    );
  return optionalString(connector, query, 'documentId');
}

async function createDocument(c: Call): Promise<Value> {
  const parent = requiredString(c.connector, c.args, 'parent');
  const collectionId = requiredString(c.connector, c.args, 'collectionId');
  const documentId = createDocumentId(c.connector, c.args);
  const mask = fieldPathsArg(c.connector, c.args, 'mask.fieldPaths');
  const body = documentBody(c.connector, c.args);
  const loc = parentName(c.db, parent);
  if (collectionId.includes('/')) throw invalid(`collectionId "${collectionId}" must not contain "/".`);
  if (
    documentId !== undefined &&
    (documentId === '' || documentId.includes('/') || documentId === '.' || documentId === '..' || /^__.*__$/.test(documentId))
  ) {
    throw invalid(`Document id "${documentId}" is invalid.`);
  }
  const env: Env = { sdk: c.sdk, db: c.db, root: loc.root };
  const data = decodeFields(env, body.get('fields'), 'body.fields');
  const collection = c.db.collection(loc.path === '' ? collectionId : `${loc.path}/${collectionId}`);
  const ref = documentId === undefined ? collection.doc() : collection.doc(documentId);
  const written = await attempt(c, 'non-idempotent', () => ref.create(data));
  const name = `${loc.root}/${ref.path}`;
  return documentValue(env, name, mask === undefined ? data : pick(data, mask), written.writeTime, written.writeTime);
}

async function patchDocument(c: Call): Promise<Value> {
  const name = requiredString(c.connector, c.args, 'name');
  const body = documentBody(c.connector, c.args, name);
  const updateMask = fieldPathsArg(c.connector, c.args, 'updateMask.fieldPaths');
  const mask = fieldPathsArg(c.connector, c.args, 'mask.fieldPaths');
  const pre = precondition(c);
  const loc = documentName(c.db, name);
  const env: Env = { sdk: c.sdk, db: c.db, root: loc.root };
  const data = decodeFields(env, body.get('fields'), 'body.fields');
  const ref = c.db.doc(loc.path);
  const { FieldPath, FieldValue } = c.sdk;
  const missing = (): WorkflowError => restError(404, 'NOT_FOUND', `No document to update: ${name}`);

  await attempt(c, 'non-idempotent', async () => {
    if (pre.exists === false) {
      // Create once: the document must not exist.
      await ref.create(updateMask === undefined ? data : pick(data, updateMask));
    } else if ((pre.exists === true || pre.updateTime !== undefined) && updateMask !== undefined && updateMask.length > 0) {
      const pairs = updateMask.flatMap((p) => [new FieldPath(...p), getPath(data, p) ?? FieldValue.delete()]);
      const [first, value, ...rest] = pairs;
      if (first === undefined) return;
      await ref.update(
        first as FirestoreSdk.FieldPath,
        value,
        ...rest,
        ...(pre.updateTime === undefined ? [] : [{ lastUpdateTime: pre.updateTime }]),
      );
    } else if (pre.exists === true || pre.updateTime !== undefined) {
      // Replace only an existing document (or check it, for an empty updateMask).
      await c.db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        if (!snap.exists) throw missing();
        if (pre.updateTime !== undefined && snap.updateTime !== undefined && !snap.updateTime.isEqual(pre.updateTime)) {
          throw restError(
            400,
            'FAILED_PRECONDITION',
            `The document ${name} was last updated at ${formatTimestamp(snap.updateTime)}, not ${formatTimestamp(pre.updateTime)}.`,
          );
        }
        if (updateMask === undefined) tx.set(ref, data);
      });
    } else if (updateMask !== undefined) {
      const patch: FirestoreSdk.DocumentData = {};
      for (const p of updateMask) setPath(patch, p, getPath(data, p) ?? FieldValue.delete());
      await (updateMask.length === 0
        ? ref.set({}, { merge: true })
        : ref.set(patch, { mergeFields: updateMask.map((p) => new FieldPath(...p)) }));
    } else {
      await ref.set(data);
    }
  });

  const snap = await attempt(c, 'idempotent', () => ref.get());
  if (!snap.exists) throw missing();
  return snapshotValue(env, name, snap, mask);
}

async function deleteDocument(c: Call): Promise<Value> {
  const name = requiredString(c.connector, c.args, 'name');
  const pre = precondition(c);
  const loc = documentName(c.db, name);
  const ref = c.db.doc(loc.path);
  await attempt(c, 'non-idempotent', () =>
    ref.delete({
      ...(pre.exists === undefined ? {} : { exists: pre.exists }),
      ...(pre.updateTime === undefined ? {} : { lastUpdateTime: pre.updateTime }),
    }),
  );
  return new Map();
}

function method(
  source: FirestoreSource,
  short: string,
  params: readonly string[],
  required: readonly string[],
  run: (c: Call) => Promise<Value>,
): ConnectorMethod {
  const connector = `${FIRESTORE_PREFIX}.${short}`;
  return {
    name: connector,
    params,
    required,
    async call(args, ctx) {
      const { timeoutMs } = connectorParams(connector, args, false);
      const db = await source(connector);
      const sdk = await loadSdk();
      return run({ connector, args, ctx, db, sdk, deadline: ctx.clock.now() + timeoutMs });
    },
  };
}

const PRECONDITION_PARAMS = ['currentDocument', 'currentDocument.exists', 'currentDocument.updateTime'];

export function firestoreConnectors(source: FirestoreSource): ConnectorMethod[] {
  return [
    method(source, 'get', ['name', 'mask', 'mask.fieldPaths', 'readTime', 'transaction'], ['name'], getDocument),
    method(
      source,
      'createDocument',
      ['parent', 'collectionId', 'documentId', 'mask', 'mask.fieldPaths', 'body', 'query'],
      ['parent', 'collectionId', 'body'],
      createDocument,
    ),
    method(
      source,
      'patch',
      ['name', 'updateMask', 'updateMask.fieldPaths', 'mask', 'mask.fieldPaths', ...PRECONDITION_PARAMS, 'body'],
      ['name', 'body'],
      patchDocument,
    ),
    method(source, 'delete', ['name', ...PRECONDITION_PARAMS], ['name'], deleteDocument),
  ];
}
