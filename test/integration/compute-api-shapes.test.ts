/**
 * What the local Compute API answers, over HTTP, checked against Compute's own reference:
 * - every response field has the type the Compute API's descriptors give it (the protobuf
 *   descriptors the official client `@google-cloud/compute` ships; test/support/compute-descriptors.ts);
 * - an instance carries what a real one does
 *   (https://cloud.google.com/compute/docs/reference/rest/v1/instances);
 * - a SUSPENDED instance is resumed, not started;
 * - the list filter's regular expressions are RE2's, matching the whole field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_PLATFORM_SCOPE, LocalTokenSource } from '@bootwarden/workflows-emulator';
import type { JsonObject } from '../../core/json.js';
import { startComputeServer, type ComputeServer } from '../../devstack/fleet/compute-server.js';
import { SimulatedFleet, type FleetInstance } from '../../devstack/fleet/simulated-fleet.js';
import { linuxChain, windowsChain } from '../../devstack/fleet/vtpm.js';
import { descriptorViolations } from '../support/compute-descriptors.js';

const PROJECT = 'demo-bootwarden';
const ZONE = 'us-central1-a';
const API = 'https://www.googleapis.com/compute/v1';
const RID = (n: number): string => `5e0ab1a4-6a3c-4f7e-9a57-${String(n).padStart(12, '0')}`;

const LINUX = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });
const WINDOWS = windowsChain({ build: '20348.2700' });

interface Setup {
  readonly fleet: SimulatedFleet;
  readonly server: ComputeServer;
  readonly tokens: LocalTokenSource;
  readonly entries: JsonObject[];
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const vm = (name: string, id: string, extra: Partial<FleetInstance> = {}): FleetInstance => ({
  project: PROJECT,
  zone: ZONE,
  name,
  id,
  status: 'RUNNING',
  chain: LINUX,
  ...extra,
});

async function setup(instances: readonly FleetInstance[], pollsUntilDone = 1): Promise<Setup> {
  // 2026-07-01 is in Pacific daylight time (-07:00); each read of the clock is a second later.
  let now = Date.parse('2026-07-01T17:00:00.250Z');
  const fleet = new SimulatedFleet(() => (now += 1000), { pollsUntilDone });
  for (const i of instances) fleet.add(i);
  const entries: JsonObject[] = [];
  fleet.onEntry((e) => entries.push(e));
  const tokens = new LocalTokenSource();
  const server = await startComputeServer({ fleet: fleet.compute, tokens, waitLimitMs: 2000 });
  open.push(() => server.close());
  return { fleet, server, tokens, entries };
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function call(s: Setup, method: string, path: string, body?: string): Promise<Answer> {
  const token = await s.tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
  const res = await fetch(new URL(path.startsWith('projects/') ? path : `projects/${PROJECT}/zones/${ZONE}/${path}`, s.server.url), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Runs a mutation and polls its operation to DONE; every answer on the way. */
async function mutateToDone(s: Setup, path: string): Promise<Answer[]> {
  const first = await call(s, 'POST', path);
  const answers = [first];
  if (first.status !== 200) return answers;
  let op = first;
  while (op.body['status'] !== 'DONE') {
    op = await call(s, 'GET', `operations/${String(op.body['name'])}`);
    answers.push(op);
  }
  return answers;
}

/**
 * The Google JSON error body (https://cloud.google.com/apis/design/errors#http_mapping, and the
 * `errors[]` of the v1 format Compute answers with: https://cloud.google.com/compute/docs/reference/rest/v1/errors):
 * `{error: {code, message, status?, errors?: [{message, domain, reason}]}}`, no other field.
 */
