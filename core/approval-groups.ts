/**
 * Approval groups: one per new fingerprint, joined by every stopped VM that reports it while the
 * group is open, decided once for all of them. Pure rules here; the Slack app keeps the records
 * (core/ports/approval-store.port.ts) and talks to Slack and to the waiting executions.
 *
 * Correctness rests on create-once records, never on transaction isolation:
 * - a member is created (state `waiting`) before it reads whether the group is decided;
 * - a decider creates the decision before it lists the members to call back.
 * So every member is seen by the decider's listing or sees the decision itself, and a member's
 * callback is delivered at least once (the workflow takes the first valid one).
 */
import type { ApprovalDecision, ApprovalRequest, OutcomeKind } from './approvals.js';
import type { InstanceRef } from './event.js';

/** A waiting execution's callback: `waiting` for a decision, `pending` delivery, then `delivered` or `gone`. */
export type CallbackState = 'waiting' | 'pending' | 'delivered' | 'gone';

export interface GroupMember {
  readonly groupId: string;
  readonly execution: string;
  readonly eventKey: string;
  readonly instance: InstanceRef;
  readonly instanceName: string | null;
  readonly bootCounter: string | null;
  readonly diff: ApprovalRequest['diff'];
  /** Held by the blast-radius guard (still running) rather than stopped. */
  readonly held: boolean;
  /** Ran these measurements on the boot after a relearn onto other ones (relearn_mismatch). */
  readonly afterRelearn: boolean;
  readonly eventTimestamp: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  /** Kept server-side only: it never appears in a message, a log line or an audit record. */
  readonly callbackUrl: string;
  readonly callback: {
    readonly state: CallbackState;
    readonly attempts: number;
    /** Not before this time (ISO), after a failed attempt. */
    readonly nextAttemptAt: string | null;
    readonly lastError: string | null;
    readonly deliveredAt: string | null;
  };
  /** The last outcome the workflow reported for this execution. */
  readonly outcome: { readonly kind: OutcomeKind; readonly detail: string; readonly at: string } | null;
}

export interface ApprovalGroup {
  readonly id: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  /** The Slack message: null until it is posted (a failed post is retried by the next sync). */
  readonly message: { readonly channel: string; readonly ts: string } | null;
  /** Set when drawing the message failed; the next sync redraws it. */
  readonly messageStale?: boolean;
}

export interface Approver {
  readonly teamId: string;
  readonly userId: string;
  /** The display name Slack gave with the click: shown, never used to authorize. */
  readonly name: string;
}

export interface DecisionRecord {
  readonly groupId: string;
  readonly fingerprint: string;
  readonly decision: ApprovalDecision;
  /** Who made the decision final (the second approver, when two are required). */
  readonly approver: Approver;
  /** Everyone whose approval counted, in order; [approver] for a rejection or a single approval. */
  readonly approvers: readonly Approver[];
  readonly decidedAt: string;
}

/** One approver's approval, when a group needs two (create-once per group and approver). */
export interface ApprovalVote {
  readonly groupId: string;
  readonly approver: Approver;
  readonly at: string;
}

/** Who may decide: (team id, user id) pairs and members of user groups. Names never count. */
export interface ApproverPolicy {
  readonly users: readonly { readonly teamId: string; readonly userId: string }[];
  readonly userGroups: readonly string[];
}

export type Authorization = { readonly ok: true; readonly via: string } | { readonly ok: false; readonly reason: string };

/**
 * Is this (team, user) an approver? `groupMembers` gives the user ids of a user group in the
 * app's own workspace; a user group authorizes only users of that workspace (`appTeamId`).
 */
export async function authorize(
  policy: ApproverPolicy,
  actor: { readonly teamId: string; readonly userId: string },
  appTeamId: string | null,
  groupMembers: (userGroup: string) => Promise<readonly string[]>,
): Promise<Authorization> {
  if (policy.users.some((u) => u.teamId === actor.teamId && u.userId === actor.userId))
    return { ok: true, via: `approver ${actor.teamId}:${actor.userId}` };
  if (actor.teamId === appTeamId) {
    for (const group of policy.userGroups) {
      if ((await groupMembers(group)).includes(actor.userId)) return { ok: true, via: `member of user group ${group}` };
    }
  }
  return { ok: false, reason: `${actor.teamId}:${actor.userId} is not a configured approver` };
}

/** What one delivery attempt came to. */
export type DeliveryResult =
  | { readonly kind: 'delivered' }
  /** The execution is not waiting any more (ended, cancelled, or its callback is unknown): nothing to deliver to. */
  | { readonly kind: 'gone'; readonly detail: string }
  | { readonly kind: 'retry'; readonly detail: string };

/**
 * An HTTP answer of the callback endpoint, classified. 2xx: delivered. 404: the execution has
 * ended (Workflows answers NOT_FOUND for a callback that no longer exists). Anything else, 401
 * and 403 included (a missing `workflows.callbacks.send` can be granted later), is retried.
 */
