/**
 * ExecutionStarter on Cloud Workflows (Workflow Executions API v1). The ExecutionsClient is
 * created on first use, and `@google-cloud/workflows` is loaded then by a dynamic import:
 * importing this module loads no SDK, so a cold start that never starts an execution does not
 * pay for it.
 *
 * Failures map onto the retryable bit of BootwardenError:
 * - retryable (`store_unavailable`): gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 *   INTERNAL, ABORTED, UNKNOWN, CANCELLED; HTTP 429 and 5xx; network errors and anything
 *   unrecognised (redelivery keeps the event rather than losing it);
 * - permanent (`config_invalid`): gRPC INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
 *   FAILED_PRECONDITION, UNAUTHENTICATED, UNIMPLEMENTED and the other codes; HTTP 4xx. The
 *   message says what to check.
 */
import { loopbackApiUrl } from '../../core/config.js';
import { encodeArgument, type ResponseArgument } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import type { ExecutionStarter, StartedExecution } from '../../core/ports/execution-starter.port.js';
import type { ExecutionHistory, ExecutionSummary } from '../../core/ports/execution-history.port.js';

/** An execution as the API returns it (only the fields read here). */
export interface ExecutionResource {
  name?: string | null;
  /** Present in the FULL view only. */
  labels?: Record<string, string> | null;
  startTime?: ProtoTimestamp | null;
  endTime?: ProtoTimestamp | null;
  /** An enum name over REST, its number over gRPC. */
  state?: string | number | null;
  /** FULL view: the result of a SUCCEEDED execution (JSON). */
  result?: string | null;
}

type ProtoTimestamp = { seconds?: number | string | { toNumber(): number } | null; nanos?: number | null };

/** The part of `ExecutionsClient` (v1) this adapter uses; the real client satisfies it. */
export interface ExecutionsApi {
  createExecution(
    request: {
      parent: string;
      execution: { argument: string; labels: Record<string, string>; callLogLevel: 'LOG_ERRORS_ONLY' };
    },
    options?: { timeout?: number },
  ): Promise<[ExecutionResource, ...unknown[]]>;
  listExecutions(
    request: { parent: string; filter?: string; view: 'BASIC' | 'FULL'; pageSize: number; pageToken?: string },
    options: { autoPaginate: false; timeout?: number },
  ): Promise<[ExecutionResource[], { pageToken?: string | null } | null | undefined, ...unknown[]]>;
}

export type ExecutionsClientFactory = () => ExecutionsApi | Promise<ExecutionsApi>;

