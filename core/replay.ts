/**
 * Aggregates decisions over a log export: what bootwarden would have done. Memory grows with the
 * number of distinct instances and fingerprints (bounded by the fleet), never with the number of
 * entries.
 */
import type { Decision } from './decide.js';
import type { Rejection } from './errors.js';
import type { IntegrityEvent, InstanceRef } from './event.js';
import { compareTimestamps } from './time.js';

const SAMPLE_INSTANCES = 10;
const SAMPLE_REJECTIONS = 20;

export interface StoppedInstance {
  instance: InstanceRef;
  stops: number;
  lastFingerprint: string | null;
  lastSeen: string;
}

export interface UnknownFingerprint {
  fingerprint: string;
  reports: number;
  instances: number;
  /** Reports the blast-radius guard would have held rather than stopped. */
  held: number;
  sampleInstances: InstanceRef[];
  /** How many reports showed each PCR changed / added / removed against the VM's policy. */
  pcrs: { pcrNum: string; changed: number; added: number; removed: number }[];
  firstSeen: string;
  lastSeen: string;
}

export interface ReplayReport {
  entries: number;
  actions: { ignore: number; relearn: number; stop: number; hold: number; notify: number; reject: number };
  rejectedByCode: Record<string, number>;
  sampleRejections: { ordinal: number; code: string; message: string }[];
  stoppedInstances: StoppedInstance[];
  /** Instances the blast-radius guard would have held (kept running) rather than stopped, and never stopped. */
  heldInstances: number;
  unknownFingerprints: UnknownFingerprint[];
}

interface FingerprintAcc {
  reports: number;
  held: number;
  instances: Set<string>;
  sample: InstanceRef[];
  pcrs: Map<string, { changed: number; added: number; removed: number }>;
  firstSeen: string;
  lastSeen: string;
}

function instanceKey(i: InstanceRef): string {
  return `${i.project}/${i.zone}/${i.id}`;
}

export class ReplayAggregator {
  private entries = 0;
  private readonly actions = { ignore: 0, relearn: 0, stop: 0, hold: 0, notify: 0, reject: 0 };
  private readonly held = new Set<string>();
  private readonly rejectedByCode = new Map<string, number>();
  private readonly sampleRejections: ReplayReport['sampleRejections'] = [];
  private readonly stopped = new Map<string, StoppedInstance>();
  private readonly unknown = new Map<string, FingerprintAcc>();

  addRejection(ordinal: number, r: Rejection): void {
    this.entries++;
    this.actions.reject++;
    this.rejectedByCode.set(r.code, (this.rejectedByCode.get(r.code) ?? 0) + 1);
    if (this.sampleRejections.length < SAMPLE_REJECTIONS) this.sampleRejections.push({ ordinal, code: r.code, message: r.message });
  }

  addDecision(event: IntegrityEvent, d: Decision): void {
    this.entries++;
    this.actions[d.action]++;
    const wouldStop = d.action === 'stop' || (d.action === 'notify' && d.intendedAction === 'stop');
    const held = d.action === 'hold';
    if (!wouldStop && !held) return;
    const seen = event.entry.timestamp;
    const key = instanceKey(event.instance);
    const s = this.stopped.get(key);
    if (held) {
      this.held.add(key);
    } else if (s === undefined) {
      this.stopped.set(key, { instance: event.instance, stops: 1, lastFingerprint: d.fingerprint, lastSeen: seen });
    } else {
      s.stops++;
      if (compareTimestamps(seen, s.lastSeen) >= 0) {
        s.lastSeen = seen;
        s.lastFingerprint = d.fingerprint;
      }
    }
    if (d.fingerprint === null || d.baselineId !== null) return;
    let acc = this.unknown.get(d.fingerprint);
    if (acc === undefined) {
      acc = { reports: 0, held: 0, instances: new Set(), sample: [], pcrs: new Map(), firstSeen: seen, lastSeen: seen };
      this.unknown.set(d.fingerprint, acc);
    }
    acc.reports++;
    if (held) acc.held++;
    if (!acc.instances.has(key)) {
      acc.instances.add(key);
      if (acc.sample.length < SAMPLE_INSTANCES) acc.sample.push(event.instance);
    }
    // By instant, to the nanosecond: the texts' order is wrong across offsets and fraction lengths.
    if (compareTimestamps(seen, acc.firstSeen) < 0) acc.firstSeen = seen;
    if (compareTimestamps(seen, acc.lastSeen) > 0) acc.lastSeen = seen;
    if (d.diff !== null) {
      const bump = (pcrNum: string, k: 'changed' | 'added' | 'removed'): void => {
        let c = acc.pcrs.get(pcrNum);
        if (c === undefined) {
          c = { changed: 0, added: 0, removed: 0 };
          acc.pcrs.set(pcrNum, c);
        }
        c[k]++;
      };
      d.diff.changed.forEach((c) => bump(c.pcrNum, 'changed'));
      d.diff.added.forEach((m) => bump(m.pcrNum, 'added'));
      d.diff.removed.forEach((m) => bump(m.pcrNum, 'removed'));
    }
  }

  report(): ReplayReport {
    const pcrOrder = (a: string, b: string): number => Number(a.slice(4)) - Number(b.slice(4));
    return {
      entries: this.entries,
      actions: { ...this.actions },
      rejectedByCode: Object.fromEntries([...this.rejectedByCode.entries()].sort()),
      sampleRejections: [...this.sampleRejections],
      stoppedInstances: [...this.stopped.values()]
        .sort((a, b) => b.stops - a.stops || instanceKey(a.instance).localeCompare(instanceKey(b.instance)))
        .map((s) => ({ ...s })),
      heldInstances: [...this.held].filter((k) => !this.stopped.has(k)).length,
      unknownFingerprints: [...this.unknown.entries()]
        .map(([fingerprint, a]) => ({
          fingerprint,
          reports: a.reports,
          held: a.held,
          instances: a.instances.size,
          sampleInstances: [...a.sample],
          pcrs: [...a.pcrs.entries()].sort(([x], [y]) => pcrOrder(x, y)).map(([pcrNum, c]) => ({ pcrNum, ...c })),
          firstSeen: a.firstSeen,
          lastSeen: a.lastSeen,
        }))
        .sort((a, b) => b.instances - a.instances || a.fingerprint.localeCompare(b.fingerprint)),
    };
  }
}
