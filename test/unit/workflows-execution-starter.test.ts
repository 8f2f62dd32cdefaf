import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionsClient } from '@google-cloud/workflows';
// google-auth-library comes with @google-cloud/workflows (through google-gax): the client's own auth stack.
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeArgument,
  eventKeyLabel,
  eventKeyOf,
  executionLabels,
  responseArgument,
  type ResponseArgument,
} from '../../core/contracts.js';
import { decide, DEFAULT_POLICY, lookupOf } from '../../core/decide.js';
import { BootwardenError } from '../../core/errors.js';
import { parseEnvelope } from '../../core/parse.js';
import { WorkflowsExecutionStarter, type ExecutionsApi } from '../../adapters/gcp/workflows-execution-starter.js';
import { failedLateBoot } from '../support/fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function argumentFor(overrides: Parameters<typeof failedLateBoot>[0] = {}): ResponseArgument {
  const parsed = parseEnvelope(failedLateBoot(overrides));
  if (!parsed.ok) throw new Error(parsed.rejection.message);
  const event = parsed.event;
  return responseArgument(event, decide(event, lookupOf(), DEFAULT_POLICY), {
    eventKey: eventKeyOf(event.entry),
    decidedAt: '2026-11-02T08:00:00.000Z',
    collections: { prefix: 'bootwarden_', baselines: 'known_good_measurements' },
  });
}

const arg = argumentFor();
const labels = executionLabels(arg);
const PARENT = 'projects/acme-sec/locations/europe-west1/workflows/integrity-response';
const EXECUTION = `${PARENT}/executions/7f3c9a52-1d2e-4b8a-9c41-2f0e6d5b8a13`;
/** When the event was first claimed. */
const SINCE = '2026-11-02T08:04:59.123Z';

/** A loopback stand-in for workflowexecutions.googleapis.com: records each request, answers from a script. */
interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}
interface Answer {
  status: number;
  body: unknown;
}

const received: Recorded[] = [];
let answer: (r: Recorded) => Answer = () => ({ status: 200, body: { name: EXECUTION } });
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const r: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  answer = () => ({ status: 200, body: { name: EXECUTION } });
});

/** The real ExecutionsClient over its REST transport, sending plain HTTP to the stand-in with a fixed token. */
function realClient(toPort = port): ExecutionsClient {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
  return new ExecutionsClient({ fallback: true, apiEndpoint: '127.0.0.1', port: toPort, protocol: 'http', authClient });
}

function starter(opts: { toPort?: number } = {}): WorkflowsExecutionStarter {
  return new WorkflowsExecutionStarter({
    project: 'acme-sec',
    location: 'europe-west1',
    workflow: 'integrity-response',
    clientFactory: () => realClient(opts.toPort),
  });
}

const labelFilter = (r: Recorded): boolean => r.query.get('filter')?.startsWith('labels.') === true;

function googleError(status: number, name: string, message: string): Answer {
  return { status, body: { error: { code: status, message, status: name } } };
}

async function failure(p: Promise<unknown>): Promise<BootwardenError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BootwardenError);
    return e as BootwardenError;
  }
  throw new Error('expected a failure');
}

