/**
 * A ComputeFleet that is a client of a Compute Engine v1 REST API: what the connectors do in the
 * cloud, against a local server (the simulated fleet's loopback Compute). Each call carries an
 * OAuth2 access token of the cloud-platform scope, as a connector's calls do; the server's
 * refusals come back as ComputeApiError with its status and Google error body, and a request that
 * got no answer as one with `status: null`.
 */
import {
  ComputeApiError,
  type ComputeFleet,
  type ComputeInstance,
  type ComputeOperation,
  type GoogleErrorBody,
  type InstanceList,
  type IntegrityPolicyOptions,
  type ListOptions,
  type MutationOptions,
  type StopOptions,
} from './compute-fleet.js';

export interface HttpComputeFleetOptions {
  /** The API's base URL, ending in `/compute/v1/` (https://compute.googleapis.com/compute/v1/ in the cloud). */
  readonly url: string;
  /** An OAuth2 access token for each request. */
  readonly accessToken: () => Promise<string>;
}

type Query = Record<string, string | number | boolean | undefined>;

export class HttpComputeFleet implements ComputeFleet {
  private readonly base: string;

  constructor(private readonly options: HttpComputeFleetOptions) {
    if (!/^https?:\/\/[^/]+\/compute\/v1\/$/.test(options.url))
      throw new Error(`the Compute API URL must end in /compute/v1/, e.g. http://127.0.0.1:8090/compute/v1/ (got ${options.url})`);
    this.base = options.url;
  }

  get(project: string, zone: string, instance: string): Promise<ComputeInstance> {
    return this.call('GET', [project, zone, 'instances', instance]);
  }

  list(project: string, zone: string, options: ListOptions = {}): Promise<InstanceList> {
    return this.call('GET', [project, zone, 'instances'], { ...options });
  }

  start(project: string, zone: string, instance: string, options: MutationOptions = {}): Promise<ComputeOperation> {
    return this.call('POST', [project, zone, 'instances', instance, 'start'], { requestId: options.requestId });
  }

  stop(project: string, zone: string, instance: string, options: StopOptions = {}): Promise<ComputeOperation> {
    return this.call('POST', [project, zone, 'instances', instance, 'stop'], { ...options });
  }

  suspend(project: string, zone: string, instance: string, options: StopOptions = {}): Promise<ComputeOperation> {
    return this.call('POST', [project, zone, 'instances', instance, 'suspend'], { ...options });
  }

  resume(project: string, zone: string, instance: string, options: MutationOptions = {}): Promise<ComputeOperation> {
    return this.call('POST', [project, zone, 'instances', instance, 'resume'], { requestId: options.requestId });
  }

  setShieldedInstanceIntegrityPolicy(
    project: string,
    zone: string,
    instance: string,
    options: IntegrityPolicyOptions,
  ): Promise<ComputeOperation> {
    return this.call(
      'PATCH',
      [project, zone, 'instances', instance, 'setShieldedInstanceIntegrityPolicy'],
      { requestId: options.requestId },
      options.body,
    );
  }

  getOperation(project: string, zone: string, operation: string): Promise<ComputeOperation> {
    return this.call('GET', [project, zone, 'operations', operation]);
  }

  private async call<T>(method: string, path: readonly string[], query: Query = {}, body?: unknown): Promise<T> {
    const [project = '', zone = '', ...rest] = path.map(encodeURIComponent);
    const url = new URL(`projects/${project}/zones/${zone}/${rest.join('/')}`, this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      const token = await this.options.accessToken();
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new ComputeApiError(
        null,
        `${method} ${url.pathname}: no answer from ${url.origin} (${e instanceof Error ? e.message : String(e)})`,
        {
          cause: e,
        },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const errorBody = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? (parsed as GoogleErrorBody) : undefined;
      throw new ComputeApiError(res.status, errorBody?.error.message ?? `${method} ${url.pathname}: HTTP ${res.status}`, {
        ...(errorBody === undefined ? {} : { body: errorBody }),
        headers: Object.fromEntries(res.headers.entries()),
      });
    }
    if (parsed === undefined) throw new ComputeApiError(res.status, `${method} ${url.pathname}: the answer is not JSON`);
    return parsed as T;
  }
}
