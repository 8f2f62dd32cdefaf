/**
 * The Workflow Executions API v1 (REST), served by the local engine on the loopback origin that
 * serves its callbacks (in the cloud both live on workflowexecutions.googleapis.com), so that the
 * official `@google-cloud/workflows` ExecutionsClient (REST transport) starts, reads, lists and
 * cancels executions in the engine:
 *
 * - `POST /v1/{parent=projects/*\/locations/*\/workflows/*}/executions`, body an Execution
 *   (`argument`, `labels`, `callLogLevel`): starts one; the answer is the execution (FULL view).
 * - `GET  /v1/{parent}/executions` (`pageSize`, `pageToken`, `view`, `filter`, `orderBy`): newest
 *   first (descending createTime), BASIC view by default; `pageSize` defaults to 100 and is coerced
 *   down to 1000 (BASIC) or 100 (FULL).
 * - `GET  /v1/{name=projects/*\/locations/*\/workflows/*\/executions/*}` (`view`, FULL by default).
 * - `POST /v1/{name}:cancel`.
 *
 * The BASIC view has name, startTime, endTime, duration, state and workflowRevisionId (so no
 * labels), as the ExecutionView reference says
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/ExecutionView). Google's
 * system parameters (`alt`, `prettyPrint`, `fields`, `$.xgafv`, `quotaUser`, …) are read by
 * api/system-parameters.ts: enums are names, or numbers when the client asks for
 * `$alt=json;enum-encoding=int`; JSON is indented unless `prettyPrint=false`; `fields` selects a
 * partial response, checked against the Execution resource's fields. `orderBy` is AIP-132's
 * comma-separated list of the fields the reference lists (executionId, state, createTime,
 * startTime, endTime, duration, workflowRevisionId), each ascending or followed by ` desc`; `state`
 * orders by the enum's number (ACTIVE, SUCCEEDED, FAILED, CANCELLED), an unset endTime or
 * duration (an ACTIVE execution) before any set one: how Google compares those two the reference
 * does not say. Filters: the documented examples' forms only (`state="FAILED"`,
 * `startTime>"2023-08-01"`, `executionId=...`, terms joined by AND); the reference lists `label`
 * among the filterable fields without a syntax for it, so a label filter is refused (400
 * INVALID_ARGUMENT, saying so), as is anything else this API cannot promise to match as Google does.
 */
import type http from 'node:http';
import {
  checkFieldMask,
  messageSchema,
  readSystemParameters,
  renderResponse,
  SystemParameterError,
  type MessageSchema,
  type SystemParameters,
} from './api/system-parameters.js';
import { EngineError, type ExecutionRecord, type ExecutionState, type WorkflowEngine } from './executions.js';
import { readRequestBody, sendError } from './run/callbacks.js';

const STATE_NUMBERS: Record<ExecutionState, number> = { ACTIVE: 1, SUCCEEDED: 2, FAILED: 3, CANCELLED: 4 };
const CALL_LOG_LEVELS = ['CALL_LOG_LEVEL_UNSPECIFIED', 'LOG_ALL_CALLS', 'LOG_ERRORS_ONLY', 'LOG_NONE'] as const;
const CALL_LOG_NUMBERS: Record<string, (typeof CALL_LOG_LEVELS)[number]> = {
  0: 'CALL_LOG_LEVEL_UNSPECIFIED',
  1: 'LOG_ALL_CALLS',
  2: 'LOG_ERRORS_ONLY',
  3: 'LOG_NONE',
};
const VIEWS = ['EXECUTION_VIEW_UNSPECIFIED', 'BASIC', 'FULL'] as const;
const MAX_BODY_BYTES = 1024 * 1024;

const SEGMENT = '([a-z0-9][-a-z0-9_.]*)';
const PARENT = new RegExp(
  `^/v1/projects/${SEGMENT}/locations/${SEGMENT}/workflows/([A-Za-z0-9_-]+)/executions(?:/([0-9a-f-]+)(:cancel)?)?$`,
);

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string): ApiError => new ApiError(400, 'INVALID_ARGUMENT', message);

