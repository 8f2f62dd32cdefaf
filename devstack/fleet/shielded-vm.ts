/**
 * One simulated Shielded VM (issue 12): it boots a chain (devstack/fleet/vtpm.ts), evaluates the
 * measurements against its integrity policy, and writes the log entries Cloud Logging would, in
 * the real LogEntry shape with nanosecond timestamps: per boot a startup event, then an early-boot
 * and a late-boot report (`policyEvaluationPassed`, `actualMeasurements`, `policyMeasurements`),
 * all with the boot's counter; a shutdown event when it stops.
 *
 * - The policy is learned at the first boot (Compute derives the baseline from the image the
 *   instance was created from), and afterwards only by `relearn()`, which takes the most recent
 *   boot's measurements and works only on a RUNNING instance, as
 *   `setShieldedInstanceIntegrityPolicy {updateAutoLearnPolicy: true}` does.
 * - A new chain (`install`) takes effect at the next boot: a kernel update fails the late-boot
 *   report until the policy is relearned.
 * - Time comes from the clock it is given, never from today's date.
 */
import { createHash } from 'node:crypto';
import type { InstanceRef } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { sameMeasurements, type Measurement } from '../../core/measurements.js';
import { INSTANCE_ID } from '../../core/parse.js';
import { bootReportEntry, nanosecondsLater, simpleEventEntry } from '../entries.js';
import { measurements, type BootChain } from './vtpm.js';

export type VmStatus = 'PROVISIONING' | 'RUNNING' | 'STOPPING' | 'SUSPENDED' | 'TERMINATED';

export interface VmSpec {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  /** Decimal, as Compute writes it (19 digits for real instances; never a JavaScript number). */
  readonly id: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly chain: BootChain;
}

interface Reports {
  readonly early: readonly Measurement[];
  readonly late: readonly Measurement[];
}

export class ShieldedVmError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ShieldedVmError';
  }
}

export class SimulatedShieldedVm {
  readonly ref: InstanceRef;
  readonly name: string;
  labels: Readonly<Record<string, string>>;
  status: VmStatus = 'TERMINATED';
  /** The chain the next boot runs. */
  chain: BootChain;
  bootCounter = 0n;
  lastStartTimestamp: string | null = null;
  private policy: Reports | null = null;
  private lastBoot: Reports | null = null;
  private entries = 0;

  constructor(
    spec: VmSpec,
    private readonly now: () => number,
  ) {
    if (!INSTANCE_ID.test(spec.id)) throw new Error(`instance id ${JSON.stringify(spec.id)} must be a decimal string of up to 20 digits`);
    this.ref = { project: spec.project, zone: spec.zone, id: spec.id };
    this.name = spec.name;
    this.labels = { ...(spec.labels ?? {}) };
    this.chain = spec.chain;
  }

  /** The integrity policy's measurements (null before the first boot). */
  get policyMeasurements(): Reports | null {
    return this.policy;
  }

  /**
   * The VM as it is found when the stack starts: RUNNING since boot `bootCounter`, its policy
   * learned from the chain it runs. Writes nothing (those boots are in the past).
   */
  assumeRunning(bootCounter: bigint, since: string): void {
    if (bootCounter < 1n)
      throw new Error(`instance ${this.name}: a RUNNING instance has booted at least once (bootCounter ${bootCounter})`);
    const boot = { early: measurements(this.chain, 'early'), late: measurements(this.chain, 'late') };
    this.status = 'RUNNING';
    this.bootCounter = bootCounter;
    this.lastStartTimestamp = since;
    this.lastBoot = boot;
    this.policy = boot;
  }

  /** Installs a new chain (a kernel or firmware update, or an attacker's): the next boot runs it. */
  install(chain: BootChain): void {
    this.chain = chain;
  }

  /** Boots the VM (from TERMINATED): the log entries its boot writes, oldest first. */
  boot(): JsonObject[] {
    if (this.status === 'RUNNING') throw new ShieldedVmError(400, `instance ${this.name} is already RUNNING`);
    this.status = 'RUNNING';
    this.lastStartTimestamp = new Date(this.now()).toISOString();
    return this.measureBoot();
  }

  /**
   * A reboot from inside the guest (after a kernel update, say): the instance stays RUNNING for
   * Compute, and the new boot writes its reports with the next boot counter.
   */
  reboot(): JsonObject[] {
    if (this.status !== 'RUNNING') throw new ShieldedVmError(400, `instance ${this.name} is ${this.status}: only a RUNNING guest reboots`);
    return this.measureBoot();
  }

  private measureBoot(): JsonObject[] {
    this.bootCounter += 1n;
    const boot = { early: measurements(this.chain, 'early'), late: measurements(this.chain, 'late') };
    this.lastBoot = boot;
    // The baseline is learned from the image at the instance's first boot.
    this.policy ??= boot;
    return [
      simpleEventEntry('startupEvent', this.entryOptions(), {}),
      this.report('earlyBootReportEvent', boot.early, this.policy.early),
      this.report('lateBootReportEvent', boot.late, this.policy.late),
    ];
  }

  /** Stops the VM: its shutdown event. */
  stop(): JsonObject[] {
    if (this.status !== 'RUNNING') return [];
    this.status = 'TERMINATED';
    return [simpleEventEntry('shutdownEvent', this.entryOptions(), {})];
  }

  /** Suspends the guest (its memory is saved): no entry, the boot counter stays. */
  suspend(): void {
    if (this.status !== 'RUNNING')
      throw new ShieldedVmError(400, `instance ${this.name} is ${this.status}: only a RUNNING instance is suspended`);
    this.status = 'SUSPENDED';
  }

  /** Resumes a suspended guest where it was: no boot, so no reports. */
  resume(): void {
    if (this.status !== 'SUSPENDED')
      throw new ShieldedVmError(400, `instance ${this.name} is ${this.status}: only a SUSPENDED instance is resumed`);
    this.status = 'RUNNING';
  }

  /** The policy becomes the most recent boot's measurements; only on a RUNNING instance. */
  relearn(): void {
    if (this.status !== 'RUNNING' || this.lastBoot === null)
      throw new ShieldedVmError(400, `instance ${this.name} is ${this.status}: the integrity policy is learned only on a RUNNING instance`);
    this.policy = this.lastBoot;
  }

  private report(
    kind: 'earlyBootReportEvent' | 'lateBootReportEvent',
    actual: readonly Measurement[],
    policy: readonly Measurement[],
  ): JsonObject {
    return bootReportEntry(kind, { ...this.entryOptions(), actual, policy, passed: sameMeasurements(actual, policy) });
  }

  /** Each entry its own nanosecond timestamp and insertId, as Cloud Logging writes them. */
  private entryOptions(): { instance: InstanceRef; bootCounter: string; timestamp: string; insertId: string } {
    const n = ++this.entries;
    const ms = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    const nanos = BigInt(this.now() % 1000) * 1_000_000n + (BigInt(n * 7919) % 1_000_000n);
    const timestamp = nanosecondsLater(ms, nanos);
    const insertId = createHash('sha1').update(`${this.ref.id}/${n}/${timestamp}`).digest('hex').slice(0, 14);
    return { instance: this.ref, bootCounter: this.bootCounter.toString(), timestamp, insertId };
  }
}
