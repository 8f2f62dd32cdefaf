/**
 * http.* — real HTTP calls with Node's fetch, shaped like Cloud Workflows' standard library.
 *
 * Pinned from Google's documentation:
 * - https://cloud.google.com/workflows/docs/reference/stdlib/http/request (and /get, /post, ...):
 *   methods GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH; `timeout` in seconds, default 300,
 *   at most 1800, TimeoutError past it; `body` JSON-encoded with `Content-Type: application/json;
 *   charset=utf-8` unless it is bytes (`application/octet-stream`) or a Content-Type header says
 *   otherwise; `headers` a map of strings; `query` a map of strings, ints, floats, booleans or
 *   lists of those, URL-encoded and appended to the URL; `auth` `{type: OIDC|OAuth2}` with
 *   `audience` or `scope`/`scopes`; the result `{body, code, headers}`.
 * - https://cloud.google.com/workflows/docs/http-requests: the OIDC audience defaults to the URL;
 *   the OAuth2 scope defaults to cloud-platform; a JSON response (`application/json`) is parsed into
 *   a map; the User-Agent `GoogleCloudWorkflows; (+https://cloud.google.com/workflows/docs)` is sent,
 *   appended to a user-supplied one.
 * - https://cloud.google.com/workflows/docs/reference/syntax/error-types: HttpError carries `code`,
 *   `headers` and `body`; ConnectionFailedError when no connection could be established;
 *   ConnectionError when an established connection broke before the whole response arrived;
 *   TimeoutError; AuthError when credentials cannot be generated; ResourceLimitError.
 * - https://cloud.google.com/workflows/quotas: an HTTP response is at most 2 MB.
 * - https://cloud.google.com/workflows/pricing: calls to *.googleapis.com, *.cloud.goog,
 *   *.appspot.com, Cloud Run (*.run.app) and Cloud Run functions are internal steps; every other
 *   host makes the step external.
 * - https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_predicate (and
 *   _non_idempotent, default_retry, default_retry_non_idempotent) and
 *   https://cloud.google.com/workflows/docs/reference/stdlib/retry/default_backoff: the named
 *   retry policies below.
 */
import { Bytes, encodeJson, errorMap, isMap, parseJson, raise, WorkflowError, type Value, type WfMap } from '../run/values.js';
import type { CallContext, StdFunction } from '../run/runtime.js';
import { CLOUD_PLATFORM_SCOPE } from '../run/tokens.js';
import * as check from './check.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MAX_TIMEOUT_SECONDS = 1800;
/** "Response size: 2 MB — the maximum size of an HTTP response" (Workflows quotas and limits). */
export const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
export const WORKFLOWS_USER_AGENT = 'GoogleCloudWorkflows; (+https://cloud.google.com/workflows/docs)';

/** Host suffixes whose calls are billed as internal steps (Workflows pricing page). */
export const INTERNAL_HOST_SUFFIXES: readonly string[] = ['googleapis.com', 'cloud.goog', 'appspot.com', 'run.app', 'cloudfunctions.net'];

export function isInternalHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return INTERNAL_HOST_SUFFIXES.some((s) => h === s || h.endsWith(`.${s}`));
}

// ---------------------------------------------------------------------------------------------
// Named retry policies, predicates and backoff.

export interface Backoff {
  /** Seconds before the first retry. */
  readonly initialDelay: number;
  /** Upper bound of any delay, seconds. */
  readonly maxDelay: number;
  /** Each delay is the previous one times this. */
  readonly multiplier: number;
}

export interface NamedRetryPolicy {
  /** A stdlib predicate function name (look it up in the function table). */
  readonly predicate: string;
  readonly maxRetries: number;
  readonly backoff: Backoff;
  readonly doc: string;
}

/** retry.default_backoff: `{initial_delay: 1, max_delay: 60, multiplier: 1.25}`. */
export const DEFAULT_BACKOFF: Backoff = Object.freeze({ initialDelay: 1, maxDelay: 60, multiplier: 1.25 });