interface Query {
  /** The method's own parameters (the system parameters taken out). */
  readonly params: URLSearchParams;
  readonly system: SystemParameters;
}

/**
 * The Execution resource's fields, as the REST reference lists them
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions#Execution),
 * for `fields` partial responses.
 */
const STACK_TRACE_ELEMENT = messageSchema({
  step: 'scalar',
  routine: 'scalar',
  position: () => messageSchema({ line: 'scalar', column: 'scalar', length: 'scalar' }),
});
const EXECUTION: MessageSchema = messageSchema({
  name: 'scalar',
  startTime: 'scalar',
  endTime: 'scalar',
  duration: 'scalar',
  state: 'scalar',
  argument: 'scalar',
  result: 'scalar',
  error: () =>
    messageSchema({ payload: 'scalar', context: 'scalar', stackTrace: () => messageSchema({ elements: () => STACK_TRACE_ELEMENT }) }),
  workflowRevisionId: 'scalar',
  callLogLevel: 'scalar',
  status: () => messageSchema({ currentSteps: () => messageSchema({ routine: 'scalar', step: 'scalar' }) }),
  labels: 'map',
  stateError: () => messageSchema({ details: 'scalar', type: 'scalar' }),
  createTime: 'scalar',
  disableConcurrencyQuotaOverflowBuffering: 'scalar',
  executionHistoryLevel: 'scalar',
});
/** ListExecutionsResponse (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list#response-body). */
const LIST_EXECUTIONS: MessageSchema = messageSchema({ executions: () => EXECUTION, nextPageToken: 'scalar' });

/** What the API keeps of a create request that the engine's record does not. */
const callLogLevels = new WeakMap<ExecutionRecord, string>();

function view(q: Query, fallback: 'BASIC' | 'FULL'): 'BASIC' | 'FULL' {
  const v = q.params.get('view');
  if (v === null || v === 'EXECUTION_VIEW_UNSPECIFIED' || v === '0') return fallback;
  if (v === 'BASIC' || v === '1') return 'BASIC';
  if (v === 'FULL' || v === '2') return 'FULL';
  throw invalid(
    `Invalid value at 'view' (type.googleapis.com/google.cloud.workflows.executions.v1.ExecutionView), "${v}"; expected one of ${VIEWS.join(', ')}`,
  );
}