function errorViolations(body: unknown): string[] {
  const out: string[] = [];
  const only = (v: unknown, at: string, keys: Record<string, (x: unknown) => boolean>, required: readonly string[]): void => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      out.push(`${at}: expected an object`);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      const check = keys[k];
      if (check === undefined) out.push(`${at}.${k}: not a field of a Google error`);
      else if (!check(x)) out.push(`${at}.${k}: wrong type ${JSON.stringify(x)}`);
    }
    for (const k of required) if (!(k in v)) out.push(`${at}.${k}: missing`);
  };
  const str = (x: unknown): boolean => typeof x === 'string';
  only(body, 'body', { error: () => true }, ['error']);
  const error = (body as { error?: unknown }).error;
  only(
    error,
    'error',
    {
      code: (x) => Number.isInteger(x),
      message: str,
      status: (x) => typeof x === 'string' && /^[A-Z_]+$/.test(x),
      errors: (x) => Array.isArray(x),
    },
    ['code', 'message'],
  );
  const errors = (error as { errors?: unknown[] } | undefined)?.errors ?? [];
  errors.forEach((e, i) => only(e, `error.errors[${i}]`, { message: str, domain: str, reason: str }, ['message', 'domain', 'reason']));
  return out;
}

describe("the local Compute's answers have the types of Compute's descriptors", () => {
  it('catches a wrong type: a number for an int64, an unknown enum value, an unknown field, a non-array repeated', () => {
    const good = {
      kind: 'compute#instance',
      id: '4356841712468193571',
      status: 'RUNNING',
      disks: [{ diskSizeGb: '10', index: 0, mode: 'READ_WRITE' }],
      labels: { env: 'prod' },
    };
    expect(descriptorViolations('Instance', good)).toEqual([]);
    expect(descriptorViolations('Instance', { ...good, id: Number(good.id) })).toEqual([
      'Instance.id: uint64 is a decimal string, got number 4356841712468194000',
    ]);
    expect(descriptorViolations('Instance', { ...good, disks: [{ diskSizeGb: 10, index: '0', mode: 'RW' }] })).toEqual([
      'Instance.disks[0].diskSizeGb: int64 is a decimal string, got number 10',
      'Instance.disks[0].index: int32 is an integral number, got string "0"',
      expect.stringMatching(/^Instance\.disks\[0\]\.mode: expected one of READ_ONLY, READ_WRITE, got string "RW"$/),
    ]);
    expect(descriptorViolations('Instance', { ...good, status: 'ON', tags: [], labels: { env: 1 }, machine: 'e2' })).toEqual([
      expect.stringMatching(/^Instance\.status: expected one of .*RUNNING.*, got string "ON"$/),
      'Instance.labels.env: string is a string, got number 1',
      'Instance.tags: Tags is an object, got an array',
      'Instance.machine: Instance has no field machine',
    ]);
    expect(descriptorViolations('Operation', { status: 'FINISHED', progress: 99.5 })).toEqual([
      expect.stringMatching(/^Operation\.status: expected one of DONE, PENDING, RUNNING, got string "FINISHED"$/),
      'Operation.progress: int32 is an integral number, got number 99.5',
    ]);
  });

  it('instances.get, instances.list, every operation of start, stop, suspend, resume and relearn, a failed operation and wait', async () => {
    const s = await setup([
      vm('web-1', '4356841712468193571', { labels: { env: 'prod' } }),
      vm('win-1', '4356841712468193572', { chain: WINDOWS, status: 'TERMINATED' }),
      vm('bare-1', '4356841712468193573', { chain: undefined }),
    ]);
    const answers: [string, Answer][] = [];
    const record = (message: string, a: Answer | Answer[]): void => {
      for (const one of [a].flat()) answers.push([message, one]);
    };
    record('Instance', await call(s, 'GET', 'instances/web-1'));
    record('Instance', await call(s, 'GET', 'instances/win-1'));
    record('InstanceList', await call(s, 'GET', 'instances'));
    record('InstanceList', await call(s, 'GET', 'instances?maxResults=1'));
    record('InstanceList', await call(s, 'GET', `instances?filter=${encodeURIComponent('name eq nothing-.*')}`));
    record('Operation', await mutateToDone(s, `instances/win-1/start?requestId=${RID(1)}`));
    record('Operation', await mutateToDone(s, 'instances/web-1/suspend'));
    record('Instance', await call(s, 'GET', 'instances/web-1'));
    record('Operation', await mutateToDone(s, 'instances/web-1/resume'));
    record('Operation', await call(s, 'PATCH', 'instances/web-1/setShieldedInstanceIntegrityPolicy', '{"updateAutoLearnPolicy":true}'));
    s.fleet.compute.failNextOperation('stop', { code: 'RESOURCE_NOT_READY', message: 'The resource is not ready' });
    const failed = await mutateToDone(s, 'instances/bare-1/stop');
    record('Operation', failed);
    record('Operation', await call(s, 'POST', `operations/${String(failed[0]?.body['name'])}/wait`));
    record('Instance', await call(s, 'GET', 'instances/bare-1'));

    expect(answers.map(([, a]) => a.status).every((st) => st === 200)).toBe(true);
    expect(answers.length).toBeGreaterThan(15);
    const violations = answers.flatMap(([message, a]) => descriptorViolations(message, a.body));
    expect(violations).toEqual([]);
    // The failed operation carries its error as Compute does.
    expect(failed.at(-1)?.body).toMatchObject({
      status: 'DONE',
      error: { errors: [{ code: 'RESOURCE_NOT_READY', message: 'The resource is not ready' }] },
      httpErrorStatusCode: 400,
    });
  });

  it('errors are Google error bodies: 400, 401, 404 (aggregatedList is not served)', async () => {
    const s = await setup([vm('web-1', '4356841712468193571')]);
    const bodies: Answer[] = [
      await call(s, 'GET', 'instances/nope'),
      await call(s, 'GET', `projects/${PROJECT}/aggregated/instances`),
      await call(s, 'POST', 'instances/web-1/start?requestId=not-a-uuid'),
      await call(s, 'POST', 'instances/web-1/resume'),
      await call(s, 'GET', `instances?filter=${encodeURIComponent('name eq (?=web).*')}`),
    ];
    const res = await fetch(new URL(`projects/${PROJECT}/zones/${ZONE}/instances`, s.server.url));
    bodies.push({ status: res.status, body: (await res.json()) as Record<string, unknown> });
    expect(bodies.map((b) => b.status)).toEqual([404, 404, 400, 400, 400, 401]);
    expect(bodies.flatMap((b) => errorViolations(b.body))).toEqual([]);
    // The check can fail: a code as a string, a field Google never sends.
    expect(errorViolations({ error: { code: '404', message: 'x', errors: [{ message: 'x', domain: 'global' }], trace: 'y' } })).toEqual([
      'error.code: wrong type "404"',
      'error.trace: not a field of a Google error',
      'error.errors[0].reason: missing',
    ]);
  });
});

