/** Shared test data built from the documented shapes (see devstack/entries.ts). */
import type { InstanceRef } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { bootReportEntry, linuxBoot, measure } from '../../devstack/entries.js';

export const LINUX_VM: InstanceRef = { id: '4356841712468193571', project: 'acme-prod', zone: 'us-central1-a' };
/** An instance id past 2^64 - 1 would be invalid; this one is the largest 20-digit id a uint64 holds, minus a little. */
export const BIG_ID_VM: InstanceRef = { id: '18446744073709551557', project: 'acme-prod', zone: 'europe-west1-b' };

export const KERNEL_25 = linuxBoot('linux-6.1.0-25-amd64');
export const KERNEL_26 = linuxBoot('linux-6.1.0-26-amd64');
export const TAMPERED = linuxBoot('linux-6.1.0-26-amd64+rootkit');
export const WINDOWS_OCT = measure(
  { PCR_0: 'ovmf', PCR_4: 'bootmgr-2026-10', PCR_7: 'db', PCR_11: 'bitlocker-2026-10', PCR_13: 'drivers', PCR_14: 'hvci' },
  'SHA1',
);
export const WINDOWS_NOV = measure(
  { PCR_0: 'ovmf', PCR_4: 'bootmgr-2026-11', PCR_7: 'db', PCR_11: 'bitlocker-2026-11', PCR_13: 'drivers', PCR_14: 'hvci' },
  'SHA1',
);

/** A failed late-boot report: the VM booted kernel 26 while its policy still holds kernel 25. */
export function failedLateBoot(overrides: Partial<Parameters<typeof bootReportEntry>[1]> = {}): JsonObject {
  return bootReportEntry('lateBootReportEvent', { instance: LINUX_VM, bootCounter: 7, actual: KERNEL_26, policy: KERNEL_25, ...overrides });
}

/** Deep copy and edit: `mutate(entry)` may change anything. */
export function edited(entry: JsonObject, mutate: (e: any) => void): JsonObject {
  const copy = structuredClone(entry);
  mutate(copy);
  return copy;
}
