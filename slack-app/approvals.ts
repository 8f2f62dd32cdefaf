/**
 * The Slack app's use cases: an execution asks for a decision (open or join the fingerprint's
 * group, draw its message), the workflow reports an outcome, an operator clicks Approve or Reject
 * (authorize, decide once, call every waiting execution back), and the pass that delivers what is
 * still pending. The HTTP entry points (slack-app/internal.ts, listeners/) only translate.
 *
 * Where work runs (docs/slack-app.md): a click is answered as soon as its decision is recorded
 * (the create-once write that makes the first decision win); calling the executions back and
 * redrawing the message follow the answer. On Cloud Run that needs CPU always allocated
 * (`--no-cpu-throttling`, as deployed). Nothing depends on it for correctness: members stay
 * `waiting` until their delivery is recorded, and a failed one stays `pending`, so what a process
 * did not finish (killed, or starved of CPU) is delivered by the next internal request, the
 * scheduler's `/internal/deliver` or the app's start-up pass.
 */
import { randomBytes } from 'node:crypto';
import {
  APPROVAL_ACTIONS,
  APPROVAL_CONTRACT_VERSION,
  isGroupId,
  type ApprovalCallback,
  type ApprovalDecision,
  type ApprovalRequest,
  type OutcomeReport,
} from '../core/approvals.js';
import {
  authorize,
  classifyCallbackStatus,
  isExpired,
  newMember,
  retryDelayMs,
  summarize,
  type ApprovalGroup,
  type ApprovalVote,
  type Authorization,
  type Approver,
  type ApproverPolicy,
  type DecisionRecord,
  type DeliveryResult,
  type GroupMember,
} from '../core/approval-groups.js';
import type { ApprovalAuditRecord, ApprovalStore } from '../core/ports/approval-store.port.js';
import type { AccessTokenSource } from '../core/ports/identity.port.js';
import type { Logger } from '../core/ports/logger.port.js';
import type { SlackMessenger } from '../core/ports/slack.port.js';
import { groupMessage, outcomeMessage } from './message.js';

export interface ApprovalsDeps {
  readonly store: ApprovalStore;
  readonly slack: SlackMessenger;
  readonly tokens: AccessTokenSource;
  readonly channel: string;
  readonly approvers: ApproverPolicy;
  /** Distinct approvers an approval needs (default 1); a rejection always needs one. */
  readonly requiredApprovals?: 1 | 2;
  readonly logger: Logger;
  readonly now: () => Date;
  /** How long a click may spend calling executions back before it answers Slack (default 2 s of Slack's 3). */
  readonly deliveryBudgetMs?: number;
  readonly newGroupId?: () => string;
  readonly fetch?: typeof fetch;
}

/** A click on one of the group message's buttons, as Slack's signed payload gives it. */
export interface Click {
  readonly actionId: string;
  readonly value: unknown;
  readonly teamId: string;
  readonly userId: string;
  readonly userName: string;
  readonly channel: string | null;
}

export type ClickResult =
  | { readonly kind: 'decided'; readonly decision: DecisionRecord }
  /** The first of two required approvals: recorded, nothing decided yet. */
  | { readonly kind: 'voted' }
  | { readonly kind: 'refused' | 'ignored'; readonly reason: string };

export interface DeliveryCounts {
  delivered: number;
  gone: number;
  pending: number;
}

/** Outcomes that are only recorded: Slack hears about groups, dry runs and failures, not every relearn. */
const QUIET_OUTCOMES: ReadonlySet<string> = new Set(['relearned', 'relearn_skipped']);

const DEFAULT_BUDGET_MS = 2000;
const CONCURRENCY = 16;
const RECOVERY_WINDOW_MS = 48 * 3600_000;

export class Approvals {
  private readonly budgetMs: number;
  private readonly newGroupId: () => string;
  private readonly fetch: typeof fetch;

  constructor(private readonly deps: ApprovalsDeps) {
    this.budgetMs = deps.deliveryBudgetMs ?? DEFAULT_BUDGET_MS;
    this.newGroupId = deps.newGroupId ?? (() => `grp_${randomBytes(16).toString('hex')}`);
    this.fetch = deps.fetch ?? fetch;
  }