describe('an instance shaped as Compute returns it', () => {
  it('a RUNNING Debian VM and a TERMINATED Windows VM: every field of a default VM, with the image license', async () => {
    const s = await setup([
      vm('web-1', '4356841712468193571', { labels: { env: 'prod', team: 'edge' } }),
      vm('win-1', '4356841712468193572', { chain: WINDOWS, status: 'TERMINATED' }),
    ]);
    const web = (await call(s, 'GET', 'instances/web-1')).body;
    const zone = `${API}/projects/${PROJECT}/zones/${ZONE}`;
    expect(web).toEqual({
      kind: 'compute#instance',
      id: '4356841712468193571',
      // The clock's first read, 2026-07-01T17:00:01.250Z, in Pacific daylight time.
      creationTimestamp: '2026-07-01T10:00:01.250-07:00',
      name: 'web-1',
      description: '',
      tags: { fingerprint: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/) },
      machineType: `${zone}/machineTypes/e2-medium`,
      status: 'RUNNING',
      zone,
      canIpForward: false,
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: `${API}/projects/${PROJECT}/global/networks/default`,
          subnetwork: `${API}/projects/${PROJECT}/regions/us-central1/subnetworks/default`,
          networkIP: '10.128.0.2',
          name: 'nic0',
          accessConfigs: [
            { kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: '203.0.113.1', networkTier: 'PREMIUM' },
          ],
          fingerprint: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
          stackType: 'IPV4_ONLY',
        },
      ],
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: `${zone}/disks/web-1`,
          deviceName: 'web-1',
          index: 0,
          boot: true,
          autoDelete: true,
          licenses: [`${API}/projects/debian-cloud/global/licenses/debian-12-bookworm`],
          interface: 'SCSI',
          guestOsFeatures: expect.arrayContaining([{ type: 'UEFI_COMPATIBLE' }, { type: 'GVNIC' }]),
          diskSizeGb: '10',
          architecture: 'X86_64',
        },
      ],
      metadata: { kind: 'compute#metadata', fingerprint: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/) },
      serviceAccounts: [
        {
          email: expect.stringMatching(/^[1-9][0-9]{11}-compute@developer\.gserviceaccount\.com$/),
          scopes: expect.arrayContaining(['https://www.googleapis.com/auth/logging.write']),
        },
      ],
      selfLink: `${zone}/instances/web-1`,
      scheduling: { onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD' },
      cpuPlatform: 'Intel Broadwell',
      labels: { env: 'prod', team: 'edge' },
      labelFingerprint: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
      startRestricted: false,
      deletionProtection: false,
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      shieldedInstanceIntegrityPolicy: {},
      fingerprint: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
      lastStartTimestamp: '2026-07-01T10:00:01.250-07:00',
      satisfiesPzi: true,
      keyRevocationActionType: 'NONE',
    });
    const win = (await call(s, 'GET', 'instances/win-1')).body as JsonObject & {
      disks: { licenses: string[]; guestOsFeatures: { type: string }[]; diskSizeGb: string }[];
      networkInterfaces: { networkIP: string; accessConfigs: JsonObject[] }[];
    };
    expect(win['status']).toBe('TERMINATED');
    expect(win.disks[0]?.licenses).toEqual([`${API}/projects/windows-cloud/global/licenses/windows-server-2022-dc`]);
    expect(win.disks[0]?.guestOsFeatures).toContainEqual({ type: 'WINDOWS' });
    expect(win.disks[0]?.diskSizeGb).toBe('50');
    // A stopped VM runs on no host and holds no ephemeral external address.
    expect(win['cpuPlatform']).toBe('Unknown CPU Platform');
    expect(win.networkInterfaces[0]?.accessConfigs[0]).not.toHaveProperty('natIP');
    expect(win.networkInterfaces[0]?.networkIP).toBe('10.128.0.3');
    expect(win).not.toHaveProperty('labels');
    expect(win['labelFingerprint']).not.toBe(web['labelFingerprint']);
  });

  it('the instance fingerprint changes with every accepted change, and a deduplicated request changes nothing', async () => {
    const s = await setup([vm('web-1', '4356841712468193571')]);
    const fingerprint = async (): Promise<unknown> => (await call(s, 'GET', 'instances/web-1')).body['fingerprint'];
    const first = await fingerprint();
    await mutateToDone(s, `instances/web-1/stop?requestId=${RID(2)}`);
    const stopped = await fingerprint();
    expect(stopped).not.toBe(first);
    await mutateToDone(s, `instances/web-1/stop?requestId=${RID(2)}`);
    expect(await fingerprint()).toBe(stopped);
    const stoppedVm = (await call(s, 'GET', 'instances/web-1')).body;
    expect(stoppedVm['lastStopTimestamp']).toMatch(/^2026-07-01T10:00:0[0-9]\.250-07:00$/);
  });

  it('timestamps carry the Pacific offset of their date: -08:00 in winter', () => {
    let now = Date.parse('2026-12-01T10:00:00.005Z');
    const fleet = new SimulatedFleet(() => now++);
    fleet.add(vm('web-1', '4356841712468193571'));
    expect(fleet.compute.peek(PROJECT, ZONE, 'web-1')?.creationTimestamp).toBe('2026-12-01T02:00:00.005-08:00');
  });
});

