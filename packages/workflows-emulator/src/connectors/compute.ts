/**
 * The Compute Engine connector methods the response workflow calls, backed by an ComputeFleet
 * (the simulated fleet locally, a recording fake in tests).
 *
 * From the connector reference (https://cloud.google.com/workflows/docs/reference/googleapis/compute/v1/Overview
 * and the pages of each method under .../compute/v1/instances/):
 * - `get` (GET, idempotent retries): args project, zone, instance → the Instance.
 * - `list` (GET): project, zone, filter, maxResults, orderBy, pageToken, returnPartialSuccess → InstanceList.
 * - `start`, `stop`, `suspend`, `resume` (POST) and `setShieldedInstanceIntegrityPolicy` (PATCH,
 *   `body` = the policy): project, zone, instance, requestId (+ discardLocalSsd, noGracefulShutdown
 *   for stop; discardLocalSsd for suspend). `start` of a SUSPENDED instance is Compute's 400 (a
 *   suspended instance is resumed). Each
 *   returns an Operation; the connector waits for it to be DONE ("This method waits — the workflow
 *   execution is paused — until the operation is complete, fails, or times out"), polling
 *   zoneOperations.get with the polling policy, each poll a billed step
 *   (https://cloud.google.com/workflows/docs/connectors#long-running_operations), and returns the
 *   finished Operation. `skip_polling` returns the first answer as it is.
 * - A finished operation with `error` raises `{message, tags: ["OperationError"], operation, error}`;
 *   a poll answer that is not an Operation raises ResponseTypeError; running out of `timeout` while
 *   polling raises TimeoutError.
 */
import { ComputeApiError, type ComputeOperation, type ComputeFleet, type ShieldedInstanceIntegrityPolicy } from './compute-fleet.js';
import type { CallContext, ConnectorMethod } from '../run/runtime.js';
import { errorMap, fromPlain, isMap, raise, typeName, WorkflowError, type Value, type WfMap } from '../run/values.js';
import {
  connectionError,
  connectorParams,
  httpError,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
  sleep,
  withRetries,
  type ConnectorParams,
} from './common.js';

export const COMPUTE_PREFIX = 'googleapis.compute.v1.instances';

/** Gives the ComputeFleet for a call, or raises (naming `connector`) when there is none. */
export type ComputeFleetSource = (connector: string) => ComputeFleet;

/** Runs a port call, turning its refusal into the error map the workflow sees. */
async function port<T>(connector: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof ComputeApiError) {
      if (e.status === null) throw connectionError(`${connector}: ${e.message}`);
      throw httpError(e.status, e.body ?? { error: { code: e.status, message: e.message } }, e.headers);
    }
    throw e;
  }
}

function operationValue(op: ComputeOperation): Value {
  return fromPlain(op);
}

const OPERATION_STATUSES = new Set(['PENDING', 'RUNNING', 'DONE']);

function checkOperation(connector: string, op: unknown): ComputeOperation {
  const o = op as Partial<ComputeOperation> | null;
  if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || !OPERATION_STATUSES.has(String(o.status))) {
    raise('ResponseTypeError', `${connector}: the operation poll did not answer with an Operation`);
  }
  return o as ComputeOperation;
}

/** Waits for `first` to be DONE (unless skip_polling), then returns it or raises OperationError. */
async function awaitOperation(
  connector: string,
  ctx: CallContext,
  params: ConnectorParams,
  deadline: number,
  instances: ComputeFleet,
  project: string,
  zone: string,
  first: ComputeOperation,
): Promise<Value> {
  let op = checkOperation(connector, first);
  if (params.skipPolling) return operationValue(op);
  let delay = params.polling.initialDelayMs;
  while (op.status !== 'DONE') {
    const now = ctx.clock.now();
    if (now >= deadline) {
      raise(
        'TimeoutError',
        `${connector}: operation ${op.name} was not done after ${params.timeoutMs / 1000} s (connector_params.timeout)`,
      );
    }
    await sleep(ctx, Math.min(delay, deadline - now));
    delay = Math.min(delay * params.polling.multiplier, params.polling.maxDelayMs);
    const name = op.name;
    const polled = await withRetries(ctx, 'idempotent', deadline, () => {
      ctx.countStep('internal');
      return port(connector, () => instances.getOperation(project, zone, name));
    });
    op = checkOperation(connector, polled);
  }
  const errors = op.error?.errors ?? [];
  if (errors.length > 0) {
    const detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    throw new WorkflowError(
      errorMap('OperationError', `${connector}: operation ${op.name} failed: ${detail}`, {
        operation: operationValue(op),
        error: fromPlain(op.error),
      }),
    );
  }
  return operationValue(op);
}

