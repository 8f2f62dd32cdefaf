/**
 * The blast-radius guard: a rollout (new firmware from the platform, one kernel pushed to 500 VMs)
 * makes hundreds of reports fail at once with the same unknown measurements. Stopping them all is
 * an outage nobody needed to cause. So at most `perFingerprint` stops per fingerprint, `perProject`
 * per project and `overall` in all, per window; beyond that the decision is `hold`: the VM keeps
 * running, nothing is changed, and it joins the fingerprint's approval group.
 *
 * Each allowed stop takes one slot in each scope: slot documents `(window, scope, key, index)` with
 * index below the limit, created once. Exactly `limit` creations can succeed per scope and window,
 * however many deliveries race, on any database that refuses a second create of a document. A slot
 * names the event that took it, so a redelivered event finds its slots again instead of taking more.
 * Windows are fixed (aligned to the epoch): at most `limit` stops in each window, so at most twice
 * that in any period of one window's length that spans a boundary. A slot taken for a VM that is
 * then held by a later scope stays taken: the guard errs on the side of holding.
 *
 * Slots count VMs Compute has: the event's slots go to the response workflow (`stopSlots` of its
 * argument), which deletes those this event holds when `instances.list` finds no such VM
 * (`stop_skipped`). Forged reports for instance ids that do not exist cannot use up the guard.
 */
import type { Decision } from './decide.js';
import type { InstanceRef } from './event.js';
import type { StopSlot, StopSlotStore } from './ports/stop-slots.port.js';

export const GUARD_SCOPES = ['fingerprint', 'project', 'overall'] as const;
export type GuardScope = (typeof GUARD_SCOPES)[number];

export interface BlastRadiusLimits {
  readonly perFingerprint: number;
  readonly perProject: number;
  readonly overall: number;
  readonly windowSeconds: number;
}

/** Conservative: a fleet-wide rollout costs three stopped VMs per hour and fingerprint, never a fleet. */
export const DEFAULT_BLAST_RADIUS: BlastRadiusLimits = { perFingerprint: 3, perProject: 10, overall: 20, windowSeconds: 3600 };

/** The variable that sets each limit (core/config.ts reads them). */
export const LIMIT_VARIABLES = {
  fingerprint: 'BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT',
  project: 'BOOTWARDEN_MAX_STOPS_PER_PROJECT',
  overall: 'BOOTWARDEN_MAX_STOPS',
} as const satisfies Record<GuardScope, string>;

/** Why a VM is held rather than stopped. */
export interface HeldBy {
  readonly scope: GuardScope;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly windowStart: string;
}

/** `slots`: the slots the event holds (on a hold, those of the scopes before the full one). */
export type GuardVerdict =
  | { readonly stop: true; readonly slots: readonly string[] }
  | { readonly stop: false; readonly heldBy: HeldBy; readonly slots: readonly string[] };

export interface StopRequest {
  readonly eventKey: string;
  readonly instance: InstanceRef;
  readonly fingerprint: string | null;
  readonly now: Date;
}

function limitOf(limits: BlastRadiusLimits, scope: GuardScope): number {
  return scope === 'fingerprint' ? limits.perFingerprint : scope === 'project' ? limits.perProject : limits.overall;
}

function keyOf(scope: GuardScope, r: StopRequest): string {
  return scope === 'fingerprint' ? (r.fingerprint ?? 'none') : scope === 'project' ? r.instance.project : 'all';
}

/** The start of the fixed window that holds `now` (windows are aligned to the epoch). */
export function windowStartOf(now: Date, windowSeconds: number): Date {
  const ms = windowSeconds * 1000;
  return new Date(Math.floor(now.getTime() / ms) * ms);
}

/** The document ids of a scope's slots in a window: `w<epoch seconds>-<scope>-<key>-<index>`. */
export function slotIds(windowStart: Date, scope: GuardScope, key: string, limit: number): string[] {
  const w = Math.floor(windowStart.getTime() / 1000);
  return Array.from({ length: limit }, (_, i) => `w${w}-${scope}-${key}-${i}`);
}