function duration(r: ExecutionRecord): string | undefined {
  if (r.endTime === undefined) return undefined;
  const ms = Date.parse(r.endTime) - Date.parse(r.startTime);
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

function resource(r: ExecutionRecord, v: 'BASIC' | 'FULL', numericEnums: boolean): Record<string, unknown> {
  const d = duration(r);
  const basic: Record<string, unknown> = {
    name: r.name,
    startTime: r.startTime,
    ...(r.endTime === undefined ? {} : { endTime: r.endTime }),
    ...(d === undefined ? {} : { duration: d }),
    state: numericEnums ? STATE_NUMBERS[r.state] : r.state,
    workflowRevisionId: r.workflowRevisionId,
  };
  if (v === 'BASIC') return basic;
  const level = callLogLevels.get(r) ?? 'CALL_LOG_LEVEL_UNSPECIFIED';
  return {
    ...basic,
    ...(r.argument === null ? {} : { argument: r.argument }),
    ...(r.result === undefined ? {} : { result: r.result }),
    ...(r.error === undefined ? {} : { error: r.error }),
    callLogLevel: numericEnums ? CALL_LOG_LEVELS.indexOf(level as (typeof CALL_LOG_LEVELS)[number]) : level,
    ...(r.currentStep === undefined
      ? {}
      : { status: { currentSteps: [{ routine: r.currentStep.subworkflow, step: r.currentStep.step }] } }),
    labels: { ...r.labels },
    createTime: r.startTime,
  };
}

type Term = (r: ExecutionRecord) => boolean;

/** The documented forms of `filter`; anything else is refused with what is wrong. */
function compileFilter(filter: string): Term {
  const text = filter.trim();
  if (text === '') return () => true;
  const terms = text.split(/\s+AND\s+/);
  return terms
    .map((term): Term => {
      const m = /^([A-Za-z_.]+)\s*(<=|>=|!=|=|<|>)\s*("[^"]*"|[^\s"]+)$/.exec(term.trim());
      if (m === null)
        throw invalid(
          `filter: cannot read ${JSON.stringify(term)}: the local Executions API understands field, operator and value joined by AND, as in state="FAILED" AND startTime>"2023-08-01"`,
        );
      const [, field = '', op = '', raw = ''] = m;
      const value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
      if (field === 'label' || field.startsWith('labels.') || field.startsWith('label.'))
        throw invalid(
          `filter: ${JSON.stringify(term)}: the reference lists "label" among the filterable fields but documents no syntax for it; the local Executions API refuses label filters rather than guess (list with view=FULL and match the labels)`,
        );
      if (field === 'state') {
        if (op !== '=' && op !== '!=') throw invalid(`filter: state takes = or !=, not ${op}`);
        if (!Object.hasOwn(STATE_NUMBERS, value) && value !== 'QUEUED' && value !== 'UNAVAILABLE')
          throw invalid(
            `filter: ${JSON.stringify(value)} is not an execution state (ACTIVE, SUCCEEDED, FAILED, CANCELLED, QUEUED, UNAVAILABLE)`,
          );
        return (r) => (r.state === value) === (op === '=');
      }
      if (field === 'executionId') {
        if (op !== '=' && op !== '!=') throw invalid(`filter: executionId takes = or !=, not ${op}`);
        return (r) => (r.name.slice(r.name.lastIndexOf('/') + 1) === value) === (op === '=');
      }
      if (field === 'startTime' || field === 'createTime' || field === 'endTime') {
        const at = Date.parse(value);
        if (!Number.isFinite(at)) throw invalid(`filter: ${JSON.stringify(value)} is not a time (e.g. "2023-08-01" or an RFC 3339 time)`);
        return (r) => {
          const t = field === 'endTime' ? (r.endTime === undefined ? Number.NaN : Date.parse(r.endTime)) : Date.parse(r.startTime);
          if (Number.isNaN(t)) return false;
          switch (op) {
            case '<':
              return t < at;
            case '<=':
              return t <= at;
            case '>':
              return t > at;
            case '>=':
              return t >= at;
            case '=':
              return t === at;
            default:
              return t !== at;
          }
        };
      }
      throw invalid(
        `filter: the local Executions API filters on state, executionId, createTime, startTime and endTime, not ${JSON.stringify(field)}`,
      );
    })
    .reduce<Term>(
      (all, t) => (r) => all(r) && t(r),
      () => true,
    );
}

/** The fields `orderBy` takes, as the list method's reference gives them, and how each compares. */
const ORDER_KEYS: Readonly<Record<string, (r: ExecutionRecord) => number | string>> = {
  executionId: (r) => r.name.slice(r.name.lastIndexOf('/') + 1),
  state: (r) => STATE_NUMBERS[r.state],
  createTime: (r) => Date.parse(r.startTime),
  startTime: (r) => Date.parse(r.startTime),
  // Unset (an ACTIVE execution) orders before any time or duration.
  endTime: (r) => (r.endTime === undefined ? -Infinity : Date.parse(r.endTime)),
  duration: (r) => (r.endTime === undefined ? -Infinity : Date.parse(r.endTime) - Date.parse(r.startTime)),
  workflowRevisionId: (r) => r.workflowRevisionId,
};

/**
 * AIP-132 (https://google.aip.dev/132#ordering): a comma-separated list of fields, each ascending
 * unless followed by ` desc`; spaces between the parts are insignificant. Default: createTime desc.
 */