describe('WorkflowsExecutionStarter against a loopback Workflow Executions API', () => {
  it('the argument is a real decision: a failed late boot with no known baseline', () => {
    expect(arg.eventKind).toBe('lateBootReportEvent');
    expect(arg.promotion).not.toBeNull();
    expect(labels['event']).toBe(eventKeyLabel(arg.eventKey));
  });

  it('start: POSTs the execution (argument as a JSON string, labels, error-only call logging) and returns its name', async () => {
    const started = await starter().start(arg, labels);
    expect(started).toEqual({ name: EXECUTION });
    expect(received).toHaveLength(1);
    const r = received[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe(`/v1/${PARENT}/executions`);
    expect(r.headers['authorization']).toBe('Bearer test-token');
    const body = JSON.parse(r.body);
    expect(body).toEqual({ argument: encodeArgument(arg), labels, callLogLevel: 'LOG_ERRORS_ONLY' });
    expect(JSON.parse(body.argument)).toEqual(JSON.parse(JSON.stringify(arg)));
  });

  it('creates the client once, on first use', async () => {
    let created = 0;
    const s = new WorkflowsExecutionStarter({
      project: 'acme-sec',
      location: 'europe-west1',
      workflow: 'integrity-response',
      clientFactory: () => {
        created++;
        return realClient();
      },
    });
    expect(created).toBe(0);
    await s.start(arg, labels);
    await s.findByEventKey(labels['event']!, SINCE);
    expect(created).toBe(1);
  });

  it.each([
    [503, 'UNAVAILABLE'],
    [429, 'RESOURCE_EXHAUSTED'],
    [500, 'INTERNAL'],
    [504, 'DEADLINE_EXCEEDED'],
  ])('start: HTTP %i (%s) is a retryable error', async (status, name) => {
    answer = () => googleError(status, name, 'The service is currently unavailable.');
    const e = await failure(starter().start(arg, labels));
    expect(e.retryable).toBe(true);
    expect(e.code).toBe('store_unavailable');
    expect(e.message).toBe(
      `Workflows unavailable while starting execution of integrity-response for event ${arg.eventKey}: ${name}: The service is currently unavailable.`,
    );
  });

  it('start: HTTP 404 (NOT_FOUND) is permanent, and says which workflow to check', async () => {
    answer = () => googleError(404, 'NOT_FOUND', `Resource '${PARENT}' was not found`);
    const e = await failure(starter().start(arg, labels));
    expect(e.retryable).toBe(false);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toContain('integrity-response');
    expect(e.message).toContain('NOT_FOUND');
    expect(e.message).toMatch(/check the workflow name \(integrity-response\), location \(europe-west1\) and project \(acme-sec\)/);
  });

  it('start: HTTP 403 (PERMISSION_DENIED) is permanent and names roles/workflows.invoker', async () => {
    answer = () => googleError(403, 'PERMISSION_DENIED', "Permission 'workflows.executions.create' denied");
    const e = await failure(starter().start(arg, labels));
    expect(e.retryable).toBe(false);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toContain('roles/workflows.invoker');
  });

  it('start: an unreachable endpoint is retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await failure(starter({ toPort: deadPort }).start(arg, labels));
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(`for event ${arg.eventKey}`);
  });

  it('start: an argument over 32 KB is refused before any request', async () => {
    const big: ResponseArgument = { ...arg, decision: { ...arg.decision, reason: 'x'.repeat(40_000) } };
    const e = await failure(starter().start(big, labels));
    expect(e.code).toBe('invalid_input');
    expect(received).toHaveLength(0);
  });

  it('findByEventKey: lists with the label filter (BASIC view) and returns the newest execution', async () => {
    answer = () => ({
      status: 200,
      body: {
        executions: [
          { name: `${PARENT}/executions/older`, startTime: '2026-11-02T08:00:00Z', state: 'SUCCEEDED' },
          { name: `${PARENT}/executions/newer`, startTime: '2026-11-02T08:05:00.500Z', state: 'ACTIVE' },
        ],
      },
    });
    const label = labels['event']!;
    expect(await starter().findByEventKey(label, SINCE)).toEqual({ name: `${PARENT}/executions/newer` });
    const r = received[0]!;
    expect(r.method).toBe('GET');
    expect(r.path).toBe(`/v1/${PARENT}/executions`);
    expect(r.query.get('filter')).toBe(`labels.event="${label}"`);
    expect(r.query.get('view')).toBe('BASIC');
    expect(r.headers['authorization']).toBe('Bearer test-token');
  });

  it('findByEventKey: a refused label filter (400 INVALID_ARGUMENT) falls back to the executions started since the first claim, matched by label here', async () => {
    expect.hasAssertions();
    const label = labels['event']!;
    answer = (r) => {
      if (labelFilter(r)) return googleError(400, 'INVALID_ARGUMENT', 'invalid filter');
      if (!r.query.has('pageToken'))
        return {
          status: 200,
          body: {
            executions: [{ name: `${PARENT}/executions/other`, startTime: '2026-11-02T09:00:00Z', labels: { event: 'another-event' } }],
            nextPageToken: 'page-2',
          },
        };
      return {
        status: 200,
        body: {
          executions: [
            { name: `${PARENT}/executions/newer`, startTime: '2026-11-02T08:05:00Z', labels: { app: 'bootwarden', event: label } },
            { name: `${PARENT}/executions/older`, startTime: '2026-11-02T08:00:00Z', labels: { app: 'bootwarden', event: label } },
          ],
        },
      };
    };
    expect(await starter().findByEventKey(label, SINCE)).toEqual({ name: `${PARENT}/executions/newer` });
    // The window opens 10 minutes before the first claim, for clock skew.
    const window = 'startTime>="2026-11-02T07:54:59.123Z"';
    expect(received.map((r) => [r.query.get('filter'), r.query.get('view'), r.query.get('pageToken')])).toEqual([
      [`labels.event="${label}"`, 'BASIC', null],
      [window, 'FULL', null],
      [window, 'FULL', 'page-2'],
    ]);
  });

  it("findByEventKey: the fallback reads every page of the window, so a burst of newer executions cannot hide the event's", async () => {
    expect.hasAssertions();
    const label = labels['event']!;
    // 1,200 executions started after the event's, 100 a page: the event's own is on page 13.
    answer = (r) => {
      if (labelFilter(r)) return googleError(400, 'INVALID_ARGUMENT', 'invalid filter');
      const page = Number(r.query.get('pageToken') ?? '0');
      const executions =
        page < 12
          ? Array.from({ length: 100 }, (_, i) => ({ name: `${PARENT}/executions/n${page * 100 + i}`, labels: { event: `other-${i}` } }))
          : [{ name: `${PARENT}/executions/mine`, startTime: '2026-11-02T08:05:00Z', labels: { event: label } }];
      return { status: 200, body: { executions, ...(page < 12 ? { nextPageToken: String(page + 1) } : {}) } };
    };
    expect(await starter().findByEventKey(label, SINCE)).toEqual({ name: `${PARENT}/executions/mine` });
    expect(received).toHaveLength(14);
  });

  it('findByEventKey: an unreadable first-claim time widens the fallback to the newest executions instead of failing', async () => {
    expect.hasAssertions();
    const label = labels['event']!;
    answer = (r) =>
      labelFilter(r)
        ? googleError(400, 'INVALID_ARGUMENT', 'invalid filter')
        : { status: 200, body: { executions: [{ name: `${PARENT}/executions/mine`, labels: { event: label } }] } };
    expect(await starter().findByEventKey(label, 'not a time')).toEqual({ name: `${PARENT}/executions/mine` });
    expect(received[1]?.query.has('filter')).toBe(false);
  });

  it('findByEventKey: the fallback finds nothing for an event no execution carries, and stops at the last page', async () => {
    expect.hasAssertions();
    answer = (r) =>
      labelFilter(r)
        ? googleError(400, 'INVALID_ARGUMENT', 'invalid filter')
        : { status: 200, body: { executions: [{ name: `${PARENT}/executions/x`, labels: { event: 'another-event' } }] } };
    expect(await starter().findByEventKey(labels['event']!, SINCE)).toBeNull();
    expect(received).toHaveLength(2);
  });

  it('findByEventKey: null when no execution carries the label', async () => {
    answer = () => ({ status: 200, body: {} });
    expect(await starter().findByEventKey(labels['event']!, SINCE)).toBeNull();
  });

  it('findByEventKey: HTTP 503 is retryable, HTTP 403 permanent', async () => {
    answer = () => googleError(503, 'UNAVAILABLE', 'try later');
    const down = await failure(starter().findByEventKey('abc', SINCE));
    expect(down.retryable).toBe(true);
    expect(down.message).toContain('looking up the execution of integrity-response for event abc');
    answer = () => googleError(403, 'PERMISSION_DENIED', 'denied');
    const denied = await failure(starter().findByEventKey('abc', SINCE));
    expect(denied.retryable).toBe(false);
    expect(denied.message).toContain('workflows.executions.list');
  });
});

