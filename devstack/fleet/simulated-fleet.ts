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
 * A VM's root can also write forged entries (`forge`), as `gcloud logging write` would: they take
 * the same path to the log sink as the VM's genuine ones, so nothing downstream tells them apart.
 * An instance without a boot chain is a Compute instance only: it obeys stop, start and relearn
 * and writes nothing (for replaying entries exported from a real project against its inventory).
 */
import { computeError, type ComputeInstance } from '@bootwarden/workflows-emulator';
import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
import { createHash } from 'node:crypto';
import { INTEGRITY_LOG_ID } from '../../core/event.js';
import type { JsonObject } from '../../core/json.js';
import { nanosecondsLater } from '../entries.js';
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

/**
 * What root on a VM writes with
 * `gcloud logging write compute.googleapis.com%2Fshielded_vm_integrity '<payload>' --payload-type=json
 *  --monitored-resource-type=gce_instance --monitored-resource-labels=zone=Z,instance_id=I,project_id=P
 *  [--severity=S]`
 * (https://cloud.google.com/sdk/gcloud/reference/logging/write), with the default Compute service
 * account's `logging.logEntries.create` in the VM's project. The writer chooses the payload, the
 * resource labels (any instance id, of a VM of the project or not) and the severity (gcloud's
 * default is DEFAULT). It cannot choose the project (the entry lands in its own), `insertId`,
 * `timestamp` or `receiveTimestamp`: gcloud logging write has no flag for them, and Logging assigns
 * a unique insertId and the current time to an entry that has none
 * (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/write).
 */
export interface ForgedEntry {
  /** The `instance_id` label: any decimal id. */
  readonly instanceId: string;
  /** The `zone` label (default: the writing VM's). */
  readonly zone?: string;
  /** The JSON message, which becomes `jsonPayload`. */
  readonly payload: JsonObject;
  readonly severity?: 'DEFAULT' | 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL' | 'ALERT' | 'EMERGENCY';
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
  private forged = 0;

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

  /**
   * Root on `fromVm` writes a forged entry (ForgedEntry): it goes to the log listeners, as the VM's
   * own entries do. Returns the entry as Logging stores it.
   */
  forge(fromVm: string, forged: ForgedEntry): JsonObject {
    const writer = this.vm(fromVm);
    if (writer.status !== 'RUNNING') throw new Error(`${writer.name} is ${writer.status}: only a running guest writes log entries`);
    const n = ++this.forged;
    const ms = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    // Logging's time of receipt, in nanoseconds; the entry has no timestamp of its own.
    const timestamp = nanosecondsLater(ms, BigInt(this.now() % 1000) * 1_000_000n + (BigInt(n * 104_729) % 1_000_000n));
    const project = writer.ref.project;
    const entry: JsonObject = {
      insertId: createHash('sha1').update(`forged/${project}/${n}/${timestamp}`).digest('hex').slice(0, 14),
      jsonPayload: forged.payload,
      resource: {
        type: 'gce_instance',
        labels: { instance_id: forged.instanceId, project_id: project, zone: forged.zone ?? writer.ref.zone },
      },
      timestamp,
      severity: forged.severity ?? 'DEFAULT',
      logName: `projects/${project}/logs/${INTEGRITY_LOG_ID}`,
      receiveTimestamp: timestamp,
    };
    this.emit([entry]);
    return entry;
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