/** Backoff objects usable as `backoff: ${retry.default_backoff}`. */
export const NAMED_BACKOFFS: ReadonlyMap<string, Backoff> = new Map([['retry.default_backoff', DEFAULT_BACKOFF]]);

/** Policies usable as `retry: ${http.default_retry}`: "max_retries of 5, and backoff as per retry.default_backoff". */
export const NAMED_RETRY_POLICIES: ReadonlyMap<string, NamedRetryPolicy> = new Map([
  [
    'http.default_retry',
    {
      predicate: 'http.default_retry_predicate',
      maxRetries: 5,
      backoff: DEFAULT_BACKOFF,
      doc: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry',
    },
  ],
  [
    'http.default_retry_non_idempotent',
    {
      predicate: 'http.default_retry_predicate_non_idempotent',
      maxRetries: 5,
      backoff: DEFAULT_BACKOFF,
      doc: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_non_idempotent',
    },
  ],
]);

/** "Retries on 429, 502, 503 and 504, as well as on any ConnectionError, ConnectionFailedError and TimeoutError." */
export const IDEMPOTENT_RETRY = {
  codes: [429, 502, 503, 504],
  tags: ['ConnectionError', 'ConnectionFailedError', 'TimeoutError'],
} as const;
/** "Retries on 429 and 503, as well as on ConnectionFailedError." */
export const NON_IDEMPOTENT_RETRY = { codes: [429, 503], tags: ['ConnectionFailedError'] } as const;

/** Whether an error map has one of `codes` as its `code` or one of `tags` among its `tags`. */
export function errorMatches(e: Value | undefined, codes: readonly number[], tags: readonly string[]): boolean {
  if (e === undefined || !isMap(e)) return false;
  const code = e.get('code');
  if ((typeof code === 'bigint' || typeof code === 'number') && codes.includes(Number(code))) return true;
  const t = e.get('tags');
  return Array.isArray(t) && t.some((x) => typeof x === 'string' && tags.includes(x));
}

function predicate(name: string, rule: { readonly codes: readonly number[]; readonly tags: readonly string[] }): StdFunction {
  return { name, params: ['exception'], required: 1, call: ([e]) => errorMatches(e, rule.codes, rule.tags) };
}

export const retryFunctions: readonly StdFunction[] = [
  { name: 'retry.always', params: ['exception'], required: 1, call: () => true },
  { name: 'retry.never', params: ['exception'], required: 1, call: () => false },
];

// ---------------------------------------------------------------------------------------------
// Bodies.

function mimeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function charsetOf(contentType: string): string {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m?.[1]?.toLowerCase() ?? 'utf-8';
}

export function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || mime.endsWith('+json');
}

function decodeText(data: Uint8Array, contentType: string): string {
  try {
    return new TextDecoder(charsetOf(contentType)).decode(data);
  } catch {
    return new TextDecoder('utf-8').decode(data);
  }
}

/**
 * A body as the workflow sees it: JSON media types parsed (integers stay integers), `text/*` a
 * string, anything else bytes. An empty body is `null`, except for text, where it is `""`. JSON
 * that does not parse is given as text rather than failing the step.
 */
export function decodeBody(contentType: string | undefined, data: Uint8Array): Value {
  const mime = mimeOf(contentType);
  if (mime.startsWith('text/')) return decodeText(data, contentType ?? '');
  if (data.length === 0) return null;
  if (isJsonMime(mime)) {
    const text = new TextDecoder('utf-8').decode(data);
    try {
      return parseJson(text);
    } catch {
      return text;
    }
  }
  return new Bytes(data);
}

function queryValueText(fn: string, param: string, v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return encodeJson(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return raise('TypeError', `${fn}: ${param} values must be strings, ints, floats, booleans or lists of those`);
}

/** `application/x-www-form-urlencoded` text of a query-shaped map. */
function formEncode(fn: string, param: string, m: WfMap): string {
  const params = new URLSearchParams();
  for (const [k, v] of m) {
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, queryValueText(fn, param, item));
  }
  return params.toString();
}

