/**
 * The local engine's executions API (start, get, list, cancel, persistence) and callbacks through
 * real YAML over real HTTP. Executions API resource:
 * https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineError, readExecutions } from '../../src/executions.js';
import { loadLocalWorkflowText } from '../../src/emulator.js';
import { systemClock } from '../../src/run/runtime.js';
import { toPlain } from '../../src/run/values.js';
import { InstantClock, outcomeOf, runText, useEngine } from '../support/runs.js';

const CALLBACK_WORKFLOW = [
  'main:',
  '  params: [args]',
  '  steps:',
  '    - create:',
  '        call: events.create_callback_endpoint',
  '        args:',
  '          http_callback_method: POST',
  '        result: cb',
  '    - publish:',
  '        call: sys.log',
  '        args:',
  '          json: ${cb}',
  '    - wait:',
  '        call: events.await_callback',
  '        args:',
  '          callback: ${cb}',
  '          timeout: ${args.timeout}',
  '        result: got',
  '    - done:',
  '        return: ${got.http_request.body}',
  '',
].join('\n');

describe('executions API', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootwarden-engine-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const engine = useEngine({ directory: dir, clock: systemClock });

  it('refuses an argument that is not JSON or larger than 32 KB, naming the problem', async () => {
    const local = await engine();
    local.engine.deploy('args', loadLocalWorkflowText('- r:\n    return: 1\n', 'a.yaml'));
    expect(() => local.engine.startExecution('args', { argument: '{nope' })).toThrow(/not valid JSON/);
    expect(() => local.engine.startExecution('args', { argument: JSON.stringify({ x: 'y'.repeat(33 * 1024) }) })).toThrow(/at most 32768/);
    expect(() => local.engine.startExecution('missing')).toThrow(EngineError);
    expect(() => local.engine.startExecution('args', { labels: { Bad: 'x' } })).toThrow(/label/);
  });

  it('keeps argument, result, labels, times and the steps taken, and writes them for history', async () => {
    const local = await engine();
    local.engine.deploy(
      'persist',
      loadLocalWorkflowText('main:\n  params: [args]\n  steps:\n    - r:\n        return: ${args.n * 2}\n', 'p.yaml'),
    );
    const started = local.engine.startExecution('persist', { argument: '{"n": 21}', labels: { app: 'bootwarden', event: 'e1' } });
    expect(started.state).toBe('ACTIVE');
    expect(started.name).toMatch(/^projects\/local-project\/locations\/us-central1\/workflows\/persist\/executions\/[0-9a-f-]{36}$/);
    const done = await local.engine.wait(started.name);
    expect(done).toMatchObject({ state: 'SUCCEEDED', result: '42', argument: '{"n": 21}', labels: { app: 'bootwarden', event: 'e1' } });
    expect(done.steps.map((s) => s.step)).toEqual(['r']);
    expect(Date.parse(done.endTime as string)).toBeGreaterThanOrEqual(Date.parse(done.startTime));
    const onDisk = await readExecutions(dir);
    expect(onDisk.find((r) => r.name === started.name)).toMatchObject({ state: 'SUCCEEDED', result: '42' });
    expect(local.engine.listExecutions({ labels: { event: 'e1' } }).map((r) => r.name)).toEqual([started.name]);
    expect(local.engine.listExecutions({ labels: { event: 'other' } })).toEqual([]);
  });

  it('reports a failure with the documented error shape: payload, and the step and line in context', async () => {
    const local = await engine();
    const out = await runText(local, '- a:\n    assign:\n      - x: 1\n- b:\n    raise:\n      code: 7\n      message: broken\n');
    expect(out.state).toBe('FAILED');
    expect(out.error).toEqual({ code: 7, message: 'broken' });
    expect(out.record.error?.context).toMatch(/step "b".*line: 4/);
    expect(out.record.error?.stackTrace.elements[0]).toMatchObject({ step: 'b', routine: 'main', position: { line: 4 } });
  });

  it('cancels a waiting execution', async () => {
    const local = await engine();
    local.engine.deploy('cancel-me', loadLocalWorkflowText(CALLBACK_WORKFLOW, 'c.yaml'));
    const started = local.engine.startExecution('cancel-me', { argument: '{"timeout": 3600}' });
    await local.engine.reached(started.name, 'wait');
    local.engine.cancel(started.name);
    const done = await local.engine.wait(started.name);
    expect(done.state).toBe('CANCELLED');
    expect(() => local.engine.cancel(started.name)).toThrow(/already ended/);
  });

  it('reached: resolves when the execution enters the step, rejects when it ends without it', async () => {
    const local = await engine();
    local.engine.deploy('reach', loadLocalWorkflowText(CALLBACK_WORKFLOW, 'r.yaml'));
    const started = local.engine.startExecution('reach', { argument: '{"timeout": 3600}' });
    const neverReached = expect(local.engine.reached(started.name, 'no_such_step')).rejects.toThrow(
      `execution ${started.name} ended (CANCELLED) before step 'no_such_step'`,
    );
    await local.engine.reached(started.name, 'wait');
    expect(local.engine.getExecution(started.name).currentStep?.step).toBe('wait');
    await expect(local.engine.reached(started.name, 'wait')).resolves.toBeUndefined();
    local.engine.cancel(started.name);
    await local.engine.wait(started.name);
    await neverReached;
    await expect(local.engine.reached(started.name, 'wait')).rejects.toThrow(/has already ended \(CANCELLED\)/);
    await expect(local.engine.reached('projects/p/locations/l/workflows/reach/executions/nope', 'wait')).rejects.toThrow(/no execution/);
  });
});

describe('callbacks through the workflow (https://cloud.google.com/workflows/docs/creating-callback-endpoints)', () => {
  const engine = useEngine({ clock: systemClock });

  it('a POST with a token reaches the waiting execution as http_request', async () => {
    const local = await engine();
    local.engine.deploy('callback', loadLocalWorkflowText(CALLBACK_WORKFLOW, 'cb.yaml'));
    const started = local.engine.startExecution('callback', { argument: '{"timeout": 60}' });
    await local.engine.reached(started.name, 'wait');
    const log = local.engine.getExecution(started.name).logs[0];
    const url = (toPlain(log?.payload ?? null) as { url: string }).url;
    const token = await local.tokens.token('OAuth2', 'https://www.googleapis.com/auth/cloud-platform');
    const unauthenticated = await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(unauthenticated.status).toBe(401);
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ decision: 'approve' }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const out = outcomeOf(await local.engine.wait(started.name));
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toEqual({ decision: 'approve' });
  });
});

describe('callback timeout', () => {
  const clock = new InstantClock();
  const engine = useEngine({ clock });
  it('raises TimeoutError after the timeout (https://cloud.google.com/workflows/docs/reference/stdlib/events/await_callback)', async () => {
    const out = await runText(await engine(), CALLBACK_WORKFLOW, { argument: { timeout: 1 } });
    expect(out.state).toBe('FAILED');
    expect(out.error?.tags).toContain('TimeoutError');
    expect(clock.deadlines).toEqual([1000]);
    expect(out.record.error?.context).toMatch(/step "wait"/);
  });
});
