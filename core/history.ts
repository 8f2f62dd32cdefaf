/**
 * What happened to which VM: the response workflow's executions (from the Executions API, found by
 * the labels the function sets) with their outcome, approver and durations (the execution's result,
 * the audit record the workflow writes), joined with the approvals' audit trail (who decided,
 * who was refused). One use case for `bootwarden history`, Slack's `/bootwarden history` and the
 * local stack's timeline; each renders the same lines.
 */
import { BootwardenError } from './errors.js';
import type { ApprovalAuditRecord } from './ports/approval-store.port.js';
import type { ExecutionHistory, ExecutionSummary } from './ports/execution-history.port.js';

export interface HistoryQuery {
  /** A numeric instance id. */
  readonly instance?: string;
  /** A fingerprint, or its first 16 hex digits or more. */
  readonly fingerprint?: string;
  /** Only executions started at or after this time. */
  readonly since?: Date;
  /** How many executions at most (newest first). */
  readonly limit: number;
}

export interface HistoryDeps {
  /** Null when the Executions API is not configured (the lines say so). */
  readonly executions: ExecutionHistory | null;
  readonly audit: { auditTrail(limit: number): Promise<ApprovalAuditRecord[]> };
}

export interface History {
  /** Null: no Executions API to ask. */
  readonly executions: readonly string[] | null;
  readonly approvals: readonly string[];
}

/** Checks what an operator typed; a BootwardenError `usage` names what is wrong. */
export function historyQuery(options: { instance?: string; fingerprint?: string; since?: string; limit?: string }): HistoryQuery {
  const query: { instance?: string; fingerprint?: string; since?: Date; limit: number } = { limit: 20 };
  if (options.instance !== undefined) {
    if (!/^[0-9]{1,20}$/.test(options.instance))
      throw new BootwardenError(
        'usage',
        `--instance takes the instance's numeric id (up to 20 digits), got ${JSON.stringify(options.instance)}`,
      );
    query.instance = options.instance;
  }
  if (options.fingerprint !== undefined) {
    const f = options.fingerprint.toLowerCase();
    if (!/^[0-9a-f]{16,64}$/.test(f))
      throw new BootwardenError(
        'usage',
        `--fingerprint takes 16 to 64 hex digits of a fingerprint, got ${JSON.stringify(options.fingerprint)}`,
      );
    query.fingerprint = f;
  }
  if (options.since !== undefined) {
    const at = Date.parse(options.since);
    if (!Number.isFinite(at))
      throw new BootwardenError(
        'usage',
        `--since takes a time such as 2026-11-01 or 2026-11-01T10:00:00Z, got ${JSON.stringify(options.since)}`,
      );
    query.since = new Date(at);
  }
  if (options.limit !== undefined) {
    if (!/^[0-9]{1,4}$/.test(options.limit) || Number(options.limit) < 1 || Number(options.limit) > 500)
      throw new BootwardenError('usage', `--limit takes a number from 1 to 500, got ${JSON.stringify(options.limit)}`);
    query.limit = Number(options.limit);
  }
  return query;
}

interface Report {
  readonly outcome?: unknown;
  readonly reason?: unknown;
  readonly approver?: unknown;
  readonly timings?: { startedAt?: unknown; decisionAt?: unknown; finishedAt?: unknown; decidedAt?: unknown };
}

function seconds(from: unknown, to: unknown): number | null {
  if (typeof from !== 'string' || typeof to !== 'string') return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}

const fmt = (s: number): string => (s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

/** One line of an execution: when, what, on which VM, how it ended, who approved, how long. */
export function executionLine(x: ExecutionSummary): string {
  let report: Report;
  try {
    report = x.result === null ? {} : (JSON.parse(x.result) as Report);
  } catch {
    report = {};
  }
  const outcome = typeof report.outcome === 'string' ? report.outcome : null;
  const parts = [`${x.startTime ?? '?'} ${x.labels['action'] ?? '?'} on instance ${x.labels['instance-id'] ?? '?'}: ${x.state}`];
  if (outcome !== null) parts.push(outcome);
  const approver = report.approver as { id?: unknown; name?: unknown } | null | undefined;
  if (typeof approver?.name === 'string' && typeof approver.id === 'string') parts.push(`decided by ${approver.name} (${approver.id})`);
  const took = seconds(report.timings?.startedAt, report.timings?.finishedAt);
  const waited = seconds(report.timings?.startedAt, report.timings?.decisionAt);
  if (took !== null) parts.push(`took ${fmt(took)}`);
  if (waited !== null) parts.push(`decision after ${fmt(waited)}`);
  const fingerprint = x.labels['fingerprint'];
  if (fingerprint !== undefined) parts.push(`fingerprint ${fingerprint}…`);
  return `${parts.join(', ')} (${x.name.slice(x.name.lastIndexOf('/') + 1)})`;
}

function auditLine(r: ApprovalAuditRecord): string {
  return `${r.at} ${r.kind.replace(/_/g, ' ')}${r.actor === null ? '' : ` by ${r.actor}`}: ${r.detail}`;
}

export async function readHistory(deps: HistoryDeps, query: HistoryQuery): Promise<History> {
  const labels: Record<string, string> = { app: 'bootwarden' };
  if (query.instance !== undefined) labels['instance-id'] = query.instance;
  if (query.fingerprint !== undefined) labels['fingerprint'] = query.fingerprint.slice(0, 16);
  const [executions, trail] = await Promise.all([
    deps.executions === null ? Promise.resolve(null) : deps.executions.recent(labels, query.limit),
    deps.audit.auditTrail(500),
  ]);
  const since = query.since?.getTime();
  const runs = executions?.filter((x) => since === undefined || Date.parse(x.startTime ?? '') >= since) ?? null;
  // An instance id or fingerprint names audit records directly, and through them their groups' decisions.
  const filter = query.instance ?? query.fingerprint;
  const named = (r: ApprovalAuditRecord): boolean =>
    filter === undefined || r.detail.toLowerCase().includes(filter) || (r.groupId !== null && r.groupId.startsWith(filter));
  const groups = new Set(trail.filter(named).map((r) => r.groupId));
  const approvals = trail
    .filter((r) => named(r) || (r.groupId !== null && groups.has(r.groupId)))
    .filter((r) => since === undefined || Date.parse(r.at) >= since)
    .slice(0, query.limit)
    .map(auditLine);
  return { executions: runs?.map(executionLine) ?? null, approvals };
}
