/**
 * Callback endpoints of the local engine: a real HTTP server on the loopback interface standing in
 * for workflowexecutions.googleapis.com's `sendHttpCallback`.
 *
 * Pinned from Google's documentation:
 * - https://cloud.google.com/workflows/docs/creating-callback-endpoints — an endpoint expects one
 *   HTTP method (GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH; default POST); it "can only be
 *   waited on in the workflow execution in which [it was] created"; `events.await_callback` waits
 *   up to `timeout` seconds (default 43200) and raises TimeoutError; the workflow receives
 *   `{http_request: {body, headers, method, query, url}, received_time, type: "HTTP"}`, the body
 *   decoded when it is JSON or text and raw bytes otherwise; the sender needs an OAuth2 access
 *   token (`Authorization: Bearer ...`) of an identity holding `workflows.callbacks.send`.
 * - https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions.callbacks/sendHttpCallback
 *   — the URL `.../v1/projects/P/locations/L/workflows/W/executions/E/callbacks/ID`, the
 *   cloud-platform OAuth scope, and an empty response body on success.
 * - https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions.callbacks/list
 *   — a callback counts its `waiters` and keeps `availablePayloads`, "the payloads received by
 *   the callback that have not been processed by a waiting execution step". So a request that
 *   arrives before `await_callback` is kept (in arrival order) for the next await, and an endpoint
 *   stays usable for further requests and awaits until its execution ends.
 *
 * Choices where the documentation is silent:
 * a request with another method than the endpoint's is answered 405 with `Allow`, and delivers
 * nothing; bodies above 512 KB (the Workflows data-size limit) are answered 413; header names are
 * given in canonical case (`Content-Type`) without `Host`; a query parameter given once is a
 * string, one given several times a list of strings; `received_time` is the Go-style timestamp
 * the documentation shows, in UTC; a body without a Content-Type is decoded by content. Errors
 * use Google's JSON error shape.
 *
 * Cost of a waiting execution: one Map entry for its callback, one pending promise and one sleep
 * on the injected clock. Nothing polls.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type CallbackHub, type Clock, type ExecutionInfo } from './runtime.js';
import { decodeBody, canonicalHeaderName, HTTP_METHODS } from '../stdlib/http.js';
import { checkAccess, type VerifyResult } from './tokens.js';
import { errorMap, parseJson, raise, WorkflowError, type Value, type WfMap } from './values.js';

/** Workflows' data-size limit for variables, arguments and events. */
export const MAX_CALLBACK_BODY_BYTES = 512 * 1024;

export interface TokenVerifier {
  verify(token: string): VerifyResult;
}

export interface LoopbackCallbackHubOptions {
  /** Checks the sender's bearer token (a LocalTokenSource). */
  readonly tokens: TokenVerifier;
  /** Time for timeouts and `received_time`; the engine's clock. */
  readonly clock?: Clock;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: an ephemeral port. */
  readonly port?: number;
  readonly maxBodyBytes?: number;
}

/** What `callbacks.list` reports of one endpoint. */
export interface CallbackInfo {
  readonly name: string;
  readonly method: string;
  readonly waiters: number;
  readonly availablePayloads: number;
}

interface Waiter {
  deliver(payload: Value): void;
  fail(error: Error): void;
}

interface Endpoint {
  readonly id: string;
  readonly executionId: string;
  /** /v1/projects/P/locations/L/workflows/W/executions/E/callbacks/ID */
  readonly path: string;
  readonly method: string;
  readonly payloads: Value[];
  readonly waiters: Waiter[];
}

/** Serves the other methods of the API on this origin; false when the path is not one of them. */
export type ApiHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;

const CALLBACK_PATH = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/]+\/executions\/[^/]+\/callbacks\/([^/]+)$/;

export class LoopbackCallbackHub implements CallbackHub {
  private readonly tokens: TokenVerifier;
  private readonly clock: Clock;
  private readonly host: string;
  private readonly port: number;
  private readonly maxBodyBytes: number;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly byExecution = new Map<string, string[]>();
  private server: http.Server | undefined;
  private origin: string | undefined;
  private api: ApiHandler | undefined;

  constructor(options: LoopbackCallbackHubOptions) {
    this.tokens = options.tokens;
    this.clock = options.clock ?? systemClock;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_CALLBACK_BODY_BYTES;
  }

