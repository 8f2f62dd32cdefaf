/**
 * The approval request as the response workflow sends it, run by the local engine: a stopped VM's
 * request carries the execution's project number from `sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")`
 * (a built-in variable, https://cloud.google.com/workflows/docs/reference/environment-variables),
 * beside the execution name and its callback URL, and passes the Slack app's own checks. The
 * Slack app is a loopback recorder here: what the workflow sent is asserted as it arrived.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
import { loadLocalWorkflow } from '@bootwarden/workflows-emulator';
import { APPROVAL_PATHS, callbackUrlProblem, checkApprovalRequest } from '../../core/approvals.js';
import { RESPONSE_WORKFLOW_ID, type ResponseCollections } from '../../core/contracts.js';
import { responseWorkflowFile, scenario, SCENARIO_CLOCK_START, SCENARIO_VM_STARTED } from '../../devstack/response-scenarios.js';
import { TEST_PROJECT_ID, useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { InstantClock, useEngine } from '../../packages/workflows-emulator/test/support/runs.js';

const fs = useFirestore();
const collections: ResponseCollections = { prefix: fs.prefix, baselines: `${fs.prefix}known_good_measurements` };
const clock = new InstantClock(SCENARIO_CLOCK_START);
const fleet = new RecordingComputeFleet({ now: () => clock.now() });
const engine = useEngine({ clock, instances: fleet, firestore: () => fs.db(), projectId: TEST_PROJECT_ID });
const received: { path: string; body: unknown }[] = [];
let app: http.Server;

beforeAll(async () => {
  app = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as unknown });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ groupId: `grp_${'5'.repeat(32)}` }));
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => app.close(() => resolve())));

it("a stopped VM's approval request names the execution's project number, and the app's checks accept it", async () => {
  const local = await engine();
  local.engine.deploy(RESPONSE_WORKFLOW_ID, await loadLocalWorkflow(responseWorkflowFile()), {
    BOOTWARDEN_SLACK_APP_URL: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
    BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: '3600',
    BOOTWARDEN_COLLECTION_PREFIX: collections.prefix,
    BOOTWARDEN_BASELINE_COLLECTION: collections.baselines,
  });
  const vm = { project: TEST_PROJECT_ID, zone: 'us-central1-a', id: '6932172544103619001' };
  fleet.addInstance({ ...vm, name: `vm-${vm.id}`, status: 'RUNNING', lastStartTimestamp: SCENARIO_VM_STARTED });
  const record = local.engine.startExecution(RESPONSE_WORKFLOW_ID, {
    argument: JSON.stringify(scenario('stop', { instance: vm, bootCounter: 7, collections }).argument),
  });
  await local.engine.reached(record.name, 'wait_decision');
  local.engine.cancel(record.name);

  const requests = received.filter((r) => r.path === APPROVAL_PATHS.request);
  expect(requests).toHaveLength(1);
  const checked = checkApprovalRequest(requests[0]!.body);
  expect(checked.ok, checked.ok ? '' : checked.reason).toBe(true);
  if (!checked.ok) return;
  // The local engine's GOOGLE_CLOUD_PROJECT_NUMBER.
  expect(checked.value).toMatchObject({ execution: record.name, projectNumber: '000000000000' });
  expect(new URL(checked.value.callbackUrl).pathname.startsWith(`/v1/${record.name}/callbacks/`)).toBe(true);
  expect(callbackUrlProblem(checked.value.callbackUrl, checked.value, 'loopback')).toBeNull();
});
