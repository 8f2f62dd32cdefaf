/**
 * A loopback Compute Engine API (v1 REST) in front of a ComputeFleet, for the local stack: the
 * official `@google-cloud/compute` client (the CLI's `instances` and `relearn`) and the Workflows
 * engine's Compute connectors reach the simulated fleet over the same paths as
 * https://compute.googleapis.com/compute/v1/.
 *
 * Served, as the Compute v1 reference gives them:
 * - `GET    projects/{project}/zones/{zone}/instances` (filter, maxResults, orderBy, pageToken,
 *   returnPartialSuccess)
 * - `GET    projects/{project}/zones/{zone}/instances/{instance}`
 * - `POST   projects/{project}/zones/{zone}/instances/{instance}/start` (requestId)
 * - `POST   projects/{project}/zones/{zone}/instances/{instance}/stop` (requestId, discardLocalSsd,
 *   noGracefulShutdown)
 * - `POST   projects/{project}/zones/{zone}/instances/{instance}/suspend` (requestId, discardLocalSsd)
 * - `POST   projects/{project}/zones/{zone}/instances/{instance}/resume` (requestId); `start` refuses a
 *   SUSPENDED instance (400), as Compute resumes it instead
 * - `PATCH  projects/{project}/zones/{zone}/instances/{instance}/setShieldedInstanceIntegrityPolicy`
 *   (requestId; body: a ShieldedInstanceIntegrityPolicy)
 * - `GET    projects/{project}/zones/{zone}/operations/{operation}`
 * - `POST   projects/{project}/zones/{zone}/operations/{operation}/wait` (answers once the
 *   operation is DONE, or with its state after `waitLimitMs`, as Compute does after two minutes)
 * Any other method or path is a 404 naming what is served; an unknown query parameter or body
 * field a 400 (Compute's "Invalid JSON payload received. Unknown name"). Google's system parameters
 * (`alt`, `prettyPrint`, `fields`, `quotaUser`, …) are read as the emulator's readSystemParameters
 * reads them for every local API; `fields` is checked against the official client's descriptor of
 * the response (Instance, InstanceList, Operation). Every request needs
 * `Authorization: Bearer` with a local OAuth2 token of the cloud-platform scope (401/403
 * otherwise, as Compute refuses a missing or under-scoped token). Errors are Google error bodies.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkAccess,
  checkFieldMask,
  ComputeApiError,
  computeError,
  readSystemParameters,
  renderResponse,
  SystemParameterError,
  type ComputeFleet,
  type ComputeOperation,
  type LocalTokenSource,
  type MessageSchema,
  readRequestBody,
} from '@bootwarden/workflows-emulator';
import { responseSchema } from './compute-descriptors.js';

export const COMPUTE_BASE_PATH = '/compute/v1/';

export interface ComputeServerOptions {
  readonly fleet: ComputeFleet;
  /** Verifies the callers' bearer tokens (the local engine's token source). */
  readonly tokens: LocalTokenSource;
  readonly port?: number;
  /** How long `operations.wait` waits for DONE before answering with the operation as it is. */
  readonly waitLimitMs?: number;
}