function integrityPolicy(connector: string, args: WfMap): ShieldedInstanceIntegrityPolicy {
  const body = args.get('body');
  if (body === undefined || body === null) raise('TypeError', `${connector}: missing argument 'body'`);
  if (!isMap(body)) raise('TypeError', `${connector}: argument 'body' must be a map, got ${typeName(body)}`);
  const policy: { updateAutoLearnPolicy?: boolean } = {};
  for (const [key, v] of body) {
    if (key !== 'updateAutoLearnPolicy') {
      throw httpError(400, {
        error: {
          code: 400,
          message: `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`,
          errors: [{ message: `Unknown name "${key}"`, domain: 'global', reason: 'invalid' }],
        },
      });
    }
    if (typeof v !== 'boolean') raise('TypeError', `${connector}: body.updateAutoLearnPolicy must be a boolean, got ${typeName(v)}`);
    policy.updateAutoLearnPolicy = v;
  }
  return policy;
}

interface Target {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
}

/**
 * `instance` is "Name or id of the instance resource" for setShieldedInstanceIntegrityPolicy only;
 * for get, start and stop the reference says "Name of the instance resource". A numeric id there
 * (a name must start with a letter) is refused: that Compute accepts it is not documented.
 */
function target(connector: string, args: WfMap, acceptsId: boolean): Target {
  const instance = requiredString(connector, args, 'instance');
  if (!acceptsId && /^[0-9]+$/.test(instance))
    raise(
      'UndocumentedError',
      `${connector}: 'instance' is the instance's name in the reference, and ${instance} is a numeric id (only setShieldedInstanceIntegrityPolicy documents "Name or id"); the local engine refuses it: find the name with instances.list and filter "id eq ${instance}"`,
    );
  return { project: requiredString(connector, args, 'project'), zone: requiredString(connector, args, 'zone'), instance };
}

function mutation(
  source: ComputeFleetSource,
  method: 'start' | 'stop' | 'suspend' | 'resume' | 'setShieldedInstanceIntegrityPolicy',
  extraParams: readonly string[],
  /** Reads the method's own arguments, then gives the request to send (once per attempt). */
  prepare: (
    args: WfMap,
    connector: string,
  ) => (instances: ComputeFleet, t: Target, requestId: string | undefined) => Promise<ComputeOperation>,
): ConnectorMethod {
  const name = `${COMPUTE_PREFIX}.${method}`;
  return {
    name,
    params: ['project', 'zone', 'instance', 'requestId', ...extraParams],
    required: method === 'setShieldedInstanceIntegrityPolicy' ? ['project', 'zone', 'instance', 'body'] : ['project', 'zone', 'instance'],
    async call(args, ctx) {
      const params = connectorParams(name, args, true);
      const t = target(name, args, method === 'setShieldedInstanceIntegrityPolicy');
      const requestId = optionalString(name, args, 'requestId');
      const send = prepare(args, name);
      const instances = source(name);
      const deadline = ctx.clock.now() + params.timeoutMs;
      // POST / PATCH: the non-idempotent retry policy (a requestId makes a retry safe at Compute's end).
      const first = await withRetries(ctx, 'non-idempotent', deadline, () => port(name, () => send(instances, t, requestId)));
      return awaitOperation(name, ctx, params, deadline, instances, t.project, t.zone, first);
    },
  };
}

