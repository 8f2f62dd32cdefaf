/**
 * A synthetic fleet and the integrity log entries it writes, built with devstack/entries.ts.
 *
 * Mix of entries: ~70% failed late-boot reports whose measurements are a known-good baseline
 * (an approved kernel or boot manager update), ~20% failed late-boot reports with unknown
 * measurements, ~10% everything else (passed boot reports, a deferred early-boot failure,
 * shutdown, policy and config updates, an event kind bootwarden does not know). Linux VMs report
 * SHA256 PCRs 0, 4, 7 (+14 after MOK enrolment); Windows VMs report SHA1 PCRs 0, 4, 7, 11, 13, 14.
 * Deterministic: the same seed gives the same entries.
 */
import { newBaseline, type Baseline } from '../core/baseline.js';
import type { InstanceRef } from '../core/event.js';
import type { JsonObject } from '../core/json.js';
import type { Measurement } from '../core/measurements.js';
import { bootReportEntry, linuxBoot, measure, simpleEventEntry } from '../devstack/entries.js';
import { Rng } from '../devstack/random.js';

/** What `decide` must answer for the entry (default policy). */
export type Expected = 'relearn' | 'stop' | 'ignore';

export interface GeneratedEntry {
  readonly entry: JsonObject;
  readonly expect: Expected;
}

/** An update: the VM's policy still holds `policy`, it booted `actual`. */
export { Rng };

export interface Upgrade {
  readonly policy: readonly Measurement[];
  readonly actual: readonly Measurement[];
}

const KERNELS = ['linux-6.1.0-25-amd64', 'linux-6.1.0-26-amd64', 'linux-6.1.0-27-amd64', 'linux-6.1.0-28-amd64'];
const BOOTMGRS = ['bootmgr-2026-08', 'bootmgr-2026-09', 'bootmgr-2026-10', 'bootmgr-2026-11'];

export function windowsBoot(bootmgr: string, bitlocker = `bitlocker-${bootmgr.slice(-7)}`): Measurement[] {
  return measure(
    { PCR_0: 'ovmf-2026-09', PCR_4: bootmgr, PCR_7: 'db-2024-06', PCR_11: bitlocker, PCR_13: 'drivers-2026', PCR_14: 'hvci' },
    'SHA1',
  );
}

function linuxMokBoot(kernel: string): Measurement[] {
  return measure({ PCR_0: 'ovmf-2026-09', PCR_4: kernel, PCR_7: 'db-2024-06', PCR_14: 'mok-nvidia-550' });
}

const BASELINE_META = { addedBy: 'bench@example.com', addedAt: '2026-10-01T00:00:00.000Z', sourceEntry: null, note: 'npm run bench' };

export function baselineOf(ms: readonly Measurement[]): Baseline {
  return newBaseline(ms, BASELINE_META);
}

/** A baseline nobody's VM reports: fills a store up to N documents. */
export function fillerBaseline(i: number): Baseline {
  return baselineOf(i % 3 === 2 ? windowsBoot(`bootmgr-filler-${i}`) : linuxBoot(`linux-filler-${i}`));
}

const PROJECTS = ['acme-prod', 'acme-staging', 'payments-prod', 'data-platform-prod'];
const ZONES = ['us-central1-a', 'us-central1-b', 'europe-west1-b', 'europe-west4-c', 'asia-east1-a', 'us-east4-c'];

export interface Vm {
  readonly ref: InstanceRef;
  readonly windows: boolean;
  readonly mok: boolean;
}

export class Fleet {
  /** Updates whose measurements are known-good baselines. */
  readonly knownLinux: Upgrade[] = [];
  readonly knownWindows: Upgrade[] = [];
  /** Updates nobody approved. */
  readonly unknownLinux: Upgrade[] = [];
  readonly unknownWindows: Upgrade[] = [];
  /** Every known-good update, in the order of `knownBaselines` (one baseline each). */
  readonly knownUpgrades: Upgrade[];
  readonly knownBaselines: Baseline[];
  private readonly knownMok: Upgrade;
  readonly vms: Vm[] = [];
  private readonly rng: Rng;
  private readonly epochMs = Date.UTC(2026, 10, 20);