describe('WorkflowsExecutionStarter error mapping (gRPC transport codes)', () => {
  function throwing(code: number): WorkflowsExecutionStarter {
    const fail = (): Promise<never> => Promise.reject(Object.assign(new Error(`${code} STATUS: details`), { code }));
    const client: ExecutionsApi = { createExecution: fail, listExecutions: fail };
    return new WorkflowsExecutionStarter({ project: 'p', location: 'l', workflow: 'w', clientFactory: () => client });
  }

  it.each([1, 2, 4, 8, 10, 13, 14])('gRPC code %i is retryable', async (code) => {
    const e = await failure(throwing(code).start(arg, labels));
    expect([e.code, e.retryable]).toEqual(['store_unavailable', true]);
    expect(e.message).toBe(`Workflows unavailable while starting execution of w for event ${arg.eventKey}: ${code} STATUS: details`);
  });

  it.each([3, 5, 7, 9, 16])('gRPC code %i is permanent (config_invalid)', async (code) => {
    const e = await failure(throwing(code).start(arg, labels));
    expect([e.code, e.retryable]).toEqual(['config_invalid', false]);
    expect(e.message).toContain('check ');
  });

  it('a client that cannot be created is retried on the next call', async () => {
    let attempts = 0;
    const s = new WorkflowsExecutionStarter({
      project: 'p',
      location: 'l',
      workflow: 'w',
      clientFactory: () => {
        attempts++;
        if (attempts === 1) throw new Error('boom');
        return realClient();
      },
    });
    expect((await failure(s.start(arg, labels))).retryable).toBe(true);
    answer = () => ({ status: 200, body: { name: 'projects/p/locations/l/workflows/w/executions/1' } });
    expect(await s.start(arg, labels)).toEqual({ name: 'projects/p/locations/l/workflows/w/executions/1' });
    expect(attempts).toBe(2);
  });

  it('refuses a malformed resource id at construction', () => {
    expect(() => new WorkflowsExecutionStarter({ project: 'p', location: 'l', workflow: 'w/../x' })).toThrow(BootwardenError);
  });
});

describe('importing the Workflows adapter', () => {
  it('does not load @google-cloud/workflows (nor google-gax) until an execution is started', () => {
    // A fresh Node process (tsx compiles the TypeScript) imports the adapter, then counts the
    // modules of the SDK in the CommonJS module cache: @google-cloud/workflows and google-gax are
    // CommonJS, so even when reached through `import` they land in that cache. The probe then
    // imports the SDK itself, which shows that the count does see a loaded SDK.
    const probe = `
      import { createRequire } from 'node:module';
      const cache = createRequire(process.cwd() + '/').cache;
      const sdk = () => Object.keys(cache).filter((k) => /[\\\\/]node_modules[\\\\/](@google-cloud[\\\\/]workflows|google-gax)[\\\\/]/.test(k)).length;
      let t = performance.now();
      await import('./adapters/gcp/workflows-execution-starter.ts');
      const adapterMs = performance.now() - t;
      const afterAdapter = sdk();
      t = performance.now();
      await import('@google-cloud/workflows');
      console.log(JSON.stringify({ afterAdapter, afterSdk: sdk(), adapterMs, sdkMs: performance.now() - t }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
    });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result.afterAdapter).toBe(0);
    expect(result.afterSdk).toBeGreaterThan(0);
  });
});
