/**
 * Block Kit for the Slack app: the one message of an approval group (redrawn from the records
 * after every change), outcome notices, and the answers of `/bootwarden`. Everything shown comes
 * from validated records; names from Slack are escaped. The buttons carry only the group id.
 * Every message stays within Block Kit's limits (block-kit-limits.ts) whatever the records hold
 * (500 VMs, 100-character project ids, long names): a section that would be longer is cut at a
 * line and says how much was left out, since Slack refuses the whole message otherwise.
 */
import { BLOCK_KIT_LIMITS } from './block-kit-limits.js';
import { APPROVAL_ACTIONS, type OutcomeKind, type OutcomeReport } from '../core/approvals.js';
import type { ApprovalGroup, GroupSummary } from '../core/approval-groups.js';
import type { SlackMessage } from '../core/ports/slack.port.js';

type Block = Record<string, unknown>;

/** Slack's mrkdwn control characters. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Room kept at the end of a cut text for what says how much was cut. */
const CUT_NOTE_ROOM = 40;

/**
 * `text` within `max` characters: whole lines while they fit, then `…and N more lines`; a first
 * line longer than that is cut (never inside an entity like `&amp;` or a `<@U…>` mention).
 */
export function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > max - CUT_NOTE_ROOM) break;
    kept.push(line);
    used += line.length + 1;
  }
  if (kept.length === 0) return `${(lines[0] ?? '').slice(0, max - CUT_NOTE_ROOM).replace(/&[a-z]*$|<[^>]*$/, '')}… (cut)`;
  const left = lines.length - kept.length;
  return `${kept.join('\n')}\n…and ${left} more line${left === 1 ? '' : 's'}`;
}

const md = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: fit(text, BLOCK_KIT_LIMITS.sectionText) } });
const context = (text: string): Block => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: fit(text, BLOCK_KIT_LIMITS.sectionText) }],
});

const OUTCOME_WORDS: Record<OutcomeKind, string> = {
  relearned: 'relearned',
  relearn_skipped: 'relearn skipped',
  relearn_refused: 'NOT relearned (baseline missing or changed)',
  stopped: 'stopped',
  stop_skipped: 'not stopped (gone)',
  approval_request_failed: 'approval request failed',
  promoted_and_started: 'started',
  rejected: 'kept stopped (rejected)',
  expired: 'kept stopped (expired)',
  dry_run: 'dry run',
  failed: 'FAILED',
};

/** What a held member's outcome means: it was never stopped. */
const HELD_OUTCOME_WORDS: Partial<Record<OutcomeKind, string>> = {
  rejected: 'stopped (rejected)',
  expired: 'still running, not trusted (expired)',
};

function memberState(m: GroupSummary['sample'][number]): string {
  if (m.outcome === null) return m.held ? 'held (running, unchanged)' : 'stopped';
  return (m.held ? HELD_OUTCOME_WORDS[m.outcome.kind] : undefined) ?? OUTCOME_WORDS[m.outcome.kind];
}

