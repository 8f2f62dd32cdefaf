/**
 * Compute Engine for operators' commands, through the official `@google-cloud/compute` client
 * (REST), loaded on first use: read instances, and relearn one instance's Shielded VM integrity
 * policy and wait for the operation to finish. Against a real project with application default
 * credentials, or against the local stack's Compute (`BOOTWARDEN_COMPUTE_API_URL`, loopback only).
 *
 * Failures become BootwardenError: HTTP 429/5xx and no answer are retryable (`store_unavailable`),
 * 404 is `not_found`, any other refusal `invalid_input` with Compute's own message.
 */
import type { InstancesClient, protos, ZoneOperationsClient } from '@google-cloud/compute';
import { BootwardenError } from '../../core/errors.js';
import { loopbackApiUrl } from '../../core/config.js';
import { localClientOptions } from '../local/local-api.js';

export const COMPUTE_API_PATH = '/compute/v1/';

/** An instance, the fields an operator reads. */
export interface InstanceView {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  readonly id: string;
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly lastStartTimestamp: string | null;
  readonly creationTimestamp: string | null;
}

export interface ComputeInstancesOptions {
  /** BOOTWARDEN_COMPUTE_API_URL: a local Compute (loopback); null for compute.googleapis.com. */
  readonly apiUrl: string | null;
  /** Who the local tokens speak for (local API only). */
  readonly localSubject?: string;
}

interface Clients {
  readonly instances: InstancesClient;
  readonly operations: ZoneOperationsClient;
}

type RawInstance = protos.google.cloud.compute.v1.IInstance;
type RawOperation = protos.google.cloud.compute.v1.IOperation;

const LAST_SEGMENT = /[^/]+$/;

export class ComputeInstances {
  private clients: Promise<Clients> | null = null;

  constructor(private readonly options: ComputeInstancesOptions) {
    if (options.apiUrl !== null) loopbackApiUrl('BOOTWARDEN_COMPUTE_API_URL', options.apiUrl, COMPUTE_API_PATH);
  }

  async get(project: string, zone: string, instance: string): Promise<InstanceView> {
    const { instances } = await this.api();
    try {
      const [raw] = await instances.get({ project, zone, instance });
      return view(project, raw);
    } catch (e) {
      throw failure(`reading instance ${instance} in ${project}/${zone}`, e);
    }
  }

  /** Every instance of the zone (all pages), optionally filtered (Compute's filter syntax). */
  async list(project: string, zone: string, filter?: string): Promise<InstanceView[]> {
    const { instances } = await this.api();
    const found: InstanceView[] = [];
    try {
      for await (const raw of instances.listAsync({ project, zone, ...(filter === undefined ? {} : { filter }) }, { autoPaginate: false }))
        found.push(view(project, raw));
    } catch (e) {
      throw failure(`listing the instances of ${project}/${zone}`, e);
    }
    return found;
  }

  /**
   * setShieldedInstanceIntegrityPolicy {updateAutoLearnPolicy: true} with `requestId`, then waits
   * (zoneOperations.wait) until the operation is DONE; an operation that ends with an error throws.
   */
  async relearn(project: string, zone: string, instance: string, requestId: string): Promise<void> {
    const { instances, operations } = await this.api();
    const what = `relearning the integrity policy of ${instance} in ${project}/${zone}`;
    try {
      const [started] = await instances.setShieldedInstanceIntegrityPolicy({
        project,
        zone,
        instance,
        requestId,
        shieldedInstanceIntegrityPolicyResource: { updateAutoLearnPolicy: true },
      });
      let op = started.latestResponse as RawOperation;
      for (let i = 0; op.status !== 'DONE' && i < 10; i++) [op] = await operations.wait({ project, zone, operation: String(op.name) });
      if (op.status !== 'DONE')
        throw new BootwardenError('store_unavailable', `${what}: operation ${op.name} is still ${op.status}`, { retryable: true });
      const errors = op.error?.errors ?? [];
      if (errors.length > 0)
        throw new BootwardenError(
          'invalid_input',
          `${what}: operation ${op.name} failed: ${errors.map((x) => `${x.code}: ${x.message}`).join('; ')}`,
        );
    } catch (e) {
      throw failure(what, e);
    }
  }

  close(): Promise<void> {
    const clients = this.clients;
    this.clients = null;
    return clients === null
      ? Promise.resolve()
      : clients.then((c) => Promise.all([c.instances.close(), c.operations.close()])).then(() => undefined);
  }

  private api(): Promise<Clients> {
    this.clients ??= (async () => {
      const { InstancesClient, ZoneOperationsClient } = await import('@google-cloud/compute');
      const url = this.options.apiUrl;
      const opts =
        url === null
          ? {}
          : await localClientOptions(
              loopbackApiUrl('BOOTWARDEN_COMPUTE_API_URL', url, COMPUTE_API_PATH),
              this.options.localSubject ?? 'operator@bootwarden.local',
            );
      return { instances: new InstancesClient(opts), operations: new ZoneOperationsClient(opts) };
    })();
    return this.clients;
  }
}

function view(project: string, raw: RawInstance): InstanceView {
  return {
    project,
    zone: LAST_SEGMENT.exec(raw.zone ?? '')?.[0] ?? '',
    name: raw.name ?? '',
    // The client decodes int64/uint64 ids as strings: never a JS number.
    id: String(raw.id ?? ''),
    status: String(raw.status ?? 'STATUS_UNSPECIFIED'),
    labels: { ...(raw.labels ?? {}) },
    lastStartTimestamp: raw.lastStartTimestamp ?? null,
    creationTimestamp: raw.creationTimestamp ?? null,
  };
}

function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code <= 599 ? code : undefined;
}

/** Compute's message out of the REST error (its JSON body), else the error's message. */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  try {
    const body = JSON.parse(message) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // not JSON: as it is
  }
  return message;
}

function failure(what: string, e: unknown): BootwardenError {
  if (e instanceof BootwardenError) return e;
  const status = statusOf(e);
  const reason = reasonOf(e);
  if (status === undefined || status === 429 || status >= 500)
    return new BootwardenError('store_unavailable', `Compute unavailable while ${what}: ${reason}`, { retryable: true, cause: e });
  if (status === 404) return new BootwardenError('not_found', `Compute: ${what}: ${reason}`, { cause: e });
  const hint = status === 403 ? ' (check roles/compute.instanceAdmin.v1 or compute.instances.setShieldedInstanceIntegrityPolicy)' : '';
  return new BootwardenError('invalid_input', `Compute refused ${what} (HTTP ${status}): ${reason}${hint}`, { cause: e });
}
