/**
 * The local stack behind `npm start` and `npm run function`, end to end through the real path:
 * Eventarc-shaped deliveries over HTTP to the function that functions-framework serves, `ingest`
 * against the Firestore emulator, executions started through the ExecutionStarter port in the local
 * Workflows engine running the deployed YAML, the Compute fleet and the Slack app (clicked through its Web API stand-in). The
 * assertions are on what the fakes recorded; then `npm start` itself, as a process.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject } from '../../core/json.js';
import { deliveryBody, postEventarc } from '../../devstack/eventarc.js';
import { readFleetFile } from '../../devstack/fleet/fleet-file.js';
import { exampleEntries, seedBaselines } from '../../devstack/seed.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';
import { APPROVER, TEAM } from '../../devstack/slack-local.js';
import { ComputeInstances } from '../../adapters/gcp/compute-instances.js';
import { WorkflowsExecutionStarter } from '../../adapters/gcp/workflows-execution-starter.js';
import { DEMO_PROJECT } from '../../devstack/scenario.js';
import { findGcloud } from '../../devstack/gcloud.js';
import { ROOT } from '../support/cli.js';

const LINUX_VM = '4356841712468193571';
const WINDOWS_VM = '18446744073709551557';
/** examples/baselines/82f70914….json: the known-good kernel of kernel-update-known-good.json. */
const KNOWN_GOOD = '82f70914fc1062a1dada43fa7a256f3bca6d0326b0d8f606ec19e334264ff1f5';

let stack: LocalStack;
const statuses = new Map<string, number>();

async function deliver(file: string, messageId: string): Promise<number> {
  const doc = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'entries', file), 'utf8')) as unknown;
  if (!isJsonObject(doc)) throw new Error(`${file} is not an object`);
  const res = await postEventarc(stack.functionUrl ?? '', deliveryBody(doc, messageId));
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  stack = await startLocalStack({
    projectId: 'demo-bootwarden',
    instances: await readFleetFile(path.join(ROOT, 'examples', 'fleet.json')),
    clockStart: Date.parse('2026-11-05T00:00:00Z'),
    autoDecide: { decision: 'approve' },
    collectionPrefix: 'stack_',
    function: { write: () => undefined },
  });
  await seedBaselines(stack.db, path.join(ROOT, 'examples', 'baselines'), 'known_good_measurements');
  let n = 0;
  for (const file of exampleEntries(path.join(ROOT, 'examples', 'entries'))) {
    statuses.set(file, await deliver(file, `91000000000000${++n}`));
  }
  await stack.settle();
  await Promise.all(stack.slackApp.autoDecisions);
  await stack.slackApp.app.approvals.settled();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('the local stack, through the function', () => {
  it('acknowledges every delivery, bad input included (recorded, not redelivered)', async () => {
    expect.hasAssertions();
    expect([...statuses.values()].every((s) => s >= 200 && s < 300)).toBe(true);
    const rejected = await stack.db.collection('stack_rejected_inputs').get();
    expect(rejected.docs.map((d) => (d.data() as { rejection: { code: string } }).rejection.code)).toEqual(['invalid_hash_value']);
  });

  it('starts one execution per actionable report, in the engine, and each succeeds', () => {
    expect.hasAssertions();
    const records = stack.engine.listExecutions({});
    // Sorted as text: 'stop,18…' before 'stop,43…'.
    expect(records.map((r) => [r.labels['action'], r.labels['instance-id'], r.state]).sort()).toEqual([
      ['relearn', LINUX_VM, 'SUCCEEDED'],
      ['stop', WINDOWS_VM, 'SUCCEEDED'],
      ['stop', LINUX_VM, 'SUCCEEDED'],
    ]);
    const relearn = records.find((r) => r.labels['action'] === 'relearn');
    expect(JSON.parse(relearn?.argument ?? '{}')).toMatchObject({ baselineId: KNOWN_GOOD, instance: { id: LINUX_VM } });
  });

  it('relearns the known-good VM, and stops, promotes and starts the unknown ones once approved', async () => {
    expect.hasAssertions();
    const calls = (name: string) =>
      stack.fleet.calls.filter((c) => c.target === name && c.method !== 'list' && c.method !== 'getOperation').map((c) => c.method);
    // Addressed by name (examples/fleet.json), as the Compute reference documents.
    expect(calls('web-1')).toEqual(['setShieldedInstanceIntegrityPolicy', 'stop', 'start']);
    expect(calls('win-build-1')).toEqual(['stop', 'start']);
    const asked = (await stack.db.collection('stack_approval_members').get()).docs.map((d) => d.get('instance.id') as string);
    expect(asked.sort()).toEqual([LINUX_VM, WINDOWS_VM].sort());
  });

  it('promotes the approved measurements to baselines keyed by their fingerprint', async () => {
    expect.hasAssertions();
    const stops = stack.engine.listExecutions({}).filter((r) => r.labels['action'] === 'stop');
    for (const r of stops) {
      const id = (JSON.parse(r.argument ?? '{}') as { fingerprint: string }).fingerprint;
      const doc = await stack.db.collection('known_good_measurements').doc(id).get();
      expect(doc.exists, id).toBe(true);
      expect(doc.get('bootwarden.addedBy')).toBe(`slack:${TEAM}:${APPROVER.id}`);
    }
  });
});

describe('npm run demo', () => {
  it('plays the whole scenario on the simulated fleet and exits 0 (every outcome as expected)', async () => {
    expect.hasAssertions();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'devstack', 'start.js'), '--demo'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none' },
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(0);
  }, 120_000);
});