  private iso(): string {
    return this.deps.now().toISOString();
  }

  private async audit(record: Omit<ApprovalAuditRecord, 'at'>): Promise<void> {
    await this.deps.store.audit({ at: this.iso(), ...record, detail: record.detail.slice(0, 1000) });
  }

  /** POST /internal/approvals: the group this execution waits in. */
  async requestApproval(request: ApprovalRequest): Promise<{ groupId: string }> {
    const { store, logger } = this.deps;
    const { group, created } = await store.openGroup(request.fingerprint, this.iso(), this.newGroupId());
    const added = await store.addMember(newMember(group.id, request));
    if (created) await this.audit({ kind: 'group_opened', groupId: group.id, actor: null, detail: `fingerprint ${request.fingerprint}` });
    if (added) {
      await this.audit({
        kind: 'member_joined',
        groupId: group.id,
        actor: null,
        detail: `instance ${request.instance.project}/${request.instance.zone}/${request.instance.id}, execution ${request.execution}`,
      });
    }
    // Created before this read: either the decider's listing sees this member, or this read sees the decision.
    const decision = await store.decision(group.id);
    if (decision !== null) {
      const member = await store.getMember(group.id, request.execution);
      if (member !== null && member.callback.state === 'waiting') {
        await store.markPending(group.id, [member.execution]);
        logger.info('a VM joined an approval group that was decided meanwhile: its execution gets the decision', {
          groupId: group.id,
          decision: decision.decision,
          execution: request.execution,
        });
        await this.deliverGroup(decision, [{ ...member, callback: { ...member.callback, state: 'pending' } }], Date.now() + 500);
      }
    }
    await this.syncMessage(group.id, created);
    return { groupId: group.id };
  }

  /** POST /internal/outcomes. */
  async reportOutcome(report: OutcomeReport): Promise<void> {
    const { store, slack, channel, logger } = this.deps;
    await this.audit({
      kind: 'outcome_reported',
      groupId: report.groupId,
      actor: null,
      detail: `${report.outcome} instance ${report.instance.project}/${report.instance.zone}/${report.instance.id}: ${report.detail}`,
    });
    if (report.groupId !== null) {
      const known = await store.recordOutcome(report.groupId, report.execution, {
        kind: report.outcome,
        detail: report.detail,
        at: report.at,
      });
      if (known) {
        await this.syncMessage(report.groupId, false);
        const group = await store.getGroup(report.groupId);
        if (report.outcome === 'failed' && group?.message) {
          await this.tryTo(`post the failure of ${report.execution} in the group's thread`, () =>
            slack.post(group.message!.channel, outcomeMessage(report), group.message!.ts),
          );
        }
        return;
      }
      logger.warn('an outcome names an approval group this execution is not in; posted on its own', {
        groupId: report.groupId,
        execution: report.execution,
      });
    }
    if (QUIET_OUTCOMES.has(report.outcome)) return;
    await this.tryTo(`post the ${report.outcome} outcome of ${report.execution}`, () => slack.post(channel, outcomeMessage(report)));
  }

