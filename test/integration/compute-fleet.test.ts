/**
 * The simulated Compute fleet served on the Compute v1 REST paths (devstack/fleet/): the official
 * `@google-cloud/compute` client (through adapters/gcp/compute-instances.ts, what the CLI uses) and
 * the Workflows engine's Compute connectors (over HTTP, as in the cloud) act on VMs that boot,
 * measure their chain and write integrity log entries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLOUD_PLATFORM_SCOPE,
  LocalTokenSource,
  loadLocalWorkflowText,
  SkipWaitsClock,
  startLocalEngine,
} from '@bootwarden/workflows-emulator';
import { ComputeInstances } from '../../adapters/gcp/compute-instances.js';
import { BootwardenError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { parseEnvelope } from '../../core/parse.js';
import { startComputeServer, type ComputeServer } from '../../devstack/fleet/compute-server.js';
import { SimulatedFleet, type FleetInstance } from '../../devstack/fleet/simulated-fleet.js';
import { linuxChain } from '../../devstack/fleet/vtpm.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const KERNEL_26 = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const KERNEL_27 = linuxChain({ kernel: 'linux-6.1.0-27-amd64' });
const RID = (n: number): string => `5e0ab1a4-6a3c-4f7e-9a57-${String(n).padStart(12, '0')}`;

const vm = (name: string, id: string, extra: Partial<FleetInstance> = {}): FleetInstance => ({
  project: PROJECT,
  zone: ZONE,
  name,
  id,
  status: 'RUNNING',
  chain: KERNEL_26,
  ...extra,
});

interface Setup {
  readonly fleet: SimulatedFleet;
  readonly server: ComputeServer;
  readonly compute: ComputeInstances;
  readonly tokens: LocalTokenSource;
  readonly entries: JsonObject[];
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** `tokens`: how the server checks tokens (its clock must be the callers' clock, as in the cloud). */
async function setup(instances: readonly FleetInstance[], tokens = new LocalTokenSource(), pollsUntilDone = 1): Promise<Setup> {
  let now = Date.parse('2026-11-01T10:00:00.250Z');
  const fleet = new SimulatedFleet(() => (now += 1000), { pollsUntilDone });
  for (const i of instances) fleet.add(i);
  const entries: JsonObject[] = [];
  fleet.onEntry((e) => entries.push(e));
  const server = await startComputeServer({ fleet: fleet.compute, tokens, waitLimitMs: 2000 });
  const compute = new ComputeInstances({ apiUrl: server.url });
  open.push(
    () => server.close(),
    () => compute.close(),
  );
  return { fleet, server, compute, tokens, entries };
}

/** The late-boot report's verdict, read by bootwarden's own parser. */
function lateBoot(entries: readonly JsonObject[]): { passed: boolean; bootCounter: string }[] {
  return entries.flatMap((e) => {
    const p = parseEnvelope(e);
    if (!p.ok || p.event.kind !== 'lateBootReportEvent') return [];
    return [{ passed: p.event.report.policyEvaluationPassed, bootCounter: String(p.event.bootCounter) }];
  });
}

