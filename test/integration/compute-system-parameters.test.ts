/**
 * Google's system parameters on the local Compute API (devstack/fleet/compute-server.ts), read by
 * the emulator's readSystemParameters as on the Executions API: the list is
 * https://cloud.google.com/apis/docs/system-parameters and Compute's standard query parameters
 * (https://cloud.google.com/compute/docs/reference/parameters, `userIp` among them). `fields` is
 * checked against the official client's Compute descriptors; the syntax is that of Google's partial-response pages
 * (https://cloud.google.com/compute/docs/api/how-tos/performance and
 * https://developers.google.com/custom-search/v1/performance#partial).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_PLATFORM_SCOPE, LocalTokenSource } from '@bootwarden/workflows-emulator';
import { startComputeServer, type ComputeServer } from '../../devstack/fleet/compute-server.js';
import { SimulatedFleet } from '../../devstack/fleet/simulated-fleet.js';
import { linuxChain } from '../../devstack/fleet/vtpm.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const ID = '7234918840192837465';

let server: ComputeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(): Promise<{
  fleet: SimulatedFleet;
  call: (path: string, method?: string) => Promise<{ status: number; text: string; json: unknown }>;
}> {
  let now = Date.parse('2026-11-01T10:00:00.250Z');
  const fleet = new SimulatedFleet(() => (now += 1000));
  fleet.add({
    project: PROJECT,
    zone: ZONE,
    name: 'web-1',
    id: ID,
    status: 'RUNNING',
    chain: linuxChain({ kernel: 'linux-6.1.0-26-amd64' }),
  });
  const tokens = new LocalTokenSource();
  server = await startComputeServer({ fleet: fleet.compute, tokens });
  const token = await tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
  const base = server.url;
  return {
    fleet,
    call: async (path, method = 'GET') => {
      const res = await fetch(new URL(`projects/${PROJECT}/zones/${ZONE}/${path}`, base), {
        method,
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) as unknown };
    },
  };
}

describe('system parameters on the local Compute API', () => {
  it("gcloud's alt=json; indented unless prettyPrint=false; quotaUser and userIp accepted", async () => {
    const { call } = await setup();
    const list = await call('instances?alt=json&maxResults=500&quotaUser=alice&userIp=127.0.0.1');
    expect(list.status).toBe(200);
    expect(list.text.startsWith('{\n  "')).toBe(true);
    expect((list.json as { items: { name: string }[] }).items.map((i) => i.name)).toEqual(['web-1']);
    const compact = await call('instances/web-1?$prettyPrint=0');
    expect(compact.text).toBe(JSON.stringify(compact.json));
    expect(compact.json).toMatchObject({ name: 'web-1', id: ID, status: 'RUNNING' });
  });

  it('fields selects a partial Instance and InstanceList, checked against the Compute descriptors', async () => {
    const { call } = await setup();
    const list = await call(`instances?fields=${encodeURIComponent('items(name,id,status),nextPageToken')}`);
    expect(list.json).toEqual({ items: [{ name: 'web-1', id: ID, status: 'RUNNING' }] });
    // shieldedInstanceConfig is an Instance field; one unset in this response selects nothing.
    const one = await call('instances/web-1?fields=name,shieldedInstanceConfig/enableSecureBoot,resourceStatus');
    expect(one.status).toBe(200);
    expect(Object.keys(one.json as object)).toContain('name');
    expect(Object.keys(one.json as object).every((k) => ['name', 'shieldedInstanceConfig'].includes(k))).toBe(true);
  });

  it.each([
    ['a field Instance does not have', 'instances/web-1?fields=vmName', /Invalid field selection vmName: the resource has no such field/],
    ['a field of a scalar', 'instances/web-1?fields=status/x', /status has no fields/],
    ['keys of a map', 'instances/web-1?fields=labels/env', /selecting keys of a map is not supported by the local API/],
    ['alt=proto', 'instances/web-1?alt=proto', /answers JSON only/],
    ['an API key', 'instances/web-1?key=AIza', /issues no API keys/],
    ['an unknown method parameter', 'instances/web-1?view=FULL', /Unknown name "view": Cannot bind query parameter/],
  ])("refuses %s with Compute's error shape", async (_what, path, message) => {
    const { call } = await setup();
    const res = await call(path);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 400, errors: [{ domain: 'global', reason: 'invalidParameter' }] } });
    expect((res.json as { error: { message: string } }).error.message).toMatch(message);
  });

  it('a bad selection on stop is refused before the VM is touched', async () => {
    const { call, fleet } = await setup();
    const res = await call('instances/web-1/stop?fields=nope', 'POST');
    expect(res.status).toBe(400);
    expect((res.json as { error: { message: string } }).error.message).toMatch(/Invalid field selection nope/);
    expect(fleet.compute.peek(PROJECT, ZONE, 'web-1')?.status).toBe('RUNNING');
    const stopped = await call('instances/web-1/stop?fields=kind,status,operationType', 'POST');
    expect(stopped.json).toMatchObject({ kind: 'compute#operation', operationType: 'stop' });
    expect(Object.keys(stopped.json as object).sort()).toEqual(['kind', 'operationType', 'status']);
  });
});