describe('npm start, driven by hand', () => {
  it('after the scenario, a typed reboot onto a new kernel stops the VM, and a typed approve promotes, starts and relearns it', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'devstack', 'start.js')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none', PORT: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const until = async <T>(what: string, probe: () => Promise<T | null> | T | null, ms = 60_000): Promise<T> => {
      for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const got = await probe();
        if (got !== null) return got;
      }
      throw new Error(`${what} did not happen within ${ms} ms; npm start said:\n${output.slice(-3000)}`);
    };
    let compute: ComputeInstances | undefined;
    try {
      // The URLs it prints for a second shell are how this test looks at what the stack did.
      const [computeUrl, workflowsUrl] = await until('the stack serving', () => {
        const c = /BOOTWARDEN_COMPUTE_API_URL=(\S+) BOOTWARDEN_WORKFLOWS_API_URL=(\S+)/.exec(output);
        return c === null ? null : [c[1] ?? '', c[2] ?? ''];
      });
      compute = new ComputeInstances({ apiUrl: computeUrl ?? '' });
      const web03 = await compute.get(DEMO_PROJECT, 'us-central1-a', 'web-03');
      expect(web03.status).toBe('RUNNING');
      // The lines it prints for gcloud point gcloud's own settings at this stack.
      const exported = Object.fromEntries([...output.matchAll(/^ {2}export (CLOUDSDK_[A-Z_]+)=(\S+)$/gm)].map((x) => [x[1], x[2]]));
      expect(Object.keys(exported).sort()).toEqual([
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE',
        'CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS',
        'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
        'CLOUDSDK_CORE_PROJECT',
        'CLOUDSDK_WORKFLOWS_LOCATION',
      ]);
      expect(exported).toMatchObject({
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: computeUrl,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: workflowsUrl,
        CLOUDSDK_CORE_PROJECT: DEMO_PROJECT,
        CLOUDSDK_WORKFLOWS_LOCATION: 'us-central1',
      });
      expect(readFileSync(exported['CLOUDSDK_AUTH_ACCESS_TOKEN_FILE'] ?? '', 'utf8')).toMatch(/^bootwarden-local\.OAuth2\.[A-Za-z0-9_-]+$/);
      const gcloud = findGcloud();
      if (gcloud.ok) {
        // One of the printed commands, run as printed, in a throwaway gcloud configuration.
        const config = mkdtempSync(path.join(os.tmpdir(), 'bw-gcloud-'));
        const described = await new Promise<string>((resolve, reject) =>
          execFile(
            gcloud.gcloud,
            ['compute', 'instances', 'describe', 'web-03', '--zone', 'us-central1-a', '--format=json'],
            {
              env: {
                PATH: process.env['PATH'] ?? '',
                CLOUDSDK_CONFIG: config,
                CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
                CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
                CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
                ...exported,
              },
            },
            (e, stdout, stderr) => (e === null ? resolve(stdout) : reject(new Error(`gcloud: ${stderr}`, { cause: e }))),
          ),
        );
        rmSync(config, { recursive: true, force: true });
        expect(JSON.parse(described)).toMatchObject({ name: 'web-03', id: web03.id, status: 'RUNNING' });
      }
      const history = new WorkflowsExecutionStarter({
        project: DEMO_PROJECT,
        location: 'us-central1',
        workflow: 'integrity-response',
        apiUrl: workflowsUrl ?? '',
      });
      const ofWeb03 = () => history.recent({ 'instance-id': web03.id }, 20);
      const before = (await ofWeb03()).length;

      child.stdin.write('reboot web-03 --kernel linux-6.1.0-28-amd64\n');
      await until('web-03 stopped', async () =>
        (await compute!.get(DEMO_PROJECT, 'us-central1-a', 'web-03')).status === 'TERMINATED' ? true : null,
      );
      const stop = await until(
        'a stop execution waiting for operators',
        async () => (await ofWeb03()).find((x) => x.labels['action'] === 'stop' && x.state === 'ACTIVE') ?? null,
      );

      child.stdin.write('approve\n');
      const relearned = await until('web-03 relearned', async () => {
        const xs = await ofWeb03();
        return xs.find((x) => x.labels['action'] === 'relearn' && x.state === 'SUCCEEDED' && x.startTime! > stop.startTime!) ?? null;
      });
      expect(JSON.parse(relearned.result ?? '{}')).toMatchObject({ outcome: 'relearned' });
      const ended = (await ofWeb03()).find((x) => x.name === stop.name);
      expect(JSON.parse(ended?.result ?? '{}')).toMatchObject({ outcome: 'promoted_and_started', approver: { name: 'alice' } });
      expect((await compute.get(DEMO_PROJECT, 'us-central1-a', 'web-03')).status).toBe('RUNNING');
      expect((await ofWeb03()).length).toBe(before + 2);
    } finally {
      await compute?.close();
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 150_000);
});

describe('npm run function -- --fleet', () => {
  it('names what is wrong in a fleet file, and starts nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-fleet-'));
    writeFileSync(
      path.join(dir, 'fleet.json'),
      JSON.stringify({ instances: [{ project: 'acme-prod', zone: 'us-central1-a', name: 'web-1', id: 12 }] }),
    );
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'devstack', 'function.js'), '--fleet', 'fleet.json'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none', INIT_CWD: dir, PORT: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `fleet file ${path.join(dir, 'fleet.json')}: instances[0].id: must be a string, got the number 12: write the id in quotes`,
    );
  });
});
