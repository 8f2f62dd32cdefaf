import type { ApprovalGroup, ApprovalVote, DecisionRecord, GroupMember } from '../approval-groups.js';

/** What the audit trail of approvals records: every decision, refusal and ignored click. */
export interface ApprovalAuditRecord {
  readonly at: string;
  readonly kind:
    | 'group_opened'
    | 'member_joined'
    | 'decided'
    | 'voted'
    | 'ignored_same_approver'
    | 'refused_not_approver'
    | 'refused_unknown_group'
    | 'refused_wrong_channel'
    | 'ignored_already_decided'
    | 'ignored_expired'
    | 'callback_delivered'
    | 'callback_gone'
    | 'callback_failed'
    | 'outcome_reported'
    | 'request_rejected';
  readonly groupId: string | null;
  /** The Slack user behind a click: `TEAM:USER`. */
  readonly actor: string | null;
  readonly detail: string;
}

/**
 * The Slack app's records. Every write that decides something is create-once (a group per
 * fingerprint pointer, a member per execution, a decision per group); the rest are updates of a
 * record by the one process that owns that step. Implementations throw a retryable
 * BootwardenError when the database is unavailable.
 */
export interface ApprovalStore {
  /** The fingerprint's open group; created with `newId` when it has none (or only a decided one). */
  openGroup(fingerprint: string, createdAt: string, newId: string): Promise<{ group: ApprovalGroup; created: boolean }>;
  getGroup(groupId: string): Promise<ApprovalGroup | null>;
  setMessage(groupId: string, message: { channel: string; ts: string }): Promise<void>;
  /**
   * Who redraws the group's message now: true for one holder at a time, until it releases the
   * lease or `expiresAt` passes (a holder that died). Keeps concurrent joins from racing each other
   * (and Slack's rate limits) with one chat.update each.
   */
  takeDrawLease(groupId: string, holder: string, now: string, expiresAt: string): Promise<boolean>;
  releaseDrawLease(groupId: string, holder: string): Promise<void>;
  /** A group whose message could not be drawn in Slack is stale until a later sync succeeds. */
  markStale(groupId: string, stale: boolean): Promise<void>;
  staleGroups(limit: number): Promise<ApprovalGroup[]>;
  /** Creates the member (one per execution); false when it exists already (a retried request). */
  addMember(member: GroupMember): Promise<boolean>;
  getMember(groupId: string, execution: string): Promise<GroupMember | null>;
  members(groupId: string): Promise<GroupMember[]>;
  /** The member records of one execution (one per group it asked in). */
  membersOf(execution: string): Promise<GroupMember[]>;
  /** Records one approver's approval (two are required); false when this approver voted already. */
  vote(vote: ApprovalVote): Promise<boolean>;
  votes(groupId: string): Promise<ApprovalVote[]>;
  /** Creates the group's decision; false (and nothing written) when it has one. */
  decide(record: DecisionRecord): Promise<boolean>;
  /** Ends the group's turn as the fingerprint's open group (after a decision). */
  closeGroup(group: ApprovalGroup): Promise<void>;
  decision(groupId: string): Promise<DecisionRecord | null>;
  /** Callback state `waiting` → `pending`, for members of a decided group. */
  markPending(groupId: string, executions: readonly string[]): Promise<void>;
  /** Records delivery attempts, all in one write. */
  updateCallbacks(updates: readonly { groupId: string; execution: string; callback: GroupMember['callback'] }[]): Promise<void>;
  /** Members whose callback is pending delivery (any group), at most `limit`. */
  pendingCallbacks(limit: number): Promise<GroupMember[]>;
  /** Decisions made at or after `since` (ISO), newest first. */
  decisionsSince(since: string, limit: number): Promise<DecisionRecord[]>;
  /** Records the workflow's outcome on the member; false when the execution is not a member of the group. */
  recordOutcome(groupId: string, execution: string, outcome: NonNullable<GroupMember['outcome']>): Promise<boolean>;
  /** The groups that are open now (one per fingerprint), at most `limit`. */
  openGroups(limit: number): Promise<ApprovalGroup[]>;
  audit(record: ApprovalAuditRecord): Promise<void>;
  /** Audit records, newest first. */
  auditTrail(limit: number): Promise<ApprovalAuditRecord[]>;
}