interface EncodedBody {
  readonly data: Uint8Array;
  /** Set when the call gave no Content-Type header. */
  readonly defaultContentType?: string;
}

function encodeBody(fn: string, body: Value, contentType: string | undefined): EncodedBody {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  if (contentType === undefined) {
    if (body instanceof Bytes) return { data: body.data, defaultContentType: 'application/octet-stream' };
    return { data: utf8(encodeJson(body)), defaultContentType: 'application/json; charset=utf-8' };
  }
  if (body instanceof Bytes) return { data: body.data };
  const mime = mimeOf(contentType);
  if (isJsonMime(mime)) return { data: utf8(encodeJson(body)) };
  if (mime === 'application/x-www-form-urlencoded') {
    if (typeof body === 'string') return { data: utf8(body) };
    if (isMap(body)) return { data: utf8(formEncode(fn, 'body', body)) };
    return raise('TypeError', `${fn}: a body sent as application/x-www-form-urlencoded must be a map or a string`);
  }
  if (typeof body === 'string') return { data: utf8(body) };
  return raise('TypeError', `${fn}: a body sent as ${mime} must be a string or bytes`);
}

// ---------------------------------------------------------------------------------------------
// Headers.

/** `content-type` → `Content-Type`, `x-goog-meta` → `X-Goog-Meta` (canonical MIME header case). */
export function canonicalHeaderName(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((p) => (p === '' ? p : (p[0] ?? '').toUpperCase() + p.slice(1)))
    .join('-');
}

function responseHeaders(h: Headers): WfMap {
  const m: WfMap = new Map();
  for (const [k, v] of h) m.set(canonicalHeaderName(k), v);
  const cookies = h.getSetCookie();
  if (cookies.length > 1) m.set('Set-Cookie', cookies.join(', '));
  return m;
}

// ---------------------------------------------------------------------------------------------
// The request.

export interface HttpArgs {
  readonly method: HttpMethod;
  readonly url: string;
  readonly timeout?: Value;
  readonly body?: Value;
  readonly headers?: Value;
  readonly query?: Value;
  readonly auth?: Value;
  readonly privateServiceName?: Value;
  readonly caCertificate?: Value;
}

function timeoutMillis(fn: string, v: Value | undefined): number {
  if (v === undefined || v === null) return DEFAULT_TIMEOUT_SECONDS * 1000;
  const n = Number(check.num(fn, 'timeout', v));
  if (!Number.isFinite(n) || n <= 0) raise('ValueError', `${fn}: timeout must be a positive number of seconds, got ${n}`);
  if (n > MAX_TIMEOUT_SECONDS) raise('ValueError', `${fn}: timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds, got ${n}`);
  return n * 1000;
}