describe('the official Compute client against the simulated fleet', () => {
  it('get and list: 19-digit ids as strings, status, labels; filters and every page', async () => {
    const many = Array.from({ length: 501 }, (_, i) =>
      vm(`web-${i}`, String(7_234_918_840_192_837_465n + BigInt(i)), i % 2 === 0 ? { labels: { env: 'prod' } } : { status: 'TERMINATED' }),
    );
    const { compute } = await setup(many);
    const one = await compute.get(PROJECT, ZONE, 'web-0');
    expect(one).toMatchObject({ name: 'web-0', id: '7234918840192837465', status: 'RUNNING', zone: ZONE, labels: { env: 'prod' } });
    expect(await compute.list(PROJECT, ZONE)).toHaveLength(501); // two pages of at most 500
    const prod = await compute.list(PROJECT, ZONE, 'labels.env = prod');
    expect(prod).toHaveLength(251);
    expect((await compute.list(PROJECT, ZONE, 'status = TERMINATED')).map((i) => i.name).slice(0, 2)).toEqual(['web-1', 'web-3']);
    await expect(compute.get(PROJECT, ZONE, 'nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('relearn: the policy becomes the last boot, so the next boot passes; a repeated requestId changes nothing', async () => {
    const { fleet, compute, entries } = await setup([vm('web-1', '7234918840192837465', { bootCounter: 4n })]);
    fleet.install('web-1', KERNEL_27);
    fleet.reboot('web-1');
    expect(lateBoot(entries)).toEqual([{ passed: false, bootCounter: '5' }]);
    await compute.relearn(PROJECT, ZONE, 'web-1', RID(1));
    await compute.relearn(PROJECT, ZONE, 'web-1', RID(1));
    expect(fleet.compute.relearnCount(PROJECT, ZONE, 'web-1')).toBe(1);
    expect(fleet.compute.callsTo('setShieldedInstanceIntegrityPolicy').map((c) => c.outcome)).toEqual(['ok', 'deduplicated']);
    fleet.reboot('web-1');
    expect(lateBoot(entries)).toEqual([
      { passed: false, bootCounter: '5' },
      { passed: true, bootCounter: '6' },
    ]);
  });

  it('relearn of a VM that is not RUNNING is refused by Compute (400), and its policy is unchanged', async () => {
    const { fleet, compute } = await setup([vm('web-1', '7234918840192837465', { status: 'TERMINATED' })]);
    const err = await compute.relearn(PROJECT, ZONE, 'web-1', RID(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootwardenError);
    expect(err).toMatchObject({ code: 'invalid_input', retryable: false });
    expect((err as Error).message).toMatch(/HTTP 400.*must be RUNNING.*TERMINATED/);
    expect(fleet.compute.relearnCount(PROJECT, ZONE, 'web-1')).toBe(0);
  });

  it('an operation that fails: the error of the finished operation is reported', async () => {
    const { fleet, compute } = await setup([vm('web-1', '7234918840192837465')]);
    fleet.compute.failNextOperation('setShieldedInstanceIntegrityPolicy', {
      code: 'RESOURCE_NOT_READY',
      message: 'The resource is not ready',
    });
    await expect(compute.relearn(PROJECT, ZONE, 'web-1', RID(3))).rejects.toThrow(
      /operation .* failed: RESOURCE_NOT_READY: The resource is not ready/,
    );
  });

  it('a 503 is retryable for the caller', async () => {
    const { fleet, compute } = await setup([vm('web-1', '7234918840192837465')]);
    fleet.compute.failAlways('get', 503, 'backend unavailable');
    await expect(compute.get(PROJECT, ZONE, 'web-1')).rejects.toMatchObject({ code: 'store_unavailable', retryable: true });
  });

  it('refuses a Compute URL that is not loopback http (local tokens never leave the machine)', () => {
    expect(() => new ComputeInstances({ apiUrl: 'https://compute.example.com/compute/v1/' })).toThrow(
      /BOOTWARDEN_COMPUTE_API_URL must be http:\/\/127\.0\.0\.1/,
    );
    expect(() => new ComputeInstances({ apiUrl: 'http://127.0.0.1:9/v1/' })).toThrow(/must end in \/compute\/v1\//);
  });
});

describe('the Compute server refuses what Compute refuses', () => {
  const base = `projects/${PROJECT}/zones/${ZONE}/instances`;
  const policy = `${base}/web-1/setShieldedInstanceIntegrityPolicy`;
  type Token = 'oauth2' | 'none' | 'oidc' | 'forged';

  async function tokenOf(s: Setup, kind: Token): Promise<string | null> {
    if (kind === 'none') return null;
    if (kind === 'forged') return 'ya29.forged';
    return kind === 'oidc' ? s.tokens.token('OIDC', s.server.url) : s.tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
  }

  it.each<[string, string, string, string | undefined, Token, number, RegExp]>([
    ['no token', `${base}/web-1`, 'GET', undefined, 'none', 401, /missing required authentication credential/],
    [
      'an OIDC token',
      `${base}/web-1`,
      'GET',
      undefined,
      'oidc',
      401,
      /invalid authentication credentials: an OAuth 2 access token is required/,
    ],
    [
      'a token that is not one',
      `${base}/web-1`,
      'GET',
      undefined,
      'forged',
      401,
      /invalid authentication credentials: not a bootwarden-local token/,
    ],
    [
      'a method not served',
      `${base}/web-1/reset`,
      'POST',
      undefined,
      'oauth2',
      404,
      /is not served: the local Compute serves instances.get/,
    ],
    ['an unknown query parameter', `${base}/web-1/start?force=true`, 'POST', undefined, 'oauth2', 400, /Unknown name "force"/],
    ['a policy body with another field', policy, 'PATCH', '{"updateAutoLearnPolicy":true,"x":1}', 'oauth2', 400, /Unknown name "x"/],
    ['a policy that is not a boolean', policy, 'PATCH', '{"updateAutoLearnPolicy":"yes"}', 'oauth2', 400, /TYPE_BOOL/],
    ['a body that is not JSON', policy, 'PATCH', '{', 'oauth2', 400, /The request body is not JSON/],
    [
      'a body of 100 KB',
      policy,
      'PATCH',
      `{"updateAutoLearnPolicy":true,"x":"${'a'.repeat(100_000)}"}`,
      'oauth2',
      413,
      /larger than 65536 bytes/,
    ],
    ['a requestId that is not a UUID', `${base}/web-1/stop?requestId=abc`, 'POST', undefined, 'oauth2', 400, /must be a valid UUID/],
    ['a maxResults out of range', `${base}?maxResults=501`, 'GET', undefined, 'oauth2', 400, /Must be in the range \[0, 500\]/],
  ])('%s', async (_what, path, method, body, kind, status, message) => {
    const s = await setup([vm('web-1', '7234918840192837465')]);
    const token = await tokenOf(s, kind);
    const res = await fetch(new URL(path, s.server.url), {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    expect(res.status).toBe(status);
    const answer = (await res.json()) as { error: { code: number; message: string } };
    expect(answer.error.code).toBe(status);
    expect(answer.error.message).toMatch(message);
    // Nothing was done: the VM is as it was.
    expect(s.fleet.compute.peek(PROJECT, ZONE, 'web-1')?.status).toBe('RUNNING');
    expect(s.fleet.compute.relearnCount(PROJECT, ZONE, 'web-1')).toBe(0);
  });
});

describe("the Workflows engine's Compute connectors over HTTP", () => {
  it('stop and start through the loopback Compute: the VM writes its shutdown event and boots again', async () => {
    const clock = new SkipWaitsClock(Date.parse('2026-11-01T10:00:00Z'));
    const s = await setup([vm('web-1', '7234918840192837465', { bootCounter: 7n })], new LocalTokenSource({ clock }));
    const local = await startLocalEngine({ clock, computeApiUrl: s.server.url });
    open.push(() => local.close());
    local.engine.deploy(
      'cycle',
      loadLocalWorkflowText(
        [
          'main:',
          '  steps:',
          '    - stop:',
          '        call: googleapis.compute.v1.instances.stop',
          `        args: {project: ${PROJECT}, zone: ${ZONE}, instance: web-1, requestId: "${RID(9)}"}`,
          '    - start:',
          '        call: googleapis.compute.v1.instances.start',
          `        args: {project: ${PROJECT}, zone: ${ZONE}, instance: web-1}`,
          '    - get:',
          '        call: googleapis.compute.v1.instances.get',
          `        args: {project: ${PROJECT}, zone: ${ZONE}, instance: web-1}`,
          '        result: vm',
          '    - done:',
          '        return: ${vm.status + " " + vm.id}',
        ].join('\n'),
        'cycle.workflows.yaml',
      ),
    );
    const done = await local.engine.wait(local.engine.startExecution('cycle', {}).name);
    expect(done.error).toBeUndefined();
    expect(done.state).toBe('SUCCEEDED');
    expect(done.result).toBe(JSON.stringify('RUNNING 7234918840192837465'));
    expect(s.fleet.compute.calls.map((c) => `${c.method}:${c.requestId ?? ''}`)).toEqual([
      `stop:${RID(9)}`,
      'getOperation:',
      'start:',
      'getOperation:',
      'get:',
    ]);
    const kinds = s.entries.map((e) =>
      Object.keys((e['jsonPayload'] as JsonObject) ?? {}).find((k) => k !== '@type' && k !== 'bootCounter'),
    );
    expect(kinds).toEqual(['shutdownEvent', 'startupEvent', 'earlyBootReportEvent', 'lateBootReportEvent']);
    expect(lateBoot(s.entries)).toEqual([{ passed: true, bootCounter: '8' }]);
  });
});

describe("transitional statuses while an operation runs (Compute's instance life cycle)", () => {
  async function call(s: Setup, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const token = await s.tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
    const res = await fetch(new URL(`projects/${PROJECT}/zones/${ZONE}/${path}`, s.server.url), {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(method === 'PATCH' ? { body: '{"updateAutoLearnPolicy":true}' } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const status = async (s: Setup): Promise<string | null | undefined> => (await s.compute.get(PROJECT, ZONE, 'web-1')).status;

  it('stop: STOPPING until its operation is DONE, then TERMINATED and the shutdown event; start: PROVISIONING, STAGING, then RUNNING and the boot', async () => {
    const s = await setup([vm('web-1', '7234918840192837465', { bootCounter: 3n })], new LocalTokenSource(), 3);
    const stop = await call(s, 'POST', 'instances/web-1/stop');
    expect(stop.body).toMatchObject({ status: 'PENDING', operationType: 'stop' });
    expect(await status(s)).toBe('STOPPING');
    // A start while it stops: Compute's documentation does not say; the local fleet refuses.
    const early = await call(s, 'POST', 'instances/web-1/start');
    expect(early.status).toBe(400);
    expect(JSON.stringify(early.body)).toMatch(/is not ready \(it is STOPPING\).*does not say what a start does/);
    expect(s.entries).toEqual([]);
    const op = `operations/${String(stop.body['name'])}`;
    expect((await call(s, 'GET', op)).body['status']).toBe('RUNNING');
    expect(await status(s)).toBe('STOPPING');
    expect((await call(s, 'GET', op)).body['status']).toBe('RUNNING');
    expect((await call(s, 'GET', op)).body['status']).toBe('DONE');
    expect(await status(s)).toBe('TERMINATED');
    expect(s.entries.map((e) => Object.keys(e['jsonPayload'] as JsonObject).find((k) => k.endsWith('Event')))).toEqual(['shutdownEvent']);

    const start = await call(s, 'POST', 'instances/web-1/start');
    expect(await status(s)).toBe('PROVISIONING');
    const startOp = `operations/${String(start.body['name'])}`;
    await call(s, 'GET', startOp);
    expect(await status(s)).toBe('STAGING');
    // A relearn needs RUNNING: refused while the VM is still starting.
    const relearn = await call(s, 'PATCH', 'instances/web-1/setShieldedInstanceIntegrityPolicy');
    expect(relearn.status).toBe(400);
    expect(JSON.stringify(relearn.body)).toMatch(/must be RUNNING .*\(it is STAGING\)/);
    expect(s.entries).toHaveLength(1);
    await call(s, 'GET', startOp);
    expect((await call(s, 'GET', startOp)).body['status']).toBe('DONE');
    expect(await status(s)).toBe('RUNNING');
    expect(lateBoot(s.entries)).toEqual([{ passed: true, bootCounter: '4' }]);
  });

  it("zoneOperations.wait (the CLI's relearn, the connectors' default) sees the VM through to its final status", async () => {
    const s = await setup([vm('web-1', '7234918840192837465')], new LocalTokenSource(), 3);
    const stop = await call(s, 'POST', `instances/web-1/stop?requestId=${RID(4)}`);
    const waited = await call(s, 'POST', `operations/${String(stop.body['name'])}/wait`);
    expect(waited.body['status']).toBe('DONE');
    expect(await status(s)).toBe('TERMINATED');
  });
});