  /** A Slack failure is logged and left for a later sync; the records are what matters. */
  private async tryTo(what: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (e) {
      this.deps.logger.error(`could not ${what}; it is retried later`, { error: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }

  /**
   * Draws the group's message from its records. The creator of the group posts it (once); every
   * redraw happens under the group's drawing lease, so that 50 concurrent joins make a few
   * chat.update calls, not 50 racing ones. A request that finds the lease taken leaves the
   * drawing to its holder, which reads the members again after releasing it and redraws if any
   * joined meanwhile. (A member is recorded before its request tries the lease, so it is always
   * seen by a holder that reads after that attempt.) Slack failures leave the group stale for
   * the next delivery pass.
   */
  async syncMessage(groupId: string, creator: boolean): Promise<void> {
    const { store, slack, channel } = this.deps;
    if (creator) {
      const [group, members] = await Promise.all([store.getGroup(groupId), store.members(groupId)]);
      if (group === null) return;
      if (group.message === null) {
        const posted = await this.tryTo(`post the message of approval group ${groupId}`, async () => {
          const ts = await slack.post(channel, groupMessage(summarize(group, members, null), this.deps.now()));
          await store.setMessage(groupId, { channel, ts });
        });
        if (!posted) return store.markStale(groupId, true);
      }
    }
    const holder = randomBytes(8).toString('hex');
    // The creator insists on the lease (a joiner may hold it while there is no message yet); others give up at once.
    for (let turn = 0; turn < (creator ? 40 : 1); turn++) {
      if (await this.redrawUnderLease(groupId, holder)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!creator) await store.markStale(groupId, true).catch(() => undefined);
  }

  /** False when another process holds the lease. */
  private async redrawUnderLease(groupId: string, holder: string): Promise<boolean> {
    const { store, slack } = this.deps;
    for (let round = 0; round < 10; round++) {
      const now = this.deps.now();
      if (!(await store.takeDrawLease(groupId, holder, now.toISOString(), new Date(now.getTime() + 30_000).toISOString())))
        return round > 0;
      let drawn: string;
      try {
        const [group, members, decision, votes] = await Promise.all([
          store.getGroup(groupId),
          store.members(groupId),
          store.decision(groupId),
          this.votesOf(groupId),
        ]);
        if (group === null || group.message === null) return true; // the creator posts, then redraws
        const message = group.message;
        const ok = await this.tryTo(`update the message of approval group ${groupId}`, () =>
          slack.update(message.channel, message.ts, groupMessage(summarize(group, members, decision, 10, votes), this.deps.now())),
        );
        if (!ok) {
          await store.markStale(groupId, true);
          return true;
        }
        if (group.messageStale === true) await store.markStale(groupId, false);
        drawn = version(members, decision, votes);
      } finally {
        await store.releaseDrawLease(groupId, holder);
      }
      const [after, decision, votes] = await Promise.all([store.members(groupId), store.decision(groupId), this.votesOf(groupId)]);
      if (version(after, decision, votes) === drawn) return true;
    }
    return true;
  }

  /**
   * Is this Slack user an approver? The app's workspace (auth.test, cached) is asked only when
   * user groups are configured: they are the only rule that needs it.
   */
  async authorize(actor: { readonly teamId: string; readonly userId: string }): Promise<Authorization> {
    const { approvers, slack } = this.deps;
    const appTeamId = approvers.userGroups.length === 0 ? null : await slack.teamId().catch(() => null);
    return authorize(approvers, actor, appTeamId, (g) => slack.userGroupMembers(g));
  }

  /** A click on Approve or Reject. Nothing in the payload but the group id (looked up) and who clicked is used. */
  async click(c: Click): Promise<ClickResult> {
    const { store, slack, logger } = this.deps;
    const actor = `${c.teamId}:${c.userId}`;
    const decision: ApprovalDecision | null =
      c.actionId === APPROVAL_ACTIONS.approve ? 'approve' : c.actionId === APPROVAL_ACTIONS.reject ? 'reject' : null;
    const refuse = async (
      kind: ApprovalAuditRecord['kind'],
      groupId: string | null,
      reason: string,
      tell: string,
    ): Promise<ClickResult> => {
      await this.audit({ kind, groupId, actor, detail: reason });
      logger.warn(`a click was refused: ${reason}`, { actor, groupId, kind });
      if (c.channel !== null) await this.tryTo(`tell ${actor} why`, () => slack.ephemeral(c.channel!, c.userId, tell));
      return { kind: kind.startsWith('ignored') ? 'ignored' : 'refused', reason };
    };
    if (decision === null || !isGroupId(c.value)) {
      const shown = JSON.stringify(c.value)?.slice(0, 200) ?? 'nothing';
      return refuse(
        'refused_unknown_group',
        null,
        `unknown action ${c.actionId} or button value ${shown}`,
        "This button is not one of bootwarden's: nothing was changed.",
      );
    }
    const groupId = c.value;
    const [allowed, group, earlier, members] = await Promise.all([
      this.authorize(c),
      store.getGroup(groupId),
      store.decision(groupId),
      store.members(groupId),
    ]);
    if (!allowed.ok)
      return refuse(
        'refused_not_approver',
        groupId,
        allowed.reason,
        'You are not one of the approvers configured for bootwarden: nothing was changed.',
      );
    if (c.channel !== this.deps.channel)
      return refuse(
        'refused_wrong_channel',
        groupId,
        `clicked in channel ${String(c.channel)}`,
        'bootwarden takes decisions only in its approvals channel.',
      );
    if (group === null)
      return refuse(
        'refused_unknown_group',
        groupId,
        `no approval group ${groupId}`,
        'This approval group does not exist: nothing was changed.',
      );
    if (earlier !== null) return this.alreadyDecided(refuse, earlier);
    const summary = summarize(group, members, null);
    if (isExpired(summary, this.deps.now()))
      return refuse(
        'ignored_expired',
        groupId,
        `the group expired at ${summary.expiresAt}`,
        `This approval expired at ${summary.expiresAt}: ${summary.heldCount === 0 ? 'the VMs stay stopped' : 'the stopped VMs stay stopped, the held ones keep running,'} and nothing was changed.`,
      );
    const me: Approver = { teamId: c.teamId, userId: c.userId, name: c.userName };
    let approvers: Approver[] = [me];
    if (decision === 'approve' && this.deps.requiredApprovals === 2) {
      // Recorded before the votes are read: of two approvers clicking at once, at least one sees both.
      const fresh = await store.vote({ groupId, approver: me, at: this.iso() });
      const others = (await store.votes(groupId))
        .filter((v) => v.approver.teamId !== me.teamId || v.approver.userId !== me.userId)
        .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      if (others[0] === undefined) {
        if (!fresh)
          return refuse(
            'ignored_same_approver',
            groupId,
            'approved already; a second approver is needed',
            'You approved this already: a second approver must approve too.',
          );
        await this.audit({ kind: 'voted', groupId, actor, detail: `approve, 1 of 2 (${allowed.via})` });
        logger.info('first of two approvals recorded', { groupId, actor });
        this.track(`redrawing group ${groupId} after an approval`, () => this.syncMessage(groupId, false));
        return { kind: 'voted' };
      }
      approvers = [others[0].approver, me];
    }
    const record: DecisionRecord = { groupId, fingerprint: group.fingerprint, decision, approver: me, approvers, decidedAt: this.iso() };
    if (!(await store.decide(record))) {
      const winner = await store.decision(groupId);
      if (winner !== null) return this.alreadyDecided(refuse, winner);
    }
    logger.info(`approval group ${decision === 'approve' ? 'approved' : 'rejected'}`, { groupId, actor, fingerprint: group.fingerprint });
    this.track(`the follow-up of the decision on ${groupId}`, () =>
      this.afterDecision(record, group, `${decision} (${allowed.via}) for ${members.length} VM(s)`),
    );
    return { kind: 'decided', decision: record };
  }

  /**
   * After a decision is recorded (and Slack answered): audit it, call back every waiting
   * execution, redraw the message, close the group. Members stay `waiting` until their delivery is
   * recorded, so if this process dies first the recovery pass finds them through the decision.
   */
  private async afterDecision(record: DecisionRecord, group: ApprovalGroup, detail: string): Promise<void> {
    const { store } = this.deps;
    const deadline = Date.now() + this.budgetMs;
    // Listed after the decision exists: a member that joined meanwhile is here, or saw the decision itself.
    const [, members] = await Promise.all([
      this.audit({ kind: 'decided', groupId: record.groupId, actor: `${record.approver.teamId}:${record.approver.userId}`, detail }),
      store.members(record.groupId),
    ]);
    await Promise.all([
      this.deliverGroup(
        record,
        members.filter((m) => m.callback.state === 'waiting'),
        deadline,
      ),
      this.syncMessage(record.groupId, false),
      store.closeGroup(group),
    ]);
  }

  private readonly inFlight = new Set<Promise<void>>();

  /** Runs `work` after the answer; a failure is logged (what it left undone stays recorded for the recovery pass). */
  private track(what: string, work: () => Promise<void>, afterFailure = '; the recovery pass (/internal/deliver) finishes it'): void {
    const p: Promise<void> = work()
      .catch((e: unknown) => {
        this.deps.logger.error(`${what} failed${afterFailure}: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * Runs `work` once Slack has its acknowledgement (a slash command answered through its
   * response_url), as the follow-ups of a decision run; settled() waits for it too. A failure is
   * logged; nothing is recorded, so nothing is left to recover.
   */
  afterAck(what: string, work: () => Promise<void>): void {
    this.track(what, work, '');
  }

  /** Resolves when no work started after an answer is still running (tests, and a clean shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private alreadyDecided(
    refuse: (kind: ApprovalAuditRecord['kind'], groupId: string, reason: string, tell: string) => Promise<ClickResult>,
    d: DecisionRecord,
  ): Promise<ClickResult> {
    const what = d.decision === 'approve' ? 'approved' : 'rejected';
    return refuse(
      'ignored_already_decided',
      d.groupId,
      `already ${what} by ${d.approver.teamId}:${d.approver.userId} at ${d.decidedAt}`,
      `Already ${what} by <@${d.approver.userId}> at ${d.decidedAt}: your click changed nothing.`,
    );
  }

  /** Calls back these pending members of a decided group, until `deadline` (ms since the epoch); records every attempt. */
  private async deliverGroup(decision: DecisionRecord, members: readonly GroupMember[], deadline: number): Promise<DeliveryCounts> {
    const counts: DeliveryCounts = { delivered: 0, gone: 0, pending: 0 };
    if (members.length === 0) return counts;
    const body: ApprovalCallback = {
      version: APPROVAL_CONTRACT_VERSION,
      groupId: decision.groupId,
      decision: decision.decision,
      approver: {
        id: decision.approvers.map((a) => `${a.teamId}:${a.userId}`).join('+'),
        name: decision.approvers.map((a) => a.name).join(', '),
      },
      decidedAt: decision.decidedAt,
    };
    const text = JSON.stringify(body);
    let token: string | null = null;
    try {
      token = await this.deps.tokens.accessToken();
    } catch (e) {
      this.deps.logger.error('no access token for the callbacks; they stay pending', { error: e instanceof Error ? e.message : String(e) });
    }
    const updates: { groupId: string; execution: string; callback: GroupMember['callback'] }[] = [];
    const queue = [...members];
    const worker = async (): Promise<void> => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        const result: DeliveryResult =
          token === null ? { kind: 'retry', detail: 'no access token' } : await this.send(m.callbackUrl, text, token, deadline);
        const attempts = m.callback.attempts + 1;
        const at = this.iso();
        if (result.kind === 'delivered') {
          counts.delivered++;
          updates.push({
            groupId: m.groupId,
            execution: m.execution,
            callback: { state: 'delivered', attempts, nextAttemptAt: null, lastError: null, deliveredAt: at },
          });
        } else if (result.kind === 'gone') {
          counts.gone++;
          updates.push({
            groupId: m.groupId,
            execution: m.execution,
            callback: { state: 'gone', attempts, nextAttemptAt: null, lastError: result.detail, deliveredAt: null },
          });
        } else {
          counts.pending++;
          const next = new Date(this.deps.now().getTime() + retryDelayMs(attempts)).toISOString();
          updates.push({
            groupId: m.groupId,
            execution: m.execution,
            callback: { state: 'pending', attempts, nextAttemptAt: next, lastError: result.detail, deliveredAt: null },
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, members.length) }, worker));
    await this.deps.store.updateCallbacks(updates);
    const kind = counts.pending > 0 ? 'callback_failed' : counts.gone > 0 ? 'callback_gone' : 'callback_delivered';
    await this.audit({
      kind,
      groupId: decision.groupId,
      actor: null,
      detail: `${decision.decision}: ${counts.delivered} delivered, ${counts.gone} execution(s) gone, ${counts.pending} still pending`,
    });
    if (counts.pending > 0) {
      const failed = updates.find((u) => u.callback.state === 'pending');
      this.deps.logger.warn('some callbacks could not be delivered yet; they stay pending and are retried', {
        groupId: decision.groupId,
        pending: counts.pending,
        lastError: failed?.callback.lastError,
      });
    }
    return counts;
  }

  /** One callback, retried with backoff while the deadline allows. */
  private async send(url: string, body: string, token: string, deadline: number): Promise<DeliveryResult> {
    let last: DeliveryResult = { kind: 'retry', detail: 'no time left to try' };
    for (let attempt = 0; attempt < 3; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const res = await this.fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(Math.min(5000, left)),
        });
        last = classifyCallbackStatus(res.status, (await res.text()).slice(0, 300));
      } catch (e) {
        last = { kind: 'retry', detail: e instanceof Error ? e.message : String(e) };
      }
      if (last.kind !== 'retry') return last;
      const pause = 100 * 2 ** attempt;
      if (deadline - Date.now() <= pause) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return last;
  }

  /**
   * Delivers what is due: pending callbacks, callbacks of recent decisions still marked waiting (a
   * process that died between deciding and marking), and messages that could not be drawn.
   */
  async deliverPending(budgetMs: number, opts: { recover?: boolean; limit?: number } = {}): Promise<DeliveryCounts & { messages: number }> {
    const { store } = this.deps;
    const deadline = Date.now() + budgetMs;
    const total = { delivered: 0, gone: 0, pending: 0, messages: 0 };
    const now = this.deps.now();
    if (opts.recover === true) {
      for (const d of await store.decisionsSince(new Date(now.getTime() - RECOVERY_WINDOW_MS).toISOString(), 100)) {
        const waiting = (await store.members(d.groupId)).filter((m) => m.callback.state === 'waiting');
        if (waiting.length > 0)
          await store.markPending(
            d.groupId,
            waiting.map((m) => m.execution),
          );
      }
    }
    const due = (await store.pendingCallbacks(opts.limit ?? 200)).filter(
      (m) => m.callback.nextAttemptAt === null || Date.parse(m.callback.nextAttemptAt) <= now.getTime(),
    );
    const byGroup = new Map<string, GroupMember[]>();
    for (const m of due) byGroup.set(m.groupId, [...(byGroup.get(m.groupId) ?? []), m]);
    for (const [groupId, members] of byGroup) {
      const decision = await store.decision(groupId);
      if (decision === null) continue; // pending without a decision cannot happen; leave it for an operator to see
      const c = await this.deliverGroup(decision, members, deadline);
      total.delivered += c.delivered;
      total.gone += c.gone;
      total.pending += c.pending;
    }
    if (opts.recover === true) {
      for (const g of await store.staleGroups(20)) {
        await this.syncMessage(g.id, g.message === null);
        total.messages++;
      }
    }
    return total;
  }

  /** Approvals recorded so far; none to read when one approver decides alone. */
  private votesOf(groupId: string): Promise<ApprovalVote[]> {
    return this.deps.requiredApprovals === 2 ? this.deps.store.votes(groupId) : Promise.resolve([]);
  }

  /** The group an execution waits in (its latest request), if any. */
  async groupOf(execution: string): Promise<string | null> {
    const members = await this.deps.store.membersOf(execution);
    members.sort((a, b) => Date.parse(b.requestedAt) - Date.parse(a.requestedAt));
    return members[0]?.groupId ?? null;
  }

  async openGroups(limit = 20): Promise<{ group: ApprovalGroup; summary: ReturnType<typeof summarize> }[]> {
    const groups = await this.deps.store.openGroups(limit);
    return Promise.all(groups.map(async (group) => ({ group, summary: summarize(group, await this.deps.store.members(group.id), null) })));
  }
}

/** What a drawing of the message showed: members, their outcomes, the approvals and the decision. */
function version(members: readonly GroupMember[], decision: DecisionRecord | null, votes: readonly ApprovalVote[]): string {
  const outcomes = members
    .map((m) => `${m.execution}=${m.outcome?.kind ?? ''}`)
    .sort()
    .join(',');
  return `${members.length}|${outcomes}|${votes.length}|${decision?.decidedAt ?? ''}`;
}
