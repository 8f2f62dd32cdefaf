/**
 * The local engine's Workflow Executions API (packages/workflows-emulator/src/executions-api.ts),
 * driven by the official `@google-cloud/workflows` ExecutionsClient over REST and by the function's
 * adapter (adapters/gcp/workflows-execution-starter.ts), as the local stack's function uses it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLOUD_PLATFORM_SCOPE,
  loadLocalWorkflowText,
  MAX_ARGUMENT_BYTES,
  SkipWaitsClock,
  startLocalEngine,
  type LocalEngine,
} from '@bootwarden/workflows-emulator';
import { localExecutionsClient, WorkflowsExecutionStarter } from '../../adapters/gcp/workflows-execution-starter.js';
import { localClientOptions } from '../../adapters/local/local-api.js';
import { loopbackApiUrl } from '../../core/config.js';
import { MAX_ARGUMENT_BYTES as CORE_MAX_ARGUMENT_BYTES, type ResponseArgument } from '../../core/contracts.js';

const START = Date.parse('2026-11-01T10:00:00Z');
const PARENT = 'projects/demo-bootwarden/locations/us-central1/workflows/integrity-response';
const WAITS = [
  'main:',
  '  params: [args]',
  '  steps:',
  '    - decide:',
  '        switch:',
  '          - condition: ${args.wait}',
  '            steps:',
  '              - wait:',
  '                  call: sys.sleep',
  '                  args: {seconds: 3600}',
  '    - done:',
  '        return: ${args.n}',
].join('\n');

let local: LocalEngine | undefined;
afterEach(async () => {
  await local?.close();
  local = undefined;
});

/** `realWaits`: the engine's waits take their time (an execution stays ACTIVE in its sleep). */
async function engine(realWaits = false): Promise<{ local: LocalEngine; url: string; clock: SkipWaitsClock }> {
  const clock = new SkipWaitsClock(START);
  local = await startLocalEngine({ ...(realWaits ? {} : { clock }), projectId: 'demo-bootwarden' });
  local.engine.deploy('integrity-response', loadLocalWorkflowText(WAITS, 'waits.workflows.yaml'));
  return { local, url: `${local.callbacks.url}/`, clock };
}

async function client(url: string, clock: { now(): number }) {
  const { ExecutionsClient } = await import('@google-cloud/workflows');
  return new ExecutionsClient(
    await localClientOptions(loopbackApiUrl('BOOTWARDEN_WORKFLOWS_API_URL', url, '/'), 'tester@bootwarden.local', () => clock.now()),
  );
}

