/** Approve and Reject. Every action is routed here, so that a forged action id is refused and audited too. */
import type { App } from '@slack/bolt';
import type { Approvals } from '../../approvals.js';

export function register(app: App, deps: { approvals: Approvals }): void {
  app.action(/.*/, async ({ ack, body, action }) => {
    await ack();
    if (body.type !== 'block_actions' || !('action_id' in action)) return;
    const value = 'value' in action ? action.value : undefined;
    const user = body.user as { id: string; team_id?: string; name?: string; username?: string };
    await deps.approvals.click({
      actionId: action.action_id,
      value,
      teamId: user.team_id ?? body.team?.id ?? '',
      userId: user.id,
      userName: user.name ?? user.username ?? user.id,
      channel: body.channel?.id ?? null,
    });
  });
}
