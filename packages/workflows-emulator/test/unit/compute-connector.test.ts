/**
 * The Compute connector methods of the local engine against the recording fake: what the fake
 * recorded, what the workflow gets back, which errors it sees, how many polls were billed.
 * Docs: https://cloud.google.com/workflows/docs/connectors (retries, long-running operations),
 * https://cloud.google.com/workflows/docs/reference/googleapis (connector_params),
 * https://cloud.google.com/workflows/docs/reference/googleapis/compute/v1/Overview (methods),
 * https://cloud.google.com/workflows/docs/reference/syntax/error-types (error maps).
 */
import { describe, expect, it } from 'vitest';
import { RecordingComputeFleet } from '../../src/testing/recording-fleet.js';
import { connectorTable } from '../../src/connectors/index.js';
import type { ConnectorMethod } from '../../src/run/runtime.js';
import { InstantClock } from '../support/runs.js';
import { executionInfo, fakeContext as sharedContext, raised } from '../support/context.js';
import { fromPlain, toPlain, type WfMap } from '../../src/run/values.js';

const P = 'proj-1';
const Z = 'europe-west1-b';
const REQUEST_ID = '3f0e4b8e-6a4e-4c1e-9a59-0d6c2f1f7a10';

/** A CallContext whose clock only moves when something sleeps (instantly), recording sleeps and billed polls. */
function fakeContext() {
  const clock = new InstantClock(Date.parse('2026-11-29T10:00:00Z'));
  const { ctx, steps } = sharedContext({ clock, execution: executionInfo('exec-1') });
  return { ctx, sleeps: clock.sleeps, steps, now: () => clock.now() };
}

function setup(options: { pollsUntilDone?: number } = {}) {
  const c = fakeContext();
  const fleet = new RecordingComputeFleet({ now: c.now, ...options });
  const vm = fleet.addInstance({ project: P, zone: Z, name: 'vm-1', labels: { env: 'prod' } });
  const stopped = fleet.addInstance({ project: P, zone: Z, name: 'vm-2', status: 'TERMINATED' });
  const table = connectorTable({ instances: fleet });
  const connector = (method: string): ConnectorMethod => {
    const m = table.get(`googleapis.compute.v1.instances.${method}`);
    if (m === undefined) throw new Error(`no connector ${method}`);
    return m;
  };
  const call = (method: string, args: Record<string, unknown>) => connector(method).call(fromPlain(args) as WfMap, c.ctx);
  return { ...c, fleet, vm, stopped, call };
}

/** The error map a call raised, as plain data. */
async function failure(p: Promise<unknown>): Promise<any> {
  return toPlain(await raised(p));
}

const target = { project: P, zone: Z, instance: 'vm-1' };

interface ListAnswer {
  kind: string;
  items?: { name: string }[];
  nextPageToken?: string;
}
const names = (list: ListAnswer): string[] => (list.items ?? []).map((i) => i.name);

