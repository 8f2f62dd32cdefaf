/**
 * What every connector of the local engine shares: `connector_params`, the built-in retry
 * policies, and the error maps the workflow sees.
 *
 * Behaviour, from "Understand connectors" (https://cloud.google.com/workflows/docs/connectors) and
 * the connectors reference (https://cloud.google.com/workflows/docs/reference/googleapis):
 * - GET requests use the idempotent retry policy, every other HTTP method the non-idempotent one.
 *   These are `http.default_retry` (429, 502, 503, 504, ConnectionError, ConnectionFailedError,
 *   TimeoutError) and `http.default_retry_non_idempotent` (429, 503, ConnectionFailedError), both
 *   with max_retries 5 and `retry.default_backoff` (initial_delay 1 s, multiplier 1.25, max_delay 60 s)
 *   (https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry,
 *   https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_non_idempotent).
 * - `connector_params`: `timeout` (s, end to end; default 1800; at most 1800 for calls that are not
 *   long-running operations, 31536000 for those that are), `polling_policy` (`initial_delay` 1,
 *   `multiplier` 1.25, `max_delay` 60 by default), `skip_polling` (return the operation as the
 *   first request answered it), `scopes` (accepted; the local engine authenticates nothing).
 * - An API error is `{message: "HTTP server responded with error code N", code, headers, body,
 *   tags: ["HttpError"]}`; 429 and 503 reach the workflow only after the retries.
 *
 * Waits use the execution's clock, so tests never sleep. The timeout is checked between attempts
 * and polls; a request already under way is not interrupted.
 */
import type { CallContext } from '../run/runtime.js';
import { errorMap, fromPlain, isMap, raise, typeName, WorkflowError, type Value, type WfMap } from '../run/values.js';

export const MAX_LRO_TIMEOUT_S = 31_536_000;
export const DEFAULT_TIMEOUT_S = 1800;

export interface PollingPolicy {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
}

export interface ConnectorParams {
  readonly timeoutMs: number;
  readonly polling: PollingPolicy;
  readonly skipPolling: boolean;
}

/** retry.default_backoff, also the default polling policy of long-running operations. */
export const DEFAULT_BACKOFF: PollingPolicy = { initialDelayMs: 1000, multiplier: 1.25, maxDelayMs: 60_000 };
export const MAX_RETRIES = 5;

function positiveNumber(connector: string, key: string, v: Value | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'bigint' && typeof v !== 'number')
    raise('TypeError', `${connector}: connector_params.${key} must be a number, got ${typeName(v)}`);
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) raise('ValueError', `${connector}: connector_params.${key} must be positive, got ${n}`);
  return n;
}

/** Reads and checks `args.connector_params`; `lro` says whether the method is a long-running operation. */
export function connectorParams(connector: string, args: WfMap, lro: boolean): ConnectorParams {
  const raw = args.get('connector_params');
  if (raw === undefined || raw === null) return { timeoutMs: DEFAULT_TIMEOUT_S * 1000, polling: DEFAULT_BACKOFF, skipPolling: false };
  if (!isMap(raw)) raise('TypeError', `${connector}: connector_params must be a map, got ${typeName(raw)}`);
  for (const key of raw.keys()) {
    if (!['timeout', 'polling_policy', 'skip_polling', 'scopes'].includes(key)) {
      raise('ValueError', `${connector}: unknown connector_params key '${key}' (timeout, polling_policy, skip_polling, scopes)`);
    }
  }
  const timeout = positiveNumber(connector, 'timeout', raw.get('timeout')) ?? DEFAULT_TIMEOUT_S;
  const maxTimeout = lro ? MAX_LRO_TIMEOUT_S : DEFAULT_TIMEOUT_S;
  if (timeout > maxTimeout)
    raise('ValueError', `${connector}: connector_params.timeout is at most ${maxTimeout} s for this method, got ${timeout}`);

  let polling = DEFAULT_BACKOFF;
  const pp = raw.get('polling_policy');
  if (pp !== undefined && pp !== null) {
    if (!isMap(pp)) raise('TypeError', `${connector}: connector_params.polling_policy must be a map, got ${typeName(pp)}`);
    for (const key of pp.keys()) {
      if (!['initial_delay', 'multiplier', 'max_delay'].includes(key)) {
        raise('ValueError', `${connector}: unknown polling_policy key '${key}' (initial_delay, multiplier, max_delay)`);
      }
    }
    const initial = positiveNumber(connector, 'polling_policy.initial_delay', pp.get('initial_delay'));
    const multiplier = positiveNumber(connector, 'polling_policy.multiplier', pp.get('multiplier'));
    const max = positiveNumber(connector, 'polling_policy.max_delay', pp.get('max_delay'));
    polling = {
      initialDelayMs: initial === undefined ? DEFAULT_BACKOFF.initialDelayMs : initial * 1000,
      multiplier: multiplier ?? DEFAULT_BACKOFF.multiplier,
      maxDelayMs: max === undefined ? DEFAULT_BACKOFF.maxDelayMs : max * 1000,
    };
    if (polling.multiplier < 1) raise('ValueError', `${connector}: connector_params.polling_policy.multiplier must be at least 1`);
    if (polling.maxDelayMs < polling.initialDelayMs) {
      raise('ValueError', `${connector}: connector_params.polling_policy.max_delay must not be less than initial_delay`);
    }
  }

  const skip = raw.get('skip_polling');
  if (skip !== undefined && skip !== null && typeof skip !== 'boolean') {
    raise('TypeError', `${connector}: connector_params.skip_polling must be a boolean, got ${typeName(skip)}`);
  }
  const scopes = raw.get('scopes');
  if (
    scopes !== undefined &&
    scopes !== null &&
    typeof scopes !== 'string' &&
    !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))
  ) {
    raise('TypeError', `${connector}: connector_params.scopes must be a string or a list of strings`);
  }
  return { timeoutMs: timeout * 1000, polling, skipPolling: skip === true };
}

