/**
 * The Slack app's records in Firestore (collection names from the prefix, `bootwarden_` by default):
 * - `approval_open/{fingerprint}`: which group is open for a fingerprint (create-once; deleted, with
 *   a precondition, once that group is decided);
 * - `approval_groups/{groupId}`: the group and its Slack message;
 * - `approval_members/{groupId}_{hash of the execution}`: one waiting execution and its callback;
 * - `approval_decisions/{groupId}`: the decision (create-once: the first one wins);
 * - `approval_votes/{groupId}_{team}_{user}`: one approver's approval when two are required;
 * - `approval_draws/{groupId}`: who redraws the group's message now (a lease, create-once);
 * - `approval_audit/{auto id}`: the audit trail.
 * The queries are equalities and ranges on one top-level field (`callbackState` mirrors
 * `callback.state` for that), which Firestore serves without a composite index and the npm
 * emulator serves at all.
 */
import { createHash } from 'node:crypto';
import type { DocumentReference, DocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import type { ApprovalGroup, ApprovalVote, DecisionRecord, GroupMember } from '../../core/approval-groups.js';
import type { ApprovalAuditRecord, ApprovalStore } from '../../core/ports/approval-store.port.js';
import { firestoreError, isAlreadyExists, isNotFound, type FirestoreProvider } from './firestore-client.js';

export interface ApprovalCollections {
  readonly open: string;
  readonly draws: string;
  readonly groups: string;
  readonly members: string;
  readonly decisions: string;
  readonly votes: string;
  readonly audit: string;
}

export function approvalCollections(prefix: string): ApprovalCollections {
  return {
    open: `${prefix}approval_open`,
    draws: `${prefix}approval_draws`,
    groups: `${prefix}approval_groups`,
    members: `${prefix}approval_members`,
    decisions: `${prefix}approval_decisions`,
    votes: `${prefix}approval_votes`,
    audit: `${prefix}approval_audit`,
  };
}

function memberId(groupId: string, execution: string): string {
  return `${groupId}_${createHash('sha256').update(execution).digest('hex').slice(0, 32)}`;
}

/**
 * Groups, members, votes, decisions and audit records carry `retainUntil` (a timestamp, for a
 * Firestore TTL policy: docs/deploy.md), `retentionDays` after they were written. (`expiresAt`
 * already names a member's approval deadline.) Open pointers and drawing leases are deleted by
 * the app itself.
 */
export const RETAIN_FIELD = 'retainUntil';

/** What was written, without the retention field. */
function stored<T>(snap: DocumentSnapshot): T {
  const data = snap.data() as Record<string, unknown>;
  delete data[RETAIN_FIELD];
  return data as T;
}

/** Firestore keeps what we wrote; these read it back with the types the port promises. */
const asGroup = (snap: DocumentSnapshot): ApprovalGroup => stored<ApprovalGroup>(snap);
const asMember = (snap: DocumentSnapshot): GroupMember => {
  const member = stored<GroupMember & { callbackState?: string }>(snap);
  delete member.callbackState;
  // Members recorded before the blast-radius guard existed were all stopped.
  return { ...member, held: member.held === true, afterRelearn: member.afterRelearn === true };
};

export class FirestoreApprovalStore implements ApprovalStore {
  constructor(
    private readonly db: FirestoreProvider,
    readonly names: ApprovalCollections,
    private readonly retentionDays = 400,
  ) {}

  /** The record with its `retainUntil`, counted from `at` (the record's own time). */
  private retained<T extends object>(record: T, at: string): T & { [RETAIN_FIELD]: Date } {
    const from = Date.parse(at);
    return { ...record, [RETAIN_FIELD]: new Date((Number.isNaN(from) ? Date.now() : from) + this.retentionDays * 86_400_000) };
  }

  private async col(name: keyof ApprovalCollections) {
    return (await this.db()).collection(this.names[name]);
  }

  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw firestoreError(what, e);
    }
  }

  openGroup(fingerprint: string, createdAt: string, newId: string): Promise<{ group: ApprovalGroup; created: boolean }> {
    return this.guard(`open the approval group of ${fingerprint}`, async () => {
      const pointer = (await this.col('open')).doc(fingerprint);
      for (let attempt = 0; attempt < 5; attempt++) {
        const snap = await pointer.get();
        if (!snap.exists) {
          const group: ApprovalGroup = { id: newId, fingerprint, createdAt, message: null };
          // The group first, so that a pointer never names a group that does not exist.
          await (
            await this.col('groups')
          )
            .doc(newId)
            .create(this.retained(group, createdAt))
            .catch((e: unknown) => {
              if (!isAlreadyExists(e)) throw e; // ours, from an earlier turn of this loop
            });
          try {
            await pointer.create({ groupId: newId, createdAt });
            return { group, created: true };
          } catch (e) {
            if (!isAlreadyExists(e)) throw e;
            continue; // another request opened one first: join theirs
          }
        }
        const groupId = String(snap.get('groupId'));
        const decided = await (await this.col('decisions')).doc(groupId).get();
        if (decided.exists) {
          // Decided groups are closed: whoever sees one still named here retires the pointer.
          await deleteIfUnchanged(pointer, snap.updateTime!);
          continue;
        }
        const group = await (await this.col('groups')).doc(groupId).get();
        if (!group.exists) throw new Error(`the open-group pointer of ${fingerprint} names group ${groupId}, which does not exist`);
        return { group: asGroup(group), created: false };
      }
      throw new Error(`could not open an approval group for ${fingerprint} in 5 attempts (heavy contention)`);
    });
  }

  getGroup(groupId: string): Promise<ApprovalGroup | null> {
    return this.guard(`read approval group ${groupId}`, async () => {
      const snap = await (await this.col('groups')).doc(groupId).get();
      return snap.exists ? asGroup(snap) : null;
    });
  }

  setMessage(groupId: string, message: { channel: string; ts: string }): Promise<void> {
    return this.guard(`record the Slack message of group ${groupId}`, async () => {
      await (await this.col('groups')).doc(groupId).update({ message });
    });
  }

  /** The write time of each lease this process holds: releasing it is one delete with that precondition. */
  private readonly leases = new Map<string, Timestamp>();

  takeDrawLease(groupId: string, holder: string, now: string, expiresAt: string): Promise<boolean> {
    return this.guard(`take the drawing lease of group ${groupId}`, async () => {
      const ref = (await this.col('draws')).doc(groupId);
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const written = await ref.create({ holder, expiresAt });
          this.leases.set(`${groupId} ${holder}`, written.writeTime);
          return true;
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        const snap = await ref.get();
        if (!snap.exists) continue;
        if (Date.parse(String(snap.get('expiresAt'))) > Date.parse(now)) return false;
        // The holder died: its lease is retired once, by whoever sees it first.
        await deleteIfUnchanged(ref, snap.updateTime!);
      }
      return false;
    });
  }

  releaseDrawLease(groupId: string, holder: string): Promise<void> {
    return this.guard(`release the drawing lease of group ${groupId}`, async () => {
      const key = `${groupId} ${holder}`;
      const writeTime = this.leases.get(key);
      this.leases.delete(key);
      if (writeTime === undefined) return;
      // Only the lease this holder wrote: one that expired and was taken over is the new holder's.
      await deleteIfUnchanged((await this.col('draws')).doc(groupId), writeTime);
    });
  }

  markStale(groupId: string, stale: boolean): Promise<void> {
    return this.guard(`mark the message of group ${groupId} ${stale ? 'stale' : 'drawn'}`, async () => {
      await (await this.col('groups')).doc(groupId).update({ messageStale: stale });
    });
  }

  staleGroups(limit: number): Promise<ApprovalGroup[]> {
    return this.guard('list groups with a stale message', async () => {
      const q = await (await this.col('groups')).where('messageStale', '==', true).limit(limit).get();
      return q.docs.map(asGroup);
    });
  }

  /** Creates the document; false (and nothing written) when it exists. */
  private createOnce(what: string, name: keyof ApprovalCollections, id: string, data: object): Promise<boolean> {
    return this.guard(what, async () => {
      try {
        await (await this.col(name)).doc(id).create(data);
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    });
  }

  addMember(member: GroupMember): Promise<boolean> {
    return this.createOnce(
      `add execution ${member.execution} to group ${member.groupId}`,
      'members',
      memberId(member.groupId, member.execution),
      this.retained(member, member.requestedAt),
    );
  }

  getMember(groupId: string, execution: string): Promise<GroupMember | null> {
    return this.guard(`read member ${execution} of group ${groupId}`, async () => {
      const snap = await (await this.col('members')).doc(memberId(groupId, execution)).get();
      return snap.exists ? asMember(snap) : null;
    });
  }

  members(groupId: string): Promise<GroupMember[]> {
    return this.guard(`list the members of group ${groupId}`, async () => {
      const q = await (await this.col('members')).where('groupId', '==', groupId).get();
      return q.docs.map(asMember);
    });
  }

  membersOf(execution: string): Promise<GroupMember[]> {
    return this.guard(`find the approval groups of ${execution}`, async () => {
      const q = await (await this.col('members')).where('execution', '==', execution).get();
      return q.docs.map(asMember);
    });
  }

  vote(vote: ApprovalVote): Promise<boolean> {
    const who = `${vote.approver.teamId}_${vote.approver.userId}`;
    return this.createOnce(
      `record the approval of ${who} on group ${vote.groupId}`,
      'votes',
      `${vote.groupId}_${who}`,
      this.retained(vote, vote.at),
    );
  }

  votes(groupId: string): Promise<ApprovalVote[]> {
    return this.guard(`list the approvals of group ${groupId}`, async () => {
      const q = await (await this.col('votes')).where('groupId', '==', groupId).get();
      return q.docs.map((d) => stored<ApprovalVote>(d));
    });
  }

  decide(record: DecisionRecord): Promise<boolean> {
    return this.createOnce(
      `record the decision on group ${record.groupId}`,
      'decisions',
      record.groupId,
      this.retained(record, record.decidedAt),
    );
  }

  closeGroup(group: ApprovalGroup): Promise<void> {
    return this.guard(`close group ${group.id}`, async () => {
      const pointer = (await this.col('open')).doc(group.fingerprint);
      const snap = await pointer.get();
      if (!snap.exists || snap.get('groupId') !== group.id) return;
      await deleteIfUnchanged(pointer, snap.updateTime!);
    });
  }

  decision(groupId: string): Promise<DecisionRecord | null> {
    return this.guard(`read the decision on group ${groupId}`, async () => {
      const snap = await (await this.col('decisions')).doc(groupId).get();
      return snap.exists ? stored<DecisionRecord>(snap) : null;
    });
  }

  markPending(groupId: string, executions: readonly string[]): Promise<void> {
    return this.guard(`mark the callbacks of group ${groupId} pending`, async () => {
      const db = await this.db();
      const col = await this.col('members');
      for (let i = 0; i < executions.length; i += 400) {
        const batch = db.batch();
        for (const e of executions.slice(i, i + 400))
          batch.update(col.doc(memberId(groupId, e)), { 'callback.state': 'pending', callbackState: 'pending' });
        await batch.commit();
      }
    });
  }

  updateCallbacks(updates: readonly { groupId: string; execution: string; callback: GroupMember['callback'] }[]): Promise<void> {
    return this.guard(`record ${updates.length} callback attempt(s)`, async () => {
      const db = await this.db();
      const col = await this.col('members');
      for (let i = 0; i < updates.length; i += 400) {
        const batch = db.batch();
        for (const u of updates.slice(i, i + 400))
          batch.update(col.doc(memberId(u.groupId, u.execution)), { callback: u.callback, callbackState: u.callback.state });
        await batch.commit();
      }
    });
  }

  pendingCallbacks(limit: number): Promise<GroupMember[]> {
    return this.guard('list pending callbacks', async () => {
      const q = await (await this.col('members')).where('callbackState', '==', 'pending').limit(limit).get();
      return q.docs.map(asMember);
    });
  }

  decisionsSince(since: string, limit: number): Promise<DecisionRecord[]> {
    return this.guard('list recent decisions', async () => {
      const q = await (await this.col('decisions')).where('decidedAt', '>=', since).orderBy('decidedAt', 'desc').limit(limit).get();
      return q.docs.map((d) => stored<DecisionRecord>(d));
    });
  }

  recordOutcome(groupId: string, execution: string, outcome: NonNullable<GroupMember['outcome']>): Promise<boolean> {
    return this.guard(`record the outcome of ${execution}`, async () => {
      try {
        await (await this.col('members')).doc(memberId(groupId, execution)).update({ outcome });
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    });
  }

  openGroups(limit: number): Promise<ApprovalGroup[]> {
    return this.guard('list open approval groups', async () => {
      const pointers = await (await this.col('open')).limit(limit).get();
      const groups = await Promise.all(pointers.docs.map((p) => this.getGroup(String(p.get('groupId')))));
      return groups.filter((g): g is ApprovalGroup => g !== null);
    });
  }

  audit(record: ApprovalAuditRecord): Promise<void> {
    return this.guard(`write an audit record (${record.kind})`, async () => {
      await (await this.col('audit')).add(this.retained(record, record.at));
    });
  }

  auditTrail(limit: number): Promise<ApprovalAuditRecord[]> {
    return this.guard('read the approval audit trail', async () => {
      const q = await (await this.col('audit')).orderBy('at', 'desc').limit(limit).get();
      return q.docs.map((d) => stored<ApprovalAuditRecord>(d));
    });
  }
}

/**
 * Deletes the document if it was last written at `updateTime`; one written since (or already
 * gone) is left alone: someone else retired or replaced it first.
 */
async function deleteIfUnchanged(ref: DocumentReference, updateTime: Timestamp): Promise<void> {
  await ref.delete({ lastUpdateTime: updateTime }).catch((e: unknown) => {
    if (!isNotFound(e) && !isFailedPrecondition(e)) throw e;
  });
}

/** gRPC FAILED_PRECONDITION: a precondition (here, the document's update time) no longer holds. */
function isFailedPrecondition(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === 9;
}
