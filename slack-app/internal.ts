/**
 * The internal endpoints the response workflow (and Cloud Scheduler) call, contract in
 * core/approvals.ts. Every request carries an OIDC ID token for the app's own URL from an allowed
 * service account; with local tokens the caller must also be on loopback. Anything else is
 * answered 401 and nothing is recorded; a valid token of an account not meant for the endpoint
 * (`endpointCallers`) is answered 403. A valid caller's bad request is answered 400, logged and
 * audited; an unavailable database is 503, so that the workflow retries.
 */
import type http from 'node:http';
import { APPROVAL_PATHS, callbackUrlProblem, checkApprovalRequest, checkOutcomeReport, type CallbackTarget } from '../core/approvals.js';
import { isBootwardenError } from '../core/errors.js';
import type { CallerVerifier } from '../core/ports/identity.port.js';
import type { Logger } from '../core/ports/logger.port.js';
import type { ApprovalStore } from '../core/ports/approval-store.port.js';
import type { Approvals } from './approvals.js';

/** The scheduler's endpoint: delivers pending callbacks and redraws stale messages. */
export const DELIVER_PATH = '/internal/deliver';
export const INTERNAL_PATHS: readonly string[] = [APPROVAL_PATHS.request, APPROVAL_PATHS.outcome, DELIVER_PATH];

const MAX_BODY_BYTES = 64 * 1024;

/**
 * One identity per endpoint: the workflow's service account opens approval groups and reports
 * outcomes; the Cloud Scheduler job's account (when configured) may only trigger a delivery pass.
 */
export function endpointCallers(workflow: string, scheduler: string | null): Record<string, readonly string[]> {
  return {
    [APPROVAL_PATHS.request]: [workflow],
    [APPROVAL_PATHS.outcome]: [workflow],
    [DELIVER_PATH]: scheduler === null ? [workflow] : [workflow, scheduler],
  };
}

export interface InternalDeps {
  readonly approvals: Approvals;
  readonly store: ApprovalStore;
  readonly verifier: CallerVerifier;
  /** The OIDC audience: the app's base URL. */
  readonly audience: string;
  /** Per internal path, the identities (service-account e-mails) accepted on it: see `endpointCallers`. */
  readonly callers: Readonly<Record<string, readonly string[]>>;
  /** Where callback URLs may point: the Workflows Executions API, or loopback with local tokens. */
  readonly callbackTarget: CallbackTarget;
  /** The app's project: deployed, the only one whose executions are called back. */
  readonly project: string;
  readonly loopbackOnly: boolean;
  readonly logger: Logger;
  readonly now: () => Date;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function handleInternal(deps: InternalDeps, req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
  const { logger } = deps;
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, { error: `${path} takes POST` });
  }
  if (deps.loopbackOnly && !LOOPBACK.test(req.socket.remoteAddress ?? '')) {
    logger.warn('refused an internal request from off loopback (local tokens are accepted on loopback only)', {
      remote: req.socket.remoteAddress,
    });
    return send(res, 401, { error: 'local tokens are accepted from loopback only' });
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m === null) return send(res, 401, { error: 'an OIDC ID token (Authorization: Bearer) is required' });
  const caller = await deps.verifier.verify(m[1] ?? '', deps.audience);
  if (!caller.ok) {
    logger.warn(`refused an internal request: ${caller.reason}`, { path });
    return send(res, 401, { error: caller.reason });
  }
  // A valid token of an identity not meant for this endpoint (the scheduler's on /internal/approvals).
  if (!(deps.callers[path] ?? []).includes(caller.email)) {
    logger.warn(`refused an internal request: ${caller.email} may not call ${path}`, { path, caller: caller.email });
    return send(res, 403, { error: `${caller.email} may not call ${path}` });
  }
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw === null) return send(res, 413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
  try {
    if (path === DELIVER_PATH) {
      const counts = await deps.approvals.deliverPending(10_000, { recover: true });
      logger.info('delivery pass', { ...counts });
      return send(res, 200, counts);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return await rejectRequest(deps, res, path, caller.email, 'the body is not JSON');
    }
    if (path === APPROVAL_PATHS.request) {
      const checked = checkApprovalRequest(body);
      if (!checked.ok) return await rejectRequest(deps, res, path, caller.email, checked.reason);
      const problem = callbackUrlProblem(checked.value.callbackUrl, checked.value, deps.callbackTarget, deps.project);
      if (problem !== null) return await rejectRequest(deps, res, path, caller.email, problem);
      const answer = await deps.approvals.requestApproval(checked.value);
      await laterRequestPass(deps);
      return send(res, 200, answer);
    }
    const checked = checkOutcomeReport(body);
    if (!checked.ok) return await rejectRequest(deps, res, path, caller.email, checked.reason);
    await deps.approvals.reportOutcome(checked.value);
    await laterRequestPass(deps);
    return send(res, 200, {});
  } catch (e) {
    const retryable = isBootwardenError(e) && e.retryable;
    logger.error(`${path} failed${retryable ? '; the workflow retries' : ''}: ${e instanceof Error ? e.message : String(e)}`, {
      code: isBootwardenError(e) ? e.code : 'internal',
    });
    return send(res, retryable ? 503 : 500, { error: e instanceof Error ? e.message : 'internal error' });
  }
}

async function rejectRequest(deps: InternalDeps, res: http.ServerResponse, path: string, caller: string, reason: string): Promise<void> {
  deps.logger.error(`rejected a request to ${path}: ${reason}`, { caller });
  await deps.store.audit({
    at: deps.now().toISOString(),
    kind: 'request_rejected',
    groupId: null,
    actor: caller,
    detail: `${path}: ${reason}`.slice(0, 1000),
  });
  send(res, 400, { error: reason });
}

/** "On a later request": a short pass over callbacks that are due, never failing the request itself. */
async function laterRequestPass(deps: InternalDeps): Promise<void> {
  try {
    await deps.approvals.deliverPending(300, { limit: 20 });
  } catch (e) {
    deps.logger.warn(`the delivery pass after a request failed; the scheduler retries: ${e instanceof Error ? e.message : String(e)}`);
  }
}
