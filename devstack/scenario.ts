/**
 * The tutorial's verification scenario and more, played on the local stack (issue 12): simulated
 * Shielded VMs boot, their entries reach the function through the local log sink, and the
 * product acts through its ports. `npm start` prints it as a timeline; `npm run demo` exits 0 only
 * when every step's outcome is the expected one. Each check reads what a stand-in recorded (the
 * fleet's Compute calls, the Slack stand-in's messages, the engine's executions), never what the
 * product says about itself.
 *
 * 1. a fleet of Linux and Windows VMs boots clean: nothing happens;
 * 2. a VM boots a kernel nobody has seen: stopped, one message, approved, promoted, started, relearned;
 * 3. the same kernel on 20 more VMs: all relearned automatically, no message;
 * 4. a VM with an unknown boot loader: stopped, rejected, stays stopped;
 * 5. an unknown firmware on 30 VMs at once: the blast-radius guard stops 3 and holds the rest; the
 *    operator rejects, so the held ones are stopped too;
 * 6. the executions (from the Executions API) and the audit trail.
 */
import type { ExecutionRecord } from '@bootwarden/workflows-emulator';
import type { ApprovalDecision } from '../core/approvals.js';
import type { FleetInstance } from './fleet/simulated-fleet.js';
import { fingerprint } from '../core/measurements.js';
import { linuxChain, measurements, windowsChain, type BootChain } from './fleet/vtpm.js';
import type { StoredMessage } from './slack-web-api.js';
import type { LocalStack } from './stack.js';
import { CHANNEL, type AutoDecision } from './slack-local.js';

export const DEMO_PROJECT = 'demo-bootwarden';
const KERNEL = 'linux-6.1.0-26-amd64';
const NEW_KERNEL = 'linux-6.1.0-27-amd64';
const ROGUE_LOADER = 'grub-2.12-unsigned-patch';
const ROGUE_FIRMWARE = 'gce-uefi-2-modified';

export const DEMO_GROUPS = {
  web: Array.from({ length: 21 }, (_, i) => `web-${String(i).padStart(2, '0')}`),
  windows: ['win-00', 'win-01', 'win-02'],
  app: ['app-00'],
  batch: Array.from({ length: 30 }, (_, i) => `batch-${String(i).padStart(2, '0')}`),
} as const;

/** The demo fleet: 21 web VMs, 3 Windows VMs, one app server, 30 batch workers; every one RUNNING. */
export function demoFleet(): FleetInstance[] {
  const out: FleetInstance[] = [];
  let n = 0n;
  const add = (name: string, zone: string, chain: BootChain, labels: Record<string, string>): void => {
    out.push({
      project: DEMO_PROJECT,
      zone,
      name,
      id: String(5_160_114_977_203_004_000n + n++ * 7919n),
      status: 'RUNNING',
      bootCounter: 12n,
      labels,
      chain,
    });
  };
  for (const name of DEMO_GROUPS.web) add(name, 'us-central1-a', linuxChain({ kernel: KERNEL }), { role: 'web' });
  for (const name of DEMO_GROUPS.windows) add(name, 'europe-west1-b', windowsChain({ build: '20348.2700' }), { role: 'build' });
  for (const name of DEMO_GROUPS.app) add(name, 'us-central1-a', linuxChain({ kernel: KERNEL }), { role: 'app' });
  for (const name of DEMO_GROUPS.batch) add(name, 'us-east1-b', linuxChain({ kernel: KERNEL }), { role: 'batch' });
  return out;
}

function demoDecision(message: StoredMessage): ApprovalDecision | null {
  const expected = fingerprint(measurements(linuxChain({ kernel: NEW_KERNEL }), 'late')).slice(0, 16);
  return message.text.includes(`fingerprint ${expected}`) ? 'approve' : 'reject';
}

/**
 * The operator of the demo: expects the kernel update, so approves its measurements (the message
 * names their fingerprint) and rejects any other (the boot loader, the firmware). Like a person,
 * they read a message once the step has settled, so every VM of a rollout is in it.
 */
export const demoOperator: AutoDecision = { decision: demoDecision, when: 'settled' };

interface Step {
  readonly title: string;
  readonly act: (stack: LocalStack) => void;
  /** What must be true afterwards; each string is a problem. */
  readonly check: (view: View) => string[];
}

/** `{stop: 3, hold: 27}` as `stop 3, hold 27`. */
export const listed = (counts: Readonly<Record<string, number | string>>): string =>
  Object.entries(counts)
    .map(([what, n]) => `${what} ${n}`)
    .join(', ');

