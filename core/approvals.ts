/**
 * The contract between the response workflow and the Slack app: the two internal endpoints the
 * workflow calls (OIDC-authenticated in the cloud) and the callback body the Slack app sends back
 * to the waiting execution. Defined once: the Slack app, its test stand-in and the tests of the
 * workflow use these types; the workflow YAML checks the same rules (see RESPONSE_WORKFLOW in the
 * README) and the tests hold it to them.
 */
import { instantOf } from './time.js';
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

/** POST {slackAppUrl}/internal/approvals: one stopped (or held) VM asks for a decision on its measurements. */
export interface ApprovalRequest {
  readonly version: typeof APPROVAL_CONTRACT_VERSION;
  readonly eventKey: string;
  /** The waiting execution (projects/P/locations/L/workflows/W/executions/E). */
  readonly execution: string;
  /** Where the decision goes: the execution's callback endpoint. Secret-ish: never put it in a Slack message. */
  readonly callbackUrl: string;
  /**
   * The number of the execution's project, as the workflow reads it (`GOOGLE_CLOUD_PROJECT_NUMBER`,
   * a built-in variable of Workflows): a callback URL may name the project by it instead of by its
   * id (see callbackUrlProblem). Absent (null) from a workflow that does not send it: only the id.
   */
  readonly projectNumber: string | null;
  readonly instance: InstanceRef;
  /** The instance's name, as the workflow read it from Compute (people recognise names, not ids). */
  readonly instanceName: string | null;
  readonly fingerprint: string;
  readonly bootCounter: string | null;
  readonly eventTimestamp: string;
  readonly diff: ResponseArgument['diff'];
  /**
   * True: the blast-radius guard held the VM (still running, unchanged) rather than stopping it.
   * Approve relearns it, reject stops it. Absent means false.
   */
  readonly held: boolean;
  /**
   * True: the VM ran these measurements on the boot after bootwarden relearned its policy onto
   * other ones (relearn_mismatch, core/relearn-check.ts): the relearn blessed a boot nobody
   * approved. Absent means false.
   */
  readonly afterRelearn: boolean;
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
  /** The baseline was missing or held other PCRs when the workflow re-read it: nothing relearned (operators are told). */
  'relearn_refused',
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

/** The Slack button action ids: the decision is the button the signed payload says was clicked, never a value in it. */
export const APPROVAL_ACTIONS = { approve: 'bootwarden_approve', reject: 'bootwarden_reject' } as const satisfies Record<
  ApprovalDecision,
  string
>;

/** Identifiers the internal API accepts: bounded, so that no caller can make a record or a message unbounded. */
const EXECUTION_NAME =
  /^projects\/([a-z0-9.:-]{1,100})\/locations\/([a-z0-9-]{1,63})\/workflows\/([A-Za-z0-9_-]{1,64})\/executions\/([A-Za-z0-9_-]{1,128})$/;
/** A Google Cloud project number: decimal digits (an int64, as a string). */
const PROJECT_NUMBER = /^[0-9]{1,19}$/;
const EVENT_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const INSTANCE_ID = /^[0-9]{1,20}$/;
const PROJECT_ID = /^[a-z][a-z0-9.:-]{0,99}$/;
const ZONE = /^[a-z0-9-]{1,63}$/;
const INSTANCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const PCR_NUM = /^PCR_[0-9]{1,2}$/;
const BOOT_COUNTER = /^[0-9]{1,20}$/;
const FINGERPRINT_HEX = /^[0-9a-f]{64}$/;
/** RFC 3339 as Workflows' time.format and Cloud Logging write it, naming a real instant (core/time.ts). */
const TIMESTAMP: Pick<RegExp, 'test'> = { test: (v) => instantOf(v) !== null };
const MAX_DIFF_ENTRIES = 24;
const MAX_DETAIL_CHARS = 2000;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

class ContractViolation extends Error {}

function fail(reason: string): never {
  throw new ContractViolation(reason);
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** A boolean a workflow deployed before it does not send: absent is false. */
function flag(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(`${key} must be true or false`);
  return v;
}

function text(o: Record<string, unknown>, key: string, pattern: Pick<RegExp, 'test'>, what: string, path = key): string {
  const v = o[key];
  if (typeof v !== 'string' || !pattern.test(v)) fail(`${path} must be ${what}`);
  return v;
}

function nullable<T>(o: Record<string, unknown>, key: string, read: () => T): T | null {
  return o[key] === null || o[key] === undefined ? null : read();
}

function instanceOf(v: unknown, path: string): InstanceRef {
  const o = object(v, path);
  return {
    id: text(o, 'id', INSTANCE_ID, 'a decimal instance id of up to 20 digits (a string)', `${path}.id`),
    project: text(o, 'project', PROJECT_ID, 'a project id', `${path}.project`),
    zone: text(o, 'zone', ZONE, 'a zone like us-central1-a', `${path}.zone`),
  };
}

function measurementOf(v: unknown, path: string): { pcrNum: string; hashAlgo: string; value: string } {
  const o = object(v, path);
  return {
    pcrNum: text(o, 'pcrNum', PCR_NUM, 'PCR_n', `${path}.pcrNum`),
    hashAlgo: text(o, 'hashAlgo', /^(SHA1|SHA256)$/, 'SHA1 or SHA256', `${path}.hashAlgo`),
    value: text(o, 'value', /^[A-Za-z0-9+/]{1,88}={0,2}$/, 'a base64 digest', `${path}.value`),
  };
}

function listOf<T>(v: unknown, path: string, item: (x: unknown, p: string) => T): T[] {
  if (!Array.isArray(v)) fail(`${path} must be a list`);
  if (v.length > MAX_DIFF_ENTRIES) fail(`${path} has ${v.length} entries; at most ${MAX_DIFF_ENTRIES}`);
  return v.map((x, i) => item(x, `${path}[${i}]`));
}

function diffOf(v: unknown): ApprovalRequest['diff'] {
  if (v === null || v === undefined) return null;
  const o = object(v, 'diff');
  return {
    changed: listOf(o['changed'], 'diff.changed', (x, p) => {
      const c = object(x, p);
      return {
        pcrNum: text(c, 'pcrNum', PCR_NUM, 'PCR_n', `${p}.pcrNum`),
        from: measurementOf(c['from'], `${p}.from`),
        to: measurementOf(c['to'], `${p}.to`),
      };
    }),
    added: listOf(o['added'], 'diff.added', measurementOf),
    removed: listOf(o['removed'], 'diff.removed', measurementOf),
  } as ApprovalRequest['diff'];
}

function checked<T>(read: () => T): Checked<T> {
  try {
    return { ok: true, value: read() };
  } catch (e) {
    if (e instanceof ContractViolation) return { ok: false, reason: e.message };
    throw e;
  }
}

/**
 * Is `body` an ApprovalRequest? Even an authenticated caller's fields are checked: each has a
 * shape and a length bound, and the callback URL must be one of the execution's own endpoints
 * (see callbackUrlProblem), so that no request can make the app send a token elsewhere.
 */
export function checkApprovalRequest(body: unknown): Checked<ApprovalRequest> {
  return checked(() => {
    const o = object(body, 'the body');
    if (o['version'] !== APPROVAL_CONTRACT_VERSION) fail(`version must be ${APPROVAL_CONTRACT_VERSION}`);
    return {
      version: APPROVAL_CONTRACT_VERSION,
      eventKey: text(o, 'eventKey', EVENT_KEY, 'an event key (letters, digits, _ . : -, at most 128)'),
      execution: text(o, 'execution', EXECUTION_NAME, 'a Workflows execution name (projects/P/locations/L/workflows/W/executions/E)'),
      callbackUrl: text(o, 'callbackUrl', /^https?:\/\/[^\s]{1,1000}$/, 'an http(s) URL of at most 1000 characters'),
      projectNumber: nullable(o, 'projectNumber', () =>
        text(o, 'projectNumber', PROJECT_NUMBER, 'a project number (decimal digits, a string)'),
      ),
      instance: instanceOf(o['instance'], 'instance'),
      instanceName: nullable(o, 'instanceName', () => text(o, 'instanceName', INSTANCE_NAME, 'a Compute instance name')),
      fingerprint: text(o, 'fingerprint', FINGERPRINT_HEX, 'a 64-hex-digit fingerprint'),
      bootCounter: nullable(o, 'bootCounter', () => text(o, 'bootCounter', BOOT_COUNTER, 'a decimal boot counter (a string)')),
      eventTimestamp: text(o, 'eventTimestamp', TIMESTAMP, 'an RFC 3339 timestamp'),
      diff: diffOf(o['diff']),
      held: flag(o, 'held'),
      afterRelearn: flag(o, 'afterRelearn'),
      requestedAt: text(o, 'requestedAt', TIMESTAMP, 'an RFC 3339 timestamp'),
      expiresAt: text(o, 'expiresAt', TIMESTAMP, 'an RFC 3339 timestamp'),
    };
  });
}

/** Is `body` an OutcomeReport? Same bounds as approval requests; `detail` is cut to 2,000 characters. */
export function checkOutcomeReport(body: unknown): Checked<OutcomeReport> {
  return checked(() => {
    const o = object(body, 'the body');
    if (o['version'] !== APPROVAL_CONTRACT_VERSION) fail(`version must be ${APPROVAL_CONTRACT_VERSION}`);
    const outcome = o['outcome'];
    if (!OUTCOMES.includes(outcome as OutcomeKind)) fail(`outcome must be one of ${OUTCOMES.join(', ')}`);
    const detail = o['detail'];
    if (typeof detail !== 'string' && detail !== null) fail('detail must be a string');
    return {
      version: APPROVAL_CONTRACT_VERSION,
      eventKey: text(o, 'eventKey', EVENT_KEY, 'an event key (letters, digits, _ . : -, at most 128)'),
      execution: text(o, 'execution', EXECUTION_NAME, 'a Workflows execution name (projects/P/locations/L/workflows/W/executions/E)'),
      instance: instanceOf(o['instance'], 'instance'),
      fingerprint: nullable(o, 'fingerprint', () => text(o, 'fingerprint', FINGERPRINT_HEX, 'a 64-hex-digit fingerprint')),
      groupId: nullable(o, 'groupId', () => text(o, 'groupId', GROUP_ID, 'a group id from an approval answer')),
      outcome: outcome as OutcomeKind,
      intendedAction: nullable(o, 'intendedAction', () => text(o, 'intendedAction', /^[a-z_]{1,32}$/, 'an action name')),
      detail: (detail ?? '').slice(0, MAX_DETAIL_CHARS),
      at: text(o, 'at', TIMESTAMP, 'an RFC 3339 timestamp'),
    };
  });
}

/** Group ids are random (128 bits), so a button's value names a group and says nothing else. */
export const GROUP_ID = /^grp_[0-9a-f]{32}$/;

export function isGroupId(s: unknown): s is string {
  return typeof s === 'string' && GROUP_ID.test(s);
}

/** Where callbacks may go: Google's Workflows Executions API, or (local tokens) a loopback listener. */
export type CallbackTarget = 'google' | 'loopback';

export const WORKFLOW_EXECUTIONS_ORIGIN = 'https://workflowexecutions.googleapis.com';

/**
 * Why `url` cannot be the callback endpoint of `request.execution`, or null when it can. The app
 * sends an OAuth2 access token with each callback: a URL anywhere else would hand that token out.
 * In the cloud only the execution's own endpoint on the Workflows Executions API qualifies:
 * `/v1/projects/P/locations/L/workflows/W/executions/E/callbacks/<id>` with L, W and E those of
 * the execution, and P its project id or its project number. Google documents the callback's
 * resource pattern (projects, locations, workflows, executions, callbacks, each segment a
 * wildcard) but not which of the two `events.create_callback_endpoint` writes, and resource names
 * that Google APIs return often carry the number.
 *
 * The number is the one the request carries (`projectNumber`), not a setting of the app: the
 * workflow reads it from `sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")`, which Workflows sets itself
 * (https://cloud.google.com/workflows/docs/reference/environment-variables), and sends it in the
 * same OIDC-authenticated request, beside the execution name it builds from the other built-in
 * variables. Both are exactly as trustworthy as the workflow's identity; a copy in the app's
 * configuration would be one more fact to keep in step with the platform, and a wrong copy would
 * refuse every approval. Whatever the request says, the URL stays on Google's API, so the token
 * never leaves Google, and it stays bound to the execution the request is about, whose project
 * must be `appProject` (the app's own, GOOGLE_CLOUD_PROJECT), when given: the app's token is
 * never sent to another project's executions.
 * With local (unsigned) tokens, any loopback URL.
 */
export function callbackUrlProblem(
  url: string,
  request: Pick<ApprovalRequest, 'execution' | 'projectNumber'>,
  target: CallbackTarget,
  appProject: string | null = null,
): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'callbackUrl is not a URL';
  }
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '')
    return 'callbackUrl must not carry credentials, a query or a fragment';
  if (target === 'loopback') {
    // Local tokens: any loopback listener (the local engine's, or a test's own), never another host.
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
      return 'callbackUrl must be on a loopback address (local tokens are accepted)';
    return null;
  }
  if (u.origin !== WORKFLOW_EXECUTIONS_ORIGIN) return `callbackUrl must be on ${WORKFLOW_EXECUTIONS_ORIGIN}`;
  const [, project = '', rest = ''] = /^projects\/([^/]+)(\/.*)$/.exec(request.execution) ?? [];
  if (appProject !== null && project !== appProject)
    return `execution must be in the app's project ${appProject} (GOOGLE_CLOUD_PROJECT), not ${project}`;
  const projects = request.projectNumber === null ? [project] : [project, request.projectNumber];
  const prefixes = projects.map((p) => `/v1/projects/${p}${rest}/callbacks/`);
  const prefix = prefixes.find((x) => u.pathname.startsWith(x));
  if (prefix === undefined || !/^[A-Za-z0-9_-]{1,128}$/.test(u.pathname.slice(prefix.length)))
    return `callbackUrl must be a callback endpoint of the execution (${prefixes.map((x) => `${x}<id>`).join(' or ')})`;
  return null;
}