describe('the Executions API with the official client', () => {
  it('create, get (FULL by default), list (BASIC by default: no labels), cancel', async () => {
    const { local: l, url } = await engine(true);
    const c = await client(url, Date);
    const [created] = await c.createExecution({
      parent: PARENT,
      execution: { argument: JSON.stringify({ n: 1, wait: true }), labels: { event: 'ev-1' }, callLogLevel: 'LOG_ERRORS_ONLY' },
    });
    expect(created.name).toMatch(new RegExp(`^${PARENT}/executions/[0-9a-f-]{36}$`));
    expect(created.labels).toEqual({ event: 'ev-1' });
    expect(created.callLogLevel).toBe('LOG_ERRORS_ONLY');
    await l.engine.reached(created.name ?? '', 'wait');
    const [got] = await c.getExecution({ name: created.name ?? '' });
    expect(got).toMatchObject({ state: 'ACTIVE', argument: JSON.stringify({ n: 1, wait: true }), labels: { event: 'ev-1' } });
    expect(got.status?.currentSteps).toEqual([{ routine: 'main', step: 'wait' }]);
    const [listed] = await c.listExecutions({ parent: PARENT }, { autoPaginate: false });
    expect(listed.map((x) => x.name)).toEqual([created.name]);
    expect(listed[0]?.labels ?? {}).toEqual({});
    const [cancelled] = await c.cancelExecution({ name: created.name ?? '' });
    expect(cancelled.state).toBe('CANCELLED');
    expect(l.engine.getExecution(created.name ?? '').state).toBe('CANCELLED');
    await c.close();
  });

  it('lists newest first, in pages, filtered on state and time; refuses a label filter as undocumented', async () => {
    const { local: l, url, clock } = await engine();
    const c = await client(url, clock);
    const names: string[] = [];
    for (let n = 0; n < 5; n++) {
      const [x] = await c.createExecution({ parent: PARENT, execution: { argument: JSON.stringify({ n, wait: false }) } });
      names.push(x.name ?? '');
      await l.engine.wait(x.name ?? '');
      clock.time += 1000;
    }
    const [first, next] = await c.listExecutions({ parent: PARENT, pageSize: 2 }, { autoPaginate: false });
    expect(first.map((x) => x.name)).toEqual([names[4], names[3]]);
    const [second] = await c.listExecutions({ parent: PARENT, pageSize: 2, pageToken: next?.pageToken ?? '' }, { autoPaginate: false });
    expect(second.map((x) => x.name)).toEqual([names[2], names[1]]);
    const [after] = await c.listExecutions(
      { parent: PARENT, filter: `state="SUCCEEDED" AND startTime>"${new Date(START + 2500).toISOString()}"` },
      { autoPaginate: false },
    );
    expect(after.map((x) => x.name)).toEqual([names[4], names[3]]);
    await expect(c.listExecutions({ parent: PARENT, filter: 'labels.event="ev-1"' }, { autoPaginate: false })).rejects.toThrow(
      /documents no syntax for it; the local Executions API refuses label filters/,
    );
    await expect(c.listExecutions({ parent: PARENT, filter: 'state="DONE"' }, { autoPaginate: false })).rejects.toThrow(
      /not an execution state/,
    );
    // A name an Object has is no state either.
    await expect(c.listExecutions({ parent: PARENT, filter: 'state="constructor"' }, { autoPaginate: false })).rejects.toThrow(
      /not an execution state/,
    );
    await c.close();
  });

  it('refuses an argument over 32 KB, an unknown workflow, another project, and a request without a token', async () => {
    const { url, clock } = await engine();
    const c = await client(url, clock);
    await expect(
      c.createExecution({ parent: PARENT, execution: { argument: JSON.stringify({ pad: 'x'.repeat(33_000) }) } }),
    ).rejects.toMatchObject({
      code: 400,
    });
    await expect(c.createExecution({ parent: PARENT.replace('integrity-response', 'nope'), execution: {} })).rejects.toThrow(
      /not deployed/,
    );
    await expect(c.getExecution({ name: `${PARENT.replace('demo-bootwarden', 'other-project')}/executions/0000` })).rejects.toThrow(
      /the local engine serves project demo-bootwarden/,
    );
    const res = await fetch(`${url}v1/${PARENT}/executions`);
    expect(res.status).toBe(401);
    await c.close();
  });
});