export interface WorkflowsExecutionStarterOptions {
  readonly project: string;
  readonly location: string;
  readonly workflow: string;
  /**
   * The local engine's Executions API (BOOTWARDEN_WORKFLOWS_API_URL, loopback only), reached with
   * local tokens for `localSubject` minted on `now`; null or absent: Google's.
   */
  readonly apiUrl?: string | null;
  readonly localSubject?: string;
  readonly now?: () => number;
  /**
   * Builds the client on first use; by default `new ExecutionsClient()` with application default
   * credentials, or the local one for `apiUrl`.
   */
  readonly clientFactory?: ExecutionsClientFactory;
  /** Per-call deadline. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Executions of one event: at most a handful; the newest is what matters. */
const LIST_PAGE_SIZE = 100;
/** History for operators: the newest executions looked through for the labels asked for. */
const HISTORY_SCAN_PAGES = 5;
/**
 * Without a usable label filter, the executions started since the event's first claim are looked
 * through, page by page, up to the regional quota of concurrent executions (10,000); the window
 * opens this much earlier for the skew between the function's clock and Workflows'.
 */
const LOOKUP_SCAN_PAGES = 100;
const LOOKUP_CLOCK_SKEW_MS = 10 * 60_000;

async function defaultClient(): Promise<ExecutionsApi> {
  const { ExecutionsClient } = await import('@google-cloud/workflows');
  return new ExecutionsClient();
}

/**
 * The same client against the local engine's Executions API (BOOTWARDEN_WORKFLOWS_API_URL, loopback
 * only), over REST with local tokens speaking for `subject`.
 */
export function localExecutionsClient(
  apiUrl: string,
  now: () => number = Date.now,
  subject = 'bootwarden-function@bootwarden.local',
): ExecutionsClientFactory {
  return async () => {
    const [{ ExecutionsClient }, { localClientOptions }] = await Promise.all([
      import('@google-cloud/workflows'),
      import('../local/local-api.js'),
    ]);
    return new ExecutionsClient(await localClientOptions(loopbackApiUrl('BOOTWARDEN_WORKFLOWS_API_URL', apiUrl, '/'), subject, now));
  };
}

/** gRPC status codes (google.rpc.Code). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const GRPC_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GRPC).map(([k, v]) => [v, k]));

const RETRYABLE_GRPC: ReadonlySet<number> = new Set([
  GRPC.UNAVAILABLE,
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.INTERNAL,
  GRPC.ABORTED,
  GRPC.UNKNOWN,
  GRPC.CANCELLED,
]);

/** HTTP statuses of permanent refusals, as the gRPC code they stand for. */
const HTTP_TO_GRPC: Record<number, number> = {
  400: GRPC.INVALID_ARGUMENT,
  401: GRPC.UNAUTHENTICATED,
  403: GRPC.PERMISSION_DENIED,
  404: GRPC.NOT_FOUND,
};

function field(e: unknown, key: string): unknown {
  return typeof e === 'object' && e !== null && key in e ? (e as Record<string, unknown>)[key] : undefined;
}

/** The failure as a gRPC code or an HTTP status, whichever the error carries. */
function classify(e: unknown): { grpc?: number; http?: number } {
  const code = field(e, 'code');
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16) return { grpc: code };
  if (typeof code === 'number' && code >= 100 && code <= 599) return { http: code };
  const status = field(e, 'status') ?? field(field(e, 'response'), 'status');
  if (typeof status === 'number' && status >= 100 && status <= 599) return { http: status };
  return {};
}

/** The error's message; over REST it is the JSON error body, reduced to its status and message. */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!message.startsWith('{')) return message;
  try {
    const body = field(JSON.parse(message), 'error');
    const status = field(body, 'status');
    const text = field(body, 'message');
    if (typeof text === 'string') return typeof status === 'string' ? `${status}: ${text}` : text;
  } catch {
    // not JSON after all: the message as it is
  }
  return message;
}

export class WorkflowsExecutionStarter implements ExecutionStarter, ExecutionHistory {
  readonly parent: string;
  private readonly factory: ExecutionsClientFactory;
  private readonly timeoutMs: number;
  private client: Promise<ExecutionsApi> | null = null;