describe('googleapis.compute.v1.instances.get / list', () => {
  it('returns the instance by name (ids stay strings beyond 2^53)', async () => {
    const s = setup();
    const byName = toPlain(await s.call('get', target)) as any;
    expect(byName).toMatchObject({ kind: 'compute#instance', name: 'vm-1', id: s.vm.id, status: 'RUNNING', labels: { env: 'prod' } });
    expect(byName.zone).toBe(`https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}`);
    expect(BigInt(s.vm.id) > 2n ** 53n).toBe(true);
    expect(s.fleet.calls.map((c) => [c.method, c.target, c.outcome])).toEqual([['get', 'vm-1', 'ok']]);
    expect(s.steps).toEqual([]);
  });

  it.each(['get', 'stop', 'start'])(
    'refuses a numeric id for %s, whose reference says "Name of the instance resource" (strict: ids there are undocumented)',
    async (method) => {
      const s = setup();
      const e = await failure(s.call(method, { ...target, instance: s.vm.id }));
      expect(e.tags).toEqual(['UndocumentedError']);
      expect(e.message).toMatch(/numeric id.*instances\.list/);
      expect(s.fleet.calls).toEqual([]);
    },
  );

  it('accepts a numeric id for setShieldedInstanceIntegrityPolicy, whose reference says "Name or id"', async () => {
    const s = setup();
    await s.call('setShieldedInstanceIntegrityPolicy', {
      ...target,
      instance: s.vm.id,
      requestId: REQUEST_ID,
      body: { updateAutoLearnPolicy: true },
    });
    expect(s.fleet.callsTo('setShieldedInstanceIntegrityPolicy').map((c) => c.target)).toEqual([s.vm.id]);
  });

  it('raises HttpError 404 with the Compute error body for an unknown instance, without retrying', async () => {
    const s = setup();
    const e = await failure(s.call('get', { ...target, instance: 'nope' }));
    expect(e).toMatchObject({
      tags: ['HttpError'],
      code: 404,
      message: 'HTTP server responded with error code 404',
      body: { error: { code: 404, errors: [{ reason: 'notFound', domain: 'global' }] } },
      headers: { 'Content-Type': 'application/json; charset=UTF-8' },
    });
    expect(e.body.error.message).toContain('instances/nope');
    expect(s.fleet.callsTo('get')).toHaveLength(1);
  });

  it('lists with a filter and pages with maxResults / pageToken', async () => {
    const s = setup();
    s.fleet.addInstance({ project: P, zone: Z, name: 'vm-3' });
    const running = toPlain(await s.call('list', { project: P, zone: Z, filter: 'status = RUNNING' })) as ListAnswer;
    expect(names(running)).toEqual(['vm-1', 'vm-3']);
    const page1 = toPlain(await s.call('list', { project: P, zone: Z, maxResults: 2 })) as ListAnswer;
    expect(names(page1)).toHaveLength(2);
    const page2 = toPlain(await s.call('list', { project: P, zone: Z, maxResults: 2, pageToken: page1.nextPageToken })) as ListAnswer;
    expect(names(page2)).toEqual(['vm-3']);
    expect(page2.nextPageToken).toBeUndefined();
    const none = toPlain(await s.call('list', { project: P, zone: Z, filter: 'labels.env = staging' })) as ListAnswer;
    expect(none).toMatchObject({ kind: 'compute#instanceList' });
    expect(none.items).toBeUndefined();
    expect(s.fleet.callsTo('list')[1]?.options).toEqual({ maxResults: 2 });
  });

  it('retries a 502 on GET (idempotent policy) and returns the instance', async () => {
    const s = setup();
    s.fleet.failNext('get', 502, 2);
    expect(toPlain(await s.call('get', target))).toMatchObject({ name: 'vm-1' });
    expect(s.fleet.callsTo('get').map((c) => c.outcome)).toEqual([{ status: 502 }, { status: 502 }, 'ok']);
    expect(s.sleeps).toEqual([1000, 1250]);
  });
});

