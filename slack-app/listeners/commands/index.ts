/**
 * `/bootwarden pending | baselines | history [instance id | fingerprint] | help`, for approvers,
 * answered ephemerally through the command's `response_url`. Slack wants the acknowledgement
 * within 3 seconds, and `history` reads up to five pages of executions (a cold start adds the
 * clients' start-up): the command is acknowledged at once, empty, and answered after. Bolt runs
 * with `processBeforeResponse`, which sends the acknowledgement only when the listener returns,
 * so the answer is work started after it (Approvals.afterAck; the service keeps its CPU after a
 * response, see docs/slack-app.md). A response_url takes a JSON POST, ephemeral unless it says
 * `in_channel`, five times within 30 minutes
 * (https://api.slack.com/interactivity/handling#message_responses).
 */
import type { App } from '@slack/bolt';
import type { StoredBaseline } from '../../../core/ports/baseline-store.port.js';
import type { ExecutionHistory } from '../../../core/ports/execution-history.port.js';
import type { ApprovalStore } from '../../../core/ports/approval-store.port.js';
import { historyQuery, readHistory, type HistoryQuery } from '../../../core/history.js';
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
  app.command(COMMAND, async ({ ack, command, respond }) => {
    await ack();
    const [sub = 'help', arg] = command.text.trim().split(/\s+/);
    deps.approvals.afterAck(`answering /bootwarden ${sub}`, async () => {
      let answer: { text: string; blocks?: readonly Record<string, unknown>[] };
      try {
        const allowed = await deps.approvals.authorize({ teamId: command.team_id, userId: command.user_id });
        answer = allowed.ok ? await answerOf(deps, sub, arg) : { text: '/bootwarden answers configured approvers only.' };
      } catch (e) {
        await respond({ response_type: 'ephemeral', text: `/bootwarden ${escape(sub)} could not be answered; try again in a minute.` });
        throw e;
      }
      await respond({
        response_type: 'ephemeral',
        text: answer.text,
        ...(answer.blocks === undefined ? {} : { blocks: answer.blocks as never }),
      });
    });
  });
}

async function answerOf(
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

/** Executions of the response workflow and the approvals' audit trail: core/history.ts, as `bootwarden history`. */
async function history(deps: CommandDeps, arg: string | undefined): Promise<{ text: string; blocks: readonly Record<string, unknown>[] }> {
  const filter = arg?.toLowerCase();
  let query: HistoryQuery;
  if (filter === undefined) query = historyQuery({ limit: '10' });
  else if (/^[0-9]{1,20}$/.test(filter)) query = historyQuery({ instance: filter, limit: '10' });
  else if (/^[0-9a-f]{16,64}$/.test(filter)) query = historyQuery({ fingerprint: filter, limit: '10' });
  else return listMessage('bootwarden commands', HELP, '');
  const found = await readHistory({ executions: deps.history, audit: deps.store }, query);
  const runs =
    found.executions === null
      ? ['(executions not shown: BOOTWARDEN_WORKFLOW_LOCATION is not set on the Slack app)']
      : found.executions.map((line) => `• ${escape(line)}`);
  const audit = found.approvals.slice(0, 20).map((line) => `• ${escape(line)}`);
  const title = `History${arg === undefined ? '' : ` of ${escape(arg)}`}`;
  return listMessage(
    title,
    [`*Executions*`, ...(runs.length === 0 ? ['none'] : runs), '*Approvals*', ...(audit.length === 0 ? ['none'] : audit)],
    '',
  );
}
