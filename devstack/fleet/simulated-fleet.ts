/**
 * The local stack's Compute fleet (issue 12): simulated Shielded VMs (shielded-vm.ts) behind the
 * emulator's in-memory Compute (RecordingComputeFleet), which answers as Compute does: instances by
 * name or id, `requestId` deduplication, long-running operations, list filters, and a 400 for a
 * relearn of an instance that is not RUNNING. What a change does to a VM is the simulation's:
 * - `start` boots the VM: it measures its chain and writes its early- and late-boot reports;
 * - `stop` writes its shutdown event;
 * - `setShieldedInstanceIntegrityPolicy {updateAutoLearnPolicy: true}` makes its policy the
 *   measurements of its most recent boot;
 * - `suspend` and `resume` put it in SUSPENDED and back to RUNNING, writing nothing (its memory is
 *   kept: no shutdown, no boot); `start` refuses a SUSPENDED instance, as Compute does (and
 *   `stop` refuses one, as undocumented).
 * Every entry a VM writes goes, in order, to the fleet's log listeners (the local log sink).
 * An instance without a boot chain is a Compute instance only: it obeys stop, start and relearn
 * and writes nothing (for replaying entries exported from a real project against its inventory).
 */
import { computeError, type ComputeInstance } from '@bootwarden/workflows-emulator';
import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
import type { JsonObject } from '../../core/json.js';
import { ShieldedVmError, SimulatedShieldedVm } from './shielded-vm.js';
import type { BootChain } from './vtpm.js';

/** One instance of the fleet, as a fleet file describes it. */
export interface FleetInstance {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  /** Decimal string (19 digits for real instances). */
  readonly id: string;
  readonly status: 'RUNNING' | 'TERMINATED';
  readonly labels?: Readonly<Record<string, string>>;
  /** RFC 3339; a RUNNING instance defaults to the time it is added. */
  readonly lastStartTimestamp?: string;
  /** The boot counter of its current (RUNNING) or last boot; default 1 when RUNNING. */
  readonly bootCounter?: bigint;
  /** What it boots; without one the instance writes no entries. */
  readonly chain?: BootChain;
}

export type EntryListener = (entry: JsonObject) => void;
/** A change Compute made to a simulated VM. */
export type FleetChange = 'started' | 'stopped' | 'relearned' | 'suspended' | 'resumed';
export type ChangeListener = (change: FleetChange, vm: SimulatedShieldedVm) => void;

export class SimulatedFleet {
  /** The Compute side: what the Compute server and the engine's connectors act on. */
  readonly compute: RecordingComputeFleet;
  private readonly vms = new Map<string, SimulatedShieldedVm>();
  private readonly listeners = new Set<EntryListener>();
  private readonly changeListeners = new Set<ChangeListener>();

  constructor(
    private readonly now: () => number,
    options: { pollsUntilDone?: number } = {},
  ) {
    this.compute = new RecordingComputeFleet({
      now,
      pollsUntilDone: options.pollsUntilDone ?? 1,
      effects: {
        started: (i) => this.act(i, 'started', (vm) => vm.boot()),
        stopped: (i) => this.act(i, 'stopped', (vm) => vm.stop()),
        relearned: (i) =>
          this.act(i, 'relearned', (vm) => {
            vm.relearn();
            return [];
          }),
        suspended: (i) =>
          this.act(i, 'suspended', (vm) => {
            vm.suspend();
            return [];
          }),
        resumed: (i) =>
          this.act(i, 'resumed', (vm) => {
            vm.resume();
            return [];
          }),
      },
    });
  }

  /** Calls `listener` with every entry a VM writes from now on; returns the unsubscribe. */
  onEntry(listener: EntryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` after each change Compute makes to a simulated VM; returns the unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  add(spec: FleetInstance): ComputeInstance {
    const instance = this.compute.addInstance({
      project: spec.project,
      zone: spec.zone,
      name: spec.name,
      id: spec.id,
      status: spec.status,
      ...(spec.labels === undefined ? {} : { labels: spec.labels }),
      ...(spec.chain === undefined ? {} : { os: spec.chain.os }),
      // A RUNNING instance without one has run since its creation (the fleet's default).
      ...(spec.lastStartTimestamp === undefined ? {} : { lastStartTimestamp: spec.lastStartTimestamp }),
    });
    if (spec.chain !== undefined) {
      const vm = new SimulatedShieldedVm(
        {
          project: spec.project,
          zone: spec.zone,
          name: spec.name,
          id: spec.id,
          chain: spec.chain,
          ...(spec.labels ? { labels: spec.labels } : {}),
        },
        this.now,
      );
      if (spec.status === 'RUNNING') vm.assumeRunning(spec.bootCounter ?? 1n, instance.lastStartTimestamp ?? instance.creationTimestamp);
      else if (spec.bootCounter !== undefined) vm.bootCounter = spec.bootCounter;
      this.vms.set(spec.id, vm);
    }
    return instance;
  }

  /** The simulated VM by name or id; throws when there is none or it has no boot chain. */
  vm(nameOrId: string): SimulatedShieldedVm {
    const found = this.vms.get(nameOrId) ?? [...this.vms.values()].find((v) => v.name === nameOrId);
    if (found === undefined) throw new Error(`the fleet has no simulated VM ${nameOrId} (unknown, or added without a boot chain)`);
    return found;
  }

  /** Every simulated VM, in the order added. */
  all(): SimulatedShieldedVm[] {
    return [...this.vms.values()];
  }

  /** Installs a new chain on the VM: its next boot runs it. */
  install(nameOrId: string, chain: BootChain): void {
    this.vm(nameOrId).install(chain);
  }

  /** A reboot from inside the guest: Compute sees nothing, the VM writes its boot reports. */
  reboot(nameOrId: string): void {
    this.emit(this.vm(nameOrId).reboot());
  }

  private act(instance: ComputeInstance, kind: FleetChange, change: (vm: SimulatedShieldedVm) => JsonObject[]): void {
    const vm = this.vms.get(instance.id);
    if (vm === undefined) return;
    let entries: JsonObject[];
    try {
      entries = change(vm);
    } catch (e) {
      if (e instanceof ShieldedVmError) throw computeError(e.status, 'invalidResourceUsage', `Invalid resource usage: '${e.message}'.`);
      throw e;
    }
    for (const listener of this.changeListeners) listener(kind, vm);
    this.emit(entries);
  }

  private emit(entries: readonly JsonObject[]): void {
    for (const entry of entries) for (const listener of this.listeners) listener(entry);
  }
}