  constructor(seed = 42, instanceCount = 5000) {
    this.rng = new Rng(seed);
    for (let i = 1; i < KERNELS.length; i++) {
      this.knownLinux.push({ policy: linuxBoot(KERNELS[i - 1] as string), actual: linuxBoot(KERNELS[i] as string) });
      this.knownWindows.push({ policy: windowsBoot(BOOTMGRS[i - 1] as string), actual: windowsBoot(BOOTMGRS[i] as string) });
    }
    this.knownMok = { policy: linuxMokBoot(KERNELS[2] as string), actual: linuxMokBoot(KERNELS[3] as string) };
    const latestLinux = linuxBoot(KERNELS[3] as string);
    const latestWindows = windowsBoot(BOOTMGRS[3] as string);
    for (let k = 0; k < 24; k++) {
      this.unknownLinux.push({ policy: latestLinux, actual: linuxBoot(`${KERNELS[3] as string}+unsigned-${k}`) });
    }
    for (let k = 0; k < 8; k++) {
      this.unknownWindows.push({ policy: latestWindows, actual: windowsBoot(BOOTMGRS[3] as string, `bitlocker-tampered-${k}`) });
    }
    this.knownUpgrades = [...this.knownLinux, this.knownMok, ...this.knownWindows];
    this.knownBaselines = this.knownUpgrades.map((u) => baselineOf(u.actual));
    for (let i = 0; i < instanceCount; i++) {
      const windows = this.rng.next() < 0.35;
      this.vms.push({
        ref: { id: `5${this.rng.digits(18)}`, project: this.rng.pick(PROJECTS), zone: this.rng.pick(ZONES) },
        windows,
        mok: !windows && this.rng.next() < 0.1,
      });
    }
  }

  /** A failed late-boot report whose measurements are (or are not) a baseline. */
  failedLateBoot(i: number, known: boolean): GeneratedEntry {
    const vm = this.rng.pick(this.vms);
    const upgrade = this.upgrade(vm, known);
    return {
      entry: bootReportEntry('lateBootReportEvent', {
        ...this.options(i, vm),
        actual: upgrade.actual,
        policy: upgrade.policy,
        passed: false,
      }),
      expect: known ? 'relearn' : 'stop',
    };
  }

  /** The i-th entry of the log (newest first, as `gcloud logging read` lists them). */
  entry(i: number): GeneratedEntry {
    const r = this.rng.next();
    if (r < 0.7) return this.failedLateBoot(i, true);
    if (r < 0.9) return this.failedLateBoot(i, false);
    const vm = this.rng.pick(this.vms);
    const o = this.options(i, vm);
    const u = this.upgrade(vm, true);
    const s = this.rng.next();
    let entry: JsonObject;
    if (s < 0.3) entry = bootReportEntry('lateBootReportEvent', { ...o, actual: u.actual, policy: u.actual, passed: true });
    else if (s < 0.6) entry = bootReportEntry('earlyBootReportEvent', { ...o, actual: u.actual, policy: u.actual, passed: true });
    else if (s < 0.7) entry = bootReportEntry('earlyBootReportEvent', { ...o, actual: u.actual, policy: u.policy, passed: false });
    else if (s < 0.8) entry = simpleEventEntry('shutdownEvent', o);
    else if (s < 0.9) entry = simpleEventEntry('setShieldedInstanceIntegrityPolicy', o, { updateAutoLearnPolicy: true });
    else if (s < 0.95) {
      entry = simpleEventEntry('updateShieldedInstanceConfig', o, {
        updatedShieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      });
    } else entry = simpleEventEntry('confidentialComputeFutureEvent', o, { detail: 'an event kind from the future' });
    return { entry, expect: 'ignore' };
  }

  private upgrade(vm: Vm, known: boolean): Upgrade {
    if (known) return vm.mok ? this.knownMok : this.rng.pick(vm.windows ? this.knownWindows : this.knownLinux);
    return this.rng.pick(vm.windows ? this.unknownWindows : this.unknownLinux);
  }

  /** Entries generated so far per VM: each is one boot further back (the log is newest first). */
  private readonly bootsBack = new Map<Vm, number>();

  private options(i: number, vm: Vm): { instance: InstanceRef; bootCounter: number; insertId: string; timestamp: string } {
    const iso = new Date(this.epochMs - i * 250).toISOString();
    const back = (this.bootsBack.get(vm) ?? 0) + 1;
    this.bootsBack.set(vm, back);
    return {
      instance: vm.ref,
      // A VM's boots count up by one, as Compute's do: the function refuses a counter that jumps.
      bootCounter: Math.max(1, 1000 - back),
      insertId: `${i.toString(36).padStart(5, '0')}${this.rng
        .int(36 ** 8)
        .toString(36)
        .padStart(8, '0')}`,
      // Cloud Logging writes nanoseconds.
      timestamp: `${iso.slice(0, -1)}${String(this.rng.int(1_000_000)).padStart(6, '0')}Z`,
    };
  }
}
