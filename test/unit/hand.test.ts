/**
 * Driving the served stack by hand (devstack/hand.ts): what a typed line means, and what a
 * reboot onto new parts does to a boot chain.
 */
import { describe, expect, it } from 'vitest';
import { linuxChain, measurements, windowsChain, withParts } from '../../devstack/fleet/vtpm.js';
import { parseHandCommand } from '../../devstack/hand.js';

describe('parseHandCommand', () => {
  it.each([
    ['', null],
    ['   ', null],
    ['help', { kind: 'help' }],
    ['approve', { kind: 'decide', decision: 'approve' }],
    [' reject ', { kind: 'decide', decision: 'reject' }],
    ['reboot web-03', { kind: 'reboot', vm: 'web-03', parts: {} }],
    [
      'reboot web-03 --kernel linux-6.1.0-28-amd64 --firmware ovmf-2026-11',
      { kind: 'reboot', vm: 'web-03', parts: { kernel: 'linux-6.1.0-28-amd64', firmware: 'ovmf-2026-11' } },
    ],
    ['reboot app-00   --bootloader grub-2.12-patched', { kind: 'reboot', vm: 'app-00', parts: { bootloader: 'grub-2.12-patched' } }],
  ])('%j', (line, expected) => {
    expect(parseHandCommand(line)).toEqual(expected);
  });

  it.each([
    ['frobnicate', 'unknown command "frobnicate": type help'],
    ['approve now', 'approve takes nothing after it (it clicks on the newest open message)'],
    ['reboot', 'reboot needs the VM name: reboot <vm> [--kernel V]'],
    ['reboot --kernel x', 'reboot needs the VM name: reboot <vm> [--kernel V]'],
    ['reboot web-03 --initrd x', 'reboot: unknown option "--initrd" (--kernel, --bootloader, --firmware)'],
    ['reboot web-03 --kernel', 'reboot: --kernel needs a version such as linux-6.1.0-28-amd64, got ""'],
    ['reboot web-03 --kernel $(id)', 'reboot: --kernel needs a version such as linux-6.1.0-28-amd64, got "$(id)"'],
  ])('%j is refused: %s', (line, message) => {
    expect(() => parseHandCommand(line)).toThrow(message);
  });
});

describe('withParts', () => {
  const base = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });

  it('a new kernel is the chain linuxChain builds with it: same measurements, PCR_4 changed', () => {
    const updated = withParts(base, { kernel: 'linux-6.1.0-28-amd64' });
    expect(updated).toEqual(linuxChain({ kernel: 'linux-6.1.0-28-amd64' }));
    const changed = measurements(updated, 'late').filter((m, i) => m.value !== measurements(base, 'late')[i]?.value);
    expect(new Set(changed.map((m) => m.pcrNum))).toEqual(new Set(['PCR_4']));
  });

  it('a boot loader and a firmware, as linuxChain would put them', () => {
    expect(withParts(base, { bootloader: 'grub-evil', firmware: 'ovmf-x' })).toEqual(
      linuxChain({ kernel: 'linux-6.1.0-26-amd64', bootloader: 'grub-evil', firmware: 'ovmf-x' }),
    );
  });

  it('a Windows chain takes a firmware, never a Linux kernel', () => {
    const win = windowsChain({ build: '20348.2700' });
    expect(withParts(win, { firmware: 'ovmf-x' })).toEqual(windowsChain({ build: '20348.2700', firmware: 'ovmf-x' }));
    expect(() => withParts(win, { kernel: 'linux-6.1' })).toThrow(
      'a Windows chain has no Linux boot loader or kernel to replace: only its firmware',
    );
  });
});