  constructor(private readonly opts: WorkflowsExecutionStarterOptions) {
    for (const key of ['project', 'location', 'workflow'] as const) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(opts[key])) {
        throw new BootwardenError('config_invalid', `Workflows ${key} ${JSON.stringify(opts[key])} is not a valid resource id`);
      }
    }
    this.parent = `projects/${opts.project}/locations/${opts.location}/workflows/${opts.workflow}`;
    this.factory =
      opts.clientFactory ??
      (opts.apiUrl === undefined || opts.apiUrl === null ? defaultClient : localExecutionsClient(opts.apiUrl, opts.now, opts.localSubject));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private api(): Promise<ExecutionsApi> {
    if (this.client === null) {
      const created = Promise.resolve().then(() => this.factory());
      // A failed creation (the SDK failed to load, bad options) is tried again on the next call.
      created.catch(() => {
        if (this.client === created) this.client = null;
      });
      this.client = created;
    }
    return this.client;
  }

  async start(argument: ResponseArgument, labels: Readonly<Record<string, string>>): Promise<StartedExecution> {
    // Outside the try: an oversized argument is the caller's problem, reported as is.
    const encoded = encodeArgument(argument);
    const what = `starting execution of ${this.opts.workflow} for event ${argument.eventKey}`;
    let created: ExecutionResource;
    try {
      const client = await this.api();
      [created] = await client.createExecution(
        { parent: this.parent, execution: { argument: encoded, labels: { ...labels }, callLogLevel: 'LOG_ERRORS_ONLY' } },
        { timeout: this.timeoutMs },
      );
    } catch (e) {
      throw this.failure(what, e, 'workflows.executions.create');
    }
    if (typeof created.name !== 'string' || created.name === '') {
      throw new BootwardenError('store_unavailable', `Workflows returned no execution name while ${what}`, { retryable: true });
    }
    return { name: created.name };
  }

  /**
   * The newest execution carrying the event's label. The reference lists `label` among the
   * filterable fields but shows no syntax for one label: if `labels.event="…"` is refused
   * (INVALID_ARGUMENT), every execution started since `startedSince` (the event's first claim) is
   * listed in the FULL view (which has the labels) and matched here, so that neither a refused
   * filter nor a burst of newer executions turns into a second execution for the event.
   */
  async findByEventKey(eventKeyLabel: string, startedSince: string): Promise<StartedExecution | null> {
    const filter = `labels.event="${eventKeyLabel.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    const what = `looking up the execution of ${this.opts.workflow} for event ${eventKeyLabel}`;
    let executions: ExecutionResource[];
    try {
      const client = await this.api();
      [executions] = await client.listExecutions(
        { parent: this.parent, filter, view: 'BASIC', pageSize: LIST_PAGE_SIZE },
        { autoPaginate: false, timeout: this.timeoutMs },
      );
    } catch (e) {
      if (classifyInvalidArgument(e)) return this.scanForLabel(eventKeyLabel, startedSince, what);
      throw this.failure(what, e, 'workflows.executions.list');
    }
    return newest(executions);
  }

  /**
   * History for operators: the newest executions (FULL view, which has the labels), matched on
   * `labels` here rather than with a filter whose syntax for labels the reference does not show.
   */
  async recent(labels: Readonly<Record<string, string>>, limit: number): Promise<ExecutionSummary[]> {
    const found: ExecutionSummary[] = [];
    try {
      for await (const executions of this.fullPages(HISTORY_SCAN_PAGES)) {
        for (const x of executions) {
          if (typeof x.name !== 'string' || !Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)) continue;
          found.push({
            name: x.name,
            state: stateName(x.state),
            startTime: iso(x.startTime),
            endTime: iso(x.endTime),
            labels: { ...x.labels },
            result: typeof x.result === 'string' && x.result !== '' ? x.result : null,
          });
        }
        if (found.length >= limit) break;
      }
    } catch (e) {
      throw this.failure(`listing the executions of ${this.opts.workflow}`, e, 'workflows.executions.list');
    }
    return found.sort((a, b) => Date.parse(b.startTime ?? '') - Date.parse(a.startTime ?? '')).slice(0, limit);
  }

  private async scanForLabel(eventKeyLabel: string, startedSince: string, what: string): Promise<StartedExecution | null> {
    // A record's unreadable claim time (never written so by bootwarden) widens the scan to the newest executions.
    const since = Date.parse(startedSince);
    const filter = Number.isFinite(since) ? `startTime>="${new Date(since - LOOKUP_CLOCK_SKEW_MS).toISOString()}"` : undefined;
    const matching: ExecutionResource[] = [];
    try {
      for await (const executions of this.fullPages(LOOKUP_SCAN_PAGES, filter)) {
        matching.push(...executions.filter((x) => x.labels?.['event'] === eventKeyLabel));
      }
    } catch (e) {
      throw this.failure(what, e, 'workflows.executions.list');
    }
    return newest(matching);
  }

  /** The executions in the FULL view (it has the labels), newest first, a page at a time, at most `maxPages` pages. */
  private async *fullPages(maxPages: number, filter?: string): AsyncGenerator<ExecutionResource[]> {
    const client = await this.api();
    let pageToken: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const [executions, next] = await client.listExecutions(
        {
          parent: this.parent,
          view: 'FULL',
          pageSize: LIST_PAGE_SIZE,
          ...(filter === undefined ? {} : { filter }),
          ...(pageToken === undefined ? {} : { pageToken }),
        },
        { autoPaginate: false, timeout: this.timeoutMs },
      );
      yield executions;
      pageToken = next?.pageToken ?? undefined;
      if (pageToken === undefined || pageToken === '') return;
    }
  }

  private failure(what: string, e: unknown, permission: string): BootwardenError {
    if (e instanceof BootwardenError) return e;
    const { grpc, http } = classify(e);
    const reason = reasonOf(e);
    const retryable =
      (grpc !== undefined && RETRYABLE_GRPC.has(grpc)) ||
      (http !== undefined && (http === 429 || http >= 500)) ||
      (grpc === undefined && http === undefined);
    if (retryable) {
      return new BootwardenError('store_unavailable', `Workflows unavailable while ${what}: ${reason}`, { retryable: true, cause: e });
    }
    const code = grpc ?? (http !== undefined ? HTTP_TO_GRPC[http] : undefined);
    const status = code !== undefined ? (GRPC_NAMES[code] ?? `code ${code}`) : `HTTP ${http}`;
    return new BootwardenError('config_invalid', `Workflows refused ${what} (${status}): ${reason}; ${this.hint(code, permission)}`, {
      retryable: false,
      cause: e,
    });
  }

  private hint(code: number | undefined, permission: string): string {
    const { project, location, workflow } = this.opts;
    const names = `the workflow name (${workflow}), location (${location}) and project (${project})`;
    switch (code) {
      case GRPC.NOT_FOUND:
        return `check ${names}: the workflow must be deployed there`;
      case GRPC.PERMISSION_DENIED:
        return `check that the function's service account has roles/workflows.invoker (${permission}) on project ${project} and that the Workflow Executions API is enabled`;
      case GRPC.UNAUTHENTICATED:
        return "check the function's credentials (its service account; GOOGLE_APPLICATION_CREDENTIALS when run elsewhere)";
      case GRPC.INVALID_ARGUMENT:
        return `check ${names}, and the execution labels (lowercase letters, digits, _ and -, at most 63 characters)`;
      case GRPC.FAILED_PRECONDITION:
        return `check that the workflow ${workflow} is deployed and active in ${location} of project ${project}`;
      default:
        return `check ${names} and that the function's service account has roles/workflows.invoker`;
    }
  }
}