function ordered(records: ExecutionRecord[], orderBy: string | null): ExecutionRecord[] {
  const spec = (orderBy ?? '').trim();
  const keys = (spec === '' ? ['createTime desc'] : spec.split(',')).map((part) => {
    const m = /^\s*([A-Za-z]+)(?:\s+(desc))?\s*$/.exec(part);
    const key = m === null ? undefined : ORDER_KEYS[m[1] ?? ''];
    if (m === null || key === undefined || !Object.hasOwn(ORDER_KEYS, m[1] ?? ''))
      throw invalid(
        `orderBy: ${JSON.stringify(part.trim())} is not an ordering: give a comma-separated list of ${Object.keys(ORDER_KEYS).join(', ')}, each optionally followed by " desc" (ascending otherwise), e.g. "startTime desc"`,
      );
    return { key, desc: m[2] === 'desc' };
  });
  // The engine lists newest first, executions of one millisecond in the order started: a stable
  // sort by start time gives the order they were started in. Ties of the keys keep that order,
  // reversed where the first key is descending, so that `desc` lists the last started first.
  const started = [...records].sort((x, y) => Date.parse(x.startTime) - Date.parse(y.startTime));
  const index = new Map(started.map((r, i) => [r, i]));
  const tieDesc = keys[0]?.desc ?? true;
  return started.sort((a, b) => {
    for (const { key, desc } of keys) {
      const x = key(a);
      const y = key(b);
      if (x === y) continue;
      const c = x < y ? -1 : 1;
      return desc ? -c : c;
    }
    const c = (index.get(a) ?? 0) - (index.get(b) ?? 0);
    return tieDesc ? -c : c;
  });
}

function pageSize(q: Query, v: 'BASIC' | 'FULL'): number {
  const raw = q.params.get('pageSize');
  if (raw === null || raw === '0') return 100;
  if (!/^[0-9]+$/.test(raw)) throw invalid(`pageSize: ${JSON.stringify(raw)} is not a positive integer`);
  return Math.min(Number(raw), v === 'BASIC' ? 1000 : 100);
}

/** A page token: the offset and the parameters it was given for (they must match, as documented). */
function pageToken(q: Query): { offset: number; key: string } {
  const key = JSON.stringify([q.params.get('filter') ?? '', q.params.get('orderBy') ?? '', q.params.get('view') ?? '']);
  const raw = q.params.get('pageToken');
  if (raw === null || raw === '') return { offset: 0, key };
  try {
    const [offset, was] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [number, string];
    if (typeof offset !== 'number' || was !== key) throw new Error('mismatch');
    return { offset, key };
  } catch {
    throw invalid('pageToken: not a token of this list (a page token is valid only with the same filter, orderBy and view)');
  }
}

