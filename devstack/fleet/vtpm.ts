/**
 * The simulated fleet's vTPM (issue 12): a boot chain measured into PCRs the way a TPM 2.0 extends
 * them, in the SHA1 and SHA256 banks, so that a simulated VM's reports change exactly where a real
 * one's would (a new kernel changes PCR_4, a Secure Boot db update PCR_7, ...).
 *
 * - Extend: `PCR := H(PCR || H(event data))`; every PCR starts as zeros (locality 0).
 * - PCR_0: the firmware's version (`EV_S_CRTM_VERSION`; Compute's PCR 0 measures the virtual
 *   firmware version, not the firmware blob), then the separator.
 * - PCR_4: each EFI application loaded, in order (shim, the boot loader and the kernel on Linux;
 *   the boot manager and winload on Windows), then the separator.
 * - PCR_7: the Secure Boot state (enabled, PK, KEK, db, dbx), the separator, then each db
 *   authority used to verify a loaded image.
 * - PCR_14 (Linux, shim): the MOK lists, when keys are enrolled. Windows: PCR_11 (BitLocker
 *   access control), PCR_13 (boot drivers), PCR_14 (boot authorities).
 * An image or variable is measured as the bytes of its identifier (`kernel:linux-6.1.0-26-amd64`):
 * the simulation needs equal chains to measure alike and different ones differently, not real
 * binaries. Known answers in test/unit/vtpm.test.ts were computed outside bootwarden.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { HashAlgo, Measurement } from '../../core/measurements.js';

export const BANKS = ['SHA1', 'SHA256'] as const satisfies readonly HashAlgo[];
const NODE_ALGO: Record<HashAlgo, string> = { SHA1: 'sha1', SHA256: 'sha256' };
const SIZE: Record<HashAlgo, number> = { SHA1: 20, SHA256: 32 };

export function digestOf(bank: HashAlgo, data: Buffer | string): Buffer {
  return createHash(NODE_ALGO[bank]).update(data).digest();
}

/** TPM2_PCR_Extend of one bank: the new value is H(old || H(data)). */
export function extend(bank: HashAlgo, pcr: Buffer, data: Buffer | string): Buffer {
  if (pcr.length !== SIZE[bank]) throw new Error(`a ${bank} PCR is ${SIZE[bank]} bytes, not ${pcr.length}`);
  return createHash(NODE_ALGO[bank])
    .update(Buffer.concat([pcr, digestOf(bank, data)]))
    .digest();
}

/** What a VM boots, component by component. Equal strings measure alike on every VM. */
export interface BootChain {
  readonly os: 'linux' | 'windows';
  /** The virtual firmware's version (PCR_0). */
  readonly firmware: string;
  readonly secureBoot: {
    readonly enabled: boolean;
    readonly pk: string;
    readonly kek: string;
    readonly db: readonly string[];
    readonly dbx: readonly string[];
  };
  /** EFI applications in load order, each with the db authority that verified it (PCR_4, PCR_7). */
  readonly images: readonly { readonly image: string; readonly authority: string }[];
  /** Linux: Machine Owner Keys enrolled through shim (PCR_14 when any). */
  readonly mokKeys?: readonly string[];
  /** Windows: what BitLocker, the boot drivers and the boot authorities measure (PCR_11, 13, 14). */
  readonly windows?: { readonly bitlocker: string; readonly bootDrivers: readonly string[]; readonly authorities: readonly string[] };
}

/** One measured event, as a TPM event log would list it. */
export interface MeasuredEvent {
  readonly pcr: number;
  readonly type: string;
  readonly data: string;
}

const SEPARATOR = 'EV_SEPARATOR:00000000';

/** The event log of one boot of `chain`, in order. */
export function eventLog(chain: BootChain): MeasuredEvent[] {
  const log: MeasuredEvent[] = [{ pcr: 0, type: 'EV_S_CRTM_VERSION', data: `firmware:${chain.firmware}` }];
  const sb = chain.secureBoot;
  log.push(
    { pcr: 7, type: 'EV_EFI_VARIABLE_DRIVER_CONFIG', data: `SecureBoot:${sb.enabled ? 1 : 0}` },
    { pcr: 7, type: 'EV_EFI_VARIABLE_DRIVER_CONFIG', data: `PK:${sb.pk}` },
    { pcr: 7, type: 'EV_EFI_VARIABLE_DRIVER_CONFIG', data: `KEK:${sb.kek}` },
    { pcr: 7, type: 'EV_EFI_VARIABLE_DRIVER_CONFIG', data: `db:${sb.db.join(',')}` },
    { pcr: 7, type: 'EV_EFI_VARIABLE_DRIVER_CONFIG', data: `dbx:${sb.dbx.join(',')}` },
  );
  for (const pcr of [0, 7]) log.push({ pcr, type: 'EV_SEPARATOR', data: SEPARATOR });
  const authorities = new Set<string>();
  for (const { image, authority } of chain.images) {
    log.push({ pcr: 4, type: 'EV_EFI_BOOT_SERVICES_APPLICATION', data: `image:${image}` });
    // An authority is measured once, the first time it verifies an image.
    if (sb.enabled && !authorities.has(authority)) {
      authorities.add(authority);
      log.push({ pcr: 7, type: 'EV_EFI_VARIABLE_AUTHORITY', data: `db-entry:${authority}` });
    }
  }
  log.push({ pcr: 4, type: 'EV_SEPARATOR', data: SEPARATOR });
  if (chain.os === 'linux' && (chain.mokKeys?.length ?? 0) > 0) {
    log.push({ pcr: 14, type: 'EV_IPL', data: `MokList:${(chain.mokKeys ?? []).join(',')}` });
    log.push({ pcr: 14, type: 'EV_IPL', data: 'MokListX:' });
  }
  if (chain.os === 'windows' && chain.windows !== undefined) {
    const w = chain.windows;
    log.push({ pcr: 11, type: 'EV_EVENT_TAG', data: `bitlocker:${w.bitlocker}` });
    for (const d of w.bootDrivers) log.push({ pcr: 13, type: 'EV_EVENT_TAG', data: `driver:${d}` });
    for (const a of w.authorities) log.push({ pcr: 14, type: 'EV_EVENT_TAG', data: `authority:${a}` });
  }
  return log;
}

