/**
 * The operators' commands as a separate `bootwarden` process against the local stack, through the
 * official clients: `instances` and `relearn` (Compute, the fleet's API), `history` (the engine's
 * Executions API), both joined with Firestore (the emulator). Assertions read the fleet's recorded
 * Compute calls and the commands' JSON output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../core/measurements.js';
import { linuxChain, measurements } from '../../devstack/fleet/vtpm.js';
import type { FleetInstance } from '../../devstack/fleet/simulated-fleet.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';
import { bootwarden, jsonLines } from '../support/cli.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const KERNEL_26 = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const KERNEL_27 = linuxChain({ kernel: 'linux-6.1.0-27-amd64' });
const APPROVED = fingerprint(measurements(KERNEL_27, 'late')).slice(0, 16);

const vm = (name: string, n: number, chain?: BootChainLike): FleetInstance => ({
  project: PROJECT,
  zone: ZONE,
  name,
  id: String(6_100_200_300_400_500_000n + BigInt(n)),
  status: 'RUNNING',
  bootCounter: 5n,
  ...(chain === undefined ? {} : { chain }),
});
type BootChainLike = typeof KERNEL_26;

let stack: LocalStack;
let env: Record<string, string>;
const id = (name: string): string => stack.fleet.peek(PROJECT, ZONE, name)?.id ?? '';

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: PROJECT,
    // No clockStart: the simulated cloud runs on this machine's clock, as the CLI process does
    // (an approval deadline is compared with the operator's now).
    // The operator approves the new kernel and leaves anything else waiting.
    autoDecide: { decision: (m) => (m.text.includes(`fingerprint ${APPROVED}`) ? 'approve' : null) },
    collectionPrefix: 'ops_',
    instances: [vm('web-0', 0, KERNEL_26), vm('web-1', 1, KERNEL_26), vm('web-2', 2, KERNEL_26), vm('db-0', 3)],
    function: { write: () => undefined },
  });
  for (const name of ['web-0', 'web-1', 'web-2']) stack.simulated.reboot(name);
  stack.simulated.install('web-0', KERNEL_27);
  stack.simulated.reboot('web-0');
  stack.simulated.install('web-1', linuxChain({ kernel: 'linux-6.1.0-26-amd64', bootloader: 'grub-unknown' }));
  stack.simulated.reboot('web-1');
  await stack.quiet();
  env = {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    FIRESTORE_EMULATOR_HOST: stack.emulator.host,
    BOOTWARDEN_COLLECTION_PREFIX: 'ops_',
    BOOTWARDEN_WORKFLOW_LOCATION: 'us-central1',
    BOOTWARDEN_WORKFLOWS_API_URL: stack.workflowsUrl,
    BOOTWARDEN_COMPUTE_API_URL: stack.computeUrl,
  };
}, 60_000);

afterAll(async () => {
  await stack.close();
});

describe('bootwarden instances', () => {
  it('lists the zone with what bootwarden saw of each VM', async () => {
    const r = await bootwarden(['instances', '--zone', ZONE, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = new Map(jsonLines(r.stdout).map((row) => [row['name'] as string, row]));
    expect([...rows.keys()]).toEqual(['web-0', 'web-1', 'web-2', 'db-0']);
    expect(rows.get('web-0')).toMatchObject({
      id: id('web-0'),
      status: 'RUNNING',
      bootwarden: { relearned: { fingerprint: expect.stringMatching(new RegExp(`^${APPROVED}`)) as string } },
    });
    expect(rows.get('web-1')).toMatchObject({
      status: 'TERMINATED',
      bootwarden: { lastDecision: { action: 'stop' }, awaiting: { groupId: expect.any(String) as string } },
    });
    expect(rows.get('web-2')).toMatchObject({ status: 'RUNNING', bootwarden: { latestBoot: { bootCounter: '6' }, awaiting: null } });
    expect(rows.get('db-0')).toMatchObject({ status: 'RUNNING', bootwarden: null });
  });

  it('the table says it in words', async () => {
    const r = await bootwarden(['instances', '--zone', ZONE], { env });
    expect(r.code).toBe(0);
    const line = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(line('web-1')).toMatch(/approval pending until 2026-1/);
    expect(line('web-0')).toMatch(/relearned 20\d\d-\d\d-\d\dT/);
    expect(line('db-0')).toMatch(/never seen$/);
  });

  it.each([
    [['instances'], /give at least one --zone/],
    [['instances', '--zone', 'us-central1'], /--zone takes a zone such as us-central1-a, got "us-central1"/],
  ])('%j is a usage error', async (args, message) => {
    const r = await bootwarden(args, { env });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
  });
});

describe('bootwarden history', () => {
  it("one VM's executions with outcome and approver, and its approvals' audit trail", async () => {
    const r = await bootwarden(['history', '--instance', id('web-0'), '--json'], { env });
    expect(r.stderr).toBe('');
    const history = JSON.parse(r.stdout) as { executions: string[]; approvals: string[] };
    expect(history.executions).toHaveLength(2);
    expect(history.executions[0]).toMatch(new RegExp(`relearn on instance ${id('web-0')}: SUCCEEDED, relearned, took`));
    expect(history.executions[1]).toMatch(
      /stop on instance .*: SUCCEEDED, promoted_and_started, decided by alice \(T0BOOTWRDN:U0APPROVER1\), took .* decision after/,
    );
    expect(history.approvals.some((l) => /decided by T0BOOTWRDN:U0APPROVER1: approve/.test(l))).toBe(true);
  });

  it.each([
    [['history', '--since', 'yesterday'], /--since takes a time/],
    [['history', '--fingerprint', 'xyz'], /--fingerprint takes 16 to 64 hex digits/],
    [['history', '--limit', '0'], /--limit takes a number from 1 to 500/],
  ])('%j is a usage error', async (args, message) => {
    const r = await bootwarden(args, { env });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
  });

  it('without BOOTWARDEN_WORKFLOW_LOCATION, says what to set', async () => {
    const rest = Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'BOOTWARDEN_WORKFLOW_LOCATION'));
    const r = await bootwarden(['history'], { env: rest });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/set BOOTWARDEN_WORKFLOW_LOCATION/);
  });
});

describe('bootwarden relearn', () => {
  it('relearns a RUNNING VM whose latest boot bootwarden saw; twice relearns once', async () => {
    const before = stack.fleet.callsTo('setShieldedInstanceIntegrityPolicy').length;
    const first = await bootwarden(['relearn', 'web-2', '--zone', ZONE], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/relearned web-2 .* boot 6's measurements/);
    const again = await bootwarden(['relearn', 'web-2', '--zone', ZONE], { env });
    expect(again.code).toBe(0);
    const calls = stack.fleet.callsTo('setShieldedInstanceIntegrityPolicy').slice(before);
    expect(calls.map((c) => [c.target, c.outcome])).toEqual([
      ['web-2', 'ok'],
      ['web-2', 'deduplicated'],
    ]);
    expect(calls[0]?.requestId).toBe(calls[1]?.requestId);
    expect(stack.fleet.relearnCount(PROJECT, ZONE, 'web-2')).toBe(1);
    const state = await stack.db
      .collection('ops_instances')
      .doc(`${PROJECT}:${ZONE}:${id('web-2')}`)
      .get();
    expect(state.get('manualRelearn')).toMatchObject({ by: 'tester', bootCounter: '6' });
  });

  it.each([
    ['a stopped VM', 'web-1', /refused: it is TERMINATED; Compute relearns only a RUNNING VM/],
    ['a VM bootwarden never saw boot', 'db-0', /refused: bootwarden has seen no boot report of it/],
    ['an unknown VM', 'nope-0', /not found/],
  ])('refuses %s, saying why, and changes nothing', async (_what, name, message) => {
    const before = stack.fleet.callsTo('setShieldedInstanceIntegrityPolicy').length;
    const r = await bootwarden(['relearn', name, '--zone', ZONE], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(stack.fleet.callsTo('setShieldedInstanceIntegrityPolicy')).toHaveLength(before);
  });
});

describe('--help of the operators commands', () => {
  it.each([
    ['history', /^Usage: bootwarden history \[--instance <id>\]/],
    ['instances', /^Usage: bootwarden instances --zone <zone>/],
    ['relearn', /^Usage: bootwarden relearn <instance name> --zone <zone>/],
  ])('%s --help says how to use it, with exit 0', async (command, usage) => {
    const r = await bootwarden([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stdout).toMatch(/Exit status:/);
  });

  it('bootwarden --help lists them', async () => {
    const r = await bootwarden(['--help']);
    expect(r.stdout).toMatch(/\n {2}history {5}what the response workflow did/);
    expect(r.stdout).toMatch(/\n {2}instances {3}the VMs of a zone/);
    expect(r.stdout).toMatch(/\n {2}relearn {5}relearn one VM's integrity policy/);
  });
});