function buildUrl(fn: string, raw: string, query: Value | undefined): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raise('ValueError', `${fn}: '${raw}' is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    raise('ValueError', `${fn}: only http and https URLs are supported, got ${url.protocol}`);
  if (query !== undefined && query !== null) {
    const extra = formEncode(fn, 'query', check.map(fn, 'query', query));
    if (extra !== '') url.search = url.search === '' || url.search === '?' ? extra : `${url.search.slice(1)}&${extra}`;
  }
  return url;
}

async function authorization(fn: string, auth: Value, url: string, ctx: CallContext): Promise<string> {
  const a = check.map(fn, 'auth', auth);
  const type = a.get('type');
  if (type !== 'OIDC' && type !== 'OAuth2') return raise('ValueError', `${fn}: auth.type must be "OIDC" or "OAuth2"`);
  let subject: string;
  if (type === 'OIDC') {
    const audience = a.get('audience');
    subject = audience === undefined || audience === null ? url : check.str(fn, 'auth.audience', audience);
  } else {
    const scopes = a.get('scopes') ?? a.get('scope');
    if (scopes === undefined || scopes === null) subject = CLOUD_PLATFORM_SCOPE;
    else if (typeof scopes === 'string')
      subject = scopes
        .split(/[\s,]+/)
        .filter((s) => s !== '')
        .join(' ');
    else
      subject = check
        .list(fn, 'auth.scopes', scopes)
        .map((s) => check.str(fn, 'auth.scopes', s))
        .join(' ');
  }
  try {
    return `Bearer ${await ctx.tokens.token(type, subject)}`;
  } catch (e) {
    return raise('AuthError', `${fn}: could not generate ${type} credentials: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The error of a failed fetch, by whether a connection had been established. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function networkError(fn: string, url: URL, e: unknown, connected: boolean): WorkflowError {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  const detail = cause instanceof Error ? cause.message : String(cause);
  const where = `${url.protocol}//${url.host}`;
  if (!connected && NOT_CONNECTED.has(code)) {
    // error-types: ConnectionFailedError ("a connection is not established ... DNS resolution
    // issues"); the http.request page lists the same failures under ConnectionError, so both tags.
    return new WorkflowError(errorMap(['ConnectionFailedError', 'ConnectionError'], `${fn}: could not connect to ${where}: ${detail}`));
  }
  return new WorkflowError(
    errorMap(['ConnectionError'], `${fn}: the connection to ${where} failed before the whole response arrived: ${detail}`),
  );
}

async function readBody(fn: string, res: Response): Promise<Uint8Array> {
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      raise('ResourceLimitError', `${fn}: the HTTP response is larger than the ${MAX_RESPONSE_BYTES / 1024 / 1024} MB limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Sends one request; returns `{body, code, headers}` or raises the documented errors. */
export async function httpRequest(fn: string, a: HttpArgs, ctx: CallContext): Promise<Value> {
  const timeoutMs = timeoutMillis(fn, a.timeout);
  const url = buildUrl(fn, a.url, a.query);
  if (a.privateServiceName !== undefined && a.privateServiceName !== null) {
    const name = check.str(fn, 'private_service_name', a.privateServiceName);
    if (!/^projects\/[^/]+\/locations\/[^/]+\/namespaces\/[^/]+\/services\/[^/]+$/.test(name)) {
      raise('ValueError', `${fn}: private_service_name must be projects/P/locations/L/namespaces/N/services/S`);
    }
  }
  if (a.caCertificate !== undefined && a.caCertificate !== null) check.str(fn, 'ca_certificate', a.caCertificate);

  const headers = new Headers();
  if (a.headers !== undefined && a.headers !== null) {
    for (const [k, v] of check.map(fn, 'headers', a.headers)) {
      if (typeof v !== 'string') raise('TypeError', `${fn}: header '${k}' must be a string`);
      try {
        headers.set(k, v);
      } catch {
        raise('ValueError', `${fn}: '${k}: ${v}' is not a valid HTTP header`);
      }
    }
  }
  const userAgent = headers.get('user-agent');
  headers.set('user-agent', userAgent === null ? WORKFLOWS_USER_AGENT : `${userAgent} ${WORKFLOWS_USER_AGENT}`);

  // fetch cannot send a body with GET or HEAD; http.get has no body parameter anyway.
  let payload: Uint8Array | undefined;
  if (a.body !== undefined && a.body !== null && a.method !== 'GET' && a.method !== 'HEAD') {
    const encoded = encodeBody(fn, a.body, headers.get('content-type') ?? undefined);
    payload = encoded.data;
    if (encoded.defaultContentType !== undefined) headers.set('content-type', encoded.defaultContentType);
  }
  if (a.auth !== undefined && a.auth !== null) headers.set('authorization', await authorization(fn, a.auth, a.url, ctx));

  if (!isInternalHost(url.hostname)) ctx.billAsExternal();
  if (ctx.signal.aborted) throw ctx.signal.reason;

  const request = new AbortController();
  const timer = new AbortController();
  let timedOut = false;
  ctx.clock.sleep(timeoutMs, timer.signal, 'deadline').then(
    () => {
      timedOut = true;
      request.abort(new Error('timeout'));
    },
    () => undefined,
  );
  const onCancel = (): void => request.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  let connected = false;
  try {
    const init: RequestInit = { method: a.method, headers, signal: request.signal, redirect: 'follow' };
    if (payload !== undefined) init.body = payload;
    const res = await fetch(url, init);
    connected = true;
    const data = a.method === 'HEAD' ? new Uint8Array(0) : await readBody(fn, res);
    const code = BigInt(res.status);
    const resHeaders = responseHeaders(res.headers);
    const body = decodeBody(res.headers.get('content-type') ?? undefined, data);
    if (res.status >= 400) {
      throw new WorkflowError(
        errorMap(['HttpError'], `HTTP server responded with error code ${res.status}`, { code, headers: resHeaders, body }),
      );
    }
    return new Map<string, Value>([
      ['body', body],
      ['code', code],
      ['headers', resHeaders],
    ]);
  } catch (e) {
    if (e instanceof WorkflowError) throw e;
    if (timedOut) throw new WorkflowError(errorMap(['TimeoutError'], `${fn}: request timed out after ${timeoutMs / 1000} s`));
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw networkError(fn, url, e, connected);
  } finally {
    timer.abort();
    ctx.signal.removeEventListener('abort', onCancel);
  }
}

// ---------------------------------------------------------------------------------------------
// The functions.

const TAIL = ['private_service_name', 'ca_certificate'] as const;

function shortcut(method: HttpMethod, withBody: boolean): StdFunction {
  const name = `http.${method.toLowerCase()}`;
  const params = withBody
    ? ['url', 'timeout', 'body', 'headers', 'query', 'auth', ...TAIL]
    : ['url', 'timeout', 'headers', 'query', 'auth', ...TAIL];
  return {
    name,
    params,
    required: 1,
    callOnly: true,
    call: (args, ctx) => {
      const at = (p: string): Value | undefined => args[params.indexOf(p)];
      return httpRequest(
        name,
        {
          method,
          url: check.str(name, 'url', at('url')),
          timeout: at('timeout'),
          body: withBody ? at('body') : undefined,
          headers: at('headers'),
          query: at('query'),
          auth: at('auth'),
          privateServiceName: at('private_service_name'),
          caCertificate: at('ca_certificate'),
        },
        ctx,
      );
    },
  };
}

const REQUEST_PARAMS = ['method', 'url', 'timeout', 'body', 'headers', 'query', 'auth', ...TAIL] as const;

const request: StdFunction = {
  name: 'http.request',
  params: REQUEST_PARAMS,
  required: 2,
  callOnly: true,
  call: ([method, url, timeout, body, headers, query, auth, privateServiceName, caCertificate], ctx) => {
    const m = check.str('http.request', 'method', method);
    if (!(HTTP_METHODS as readonly string[]).includes(m))
      raise('ValueError', `http.request: method must be one of ${HTTP_METHODS.join(', ')}, got '${m}'`);
    return httpRequest(
      'http.request',
      {
        method: m as HttpMethod,
        url: check.str('http.request', 'url', url),
        timeout,
        body,
        headers,
        query,
        auth,
        privateServiceName,
        caCertificate,
      },
      ctx,
    );
  },
};

export const httpFunctions: readonly StdFunction[] = [
  shortcut('GET', false),
  shortcut('POST', true),
  shortcut('PUT', true),
  shortcut('PATCH', true),
  shortcut('DELETE', true),
  request,
  predicate('http.default_retry_predicate', IDEMPOTENT_RETRY),
  predicate('http.default_retry_predicate_non_idempotent', NON_IDEMPOTENT_RETRY),
];