/**
 * May this event's VM be stopped? Takes one slot per scope, in order (fingerprint, project,
 * overall), and answers `hold` at the first scope whose slots are all taken by other events.
 * Idempotent per event key: a redelivery gets its slots back, never new ones.
 */
export async function claimStop(store: StopSlotStore, limits: BlastRadiusLimits, r: StopRequest): Promise<GuardVerdict> {
  const start = windowStartOf(r.now, limits.windowSeconds);
  const windowStart = start.toISOString();
  const expiresAt = new Date(start.getTime() + limits.windowSeconds * 1000).toISOString();
  const taken: string[] = [];
  const held = (scope: GuardScope, limit: number): GuardVerdict => ({
    stop: false,
    heldBy: { scope, limit, windowSeconds: limits.windowSeconds, windowStart },
    slots: [...taken],
  });
  for (const scope of GUARD_SCOPES) {
    const limit = limitOf(limits, scope);
    if (limit === 0) return held(scope, limit);
    const ids = slotIds(start, scope, keyOf(scope, r), limit);
    const holders = await store.holders(ids);
    let mine = ids.find((_, i) => holders[i] === r.eventKey);
    for (const [i, id] of ids.entries()) {
      if (mine !== undefined) break;
      if (holders[i] !== null) continue;
      const slot: StopSlot = {
        holder: r.eventKey,
        instance: { ...r.instance },
        fingerprint: r.fingerprint,
        scope,
        windowStart,
        claimedAt: r.now.toISOString(),
        expiresAt,
      };
      if (await store.create(id, slot)) mine = id;
    }
    if (mine === undefined) return held(scope, limit);
    taken.push(mine);
  }
  return { stop: true, slots: taken };
}

const SCOPE_WORDS: Record<GuardScope, string> = {
  fingerprint: 'with these measurements',
  project: 'in this project',
  overall: 'in all',
};

/** The stop decision turned into a hold: same facts, the VM keeps running, the reason says why. */
export function holdInstead(decision: Decision, heldBy: HeldBy): Decision {
  const variable = LIMIT_VARIABLES[heldBy.scope];
  const why =
    heldBy.limit === 0
      ? `${variable} is 0: no VM ${SCOPE_WORDS[heldBy.scope]} is stopped automatically`
      : `${heldBy.limit} VM${heldBy.limit === 1 ? ' was' : 's were'} already stopped ${SCOPE_WORDS[heldBy.scope]} since ${heldBy.windowStart} (${variable}=${heldBy.limit} per ${heldBy.windowSeconds} s)`;
  return {
    ...decision,
    action: 'hold',
    intendedAction: 'stop',
    reason: `${decision.reason}; held, not stopped: ${why}; the VM keeps running unchanged until an operator decides`,
    heldBy,
  };
}

/** A stop decision within the limits stays a stop; beyond them it becomes a hold. Other decisions pass. */
export async function guardDecision(
  store: StopSlotStore,
  limits: BlastRadiusLimits,
  decision: Decision,
  r: Omit<StopRequest, 'fingerprint'>,
): Promise<Decision> {
  if (decision.action !== 'stop') return decision;
  const verdict = await claimStop(store, limits, { ...r, fingerprint: decision.fingerprint });
  const d = verdict.stop ? decision : holdInstead(decision, verdict.heldBy);
  return { ...d, stopSlots: verdict.slots };
}

/** The guard's records in memory: `bootwarden replay` simulates the guard with it. */
export class MemoryStopSlots implements StopSlotStore {
  readonly slots = new Map<string, StopSlot>();

  holders(ids: readonly string[]): Promise<(string | null)[]> {
    return Promise.resolve(ids.map((id) => this.slots.get(id)?.holder ?? null));
  }

  create(id: string, slot: StopSlot): Promise<boolean> {
    if (this.slots.has(id)) return Promise.resolve(false);
    this.slots.set(id, slot);
    return Promise.resolve(true);
  }
}