/** A local token for raw requests, and a GET of the API with it. */
async function rawGet(
  url: string,
  clock: { now(): number },
  pathAndQuery: string,
): Promise<{ status: number; text: string; json: unknown }> {
  const options = await localClientOptions(loopbackApiUrl('V', url, '/'), 'tester@bootwarden.local', () => clock.now());
  const token = (await options.authClient.getAccessToken()).token ?? '';
  const res = await fetch(`${url}v1/${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as unknown };
}

describe('the BASIC view and orderBy, as the reference gives them', () => {
  // https://cloud.google.com/workflows/docs/reference/executions/rest/v1/ExecutionView: BASIC
  // "Includes only basic metadata about the execution. The following fields are returned: name,
  // startTime, endTime, duration, state, and workflowRevisionId."
  it('BASIC has workflowRevisionId, the revision the execution ran: a new one per deploy', async () => {
    const { local: l, url, clock } = await engine();
    const c = await client(url, clock);
    const [one] = await c.createExecution({ parent: PARENT, execution: { argument: JSON.stringify({ n: 1, wait: false }) } });
    await l.engine.wait(one.name ?? '');
    l.engine.deploy('integrity-response', loadLocalWorkflowText(WAITS, 'waits.workflows.yaml'));
    const [two] = await c.createExecution({ parent: PARENT, execution: { argument: JSON.stringify({ n: 2, wait: false }) } });
    await l.engine.wait(two.name ?? '');
    const [listed] = await c.listExecutions({ parent: PARENT, view: 'BASIC' }, { autoPaginate: false });
    expect(listed.map((x) => x.workflowRevisionId?.replace(/-[0-9a-f]{3}$/, '-xxx'))).toEqual(['000002-xxx', '000001-xxx']);
    // On the wire: exactly the six fields the reference lists.
    const raw = await rawGet(url, clock, `${PARENT}/executions?view=BASIC`);
    expect((raw.json as { executions: Record<string, unknown>[] }).executions.map((x) => Object.keys(x).sort())).toEqual([
      ['duration', 'endTime', 'name', 'startTime', 'state', 'workflowRevisionId'],
      ['duration', 'endTime', 'name', 'startTime', 'state', 'workflowRevisionId'],
    ]);
    const [full] = await c.getExecution({ name: one.name ?? '' });
    expect(full.workflowRevisionId).toBe(listed[1]?.workflowRevisionId);
    await c.close();
  });

  // https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list:
  // orderBy is a "Comma-separated list of fields ... By default the ordering is based on descending
  // createTime. The following fields are supported for ordering: executionId, state, createTime,
  // startTime, endTime, duration, and workflowRevisionId. For details, see AIP-132."
  // AIP-132 (https://google.aip.dev/132#ordering): ascending by default, " desc" for descending.
  it('orders by each documented field, ascending or desc, and by several; refuses any other with INVALID_ARGUMENT', async () => {
    // The engine's time is the test's; a workflow's sleep lasts until the execution is cancelled.
    const clock = {
      time: START,
      now: () => clock.time,
      sleep: (_ms: number, signal?: AbortSignal) =>
        new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
    };
    const l = await startLocalEngine({ clock, projectId: 'demo-bootwarden' });
    local = l;
    l.engine.deploy('integrity-response', loadLocalWorkflowText(WAITS, 'waits.workflows.yaml'));
    const url = `${l.callbacks.url}/`;
    const c = await client(url, clock);
    // Three executions started a second apart: the first two end (after 3 s and 1 s), the third waits.
    const start = async (wait: boolean): Promise<string> => {
      const [x] = await c.createExecution({ parent: PARENT, execution: { argument: JSON.stringify({ n: 0, wait }) } });
      return x.name ?? '';
    };
    const a = await start(true);
    await l.engine.reached(a, 'wait');
    clock.time += 1000;
    const b = await start(true);
    await l.engine.reached(b, 'wait');
    clock.time += 1000;
    const waiting = await start(true);
    await l.engine.reached(waiting, 'wait');
    clock.time += 1000;
    l.engine.cancel(b);
    await l.engine.wait(b);
    clock.time += 2000;
    l.engine.cancel(a);
    await l.engine.wait(a);
    const order = async (orderBy: string): Promise<string[]> =>
      (await c.listExecutions({ parent: PARENT, orderBy }, { autoPaginate: false }))[0].map((x) => {
        const n = x.name ?? '';
        return n === a ? 'a' : n === b ? 'b' : n === waiting ? 'waiting' : n;
      });
    expect(await order('')).toEqual(['waiting', 'b', 'a']);
    expect(await order('createTime')).toEqual(['a', 'b', 'waiting']);
    expect(await order('startTime desc')).toEqual(['waiting', 'b', 'a']);
    // a ended last (5 s after it started), b after 2 s; the waiting one has no end: first ascending.
    expect(await order('endTime')).toEqual(['waiting', 'b', 'a']);
    expect(await order('duration desc')).toEqual(['a', 'b', 'waiting']);
    // ACTIVE (1) before CANCELLED (4); then the newest first among the cancelled.
    expect(await order('state, startTime desc')).toEqual(['waiting', 'b', 'a']);
    expect(await order(' state desc ,createTime ')).toEqual(['a', 'b', 'waiting']);
    const ids = [a, b, waiting].map((n) => n.slice(n.lastIndexOf('/') + 1)).sort();
    expect((await order('executionId')).map((x) => ({ a, b, waiting })[x as 'a'].split('/').pop())).toEqual(ids);
    expect(await order('workflowRevisionId, createTime')).toEqual(['a', 'b', 'waiting']);
    for (const bad of ['name', 'startTime asc', 'labels', 'constructor', 'createTime desc desc', 'createTime,']) {
      const res = await rawGet(url, clock, `${PARENT}/executions?orderBy=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      expect((res.json as { error: { message: string } }).error.message).toMatch(
        /^orderBy: .* is not an ordering: give a comma-separated list of executionId, state, createTime, startTime, endTime, duration, workflowRevisionId/,
      );
    }
    await c.close();
  });
});

/**
 * Google's system parameters (https://cloud.google.com/apis/docs/system-parameters), as gcloud
 * and other REST clients send them: `alt=json` (gcloud sends it on every call), `prettyPrint`,
 * `fields`, `$.xgafv`, `quotaUser`.
 */