describe('long-running operations: stop, start, setShieldedInstanceIntegrityPolicy', () => {
  it('waits for the operation to be DONE, billing one internal step per poll, and returns it', async () => {
    const s = setup({ pollsUntilDone: 3 });
    const op = toPlain(await s.call('stop', { ...target, requestId: REQUEST_ID })) as any;
    expect(op).toMatchObject({
      kind: 'compute#operation',
      status: 'DONE',
      operationType: 'stop',
      targetId: s.vm.id,
      clientOperationId: REQUEST_ID,
    });
    expect(s.steps).toEqual(['internal', 'internal', 'internal']);
    // Polling policy by default: 1 s, then x1.25 (https://cloud.google.com/workflows/docs/connectors#long-running_operations).
    expect(s.sleeps).toEqual([1000, 1250, 1562.5]);
    expect(s.fleet.calls.map((c) => c.method)).toEqual(['stop', 'getOperation', 'getOperation', 'getOperation']);
    expect(s.fleet.calls[0]).toMatchObject({ target: 'vm-1', requestId: REQUEST_ID, outcome: 'ok', operation: op.name });
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('TERMINATED');
  });

  it('polls by connector_params.polling_policy and returns at once with skip_polling', async () => {
    const s = setup({ pollsUntilDone: 3 });
    await s.call('start', {
      project: P,
      zone: Z,
      instance: 'vm-2',
      connector_params: { polling_policy: { initial_delay: 2, multiplier: 2, max_delay: 3 } },
    });
    expect(s.sleeps).toEqual([2000, 3000, 3000]);
    expect(s.fleet.peek(P, Z, 'vm-2')?.status).toBe('RUNNING');

    const t = setup({ pollsUntilDone: 3 });
    const op = toPlain(await t.call('stop', { ...target, connector_params: { skip_polling: true } })) as any;
    expect(op.status).toBe('PENDING');
    expect(t.steps).toEqual([]);
    expect(t.fleet.callsTo('getOperation')).toHaveLength(0);
    // Unpolled, the stop is still under way: the instance is STOPPING, and a start of it is refused.
    expect(t.fleet.peek(P, Z, 'vm-1')?.status).toBe('STOPPING');
    expect(await failure(t.call('start', target))).toMatchObject({ code: 400, tags: ['HttpError'] });
    expect(t.fleet.calls.at(-1)).toMatchObject({ method: 'start', outcome: { status: 400 } });
  });

  it('does not poll an operation that is DONE in its first answer', async () => {
    const s = setup({ pollsUntilDone: 0 });
    expect(toPlain(await s.call('stop', target))).toMatchObject({ status: 'DONE' });
    expect(s.steps).toEqual([]);
  });

  it('retries 503 twice (non-idempotent policy) and stops the VM once', async () => {
    const s = setup();
    s.fleet.failNext('stop', 503, 2);
    const op = toPlain(await s.call('stop', { ...target, requestId: REQUEST_ID })) as any;
    expect(op.status).toBe('DONE');
    expect(s.fleet.callsTo('stop').map((c) => c.outcome)).toEqual([{ status: 503 }, { status: 503 }, 'ok']);
    expect(s.fleet.callsTo('stop').every((c) => c.requestId === REQUEST_ID)).toBe(true);
    expect(s.sleeps.slice(0, 2)).toEqual([1000, 1250]); // retry.default_backoff, then the first poll
  });

  it('gives up on 429 after 5 retries and raises HttpError 429', async () => {
    const s = setup();
    s.fleet.failAlways('stop', 429);
    const e = await failure(s.call('stop', target));
    expect(e).toMatchObject({ tags: ['HttpError'], code: 429 });
    expect(s.fleet.callsTo('stop')).toHaveLength(6);
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('RUNNING');
  });

  it.each([
    { status: 502, why: '502 is retried only for GET' },
    { status: 403, why: 'a permanent refusal' },
    { status: 409, why: 'a conflict' },
  ])('raises HttpError $status on stop at once ($why)', async ({ status }) => {
    const s = setup();
    s.fleet.failAlways('stop', status);
    const e = await failure(s.call('stop', target));
    expect(e).toMatchObject({ tags: ['HttpError'], code: status, body: { error: { code: status } } });
    expect(s.fleet.callsTo('stop')).toHaveLength(1);
    expect(s.sleeps).toEqual([]);
  });

  it('a lost answer retried with the same requestId yields the first operation and no second effect', async () => {
    const s = setup();
    s.fleet.failNext('setShieldedInstanceIntegrityPolicy', 503, 1, { afterEffect: true });
    const op = toPlain(
      await s.call('setShieldedInstanceIntegrityPolicy', { ...target, requestId: REQUEST_ID, body: { updateAutoLearnPolicy: true } }),
    ) as any;
    const calls = s.fleet.callsTo('setShieldedInstanceIntegrityPolicy');
    expect(calls.map((c) => c.outcome)).toEqual([{ status: 503 }, 'deduplicated']);
    expect(calls[0]?.operation).toBe(op.name);
    expect(calls[1]?.body).toEqual({ updateAutoLearnPolicy: true });
    expect(s.fleet.relearnCount(P, Z, 'vm-1')).toBe(1);

    // The same requestId in a later call (a replayed execution): same operation, still one relearn.
    const again = toPlain(
      await s.call('setShieldedInstanceIntegrityPolicy', { ...target, requestId: REQUEST_ID, body: { updateAutoLearnPolicy: true } }),
    ) as any;
    expect(again.name).toBe(op.name);
    expect(s.fleet.relearnCount(P, Z, 'vm-1')).toBe(1);
  });

  it('relearns only a RUNNING instance; otherwise HttpError 400 and nothing changes', async () => {
    const s = setup();
    const e = await failure(
      s.call('setShieldedInstanceIntegrityPolicy', { ...target, instance: 'vm-2', body: { updateAutoLearnPolicy: true } }),
    );
    expect(e).toMatchObject({ tags: ['HttpError'], code: 400, body: { error: { errors: [{ reason: 'invalidResourceUsage' }] } } });
    expect(s.fleet.relearnCount(P, Z, 'vm-2')).toBe(0);
    await s.call('setShieldedInstanceIntegrityPolicy', { ...target, body: { updateAutoLearnPolicy: true } });
    expect(s.fleet.relearnCount(P, Z, 'vm-1')).toBe(1);
    expect(s.fleet.peek(P, Z, 'vm-1')?.shieldedInstanceIntegrityPolicy).toEqual({ updateAutoLearnPolicy: true });
  });

  it('raises OperationError with the failed operation when it ends with an error', async () => {
    const s = setup({ pollsUntilDone: 2 });
    s.fleet.failNextOperation('stop', { code: 'RESOURCE_OPERATION_RATE_EXCEEDED', message: 'Operation rate exceeded' });
    const e = await failure(s.call('stop', target));
    expect(e.tags).toEqual(['OperationError']);
    expect(e.message).toContain('Operation rate exceeded');
    expect(e.operation).toMatchObject({
      status: 'DONE',
      operationType: 'stop',
      error: { errors: [{ code: 'RESOURCE_OPERATION_RATE_EXCEEDED' }] },
    });
    expect(e.error).toEqual(e.operation.error);
    expect(s.steps).toHaveLength(2);
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('RUNNING');
  });

  it('raises TimeoutError when the operation is not DONE within connector_params.timeout', async () => {
    const s = setup({ pollsUntilDone: 1000 });
    const e = await failure(s.call('stop', { ...target, connector_params: { timeout: 5 } }));
    expect(e.tags).toEqual(['TimeoutError']);
    expect(s.sleeps.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(s.steps.length).toBe(s.fleet.callsTo('getOperation').length);
  });

  it('retries a failed poll (idempotent policy) and bills each poll request', async () => {
    const s = setup({ pollsUntilDone: 1 });
    s.fleet.failNext('getOperation', 503, 1);
    expect(toPlain(await s.call('stop', target))).toMatchObject({ status: 'DONE' });
    expect(s.fleet.callsTo('getOperation').map((c) => c.outcome)).toEqual([{ status: 503 }, 'ok']);
    expect(s.steps).toEqual(['internal', 'internal']);
  });

  it('rejects a requestId that is not a UUID with HttpError 400, as Compute does', async () => {
    const s = setup();
    const e = await failure(s.call('stop', { ...target, requestId: 'event-123' }));
    expect(e).toMatchObject({ tags: ['HttpError'], code: 400 });
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('RUNNING');
  });
});

describe('suspend and resume', () => {
  // https://cloud.google.com/workflows/docs/reference/googleapis/compute/v1/instances/suspend,
  // https://cloud.google.com/workflows/docs/reference/googleapis/compute/v1/instances/resume,
  // https://cloud.google.com/compute/docs/reference/rest/v1/instances/start ("Starts an instance
  // that was stopped using the instances().stop method").
  it('suspend waits for SUSPENDED; start of a SUSPENDED instance raises HttpError 400; resume makes it RUNNING', async () => {
    const s = setup();
    const suspended = toPlain(await s.call('suspend', { ...target, requestId: REQUEST_ID, discardLocalSsd: false })) as any;
    expect(suspended).toMatchObject({ operationType: 'suspend', status: 'DONE', clientOperationId: REQUEST_ID });
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('SUSPENDED');
    const e = await failure(s.call('start', target));
    expect(e.tags).toEqual(['HttpError']);
    expect(e.code).toBe(400);
    expect(e.body.error.errors[0]).toMatchObject({ domain: 'global', reason: 'invalidResourceUsage' });
    expect(e.body.error.message).toMatch(/SUSPENDED: a suspended instance is resumed with instances\.resume/);
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('SUSPENDED');
    await s.call('resume', target);
    expect(s.fleet.peek(P, Z, 'vm-1')?.status).toBe('RUNNING');
    expect(s.fleet.calls.map((c) => `${c.method}:${JSON.stringify(c.outcome)}`)).toEqual([
      'suspend:"ok"',
      'getOperation:"ok"',
      'start:{"status":400}',
      'resume:"ok"',
      'getOperation:"ok"',
    ]);
    expect(s.fleet.callsTo('suspend')[0]?.options).toEqual({ discardLocalSsd: false });
  });

  it('suspend of a TERMINATED instance raises HttpError 400 and changes nothing', async () => {
    const s = setup();
    const e = await failure(s.call('suspend', { ...target, instance: 'vm-2' }));
    expect(e.code).toBe(400);
    expect(e.body.error.message).toMatch(/can only be suspended while it is RUNNING/);
    expect(s.fleet.peek(P, Z, 'vm-2')?.status).toBe('TERMINATED');
  });
});

describe('arguments and connector_params', () => {
  it.each([
    { args: { project: P, zone: Z }, tag: 'TypeError', why: 'missing instance' },
    { args: { ...target, project: 42 }, tag: 'TypeError', why: 'project not a string' },
    { args: { ...target, connector_params: { skip_polling: 'yes' } }, tag: 'TypeError', why: 'skip_polling not a boolean' },
    { args: { ...target, connector_params: { timeout: -1 } }, tag: 'ValueError', why: 'negative timeout' },
    { args: { ...target, connector_params: { timeout: 31536001 } }, tag: 'ValueError', why: 'timeout above one year' },
    { args: { ...target, connector_params: { polling: {} } }, tag: 'ValueError', why: 'unknown connector_params key' },
  ])('raises $tag for $why, before any request', async ({ args, tag }) => {
    const s = setup();
    const e = await failure(s.call('stop', args));
    expect(e.tags).toEqual([tag]);
    expect(s.fleet.calls).toEqual([]);
  });

  it('needs a body for setShieldedInstanceIntegrityPolicy and rejects unknown policy fields with 400', async () => {
    const s = setup();
    expect((await failure(s.call('setShieldedInstanceIntegrityPolicy', target))).tags).toEqual(['TypeError']);
    expect(await failure(s.call('setShieldedInstanceIntegrityPolicy', { ...target, body: { relearn: true } }))).toMatchObject({
      code: 400,
    });
    expect(s.fleet.calls).toEqual([]);
  });

  it('passes stop options through and accepts scopes', async () => {
    const s = setup();
    await s.call('stop', { ...target, discardLocalSsd: true, connector_params: { scopes: ['https://www.googleapis.com/auth/compute'] } });
    expect(s.fleet.callsTo('stop')[0]?.options).toEqual({ discardLocalSsd: true });
  });
});

describe('connectorTable without backends', () => {
  it('still has every connector (a YAML using them loads) and raises ConnectionError naming it', async () => {
    const table = connectorTable({});
    const names = [...table.keys()];
    for (const m of ['get', 'list', 'start', 'stop', 'setShieldedInstanceIntegrityPolicy']) {
      expect(names).toContain(`googleapis.compute.v1.instances.${m}`);
    }
    for (const m of ['get', 'createDocument', 'patch', 'delete']) {
      expect(names).toContain(`googleapis.firestore.v1.projects.databases.documents.${m}`);
    }
    const { ctx, sleeps } = fakeContext();
    const stop = table.get('googleapis.compute.v1.instances.stop');
    const e = await failure(stop!.call(fromPlain(target) as WfMap, ctx));
    expect(e.tags).toEqual(['ConnectionError']);
    expect(e.message).toContain('googleapis.compute.v1.instances.stop');
    expect(e.message).toContain('simulated fleet');
    const get = table.get('googleapis.firestore.v1.projects.databases.documents.get');
    const f = await failure(get!.call(fromPlain({ name: 'projects/p/databases/(default)/documents/c/d' }) as WfMap, ctx));
    expect(f.tags).toEqual(['ConnectionError']);
    expect(f.message).toContain('Firestore emulator');
    expect(sleeps).toEqual([]);
  });
});