export function groupMessage(s: GroupSummary, now: Date): SlackMessage {
  const vms = `${s.vmCount} VM${s.vmCount === 1 ? '' : 's'}`;
  const stopped = s.vmCount - s.heldCount;
  // Held VMs (the blast-radius guard) are still running: every sentence says which VMs are which.
  const split = s.heldCount === 0 ? null : `${stopped} stopped, ${s.heldCount} held by the blast-radius guard (still running, unchanged)`;
  const oneAfterRelearn = s.afterRelearnCount === 1;
  const expired = s.decision === null && s.vmCount > 0 && Date.parse(s.expiresAt) <= now.getTime();
  const who = (a: { userId: string; name: string }): string => `<@${a.userId}> (${escape(a.name)})`;
  const votes =
    s.votes.length === 0 ? '' : ` Approved so far by ${s.votes.map((v) => who(v.approver)).join(', ')}: a second approver is needed.`;
  const state =
    s.decision !== null
      ? `${s.decision.decision === 'approve' ? ':white_check_mark: Approved' : ':no_entry: Rejected'} by ${s.decision.approvers.map(who).join(' and ')} at ${s.decision.decidedAt}`
      : expired
        ? `:hourglass: Expired at ${s.expiresAt}: nobody decided, ${split === null ? 'the VMs stay stopped' : 'the stopped VMs stay stopped and the held ones keep running, not trusted'}`
        : split === null
          ? `Waiting for a decision until ${s.expiresAt}. Approve promotes the measurements to a baseline and starts the VMs; reject keeps them stopped.${votes}`
          : `Waiting for a decision until ${s.expiresAt}. Approve promotes the measurements to a baseline, starts the stopped VMs and relearns the held ones still on the reported boot; reject keeps the stopped VMs stopped and stops the held ones now.${votes}`;
  const pcrs =
    s.pcrs.length === 0 ? 'no PCR differs from the policies' : s.pcrs.map((p) => `${p.pcrNum} ${p.how} on ${p.vms} of ${vms}`).join('\n');
  const sampled = s.sample.map((m) => {
    const name = m.instanceName ?? `id ${m.instance.id}`;
    const outcome = memberState(m);
    return `• \`${name}\` ${m.instance.project}/${m.instance.zone}, boot ${m.bootCounter ?? '?'}${m.afterRelearn ? ' (after a relearn)' : ''}: ${outcome}`;
  });
  // As many sampled VMs as fit in one section (ten lines of 100-character project ids do not).
  const vmsText = (n: number): string => `*VMs*\n${sampled.slice(0, n).join('\n')}${s.vmCount > n ? `\n…and ${s.vmCount - n} more` : ''}`;
  let shown = sampled.length;
  while (shown > 0 && vmsText(shown).length > BLOCK_KIT_LIMITS.sectionText) shown--;
  const blocks: Block[] = [
    md(
      split === null
        ? `:rotating_light: *Unknown boot measurements on ${vms}*: stopped by bootwarden until someone decides.`
        : `:rotating_light: *Unknown boot measurements on ${vms}*: ${split}, until someone decides.`,
    ),
    ...(s.afterRelearnCount === 0
      ? []
      : [
          md(
            `:warning: *${s.afterRelearnCount} of ${vms} booted these measurements right after bootwarden relearned ${oneAfterRelearn ? 'its' : 'their'} policy onto other ones*: the relearn blessed a boot nobody approved. Approve only if you know what ${oneAfterRelearn ? 'it now runs' : 'they now run'}.`,
          ),
        ]),
    md(`*Fingerprint* \`${s.fingerprint.slice(0, 16)}…\`\n*First seen* ${s.firstSeen}   *Last seen* ${s.lastSeen}`),
    md(`*PCRs that differ from each VM's policy*\n${pcrs}`),
    md(vmsText(shown)),
    md(state),
  ];
  if (s.decision === null && !expired) {
    blocks.push({
      type: 'actions',
      block_id: 'bootwarden_decision',
      elements: [
        {
          type: 'button',
          action_id: APPROVAL_ACTIONS.approve,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: s.groupId,
          confirm: {
            title: { type: 'plain_text', text: 'Trust these measurements?' },
            text: {
              type: 'mrkdwn',
              text:
                split === null
                  ? `Promote them to a baseline and start ${vms}.`
                  : `Promote them to a baseline, start ${stopped} stopped VM${stopped === 1 ? '' : 's'} and relearn ${s.heldCount} held.`,
            },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        {
          type: 'button',
          action_id: APPROVAL_ACTIONS.reject,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: s.groupId,
        },
      ],
    });
  }
  blocks.push(context(`group ${s.groupId} · fingerprint ${s.fingerprint}`));
  return {
    text: `Unknown boot measurements on ${vms}${split === null ? '' : ` (${split})`} (fingerprint ${s.fingerprint.slice(0, 16)}…): ${state}`,
    blocks,
  };
}

/** An outcome outside any group (a dry run, a failure, a VM that could not be stopped). */
export function outcomeMessage(r: OutcomeReport): SlackMessage {
  const what =
    r.outcome === 'dry_run' ? ':test_tube: *DRY RUN*' : r.outcome === 'failed' ? ':x: *Failed*' : `*${OUTCOME_WORDS[r.outcome]}*`;
  const text = `${what} instance ${r.instance.id} (${r.instance.project}/${r.instance.zone}): ${escape(r.detail)}`;
  return { text, blocks: [md(text), context(`execution ${r.execution}`)] };
}

export function openGroupsMessage(groups: readonly { group: ApprovalGroup; summary: GroupSummary }[]): SlackMessage {
  if (groups.length === 0) return { text: 'No approval is pending.', blocks: [md('No approval is pending.')] };
  const lines = groups.map(
    ({ summary: s }) =>
      `• \`${s.fingerprint.slice(0, 16)}…\` ${s.vmCount} VM${s.vmCount === 1 ? '' : 's'}${s.heldCount === 0 ? '' : ` (${s.heldCount} held)`}, first seen ${s.firstSeen}, expires ${s.expiresAt}`,
  );
  const text = `*${groups.length} pending approval${groups.length === 1 ? '' : 's'}*\n${lines.join('\n')}`;
  return { text, blocks: [md(text)] };
}

export function listMessage(title: string, lines: readonly string[], empty: string): SlackMessage {
  const text = lines.length === 0 ? empty : `*${title}*\n${lines.join('\n')}`;
  return { text, blocks: [md(text)] };
}