describe('system parameters on the Executions API', () => {
  it('alt=json as gcloud sends it; JSON indented unless prettyPrint=false; error format 2; quotaUser accepted', async () => {
    const { local: l, url, clock } = await engine();
    const started = l.engine.startExecution('integrity-response', { argument: JSON.stringify({ n: 3, wait: false }) });
    await l.engine.wait(started.name);
    const pretty = await rawGet(url, clock, `${PARENT}/executions?alt=json&quotaUser=alice&$.xgafv=2`);
    expect(pretty.status).toBe(200);
    expect(pretty.text.startsWith('{\n  "executions": [\n    {\n      "name": ')).toBe(true);
    const compact = await rawGet(url, clock, `${started.name}?prettyPrint=false&alt=json`);
    expect(compact.text).toBe(JSON.stringify(compact.json));
    expect(compact.json).toMatchObject({ name: started.name, state: 'SUCCEEDED', result: '3' });
    const refused = await rawGet(url, clock, `${PARENT}/executions?alt=proto`);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({
      error: {
        code: 400,
        status: 'INVALID_ARGUMENT',
        message: `Invalid value at 'alt': "proto": the local API answers JSON only (alt=json).`,
      },
    });
    const method = await rawGet(url, clock, `${PARENT}/executions?alt=json&limit=5`);
    expect(method.json).toMatchObject({
      error: {
        code: 400,
        status: 'INVALID_ARGUMENT',
        message: 'Invalid JSON payload received. Unknown name "limit": Cannot bind query parameter.',
      },
    });
  });

  it('fields gives a partial response of the Execution; a name the resource lacks is refused, before a create starts anything', async () => {
    const { local: l, url, clock } = await engine();
    const started = l.engine.startExecution('integrity-response', {
      argument: JSON.stringify({ n: 4, wait: false }),
      labels: { app: 'bw' },
    });
    await l.engine.wait(started.name);
    const list = await rawGet(
      url,
      clock,
      `${PARENT}/executions?view=FULL&fields=${encodeURIComponent('executions(name,labels,error/payload),nextPageToken')}`,
    );
    expect(list.json).toEqual({ executions: [{ name: started.name, labels: { app: 'bw' } }] });
    const one = await rawGet(url, clock, `${started.name}?fields=state,result,stateError`);
    expect(one.json).toEqual({ state: 'SUCCEEDED', result: '4' });
    const bad = await rawGet(url, clock, `${PARENT}/executions?fields=executions/nope`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({
      error: { status: 'INVALID_ARGUMENT', message: 'Invalid field selection executions/nope: the resource has no such field.' },
    });
    const options = await localClientOptions(loopbackApiUrl('V', url, '/'), 'tester@bootwarden.local', () => clock.now());
    const token = (await options.authClient.getAccessToken()).token ?? '';
    const before = l.engine.listExecutions({}).length;
    const create = await fetch(`${url}v1/${PARENT}/executions?fields=nope`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ argument: JSON.stringify({ n: 5, wait: false }) }),
    });
    expect(create.status).toBe(400);
    expect(l.engine.listExecutions({}).length).toBe(before);
  });
});

describe("the function's adapter against the local Executions API", () => {
  it('starts with labels, finds by event label through the FULL-view scan, and lists recent executions', async () => {
    const { url, clock } = await engine();
    const starter = new WorkflowsExecutionStarter({
      project: 'demo-bootwarden',
      location: 'us-central1',
      workflow: 'integrity-response',
      clientFactory: localExecutionsClient(url, () => clock.now()),
    });
    const argument = { n: 7, wait: false } as unknown as ResponseArgument;
    const claimed = new Date(clock.now()).toISOString();
    const started = await starter.start(argument, { app: 'bootwarden', event: 'ev-7', action: 'stop' });
    expect(await starter.findByEventKey('ev-7', claimed)).toEqual(started);
    expect(await starter.findByEventKey('ev-8', claimed)).toBeNull();
    // Started 10 minutes and more before the claim: outside the window (clock skew allowed for).
    expect(await starter.findByEventKey('ev-7', new Date(clock.now() + 600_001).toISOString())).toBeNull();
    const recent = await starter.recent({ action: 'stop' }, 10);
    expect(recent.map((r) => r.name)).toEqual([started.name]);
    expect(recent[0]?.labels).toMatchObject({ event: 'ev-7' });
  });

  it('tokens are checked on the simulated clock: one minted an hour before is refused as expired', async () => {
    const { url, clock } = await engine();
    const stale = await localClientOptions(loopbackApiUrl('V', url, '/'), 'x@bootwarden.local', () => clock.now() - 3_601_000);
    const token = (await stale.authClient.getAccessToken()).token ?? '';
    const res = await fetch(`${url}v1/${PARENT}/executions`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/expired/);
    expect(CLOUD_PLATFORM_SCOPE).toMatch(/cloud-platform$/);
  });
});

describe('limits shared with the emulator', () => {
  it('core refuses an argument at the same size as the engine (Cloud Workflows: 32 KB)', () => {
    expect(CORE_MAX_ARGUMENT_BYTES).toBe(32_768);
    expect(MAX_ARGUMENT_BYTES).toBe(CORE_MAX_ARGUMENT_BYTES);
  });
});