  /** The Executions API methods, served beside the callbacks (one origin, as in the cloud). */
  serveApi(handler: ApiHandler): void {
    this.api = handler;
  }

  /** `http://127.0.0.1:<port>`, the stand-in for https://workflowexecutions.googleapis.com. */
  get url(): string {
    if (this.origin === undefined) throw new Error('the callback hub is not started');
    return this.origin;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', e instanceof Error ? e.message : String(e));
        else res.destroy();
      });
    });
    // Node closes an idle keep-alive connection after 5 s, racing a client that reuses it at that
    // moment (ECONNRESET); Google's front ends keep idle connections far longer.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.origin = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`;
  }

  /** Stops listening; executions still waiting get an error. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const executionId of [...this.byExecution.keys()]) this.release(executionId);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  create(execution: ExecutionInfo, httpMethod: string): Promise<{ url: string }> {
    return new Promise((resolve) => resolve(this.createNow(execution, httpMethod)));
  }

  private createNow(execution: ExecutionInfo, httpMethod: string): { url: string } {
    if (!(HTTP_METHODS as readonly string[]).includes(httpMethod)) {
      raise(
        'ValueError',
        `events.create_callback_endpoint: http_callback_method must be one of ${HTTP_METHODS.join(', ')}, got '${httpMethod}'`,
      );
    }
    const origin = this.url;
    const id = randomUUID();
    const path = `/v1/${execution.name}/callbacks/${id}`;
    if (!CALLBACK_PATH.test(path))
      throw new Error(`execution name '${execution.name}' is not projects/P/locations/L/workflows/W/executions/E`);
    this.endpoints.set(id, { id, executionId: execution.id, path, method: httpMethod, payloads: [], waiters: [] });
    const ids = this.byExecution.get(execution.id);
    if (ids === undefined) this.byExecution.set(execution.id, [id]);
    else ids.push(id);
    return { url: `${origin}${path}` };
  }

  await(execution: ExecutionInfo, url: string, timeoutSeconds: number, signal: AbortSignal): Promise<Value> {
    return new Promise<Value>((resolve) => resolve(this.awaitNow(execution, url, timeoutSeconds, signal)));
  }

  private awaitNow(execution: ExecutionInfo, url: string, timeoutSeconds: number, signal: AbortSignal): Promise<Value> {
    const endpoint = this.endpointOf(url);
    if (endpoint.executionId !== execution.id) {
      raise(
        'ValueError',
        `events.await_callback: the callback ${url} belongs to another execution; a callback can only be awaited by the execution that created it`,
      );
    }
    if (!(timeoutSeconds >= 0))
      raise('ValueError', `events.await_callback: timeout must be a non-negative number of seconds, got ${timeoutSeconds}`);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const queued = endpoint.payloads.shift();
    if (queued !== undefined) return Promise.resolve(queued);

    return new Promise<Value>((resolve, reject) => {
      const timer = new AbortController();
      let done = false;
      const settle = (): boolean => {
        if (done) return false;
        done = true;
        const i = endpoint.waiters.indexOf(waiter);
        if (i >= 0) endpoint.waiters.splice(i, 1);
        timer.abort();
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const waiter: Waiter = {
        deliver: (payload) => {
          if (settle()) resolve(payload);
        },
        fail: (error) => {
          if (settle()) reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(signal.reason as Error);
      endpoint.waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      this.clock.sleep(timeoutSeconds * 1000, timer.signal, 'deadline').then(
        () =>
          waiter.fail(
            new WorkflowError(
              errorMap('TimeoutError', `events.await_callback: no callback request arrived within ${timeoutSeconds} seconds`),
            ),
          ),
        () => undefined,
      );
    });
  }

  /** Ends every callback of an execution (call it when the execution ends): later requests get 404. */
  release(executionId: string): void {
    const ids = this.byExecution.get(executionId);
    if (ids === undefined) return;
    this.byExecution.delete(executionId);
    for (const id of ids) {
      const endpoint = this.endpoints.get(id);
      this.endpoints.delete(id);
      for (const w of [...(endpoint?.waiters ?? [])]) w.fail(new Error(`the execution ${executionId} has ended`));
    }
  }

  /** The execution's active callbacks, like `executions.callbacks.list`. */
  callbacks(executionName: string): CallbackInfo[] {
    const out: CallbackInfo[] = [];
    for (const e of this.endpoints.values()) {
      if (e.path.startsWith(`/v1/${executionName}/callbacks/`)) {
        out.push({ name: e.path.slice('/v1/'.length), method: e.method, waiters: e.waiters.length, availablePayloads: e.payloads.length });
      }
    }
    return out;
  }

  private endpointOf(url: string): Endpoint {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return raise('ValueError', `events.await_callback: '${url}' is not a callback URL`);
    }
    const id = CALLBACK_PATH.exec(parsed.pathname)?.[1];
    const endpoint = id === undefined ? undefined : this.endpoints.get(id);
    if (endpoint === undefined || parsed.origin !== this.origin || parsed.pathname !== endpoint.path) {
      return raise('ValueError', `events.await_callback: no active callback endpoint at ${url}`);
    }
    return endpoint;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const access = checkAccess(req.headers.authorization, this.tokens);
    if (!access.ok) {
      if (access.challenge !== undefined) res.setHeader('WWW-Authenticate', access.challenge);
      return sendError(res, access.code, access.status, access.message);
    }

    const target = new URL(req.url ?? '/', 'http://callback.invalid');
    const id = CALLBACK_PATH.exec(target.pathname)?.[1];
    if (id === undefined && this.api !== undefined && (await this.api(req, res, target))) return;
    const endpoint = id === undefined ? undefined : this.endpoints.get(id);
    if (endpoint === undefined || endpoint.path !== target.pathname)
      return sendError(res, 404, 'NOT_FOUND', `No active callback at ${target.pathname}.`);
    if (req.method !== endpoint.method) {
      res.setHeader('Allow', endpoint.method);
      return sendError(res, 405, 'FAILED_PRECONDITION', `This callback expects ${endpoint.method} requests, not ${req.method ?? '?'}.`);
    }

    const data = await readRequestBody(req, this.maxBodyBytes);
    if (data === undefined) return sendError(res, 413, 'INVALID_ARGUMENT', `The callback body is larger than ${this.maxBodyBytes} bytes.`);
    // The execution may have ended while the body arrived.
    if (this.endpoints.get(endpoint.id) !== endpoint) return sendError(res, 404, 'NOT_FOUND', `No active callback at ${target.pathname}.`);

    const payload = new Map<string, Value>([
      [
        'http_request',
        new Map<string, Value>([
          ['body', decodeCallbackBody(req.headers['content-type'], data)],
          ['headers', requestHeaders(req)],
          ['method', endpoint.method],
          ['query', queryMap(target.searchParams)],
          ['url', req.url ?? target.pathname],
        ]),
      ],
      ['received_time', goTimestamp(this.clock.now())],
      ['type', 'HTTP'],
    ]);
    const waiter = endpoint.waiters[0];
    if (waiter !== undefined) waiter.deliver(payload);
    else endpoint.payloads.push(payload);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end('{}');
  }
}

