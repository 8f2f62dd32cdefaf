/**
 * The contract between the response workflow and the Slack app: the two internal endpoints the
 * workflow calls (OIDC-authenticated in the cloud) and the callback body the Slack app sends back
 * to the waiting execution. Defined once: the Slack app, its test stand-in and the tests of the
 * workflow use these types; the workflow YAML checks the same rules (see RESPONSE_WORKFLOW in the
 * README) and the tests hold it to them.
 */
import type { InstanceRef } from './event.js';
import type { ResponseArgument } from './contracts.js';

export const APPROVAL_CONTRACT_VERSION = 1;

/** Paths under the Slack app's base URL (`BOOTWARDEN_SLACK_APP_URL` of the workflow). */
export const APPROVAL_PATHS = {
  /** Open the approval group of a fingerprint, or join the open one: POST ApprovalRequest → ApprovalRequestAnswer. */
  request: '/internal/approvals',
  /** Tell operators what happened: POST OutcomeReport → 200. */
  outcome: '/internal/outcomes',
} as const;

/** POST {slackAppUrl}/internal/approvals: one stopped VM asks for a decision on its measurements. */
export interface ApprovalRequest {
  readonly version: typeof APPROVAL_CONTRACT_VERSION;
  readonly eventKey: string;
  /** The waiting execution (projects/P/locations/L/workflows/W/executions/E). */
  readonly execution: string;
  /** Where the decision goes: the execution's callback endpoint. Secret-ish: never put it in a Slack message. */
  readonly callbackUrl: string;
  readonly instance: InstanceRef;
  readonly fingerprint: string;
  readonly bootCounter: string | null;
  readonly eventTimestamp: string;
  readonly diff: ResponseArgument['diff'];
  readonly requestedAt: string;
  /** When the execution stops waiting (requestedAt + the approval timeout). */
  readonly expiresAt: string;
}

/** The Slack app's answer: the group this VM is in. */
export interface ApprovalRequestAnswer {
  readonly groupId: string;
}

export const DECISIONS = ['approve', 'reject'] as const;
export type ApprovalDecision = (typeof DECISIONS)[number];

/** The body the Slack app POSTs to the execution's callback URL. */
export interface ApprovalCallback {
  readonly version: typeof APPROVAL_CONTRACT_VERSION;
  readonly groupId: string;
  readonly decision: ApprovalDecision;
  readonly approver: { readonly id: string; readonly name: string };
  readonly decidedAt: string;
}

export const OUTCOMES = [
  'relearned',
  'relearn_skipped',
  'stopped',
  /** The VM is not in its project and zone any more (deleted): nothing to stop. */
  'stop_skipped',
  'approval_request_failed',
  'promoted_and_started',
  'rejected',
  'expired',
  'dry_run',
  'failed',
] as const;
export type OutcomeKind = (typeof OUTCOMES)[number];

/** POST {slackAppUrl}/internal/outcomes: what the workflow did, for operators and the group's message. */
export interface OutcomeReport {
  readonly version: typeof APPROVAL_CONTRACT_VERSION;
  readonly eventKey: string;
  readonly execution: string;
  readonly instance: InstanceRef;
  readonly fingerprint: string | null;
  readonly groupId: string | null;
  readonly outcome: OutcomeKind;
  /** For dry_run: what would have been done (relearn or stop). */
  readonly intendedAction: string | null;
  readonly detail: string;
  readonly at: string;
}

export type CallbackCheck = { readonly ok: true; readonly callback: ApprovalCallback } | { readonly ok: false; readonly reason: string };

/**
 * Is `body` a valid decision for group `groupId`? The workflow applies the same rules and keeps
 * waiting on anything else (a stray or forged request must not decide, nor end the wait).
 */
export function checkApprovalCallback(body: unknown, groupId: string): CallbackCheck {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'the body is not a JSON object' };
  const b = body as Record<string, unknown>;
  if (b['version'] !== APPROVAL_CONTRACT_VERSION) return { ok: false, reason: `version must be ${APPROVAL_CONTRACT_VERSION}` };
  if (b['groupId'] !== groupId) return { ok: false, reason: `groupId must be ${groupId}` };
  if (!DECISIONS.includes(b['decision'] as ApprovalDecision))
    return { ok: false, reason: `decision must be one of ${DECISIONS.join(', ')}` };
  const approver = b['approver'] as Record<string, unknown> | null | undefined;
  if (
    typeof approver !== 'object' ||
    approver === null ||
    typeof approver['id'] !== 'string' ||
    approver['id'] === '' ||
    typeof approver['name'] !== 'string'
  ) {
    return { ok: false, reason: 'approver must be {id, name} with a non-empty id' };
  }
  if (typeof b['decidedAt'] !== 'string') return { ok: false, reason: 'decidedAt must be a timestamp string' };
  return {
    ok: true,
    callback: {
      version: APPROVAL_CONTRACT_VERSION,
      groupId,
      decision: b['decision'] as ApprovalDecision,
      approver: { id: approver['id'], name: approver['name'] },
      decidedAt: b['decidedAt'],
    },
  };
}