export function classifyCallbackStatus(status: number, body: string): DeliveryResult {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const detail = `HTTP ${status}${body === '' ? '' : `: ${body.slice(0, 300)}`}`;
  if (status === 404) return { kind: 'gone', detail };
  return { kind: 'retry', detail };
}

/** Wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... capped at 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** The member as first recorded: waiting for a decision. */
export function newMember(groupId: string, request: ApprovalRequest): GroupMember {
  return {
    groupId,
    execution: request.execution,
    eventKey: request.eventKey,
    instance: request.instance,
    instanceName: request.instanceName,
    bootCounter: request.bootCounter,
    diff: request.diff,
    held: request.held,
    afterRelearn: request.afterRelearn,
    eventTimestamp: request.eventTimestamp,
    requestedAt: request.requestedAt,
    expiresAt: request.expiresAt,
    callbackUrl: request.callbackUrl,
    callback: { state: 'waiting', attempts: 0, nextAttemptAt: null, lastError: null, deliveredAt: null },
    outcome: null,
  };
}

/** What a group's message shows: derived from its records alone, so any process can redraw it. */
export interface GroupSummary {
  readonly groupId: string;
  readonly fingerprint: string;
  readonly vmCount: number;
  /** How many of them the blast-radius guard held (still running) rather than stopped. */
  readonly heldCount: number;
  /** How many of them ran the measurements on the boot after a relearn onto other ones. */
  readonly afterRelearnCount: number;
  /** Up to `sampleSize` members, oldest first. */
  readonly sample: readonly GroupMember[];
  /** PCRs that differ from the VMs' policies, each with how (`changed`, `added`, `removed`) and on how many VMs. */
  readonly pcrs: readonly { readonly pcrNum: string; readonly how: string; readonly vms: number }[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** The latest expiry of the members: a decision after it reaches nobody. */
  readonly expiresAt: string;
  readonly decision: DecisionRecord | null;
  /** Approvals so far, while a second approver is needed. */
  readonly votes: readonly ApprovalVote[];
  readonly outcomes: Readonly<Partial<Record<OutcomeKind, number>>>;
}

export function summarize(
  group: ApprovalGroup,
  members: readonly GroupMember[],
  decision: DecisionRecord | null,
  sampleSize = 10,
  votes: readonly ApprovalVote[] = [],
): GroupSummary {
  const sorted = [...members].sort(
    (a, b) => Date.parse(a.eventTimestamp) - Date.parse(b.eventTimestamp) || a.execution.localeCompare(b.execution),
  );
  const pcrs = new Map<string, { pcrNum: string; how: string; vms: number }>();
  const outcomes: Partial<Record<OutcomeKind, number>> = {};
  for (const m of sorted) {
    const d = m.diff;
    const seen = [
      ...(d?.changed ?? []).map((c) => [c.pcrNum, 'changed'] as const),
      ...(d?.added ?? []).map((x) => [x.pcrNum, 'added'] as const),
      ...(d?.removed ?? []).map((x) => [x.pcrNum, 'removed'] as const),
    ];
    for (const [pcrNum, how] of seen) {
      const key = `${pcrNum} ${how}`;
      const entry = pcrs.get(key) ?? { pcrNum, how, vms: 0 };
      entry.vms++;
      pcrs.set(key, entry);
    }
    if (m.outcome !== null) outcomes[m.outcome.kind] = (outcomes[m.outcome.kind] ?? 0) + 1;
  }
  const times = sorted.map((m) => m.eventTimestamp);
  const latest = sorted.reduce<string | null>(
    (max, m) => (max === null || Date.parse(m.expiresAt) > Date.parse(max) ? m.expiresAt : max),
    null,
  );
  return {
    groupId: group.id,
    fingerprint: group.fingerprint,
    vmCount: sorted.length,
    heldCount: sorted.filter((m) => m.held).length,
    afterRelearnCount: sorted.filter((m) => m.afterRelearn).length,
    sample: sorted.slice(0, sampleSize),
    pcrs: [...pcrs.values()].sort((a, b) => pcrOrder(a.pcrNum) - pcrOrder(b.pcrNum) || a.how.localeCompare(b.how)),
    firstSeen: times[0] ?? group.createdAt,
    lastSeen: times[times.length - 1] ?? group.createdAt,
    expiresAt: latest ?? group.createdAt,
    decision,
    votes: [...votes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
    outcomes,
  };
}

function pcrOrder(pcrNum: string): number {
  return Number(pcrNum.slice(4));
}

/** Is the group past its latest expiry at `now` (ISO timestamps compare by instant, not as text)? */
export function isExpired(summary: Pick<GroupSummary, 'expiresAt' | 'vmCount'>, now: Date): boolean {
  return summary.vmCount > 0 && Date.parse(summary.expiresAt) <= now.getTime();
}