/**
 * "If the HTTP body is text or JSON, Workflows will attempt to decode the body; otherwise, raw
 * bytes are returned." A declared JSON or text type decodes as http.* responses do; a body sent
 * without a type (or as a form, which curl -d does) is decoded by content: JSON, else UTF-8 text,
 * else bytes.
 */
export function decodeCallbackBody(contentType: string | undefined, data: Uint8Array): Value {
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (data.length === 0 || (mime !== '' && mime !== 'application/x-www-form-urlencoded')) return decodeBody(contentType, data);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return decodeBody('application/octet-stream', data);
  }
  try {
    return parseJson(text);
  } catch {
    return text;
  }
}

export function sendError(res: http.ServerResponse, code: number, status: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code, message, status } }));
}

/** The body, or undefined when it exceeds `limit` bytes. */
export async function readRequestBody(req: http.IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function requestHeaders(req: http.IncomingMessage): WfMap {
  const m: WfMap = new Map();
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (name === 'host' || values === undefined) continue;
    m.set(canonicalHeaderName(name), values.join(', '));
  }
  return m;
}

function queryMap(params: URLSearchParams): WfMap {
  const m: WfMap = new Map();
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    m.set(key, all.length === 1 ? (all[0] as string) : all);
  }
  return m;
}

/** `2026-01-02 03:04:05.678 +0000 UTC`: Go's time.Time.String() in UTC, as the docs show. */
export function goTimestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const frac = d.getUTCMilliseconds() === 0 ? '' : `.${pad(d.getUTCMilliseconds(), 3).replace(/0+$/, '')}`;
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac} +0000 UTC`
  );
}