/** The API lists newest first; the start time decides when it is there. */
function newest(executions: readonly ExecutionResource[]): StartedExecution | null {
  let found: { name: string; at: number } | null = null;
  for (const x of executions) {
    if (typeof x.name !== 'string' || x.name === '') continue;
    const at = startedAtMillis(x);
    if (found === null || at > found.at) found = { name: x.name, at };
  }
  return found === null ? null : { name: found.name };
}

/** A request refused as invalid: gRPC INVALID_ARGUMENT, or the HTTP status that stands for it. */
function classifyInvalidArgument(e: unknown): boolean {
  const { grpc, http } = classify(e);
  return (grpc ?? (http === undefined ? undefined : HTTP_TO_GRPC[http])) === GRPC.INVALID_ARGUMENT;
}

const STATES = ['STATE_UNSPECIFIED', 'ACTIVE', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'UNAVAILABLE', 'QUEUED'];

function stateName(state: ExecutionResource['state']): string {
  if (typeof state === 'number') return STATES[state] ?? `STATE_${state}`;
  return state ?? 'STATE_UNSPECIFIED';
}

function iso(t: ProtoTimestamp | null | undefined): string | null {
  const ms = millis(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function startedAtMillis(x: ExecutionResource): number {
  return millis(x.startTime);
}

function millis(t: ProtoTimestamp | null | undefined): number {
  if (t === null || t === undefined) return Number.NEGATIVE_INFINITY;
  const s = t.seconds ?? 0;
  const seconds = typeof s === 'object' ? s.toNumber() : Number(s);
  const nanos = typeof t.nanos === 'number' ? t.nanos : 0;
  return Number.isFinite(seconds) ? seconds * 1000 + nanos / 1e6 : Number.NEGATIVE_INFINITY;
}
