/**
 * The core ExecutionStarter port on the local Workflows engine (devstack/engine-execution-starter.ts):
 * what `npm start` and `npm run function` start executions with.
 */
import { describe, expect, it } from 'vitest';
import { loadLocalWorkflowText, MAX_ARGUMENT_BYTES } from '@bootwarden/workflows-emulator';
import { MAX_ARGUMENT_BYTES as CORE_MAX_ARGUMENT_BYTES } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import { EngineExecutionStarter } from '../../devstack/engine-execution-starter.js';
import { InstantClock, useEngine } from '../../packages/workflows-emulator/test/support/runs.js';

describe('EngineExecutionStarter', () => {
  const engine = useEngine({ clock: new InstantClock() });

  it('the ExecutionStarter port starts the deployed YAML and finds an execution by its event label', async () => {
    const local = await engine();
    local.engine.deploy(
      'integrity-response',
      loadLocalWorkflowText('main:\n  params: [args]\n  steps:\n    - r:\n        return: ${args.eventKey}\n', 'i.yaml'),
    );
    const starter = new EngineExecutionStarter(local.engine, 'integrity-response');
    const argument = { version: 1, eventKey: 'k'.repeat(64) } as unknown as Parameters<typeof starter.start>[0];
    const started = await starter.start(argument, { app: 'bootwarden', event: 'ev-label' });
    expect(await starter.findByEventKey('ev-label')).toEqual(started);
    expect(await starter.findByEventKey('nothing')).toBeNull();
    expect((await local.engine.wait(started.name)).result).toBe(JSON.stringify('k'.repeat(64)));
    const missing = new EngineExecutionStarter(local.engine, 'not-deployed');
    await expect(missing.start(argument, {})).rejects.toBeInstanceOf(BootwardenError);
  });
});

describe('limits shared with the emulator', () => {
  it('core refuses an argument at the same size as the engine (Cloud Workflows: 32 KB)', () => {
    expect.hasAssertions();
    expect(CORE_MAX_ARGUMENT_BYTES).toBe(32_768);
    expect(MAX_ARGUMENT_BYTES).toBe(CORE_MAX_ARGUMENT_BYTES);
  });
});