describe('a SUSPENDED instance is resumed, not started', () => {
  // https://cloud.google.com/compute/docs/instances/instance-lifecycle (RUNNING → SUSPENDED),
  // https://cloud.google.com/compute/docs/reference/rest/v1/instances/suspend,
  // https://cloud.google.com/compute/docs/reference/rest/v1/instances/resume ("Resumes an instance
  // that was suspended using the instances().suspend method"),
  // https://cloud.google.com/compute/docs/reference/rest/v1/instances/start ("Starts an instance that
  // was stopped using the instances().stop method"),
  // https://cloud.google.com/sdk/gcloud/reference/compute/instances/suspend ("An instance can only be
  // suspended while it is in the RUNNING state").
  it('suspend: SUSPENDING, then SUSPENDED with lastSuspendedTimestamp; start is refused with a Compute error; resume makes it RUNNING, without a boot', async () => {
    const s = await setup([vm('web-1', '4356841712468193571', { bootCounter: 3n })], 2);
    const suspend = await call(s, 'POST', `instances/web-1/suspend?requestId=${RID(3)}`);
    expect(suspend.body).toMatchObject({ status: 'PENDING', operationType: 'suspend', clientOperationId: RID(3) });
    expect((await call(s, 'GET', 'instances/web-1')).body['status']).toBe('SUSPENDING');
    const op = `operations/${String(suspend.body['name'])}`;
    await call(s, 'GET', op);
    expect((await call(s, 'GET', op)).body['status']).toBe('DONE');
    const suspended = (await call(s, 'GET', 'instances/web-1')).body;
    expect(suspended['status']).toBe('SUSPENDED');
    expect(suspended['lastSuspendedTimestamp']).toMatch(/-07:00$/);
    expect(s.fleet.vm('web-1').status).toBe('SUSPENDED');

    const start = await call(s, 'POST', `instances/web-1/start?requestId=${RID(4)}`);
    expect(start).toEqual({
      status: 400,
      body: {
        error: {
          code: 400,
          message:
            "Invalid resource usage: 'Instance web-1 is SUSPENDED: a suspended instance is resumed with instances.resume, not started with instances.start.'",
          errors: [
            {
              domain: 'global',
              reason: 'invalidResourceUsage',
              message:
                "Invalid resource usage: 'Instance web-1 is SUSPENDED: a suspended instance is resumed with instances.resume, not started with instances.start.'",
            },
          ],
        },
      },
    });
    // A relearn needs RUNNING; a second suspend needs RUNNING.
    expect((await call(s, 'PATCH', 'instances/web-1/setShieldedInstanceIntegrityPolicy', '{"updateAutoLearnPolicy":true}')).status).toBe(
      400,
    );
    const again = await call(s, 'POST', 'instances/web-1/suspend');
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toMatch(/can only be suspended while it is RUNNING/);
    // What a stop does to a suspended instance is not documented: refused, saying so.
    const stop = await call(s, 'POST', 'instances/web-1/stop');
    expect(stop.status).toBe(400);
    expect(JSON.stringify(stop.body)).toMatch(/does not say what instances.stop does to a suspended instance.*resume it first/);
    expect((await call(s, 'GET', 'instances/web-1')).body['status']).toBe('SUSPENDED');

    const resumed = await mutateToDone(s, 'instances/web-1/resume');
    expect(resumed.map((a) => a.body['status'])).toEqual(['PENDING', 'RUNNING', 'DONE']);
    expect((await call(s, 'GET', 'instances/web-1')).body['status']).toBe('RUNNING');
    // Its memory was kept: no shutdown, no boot, the same boot counter.
    expect(s.entries).toEqual([]);
    expect(s.fleet.vm('web-1').bootCounter).toBe(3n);
    expect(s.fleet.compute.callsTo('start').map((c) => c.outcome)).toEqual([{ status: 400 }]);
  });

  it('resume of an instance that is not SUSPENDED is refused', async () => {
    const s = await setup([vm('web-1', '4356841712468193571'), vm('web-2', '4356841712468193572', { status: 'TERMINATED' })]);
    for (const name of ['web-1', 'web-2']) {
      const r = await call(s, 'POST', `instances/${name}/resume`);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(/resumes a SUSPENDED instance only/);
    }
    expect(s.fleet.compute.peek(PROJECT, ZONE, 'web-2')?.status).toBe('TERMINATED');
  });
});