/** How many of `items` have each key. */
function tally<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** How an execution ended (its report's outcome), or that it waits for operators. */
function outcomeOf(r: ExecutionRecord): string {
  if (r.state === 'SUCCEEDED') return (JSON.parse(r.result ?? '{}') as { outcome?: string }).outcome ?? '?';
  if (r.state === 'ACTIVE' && r.currentStep?.step === 'wait_decision') return 'waiting_for_decision';
  return r.state;
}

/** What the stand-ins recorded, for the checks and the timeline. */
class View {
  constructor(
    readonly stack: LocalStack,
    readonly executions: readonly ExecutionRecord[],
    readonly messages: readonly StoredMessage[],
    readonly callsFrom: number,
  ) {}

  /** The VM's Compute changes in this step, in order. */
  changes(name: string): string[] {
    return this.stack.fleet.calls
      .slice(this.callsFrom)
      .filter((c) => c.target === name && ['stop', 'start', 'setShieldedInstanceIntegrityPolicy'].includes(c.method) && c.outcome === 'ok')
      .map((c) => (c.method === 'setShieldedInstanceIntegrityPolicy' ? 'relearn' : c.method));
  }

  status(name: string): string {
    const vm = this.stack.simulated.vm(name);
    return this.stack.fleet.peek(vm.ref.project, vm.ref.zone, name)?.status ?? 'UNKNOWN';
  }

  outcomes(): Record<string, number> {
    return tally(this.executions, outcomeOf);
  }
}

function expectChanges(view: View, names: readonly string[], expected: readonly string[]): string[] {
  return names.flatMap((name) => {
    const got = view.changes(name);
    return got.join(',') === expected.join(',')
      ? []
      : [`${name}: Compute changes ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`];
  });
}

function expectCount(what: string, got: number, expected: number): string[] {
  return got === expected ? [] : [`${what}: ${got}, expected ${expected}`];
}

const install = (stack: LocalStack, names: readonly string[], chain: (name: string) => BootChain): void => {
  for (const name of names) {
    stack.simulated.install(name, chain(name));
    stack.simulated.reboot(name);
  }
};

export const DEMO_STEPS: readonly Step[] = [
  {
    title: `A fleet of ${DEMO_GROUPS.web.length + DEMO_GROUPS.app.length + DEMO_GROUPS.batch.length} Linux and ${DEMO_GROUPS.windows.length} Windows VMs reboots clean`,
    act: (stack) => {
      for (const vm of stack.simulated.all()) stack.simulated.reboot(vm.name);
    },
    check: (v) => [...expectCount('executions started', v.executions.length, 0), ...expectCount('Slack messages', v.messages.length, 0)],
  },
  {
    title: `web-00 reboots into ${NEW_KERNEL}, a kernel nobody has approved`,
    act: (stack) => install(stack, ['web-00'], () => linuxChain({ kernel: NEW_KERNEL })),
    check: (v) => [
      ...expectChanges(v, ['web-00'], ['stop', 'start', 'relearn']),
      ...expectCount('Slack messages', v.messages.length, 1),
      ...expectCount('promoted_and_started', v.outcomes()['promoted_and_started'] ?? 0, 1),
      ...expectCount('relearned', v.outcomes()['relearned'] ?? 0, 1),
    ],
  },
  {
    title: `The same kernel rolls out to the other ${DEMO_GROUPS.web.length - 1} web VMs`,
    act: (stack) => install(stack, DEMO_GROUPS.web.slice(1), () => linuxChain({ kernel: NEW_KERNEL })),
    check: (v) => [
      ...expectChanges(v, DEMO_GROUPS.web.slice(1), ['relearn']),
      ...expectCount('Slack messages', v.messages.length, 0),
      ...expectCount('relearned', v.outcomes()['relearned'] ?? 0, DEMO_GROUPS.web.length - 1),
    ],
  },
  {
    title: `app-00 boots an unknown boot loader (${ROGUE_LOADER})`,
    act: (stack) => install(stack, DEMO_GROUPS.app, () => linuxChain({ kernel: KERNEL, bootloader: ROGUE_LOADER })),
    check: (v) => [
      ...expectChanges(v, DEMO_GROUPS.app, ['stop']),
      ...expectCount('Slack messages', v.messages.length, 1),
      ...expectCount('rejected', v.outcomes()['rejected'] ?? 0, 1),
      ...(v.status('app-00') === 'TERMINATED' ? [] : [`app-00 is ${v.status('app-00')}, expected TERMINATED`]),
    ],
  },
  {
    title: `${DEMO_GROUPS.batch.length} batch VMs boot an unknown firmware (${ROGUE_FIRMWARE}) at once`,
    act: (stack) => install(stack, DEMO_GROUPS.batch, () => linuxChain({ kernel: KERNEL, firmware: ROGUE_FIRMWARE })),
    check: (v) => {
      const stoppedFirst = DEMO_GROUPS.batch.filter((n) => v.changes(n).join(',') === 'stop').length;
      return [
        ...expectCount(
          'stop executions (the guard allows 3 per fingerprint)',
          v.executions.filter((r) => r.labels['action'] === 'stop').length,
          3,
        ),
        ...expectCount('hold executions', v.executions.filter((r) => r.labels['action'] === 'hold').length, DEMO_GROUPS.batch.length - 3),
        ...expectCount('Slack messages (one group)', v.messages.length, 1),
        ...expectCount('VMs stopped once', stoppedFirst, DEMO_GROUPS.batch.length),
        ...DEMO_GROUPS.batch.filter((n) => v.status(n) !== 'TERMINATED').map((n) => `${n} is ${v.status(n)}, expected TERMINATED`),
      ];
    },
  },
];

export interface ScenarioResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/**
 * Runs `act`, waits for the stack to settle, and says what happened: what the log sink delivered,
 * what the function started and how the executions ended, what Compute changed, what Slack shows.
 */
export async function playStep(
  stack: LocalStack,
  act: (stack: LocalStack) => Promise<void> | void,
  say: (line: string) => void,
): Promise<View> {
  const before = stack.engine.listExecutions({});
  const executionsBefore = new Set(before.map((r) => r.name));
  const activeBefore = new Set(before.filter((r) => r.state === 'ACTIVE').map((r) => r.name));
  const messagesBefore = stack.slackApp.slack.channelMessages(CHANNEL).length;
  const callsFrom = stack.fleet.calls.length;
  const deliveriesFrom = stack.sink?.deliveries.length ?? 0;
  await act(stack);
  const all = await stack.quiet();
  const records = all.filter((r) => !executionsBefore.has(r.name));
  // Executions that were waiting before this step (for operators) and ended in it.
  const ended = tally(
    all.filter((x) => activeBefore.has(x.name) && x.state !== 'ACTIVE'),
    outcomeOf,
  );
  const view = new View(stack, records, stack.slackApp.slack.channelMessages(CHANNEL).slice(messagesBefore), callsFrom);
  const deliveries = stack.sink?.deliveries.slice(deliveriesFrom) ?? [];
  const messages = new Set(deliveries.map((d) => d.messageId)).size;
  if (deliveries.length > 0)
    say(`   log sink → function: ${messages} entries, ${deliveries.length} deliveries (${deliveries.length - messages} duplicated)`);
  if (deliveries.length > 0 || records.length > 0)
    say(
      records.length === 0
        ? '   function: nothing to do (every report passed its policy)'
        : `   function started ${records.length} execution${records.length === 1 ? '' : 's'}: ${listed(tally(records, (r) => r.labels['action'] ?? '?'))}`,
    );
  if (records.length > 0) say(`   outcomes: ${listed(view.outcomes())}`);
  if (Object.keys(ended).length > 0) say(`   waiting executions ended: ${listed(ended)}`);
  const changed = new Map<string, string[]>();
  for (const vm of stack.simulated.all()) {
    const c = view.changes(vm.name);
    if (c.length > 0) changed.set(c.join(' → '), [...(changed.get(c.join(' → ')) ?? []), vm.name]);
  }
  for (const [changes, names] of changed)
    say(`   Compute: ${changes}: ${names.length > 4 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')}`);
  for (const m of view.messages) say(`   Slack: ${m.text.split('\n')[0] ?? ''}`);
  return view;
}

/** Plays the steps on `stack` (its fleet: demoFleet(); its operator: demoOperator), saying what happens. */
export async function playScenario(stack: LocalStack, say: (line: string) => void): Promise<ScenarioResult> {
  const problems: string[] = [];
  for (const [i, step] of DEMO_STEPS.entries()) {
    say(`\n${i + 1}. ${step.title}`);
    const view = await playStep(stack, step.act, say);
    const found = step.check(view);
    for (const p of found) say(`   UNEXPECTED: ${p}`);
    problems.push(...found.map((p) => `step ${i + 1}: ${p}`));
  }
  return { ok: problems.length === 0, problems };
}