const known = (q: Query, allowed: readonly string[]): void => {
  for (const k of q.params.keys()) {
    if (allowed.includes(k)) continue;
    throw invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot bind query parameter.`);
  }
};

function createRequest(body: unknown): { argument?: string; labels?: Record<string, string>; callLogLevel?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('Invalid JSON payload received. Expected an Execution object.');
  const out: { argument?: string; labels?: Record<string, string>; callLogLevel?: string } = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === 'argument') {
      if (typeof v !== 'string') throw invalid(`Invalid value at 'execution.argument' (TYPE_STRING), ${JSON.stringify(v)}`);
      out.argument = v;
    } else if (k === 'labels') {
      if (
        typeof v !== 'object' ||
        v === null ||
        Array.isArray(v) ||
        Object.values(v as Record<string, unknown>).some((x) => typeof x !== 'string')
      )
        throw invalid(`Invalid value at 'execution.labels': a map of strings is expected`);
      out.labels = v as Record<string, string>;
    } else if (k === 'callLogLevel') {
      const level = typeof v === 'number' ? CALL_LOG_NUMBERS[String(v)] : (v as string);
      if (!CALL_LOG_LEVELS.includes(level as (typeof CALL_LOG_LEVELS)[number]))
        throw invalid(`Invalid value at 'execution.call_log_level', ${JSON.stringify(v)}`);
      out.callLogLevel = level;
    } else {
      // Output-only fields, and ones the local engine does not implement, are named rather than ignored.
      throw invalid(`Invalid JSON payload received. Unknown name "${k}" at 'execution': not accepted by the local Executions API.`);
    }
  }
  return out;
}

/**
 * Handles the request if it is an Executions API path; false otherwise (a callback, or nothing).
 * The caller has checked the bearer token.
 */
export async function handleExecutionsApi(
  engine: WorkflowEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<boolean> {
  const m = PARENT.exec(url.pathname);
  if (m === null) return false;
  const [, project = '', location = '', workflow = '', id, cancel] = m;
  try {
    const { system, api } = readSystemParameters(url.searchParams);
    const q: Query = { params: api, system };
    const numericEnums = system.numericEnums;
    const reply = (body: unknown, schema: MessageSchema): void => {
      const text = renderResponse(body, system, schema);
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(text);
    };
    if (project !== engine.projectId || location !== engine.location)
      throw new ApiError(
        404,
        'NOT_FOUND',
        `Workflow projects/${project}/locations/${location}/workflows/${workflow} not found: the local engine serves project ${engine.projectId}, location ${engine.location}`,
      );
    const parent = `projects/${project}/locations/${location}/workflows/${workflow}`;
    const method = req.method ?? 'GET';
    if (id === undefined && method === 'POST') {
      known(q, []);
      checkFieldMask(system.fields, EXECUTION);
      const data = await readRequestBody(req, MAX_BODY_BYTES);
      if (data === undefined) throw invalid(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(data).toString('utf8'));
      } catch {
        throw invalid('Invalid JSON payload received. The body is not JSON.');
      }
      const request = createRequest(body);
      const record = engine.startExecution(workflow, {
        ...(request.argument === undefined ? {} : { argument: request.argument }),
        ...(request.labels === undefined ? {} : { labels: request.labels }),
      });
      if (request.callLogLevel !== undefined) callLogLevels.set(record, request.callLogLevel);
      reply(resource(record, 'FULL', numericEnums), EXECUTION);
      return true;
    }
    if (id === undefined && method === 'GET') {
      known(q, ['pageSize', 'pageToken', 'view', 'filter', 'orderBy']);
      const v = view(q, 'BASIC');
      const size = pageSize(q, v);
      const { offset, key } = pageToken(q);
      const matches = compileFilter(q.params.get('filter') ?? '');
      const all = ordered(
        engine.listExecutions({ workflowId: workflow }).filter((r) => r.name.startsWith(`${parent}/`) && matches(r)),
        q.params.get('orderBy'),
      );
      const page = all.slice(offset, offset + size);
      const next =
        offset + page.length < all.length ? Buffer.from(JSON.stringify([offset + page.length, key])).toString('base64url') : undefined;
      reply(
        { executions: page.map((r) => resource(r, v, numericEnums)), ...(next === undefined ? {} : { nextPageToken: next }) },
        LIST_EXECUTIONS,
      );
      return true;
    }
    const name = `${parent}/executions/${id ?? ''}`;
    if (cancel === undefined && method === 'GET') {
      known(q, ['view']);
      reply(resource(engine.getExecution(name), view(q, 'FULL'), numericEnums), EXECUTION);
      return true;
    }
    if (cancel !== undefined && method === 'POST') {
      known(q, []);
      checkFieldMask(system.fields, EXECUTION);
      engine.cancel(name);
      // The answer is the cancelled execution.
      reply(resource(await engine.wait(name), 'FULL', numericEnums), EXECUTION);
      return true;
    }
    throw new ApiError(404, 'NOT_FOUND', `${method} ${url.pathname} is not a method of the Executions API v1 (create, list, get, cancel)`);
  } catch (e) {
    if (e instanceof ApiError) sendError(res, e.code, e.status, e.message);
    else if (e instanceof SystemParameterError) sendError(res, e.status, 'INVALID_ARGUMENT', e.message);
    else if (e instanceof EngineError) {
      const [code, status] =
        e.code === 'not_found'
          ? [404, 'NOT_FOUND']
          : e.code === 'invalid_argument'
            ? [400, 'INVALID_ARGUMENT']
            : [400, 'FAILED_PRECONDITION'];
      sendError(res, code, status, e.message);
    } else throw e;
    return true;
  }
}
