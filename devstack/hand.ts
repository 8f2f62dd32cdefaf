/**
 * Driving the served local stack by hand (`npm start`, after its scenario): one command per line
 * on its standard input. Each acts through the stack's own ports, as the scenario does: a reboot is
 * the simulated VM's (its entries go through the log sink to the function), a decision is a signed
 * click on the Slack message.
 *
 *   reboot <vm> [--kernel V] [--bootloader V] [--firmware V]   a guest reboot, onto those parts
 *   approve | reject                                            click on the newest open message
 *   help
 */
import type { ApprovalDecision } from '../core/approvals.js';
import { BootwardenError } from '../core/errors.js';
import { withParts } from './fleet/vtpm.js';
import { listed, playStep } from './scenario.js';
import type { LocalStack } from './stack.js';

export const HAND_HELP = `Commands (one per line):
  reboot <vm> [--kernel V] [--bootloader V] [--firmware V]   the VM reboots from inside, onto those parts if given
  approve | reject                                            click, as alice, on the newest approval message still open
  help`;

export type HandCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'reboot'; readonly vm: string; readonly parts: { kernel?: string; bootloader?: string; firmware?: string } }
  | { readonly kind: 'decide'; readonly decision: ApprovalDecision };

const PART_FLAGS = { '--kernel': 'kernel', '--bootloader': 'bootloader', '--firmware': 'firmware' } as const;
/** What a chain part's version may look like: no spaces or shell-significant characters. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+:~-]{0,99}$/;

/** Reads one line; a BootwardenError `usage` names what is wrong. */
export function parseHandCommand(line: string): HandCommand | null {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [verb, ...rest] = words;
  if (verb === undefined) return null;
  if (verb === 'help') return { kind: 'help' };
  if (verb === 'approve' || verb === 'reject') {
    if (rest.length > 0) throw new BootwardenError('usage', `${verb} takes nothing after it (it clicks on the newest open message)`);
    return { kind: 'decide', decision: verb };
  }
  if (verb === 'reboot') {
    const [vm, ...flags] = rest;
    if (vm === undefined || vm.startsWith('--')) throw new BootwardenError('usage', 'reboot needs the VM name: reboot <vm> [--kernel V]');
    const parts: { kernel?: string; bootloader?: string; firmware?: string } = {};
    for (let i = 0; i < flags.length; i += 2) {
      const flag = flags[i] ?? '';
      const part = (PART_FLAGS as Record<string, 'kernel' | 'bootloader' | 'firmware' | undefined>)[flag];
      if (part === undefined)
        throw new BootwardenError('usage', `reboot: unknown option ${JSON.stringify(flag)} (--kernel, --bootloader, --firmware)`);
      const value = flags[i + 1];
      if (value === undefined || !VERSION.test(value))
        throw new BootwardenError(
          'usage',
          `reboot: ${flag} needs a version such as linux-6.1.0-28-amd64, got ${JSON.stringify(value ?? '')}`,
        );
      parts[part] = value;
    }
    return { kind: 'reboot', vm, parts };
  }
  throw new BootwardenError('usage', `unknown command ${JSON.stringify(verb.slice(0, 40))}: type help`);
}

/** Runs one line against `stack`, saying what happened; bad input is said, never thrown. */
export async function runHandCommand(stack: LocalStack, line: string, say: (line: string) => void): Promise<void> {
  let command: HandCommand | null;
  try {
    command = parseHandCommand(line);
  } catch (e) {
    say(`   ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (command === null) return;
  if (command.kind === 'help') return say(HAND_HELP);
  if (command.kind === 'reboot') {
    const { vm: name, parts } = command;
    const vm = stack.simulated.all().find((v) => v.name === name);
    if (vm === undefined) return say(`   no VM ${JSON.stringify(name)} in this fleet (bootwarden instances --zone <zone> lists them)`);
    if (vm.status !== 'RUNNING') return say(`   ${name} is ${vm.status}: only a RUNNING guest reboots`);
    let chain;
    try {
      chain = withParts(vm.chain, parts);
    } catch (e) {
      return say(`   ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    say(`${name} reboots${Object.keys(parts).length === 0 ? '' : ` onto ${listed(parts)}`}`);
    await playStep(
      stack,
      (s) => {
        s.simulated.install(name, chain);
        s.simulated.reboot(name);
      },
      say,
    );
    return;
  }
  const { decision } = command;
  const button = decision === 'approve' ? 'Approve' : 'Reject';
  const done: { on: string | null } = { on: null };
  say(`alice clicks ${button}`);
  await playStep(
    stack,
    async (s) => {
      const clicked = await s.slackApp.decideNewest(decision);
      if (clicked !== null) done.on = `${clicked.message.text.split('\n')[0] ?? ''} (HTTP ${clicked.status})`;
    },
    say,
  );
  say(done.on === null ? `   no approval message offers ${button}` : `   on: ${done.on}`);
}
