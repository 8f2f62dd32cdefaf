/**
 * The `npm start` / `npm run demo` scenario (devstack/scenario.ts) end to end, on the whole local
 * stack: its checks read the stand-ins' records; this test reads them again, independently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GROUPS, DEMO_PROJECT, demoFleet, demoOperator, playScenario, type ScenarioResult } from '../../devstack/scenario.js';
import { CHANNEL } from '../../devstack/slack-local.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';

let stack: LocalStack;
let result: ScenarioResult;
const said: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: DEMO_PROJECT,
    clockStart: Date.parse('2026-11-05T08:00:00Z'),
    autoDecide: demoOperator,
    collectionPrefix: 'demo_',
    instances: demoFleet(),
    sink: { duplicateRate: 0.2, seed: 42 },
    function: { write: () => undefined },
  });
  result = await playScenario(stack, (line) => said.push(line));
}, 120_000);

afterAll(async () => {
  await stack.close();
});

describe('the demo scenario', () => {
  it('every step as expected', () => {
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('the fleet as Compute recorded it: what was stopped, started and relearned', () => {
    const changed = (name: string) =>
      stack.fleet.calls
        .filter(
          (c) => c.target === name && c.outcome === 'ok' && ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].includes(c.method),
        )
        .map((c) => c.method);
    expect(changed('web-00')).toEqual(['stop', 'start', 'setShieldedInstanceIntegrityPolicy']);
    for (const name of DEMO_GROUPS.web.slice(1)) expect(changed(name)).toEqual(['setShieldedInstanceIntegrityPolicy']);
    for (const name of DEMO_GROUPS.windows) expect(changed(name)).toEqual([]);
    expect(changed('app-00')).toEqual(['stop']);
    for (const name of DEMO_GROUPS.batch) expect(changed(name)).toEqual(['stop']);
    expect(stack.fleet.peek(DEMO_PROJECT, 'us-central1-a', 'web-00')?.status).toBe('RUNNING');
  });

  it('three approval messages in Slack, one per new measurement, each decided', () => {
    const messages = stack.slackApp.slack.channelMessages(CHANNEL);
    expect(messages).toHaveLength(3);
    expect(stack.sink?.deadLetters).toEqual([]);
  });
});
