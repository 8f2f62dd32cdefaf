/**
 * Google's own CLI, which nobody here wrote, against the local stack: gcloud pointed at the local
 * Compute and Executions APIs by its endpoint overrides (`CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE`,
 * `…_WORKFLOWEXECUTIONS`: https://cloud.google.com/sdk/gcloud/reference/topic/endpoint-override)
 * and a local access token file (`auth/access_token_file`, as `--access-token-file`), in a
 * throwaway configuration directory with prompts, usage reporting and update checks off. It reads
 * the simulated fleet (`compute instances list/describe`) and the executions the engine ran for a
 * delivery through the function (`workflows executions list/describe`), parsing what the
 * stand-ins return. Skipped, with the reason, where gcloud is not installed. gcloud starts in
 * about half a second per call here: four calls.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject } from '../../core/json.js';
import { RESPONSE_WORKFLOW_ID } from '../../core/contracts.js';
import { deliveryBody, postEventarc } from '../../devstack/eventarc.js';
import { readFleetFile } from '../../devstack/fleet/fleet-file.js';
import { findGcloud, gcloudEnvironment, GcloudTokenFile } from '../../devstack/gcloud.js';
import { seedBaselines } from '../../devstack/seed.js';
import { startLocalStack, type LocalStack } from '../../devstack/stack.js';
import { ROOT } from '../support/cli.js';

const run = promisify(execFile);
const gcloud = findGcloud();
const PROJECT = 'demo-bootwarden';
/** examples/fleet.json's Linux VM, whose known-good kernel update (examples/entries) is relearned. */
const FLEET_PROJECT = 'acme-prod';
const LINUX_VM = '4356841712468193571';

let stack: LocalStack | undefined;
let tokens: GcloudTokenFile | undefined;
let dir = '';

/** Runs `gcloud args --format=json` against the local stack; its parsed output. */
async function gcloudJson(args: readonly string[]): Promise<unknown> {
  if (stack === undefined || tokens === undefined) throw new Error('the stack is not started');
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: dir,
    CLOUDSDK_CONFIG: path.join(dir, 'gcloud-config'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
    ...gcloudEnvironment({
      computeUrl: stack.computeUrl,
      workflowsUrl: stack.workflowsUrl,
      projectId: PROJECT,
      location: stack.engine.location,
      tokenFile: tokens.file,
    }),
  };
  try {
    const { stdout } = await run(gcloud.ok ? gcloud.gcloud : 'gcloud', [...args, '--format=json'], { env, timeout: 60_000 });
    return JSON.parse(stdout) as unknown;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`gcloud ${args.join(' ')} failed: ${err.stderr ?? err.message}`, { cause: e });
  }
}

beforeAll(async () => {
  if (!gcloud.ok) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'bw-gcloud-'));
  stack = await startLocalStack({
    projectId: PROJECT,
    instances: await readFleetFile(path.join(ROOT, 'examples', 'fleet.json')),
    clockStart: Date.parse('2026-11-05T00:00:00Z'),
    collectionPrefix: 'gcloud_',
    function: { write: () => undefined },
  });
  await seedBaselines(stack.db, path.join(ROOT, 'examples', 'baselines'), 'known_good_measurements');
  const doc = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'entries', 'kernel-update-known-good.json'), 'utf8')) as unknown;
  if (!isJsonObject(doc)) throw new Error('kernel-update-known-good.json is not an object');
  const res = await postEventarc(stack.functionUrl ?? '', deliveryBody(doc, '9100000000000000001'));
  await res.arrayBuffer();
  await stack.settle();
  tokens = new GcloudTokenFile(path.join(dir, 'token'), () => stack?.now() ?? Date.now());
  await tokens.write();
}, 120_000);

afterAll(async () => {
  tokens?.close();
  await stack?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('gcloud against the local stack', () => {
  it('compute instances list and describe show the simulated fleet: names, ids, status, zone', async (ctx) => {
    ctx.skip(!gcloud.ok, `gcloud is not installed here (${gcloud.ok ? '' : gcloud.reason})`);
    const listed = (await gcloudJson(['compute', 'instances', 'list', '--project', FLEET_PROJECT, '--zones', 'us-central1-a'])) as {
      name: string;
      id: string;
      status: string;
      zone: string;
    }[];
    expect(listed.map((i) => [i.name, i.id, i.status, i.zone.replace(/^.*\/projects\//, 'projects/')])).toEqual([
      ['web-1', LINUX_VM, 'RUNNING', `projects/${FLEET_PROJECT}/zones/us-central1-a`],
    ]);
    const described = (await gcloudJson([
      'compute',
      'instances',
      'describe',
      'win-build-1',
      '--project',
      FLEET_PROJECT,
      '--zone',
      'europe-west1-b',
    ])) as {
      name: string;
      id: string;
      status: string;
    };
    expect(described).toMatchObject({ name: 'win-build-1', id: '18446744073709551557', status: 'RUNNING' });
  });

  it('workflows executions list and describe show what the engine ran: name, state, revision, argument, result', async (ctx) => {
    ctx.skip(!gcloud.ok, `gcloud is not installed here (${gcloud.ok ? '' : gcloud.reason})`);
    const ran = stack?.engine.listExecutions({}) ?? [];
    expect(ran.map((r) => [r.labels['action'], r.state])).toEqual([['relearn', 'SUCCEEDED']]);
    const listed = (await gcloudJson(['workflows', 'executions', 'list', RESPONSE_WORKFLOW_ID])) as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      name: ran[0]?.name,
      state: 'SUCCEEDED',
      workflowRevisionId: expect.stringMatching(/^000001-[0-9a-f]{3}$/) as unknown,
    });
    // By its full name, as the command npm start prints passes it.
    const described = (await gcloudJson(['workflows', 'executions', 'describe', String(listed[0]?.['name'])])) as {
      name: string;
      state: string;
      argument: string;
      result: string;
      labels: Record<string, string>;
    };
    expect(described).toMatchObject({ name: ran[0]?.name, state: 'SUCCEEDED', labels: { action: 'relearn', 'instance-id': LINUX_VM } });
    expect(JSON.parse(described.argument)).toMatchObject({ instance: { id: LINUX_VM } });
    expect(JSON.parse(described.result)).toMatchObject({ outcome: 'relearned' });
  });
});