// --- arguments -------------------------------------------------------------------------------

export function requiredString(connector: string, args: WfMap, name: string): string {
  const v = args.get(name);
  if (v === undefined || v === null) raise('TypeError', `${connector}: missing argument '${name}'`);
  if (typeof v !== 'string') raise('TypeError', `${connector}: argument '${name}' must be a string, got ${typeName(v)}`);
  if (v === '') raise('ValueError', `${connector}: argument '${name}' must not be empty`);
  return v;
}

export function optionalString(connector: string, args: WfMap, name: string): string | undefined {
  const v = args.get(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') raise('TypeError', `${connector}: argument '${name}' must be a string, got ${typeName(v)}`);
  return v;
}

export function optionalBoolean(connector: string, args: WfMap, name: string): boolean | undefined {
  const v = args.get(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') raise('TypeError', `${connector}: argument '${name}' must be a boolean, got ${typeName(v)}`);
  return v;
}

export function optionalInteger(connector: string, args: WfMap, name: string): number | undefined {
  const v = args.get(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'bigint') raise('TypeError', `${connector}: argument '${name}' must be an integer, got ${typeName(v)}`);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) raise('ValueError', `${connector}: argument '${name}' is out of range`);
  return Number(v);
}

/**
 * An argument that the reference spells with a dot (`updateMask.fieldPaths`): YAML may give it as
 * that key, or nested (`updateMask: {fieldPaths: ...}`). Undefined when absent either way.
 */
export function dottedArg(connector: string, args: WfMap, dotted: string): Value | undefined {
  const flat = args.get(dotted);
  const [outer = '', inner = ''] = dotted.split('.');
  const nest = args.get(outer);
  let nested: Value | undefined;
  if (nest !== undefined && nest !== null) {
    if (!isMap(nest)) raise('TypeError', `${connector}: argument '${outer}' must be a map, got ${typeName(nest)}`);
    nested = nest.get(inner);
  }
  if (flat !== undefined && nested !== undefined) raise('ValueError', `${connector}: give '${dotted}' once, not both as a key and nested`);
  return flat ?? nested;
}

// --- errors ----------------------------------------------------------------------------------

/** The HttpError a connector raises for an API answer with status >= 400. */
export function httpError(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): WorkflowError {
  return new WorkflowError(
    errorMap('HttpError', `HTTP server responded with error code ${status}`, {
      code: BigInt(status),
      headers: fromPlain({ 'Content-Type': 'application/json; charset=UTF-8', ...headers }),
      body: fromPlain(body),
    }),
  );
}

/** No HTTP answer at all (refused, reset, DNS): the connector reference's ConnectionError. */
export function connectionError(message: string): WorkflowError {
  return new WorkflowError(errorMap('ConnectionError', message));
}

function tagsOf(e: unknown): string[] {
  if (!(e instanceof WorkflowError) || !isMap(e.value)) return [];
  const tags = e.value.get('tags');
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

function codeOf(e: unknown): number | undefined {
  if (!(e instanceof WorkflowError) || !isMap(e.value)) return undefined;
  const code = e.value.get('code');
  return typeof code === 'bigint' ? Number(code) : undefined;
}

export type RetryPolicy = 'idempotent' | 'non-idempotent';

/** http.default_retry_predicate / http.default_retry_predicate_non_idempotent. */
export function retryable(policy: RetryPolicy, e: unknown): boolean {
  const tags = tagsOf(e);
  if (tags.includes('HttpError')) {
    const code = codeOf(e);
    return policy === 'idempotent' ? code === 429 || code === 502 || code === 503 || code === 504 : code === 429 || code === 503;
  }
  if (tags.includes('ConnectionFailedError')) return true;
  return policy === 'idempotent' && (tags.includes('ConnectionError') || tags.includes('TimeoutError'));
}

export function sleep(ctx: CallContext, ms: number): Promise<void> {
  return ctx.clock.sleep(ms, ctx.signal);
}

/**
 * One request with the connector's built-in retries: up to MAX_RETRIES more attempts for the
 * errors `policy` retries, waiting by retry.default_backoff; no wait may pass `deadline` (ms, the
 * execution clock's), in which case the last error is raised.
 */
export async function withRetries<T>(ctx: CallContext, policy: RetryPolicy, deadline: number, attempt: () => Promise<T>): Promise<T> {
  let delay = DEFAULT_BACKOFF.initialDelayMs;
  for (let retries = 0; ; retries++) {
    try {
      return await attempt();
    } catch (e) {
      if (retries >= MAX_RETRIES || !retryable(policy, e) || ctx.clock.now() + delay > deadline) throw e;
    }
    await sleep(ctx, delay);
    delay = Math.min(delay * DEFAULT_BACKOFF.multiplier, DEFAULT_BACKOFF.maxDelayMs);
  }
}