/** The PCR values after a boot of `chain`, in one bank: only the PCRs something was measured into. */
export function pcrValues(chain: BootChain, bank: HashAlgo): Map<number, Buffer> {
  const pcrs = new Map<number, Buffer>();
  for (const e of eventLog(chain)) pcrs.set(e.pcr, extend(bank, pcrs.get(e.pcr) ?? Buffer.alloc(SIZE[bank]), e.data));
  return pcrs;
}

/** The PCRs an integrity report lists: early boot (firmware, up to the boot loader) or late boot. */
export function reportedPcrs(chain: BootChain, stage: 'early' | 'late'): number[] {
  if (stage === 'early') return [0];
  const late = [0, 4, 7];
  if (chain.os === 'linux' && (chain.mokKeys?.length ?? 0) > 0) late.push(14);
  if (chain.os === 'windows') late.push(11, 13, 14);
  return late;
}

/** A report's measurements: the listed PCRs of one bank, as Cloud Logging writes them. */
export function measurements(chain: BootChain, stage: 'early' | 'late', bank: HashAlgo = 'SHA256'): Measurement[] {
  const values = pcrValues(chain, bank);
  return reportedPcrs(chain, stage).map((n) => ({
    hashAlgo: bank,
    pcrNum: `PCR_${n}`,
    value: (values.get(n) ?? Buffer.alloc(SIZE[bank])).toString('base64'),
  }));
}

const DEFAULT_FIRMWARE = 'gce-uefi-2';

/** Secure Boot on, with Google's platform key, Microsoft's KEK, this db and the current dbx. */
function secureBootWith(db: readonly string[]): BootChain['secureBoot'] {
  return { enabled: true, pk: 'google-pk-2024', kek: 'microsoft-kek-2011', db, dbx: ['dbx-2025-02'] };
}

/** A Linux chain as Compute's public images boot: shim, GRUB and the kernel, signed by Microsoft's UEFI CA. */
export function linuxChain(o: {
  kernel: string;
  firmware?: string;
  bootloader?: string;
  db?: readonly string[];
  mokKeys?: readonly string[];
}): BootChain {
  return {
    os: 'linux',
    firmware: o.firmware ?? DEFAULT_FIRMWARE,
    secureBoot: secureBootWith(o.db ?? ['microsoft-uefi-ca-2011']),
    images: [
      { image: 'shim-15.8', authority: 'microsoft-uefi-ca-2011' },
      { image: o.bootloader ?? 'grub-2.12', authority: 'distribution-ca' },
      { image: o.kernel, authority: 'distribution-ca' },
    ],
    ...(o.mokKeys === undefined ? {} : { mokKeys: o.mokKeys }),
  };
}

/**
 * `chain` with some parts replaced (a firmware update; on Linux a new boot loader or kernel), as
 * an update or an attacker would leave it. Throws when a part does not exist in that chain.
 */
export function withParts(chain: BootChain, parts: { firmware?: string; bootloader?: string; kernel?: string }): BootChain {
  if (chain.os !== 'linux' && (parts.bootloader !== undefined || parts.kernel !== undefined))
    throw new Error('a Windows chain has no Linux boot loader or kernel to replace: only its firmware');
  const images = chain.images.map((img, i) =>
    chain.os === 'linux' && i === 1 && parts.bootloader !== undefined
      ? { ...img, image: parts.bootloader }
      : chain.os === 'linux' && i === 2 && parts.kernel !== undefined
        ? { ...img, image: parts.kernel }
        : img,
  );
  return { ...chain, firmware: parts.firmware ?? chain.firmware, images };
}

/** A Windows Server chain: bootmgfw and winload, signed by Microsoft's Windows PCA. */
export function windowsChain(o: { build: string; firmware?: string; bootDrivers?: readonly string[] }): BootChain {
  return {
    os: 'windows',
    firmware: o.firmware ?? DEFAULT_FIRMWARE,
    secureBoot: secureBootWith(['microsoft-windows-pca-2011', 'microsoft-uefi-ca-2011']),
    images: [
      { image: `bootmgfw-${o.build}`, authority: 'microsoft-windows-pca-2011' },
      { image: `winload-${o.build}`, authority: 'microsoft-windows-pca-2011' },
    ],
    windows: {
      bitlocker: 'protectors-none',
      bootDrivers: o.bootDrivers ?? ['disk.sys', 'volmgr.sys'],
      authorities: ['microsoft-windows-pca-2011'],
    },
  };
}