describe("the list filter's regular expressions are RE2's, matching the whole field", () => {
  // https://cloud.google.com/compute/docs/reference/rest/v1/instances/list (filter): "The literal
  // value is interpreted as a regular expression using Google RE2 library syntax. The literal value
  // must match the entire field." RE2's syntax: https://github.com/google/re2/wiki/Syntax
  const fleet = [
    vm('web-1', '4356841712468193571', { labels: { env: 'prod' } }),
    vm('web-12', '4356841712468193572', { status: 'TERMINATED' }),
    vm('db-1', '4356841712468193573', { labels: { env: 'dev' } }),
    vm('web', '4356841712468193574'),
  ];
  it.each<[string, string, string[]]>([
    ['a prefix', "name eq 'web-.*'", ['web-1', 'web-12']],
    ['anchored to the whole field (no partial match)', 'name eq web', ['web']],
    ['alternation anchored as a whole', 'name eq web-1|db', ['web-1']],
    ['an id, by its 19 digits', 'id eq 4356841712468193571', ['web-1']],
    ['\\d', 'name eq "web-\\d"', ['web-1']],
    ['RE2 repetition', 'name eq web-\\d{2}', ['web-12']],
    ["RE2's POSIX classes (JavaScript has none)", 'name eq [[:alpha:]]+-[[:digit:]]+', ['web-1', 'web-12', 'db-1']],
    ['case-sensitive by default', 'name eq WEB-1', []],
    ["RE2's (?i) flag (JavaScript refuses it)", 'name eq (?i)WEB-1', ['web-1']],
    ['ne on a status', 'status ne RUNNING', ['web-12']],
    ['ne, the documented example', 'name ne .*1', ['web-12', 'web']],
    ['several, each in parentheses', '(name eq web.*) (status eq RUNNING)', ['web-1', 'web']],
    ['a label', 'labels.env eq pro.', ['web-1']],
    ['a parenthesized regex with its own groups', '(name eq (web|db)-1)', ['web-1', 'db-1']],
    ['= is exact, not a regular expression', 'name = web-.*', []],
    ['= and AND', 'status = RUNNING AND labels.env = dev', ['db-1']],
  ])('%s: %s', async (_what, filter, names) => {
    const s = await setup(fleet);
    const listed = await call(s, 'GET', `instances?filter=${encodeURIComponent(filter)}`);
    expect(listed.status).toBe(200);
    expect(((listed.body['items'] as { name: string }[] | undefined) ?? []).map((i) => i.name)).toEqual(names);
  });

  it(
    "a filter is a caller's input: a pattern that backtracks exponentially in JavaScript is linear in RE2",
    { timeout: 20_000 },
    async () => {
      // (a+)+b against 62 a's takes about 2^62 steps in a backtracking engine: the request would
      // never end. RE2 answers in linear time, as Compute's does.
      const s = await setup([vm('a'.repeat(62), '4356841712468193571')]);
      const listed = await call(s, 'GET', `instances?filter=${encodeURIComponent('name eq (a+)+b')}`);
      expect(listed.status).toBe(200);
      expect(listed.body['items']).toBeUndefined();
      const all = await call(s, 'GET', `instances?filter=${encodeURIComponent('name eq (a+)+')}`);
      expect((all.body['items'] as { name: string }[]).map((i) => i.name)).toEqual(['a'.repeat(62)]);
    },
  );

  it.each<[string, string, RegExp]>([
    [
      'lookahead (RE2 has none)',
      'name eq (?=web).*',
      /Invalid RE2 regular expression '\(\?=web\)\.\*'.*invalid or unsupported Perl syntax/,
    ],
    ['a backreference (RE2 has none)', 'name eq (w)\\1.*', /Invalid RE2 regular expression.*invalid escape sequence/],
    ['mixed with =', '(name eq web.*) (status = RUNNING)', /cannot be mixed in one request/],
    ['two regular expressions without parentheses', "name eq 'web.*' status eq RUNNING", /must each be in parentheses/],
    [
      'OR (documented, not evaluated locally)',
      '(status = RUNNING) OR (status = TERMINATED)',
      /OR is documented but not evaluated by the local Compute/,
    ],
    ['an unterminated quote', "name eq 'web", /Unterminated single-quoted literal/],
  ])('refused with a 400: %s', async (_what, filter, message) => {
    const s = await setup(fleet);
    const listed = await call(s, 'GET', `instances?filter=${encodeURIComponent(filter)}`);
    expect(listed.status).toBe(400);
    expect(errorViolations(listed.body)).toEqual([]);
    expect((listed.body['error'] as { message: string }).message).toMatch(message);
    expect((listed.body['error'] as { message: string }).message).toContain(`Invalid value for field 'filter': '${filter}'`);
  });
});