export interface ComputeServer {
  /** Base URL of the API, ending in /compute/v1/. */
  readonly url: string;
  /** Host and port, as `apiEndpoint`/`port` of the official client want them. */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const SEGMENT = '([a-z0-9](?:[-a-z0-9_.]*[a-z0-9])?)';
const ROUTE = new RegExp(`^/compute/v1/projects/${SEGMENT}/zones/${SEGMENT}/(instances|operations)(?:/([^/]+))?(?:/([A-Za-z]+))?$`, 'i');

type Handler = (fleet: ComputeFleet, q: URLSearchParams, body: unknown) => Promise<unknown>;

interface Route {
  readonly method: string;
  readonly params: readonly string[];
  readonly handler: Handler;
}

function routeOf(
  method: string,
  kind: string,
  project: string,
  zone: string,
  name: string | undefined,
  verb: string | undefined,
  waitLimitMs: number,
): Route | undefined {
  if (kind === 'instances' && name === undefined && verb === undefined && method === 'GET') {
    return {
      method,
      params: ['filter', 'maxResults', 'orderBy', 'pageToken', 'returnPartialSuccess'],
      handler: (fleet, q) => {
        const maxResults = q.get('maxResults');
        return fleet.list(project, zone, {
          ...(q.has('filter') ? { filter: q.get('filter') ?? '' } : {}),
          ...(maxResults === null ? {} : { maxResults: integer('maxResults', maxResults) }),
          ...(q.has('orderBy') ? { orderBy: q.get('orderBy') ?? '' } : {}),
          ...(q.has('pageToken') ? { pageToken: q.get('pageToken') ?? '' } : {}),
        });
      },
    };
  }
  if (name === undefined) return undefined;
  const instance = decodeURIComponent(name);
  if (kind === 'instances' && verb === undefined && method === 'GET')
    return { method, params: [], handler: (fleet) => fleet.get(project, zone, instance) };
  if (kind === 'instances' && verb === 'start' && method === 'POST')
    return { method, params: ['requestId'], handler: (fleet, q) => fleet.start(project, zone, instance, requestId(q)) };
  if (kind === 'instances' && verb === 'stop' && method === 'POST') {
    return {
      method,
      params: ['requestId', 'discardLocalSsd', 'noGracefulShutdown'],
      handler: (fleet, q) =>
        fleet.stop(project, zone, instance, {
          ...requestId(q),
          ...flag(q, 'discardLocalSsd'),
          ...flag(q, 'noGracefulShutdown'),
        }),
    };
  }
  if (kind === 'instances' && verb === 'suspend' && method === 'POST') {
    return {
      method,
      params: ['requestId', 'discardLocalSsd'],
      handler: (fleet, q) => fleet.suspend(project, zone, instance, { ...requestId(q), ...flag(q, 'discardLocalSsd') }),
    };
  }
  if (kind === 'instances' && verb === 'resume' && method === 'POST')
    return { method, params: ['requestId'], handler: (fleet, q) => fleet.resume(project, zone, instance, requestId(q)) };
  if (kind === 'instances' && verb === 'setShieldedInstanceIntegrityPolicy' && method === 'PATCH') {
    return {
      method,
      params: ['requestId'],
      handler: (fleet, q, body) =>
        fleet.setShieldedInstanceIntegrityPolicy(project, zone, instance, { body: policy(body), ...requestId(q) }),
    };
  }
  if (kind === 'operations' && verb === undefined && method === 'GET')
    return { method, params: [], handler: (fleet) => fleet.getOperation(project, zone, instance) };
  if (kind === 'operations' && verb === 'wait' && method === 'POST')
    return { method, params: [], handler: (fleet) => waitFor(fleet, project, zone, instance, waitLimitMs) };
  return undefined;
}

function integer(name: string, raw: string): number {
  if (!/^[0-9]+$/.test(raw)) throw computeError(400, 'invalid', `Invalid value for field '${name}': '${raw}'. Expected an integer.`);
  return Number(raw);
}

function requestId(q: URLSearchParams): { requestId?: string } {
  const id = q.get('requestId');
  return id === null ? {} : { requestId: id };
}

function flag(q: URLSearchParams, name: string): Record<string, boolean> {
  const raw = q.get(name);
  if (raw === null) return {};
  if (raw !== 'true' && raw !== 'false')
    throw computeError(400, 'invalid', `Invalid value for field '${name}': '${raw}'. Expected a boolean.`);
  return { [name]: raw === 'true' };
}

function policy(body: unknown): { updateAutoLearnPolicy?: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw computeError(400, 'invalid', 'Invalid JSON payload received. Expected a ShieldedInstanceIntegrityPolicy object.');
  const out: { updateAutoLearnPolicy?: boolean } = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'updateAutoLearnPolicy')
      throw computeError(400, 'invalid', `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
    if (typeof value !== 'boolean')
      throw computeError(
        400,
        'invalid',
        `Invalid value at 'shielded_instance_integrity_policy_resource.update_auto_learn_policy' (TYPE_BOOL), ${JSON.stringify(value)}`,
      );
    out.updateAutoLearnPolicy = value;
  }
  return out;
}

/** zoneOperations.wait: polls the operation until it is DONE or the limit passes. */
async function waitFor(fleet: ComputeFleet, project: string, zone: string, operation: string, limitMs: number): Promise<ComputeOperation> {
  const until = Date.now() + limitMs;
  for (;;) {
    const op = await fleet.getOperation(project, zone, operation);
    if (op.status === 'DONE' || Date.now() >= until) return op;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function refuse(res: http.ServerResponse, e: ComputeApiError): void {
  for (const [k, v] of Object.entries(e.headers)) if (k.toLowerCase() === 'www-authenticate') res.setHeader(k, v);
  send(res, e.status ?? 500, e.body ?? { error: { code: e.status ?? 500, message: e.message } });
}

/** A system parameter refused as Compute refuses a bad parameter. */
function asCompute<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof SystemParameterError) throw computeError(400, 'invalidParameter', e.message);
    throw e;
  }
}

const SERVED =
  'the local Compute serves instances.get, list, start, stop, suspend, resume, setShieldedInstanceIntegrityPolicy and zoneOperations.get, wait (what bootwarden uses, and suspend and resume to reach SUSPENDED)';

/** The bodies served here are a few bytes (an integrity policy); anything near this is not one. */
const MAX_BODY_BYTES = 64 * 1024;

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const data = await readRequestBody(req, MAX_BODY_BYTES);
  if (data === undefined) throw computeError(413, 'payloadTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  const text = Buffer.from(data).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw computeError(400, 'parseError', 'Invalid JSON payload received. The request body is not JSON.');
  }
}

export async function startComputeServer(options: ComputeServerOptions): Promise<ComputeServer> {
  const waitLimitMs = options.waitLimitMs ?? 120_000;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const access = checkAccess(req.headers.authorization, options.tokens);
    if (!access.ok) {
      const reason = access.code === 401 ? 'authError' : 'insufficientPermissions';
      throw new ComputeApiError(access.code, access.message, {
        body: {
          error: {
            code: access.code,
            message: access.message,
            status: access.status,
            errors: [{ message: access.message, domain: 'global', reason }],
          },
        },
        ...(access.challenge === undefined ? {} : { headers: { 'WWW-Authenticate': access.challenge } }),
      });
    }
    const m = ROUTE.exec(url.pathname);
    const route = m === null ? undefined : routeOf(req.method ?? 'GET', m[3] ?? '', m[1] ?? '', m[2] ?? '', m[4], m[5], waitLimitMs);
    if (route === undefined) throw computeError(404, 'notFound', `${req.method ?? ''} ${url.pathname} is not served: ${SERVED}.`);
    const { system, api } = asCompute(() => readSystemParameters(url.searchParams));
    for (const key of api.keys()) {
      if (!route.params.includes(key))
        throw computeError(400, 'invalidParameter', `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter.`);
    }
    const schema: MessageSchema = system.fields === undefined ? () => undefined : await responseSchema(m?.[3] ?? '', m?.[4], m?.[5]);
    // A bad selection is refused before the method acts.
    asCompute(() => checkFieldMask(system.fields, schema));
    const body = await readBody(req);
    const text = renderResponse(await route.handler(options.fleet, api, body), system, schema);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof ComputeApiError && e.status !== null) refuse(res, e);
      else
        send(res, 500, {
          error: { code: 500, message: `local Compute: ${e instanceof Error ? e.message : String(e)}`, status: 'INTERNAL' },
        });
    });
  });
  // As the Executions API's server: no 5 s idle close racing a client's reuse of the connection.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${COMPUTE_BASE_PATH}`,
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