export function computeConnectors(source: ComputeFleetSource): ConnectorMethod[] {
  const get: ConnectorMethod = {
    name: `${COMPUTE_PREFIX}.get`,
    params: ['project', 'zone', 'instance'],
    required: ['project', 'zone', 'instance'],
    async call(args, ctx) {
      const name = `${COMPUTE_PREFIX}.get`;
      const params = connectorParams(name, args, false);
      const t = target(name, args, false);
      const instances = source(name);
      const deadline = ctx.clock.now() + params.timeoutMs;
      return fromPlain(
        await withRetries(ctx, 'idempotent', deadline, () => port(name, () => instances.get(t.project, t.zone, t.instance))),
      );
    },
  };

  const list: ConnectorMethod = {
    name: `${COMPUTE_PREFIX}.list`,
    params: ['project', 'zone', 'filter', 'maxResults', 'orderBy', 'pageToken', 'returnPartialSuccess'],
    required: ['project', 'zone'],
    async call(args, ctx) {
      const name = `${COMPUTE_PREFIX}.list`;
      const params = connectorParams(name, args, false);
      const project = requiredString(name, args, 'project');
      const zone = requiredString(name, args, 'zone');
      const filter = optionalString(name, args, 'filter');
      const maxResults = optionalInteger(name, args, 'maxResults');
      const orderBy = optionalString(name, args, 'orderBy');
      const pageToken = optionalString(name, args, 'pageToken');
      optionalBoolean(name, args, 'returnPartialSuccess'); // zonal lists have no partial results
      const instances = source(name);
      const deadline = ctx.clock.now() + params.timeoutMs;
      const options = {
        ...(filter === undefined ? {} : { filter }),
        ...(maxResults === undefined ? {} : { maxResults }),
        ...(orderBy === undefined ? {} : { orderBy }),
        ...(pageToken === undefined ? {} : { pageToken }),
      };
      return fromPlain(await withRetries(ctx, 'idempotent', deadline, () => port(name, () => instances.list(project, zone, options))));
    },
  };

  return [
    get,
    list,
    mutation(
      source,
      'start',
      [],
      () => (instances, t, requestId) => instances.start(t.project, t.zone, t.instance, requestId === undefined ? {} : { requestId }),
    ),
    mutation(source, 'stop', ['discardLocalSsd', 'noGracefulShutdown'], (args, connector) => {
      const discardLocalSsd = optionalBoolean(connector, args, 'discardLocalSsd');
      const noGracefulShutdown = optionalBoolean(connector, args, 'noGracefulShutdown');
      return (instances, t, requestId) =>
        instances.stop(t.project, t.zone, t.instance, {
          ...(requestId === undefined ? {} : { requestId }),
          ...(discardLocalSsd === undefined ? {} : { discardLocalSsd }),
          ...(noGracefulShutdown === undefined ? {} : { noGracefulShutdown }),
        });
    }),
    mutation(source, 'suspend', ['discardLocalSsd'], (args, connector) => {
      const discardLocalSsd = optionalBoolean(connector, args, 'discardLocalSsd');
      return (instances, t, requestId) =>
        instances.suspend(t.project, t.zone, t.instance, {
          ...(requestId === undefined ? {} : { requestId }),
          ...(discardLocalSsd === undefined ? {} : { discardLocalSsd }),
        });
    }),
    mutation(
      source,
      'resume',
      [],
      () => (instances, t, requestId) => instances.resume(t.project, t.zone, t.instance, requestId === undefined ? {} : { requestId }),
    ),
    mutation(source, 'setShieldedInstanceIntegrityPolicy', ['body'], (args, connector) => {
      const body = integrityPolicy(connector, args);
      return (instances, t, requestId) =>
        instances.setShieldedInstanceIntegrityPolicy(t.project, t.zone, t.instance, {
          body,
          ...(requestId === undefined ? {} : { requestId }),
        });
    }),
  ];
}
