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
