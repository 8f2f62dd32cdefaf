/**
 * `/bootwarden pending | baselines | history [instance id | fingerprint] | help`, for approvers,
 * answered ephemerally. The answer is the acknowledgement itself (Firestore reads only), so it
 * arrives within Slack's 3 seconds without work after the response.
 */
import type { App } from '@slack/bolt';
import type { StoredBaseline } from '../../../core/ports/baseline-store.port.js';
import type { ExecutionHistory } from '../../../core/ports/execution-history.port.js';
import type { ApprovalStore } from '../../../core/ports/approval-store.port.js';
import type { Approvals } from '../../approvals.js';
import { escape, listMessage, openGroupsMessage } from '../../message.js';

export const COMMAND = '/bootwarden';

export interface CommandDeps {
  readonly approvals: Approvals;
  readonly store: ApprovalStore;
  readonly recentBaselines: (limit: number) => Promise<StoredBaseline[]>;
  /** The Workflows Executions API; null when BOOTWARDEN_WORKFLOW_LOCATION is not set. */
  readonly history: ExecutionHistory | null;
}

const HELP = [
  '`/bootwarden pending`: approval groups waiting for a decision',
  '`/bootwarden baselines`: the most recent baselines and who promoted them',
  '`/bootwarden history [instance id | fingerprint]`: recent approvals, outcomes and refusals',
];

export function register(app: App, deps: CommandDeps): void {
  app.command(COMMAND, async ({ ack, command }) => {
    const allowed = await deps.approvals.authorize({ teamId: command.team_id, userId: command.user_id });
    if (!allowed.ok) {
      await ack({ response_type: 'ephemeral', text: '/bootwarden answers configured approvers only.' });
      return;
    }
    const [sub = 'help', arg] = command.text.trim().split(/\s+/);
    const answer = await respond(deps, sub, arg);
    await ack({ response_type: 'ephemeral', text: answer.text, blocks: answer.blocks as never });
  });
}

async function respond(
  deps: CommandDeps,
  sub: string,
  arg: string | undefined,
): Promise<{ text: string; blocks: readonly Record<string, unknown>[] }> {
  if (sub === 'pending') return openGroupsMessage(await deps.approvals.openGroups());
  if (sub === 'baselines') {
    const lines = (await deps.recentBaselines(10)).map((b) =>
      'baseline' in b
        ? `• \`${b.id.slice(0, 16)}…\` added by ${escape(b.baseline.metadata?.addedBy ?? 'unknown')} at ${b.baseline.metadata?.addedAt ?? '?'}`
        : `• \`${escape(b.id)}\`: not a valid baseline (${escape(b.invalid.message)})`,
    );
    return listMessage('Recent baselines', lines, 'No baseline was added by bootwarden yet.');
  }
  if (sub === 'history') return history(deps, arg);
  return listMessage('bootwarden commands', HELP, '');
}

/** Executions of the response workflow (labels the function sets) and the approval audit trail. */
async function history(deps: CommandDeps, arg: string | undefined): Promise<{ text: string; blocks: readonly Record<string, unknown>[] }> {
  const filter = arg?.toLowerCase();
  const labels: Record<string, string> = { app: 'bootwarden' };
  if (filter !== undefined && /^[0-9]{1,20}$/.test(filter)) labels['instance-id'] = filter;
  else if (filter !== undefined && /^[0-9a-f]{16,64}$/.test(filter)) labels['fingerprint'] = filter.slice(0, 16);
  else if (filter !== undefined) return listMessage('bootwarden commands', HELP, '');
  const [executions, trail] = await Promise.all([
    deps.history === null ? Promise.resolve(null) : deps.history.recent(labels, 10),
    deps.store.auditTrail(500),
  ]);
  // An instance id or fingerprint names records directly, and through them their groups' decisions.
  const named = (r: (typeof trail)[number]): boolean =>
    filter === undefined || r.detail.toLowerCase().includes(filter) || r.groupId === filter;
  const groups = new Set(trail.filter(named).map((r) => r.groupId));
  const audit = trail
    .filter((r) => named(r) || (r.groupId !== null && groups.has(r.groupId)))
    .slice(0, 20)
    .map((r) => `• ${r.at} ${r.kind.replace(/_/g, ' ')}${r.actor === null ? '' : ` by ${escape(r.actor)}`}: ${escape(r.detail)}`);
  const runs =
    executions === null
      ? ['(executions not shown: BOOTWARDEN_WORKFLOW_LOCATION is not set on the Slack app)']
      : executions.map(
          (x) =>
            `• ${x.startTime ?? '?'} ${x.labels['action'] ?? '?'} on instance ${x.labels['instance-id'] ?? '?'}: ${x.state} (${x.name.slice(x.name.lastIndexOf('/') + 1)})`,
        );
  const title = `History${arg === undefined ? '' : ` of ${escape(arg)}`}`;
  return listMessage(
    title,
    [`*Executions*`, ...(runs.length === 0 ? ['none'] : runs), '*Approvals*', ...(audit.length === 0 ? ['none'] : audit)],
    '',
  );
}
