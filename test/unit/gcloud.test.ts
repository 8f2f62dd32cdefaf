/**
 * The lines npm start prints for gcloud (devstack/gcloud.ts), and the token file they point at: a
 * local OAuth 2 token the local APIs accept on the stack's clock, minted again as that clock moves.
 * Property names: https://cloud.google.com/sdk/gcloud/reference/topic/endpoint-override
 * (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`) and https://cloud.google.com/sdk/docs/properties.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAccess, LocalTokenSource } from '@bootwarden/workflows-emulator';
import { gcloudLines, GcloudTokenFile } from '../../devstack/gcloud.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-gcloud-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gcloudLines', () => {
  it('exports the endpoint overrides, the token file, project and location, then example commands', () => {
    expect(
      gcloudLines(
        {
          computeUrl: 'http://127.0.0.1:41001/compute/v1/',
          workflowsUrl: 'http://127.0.0.1:41002/',
          projectId: 'demo-bootwarden',
          location: 'us-central1',
          tokenFile: "/tmp/a dir/it's/access-token",
        },
        { zone: 'us-central1-a', instance: 'web-03', workflow: 'integrity-response' },
      ),
    ).toEqual([
      'export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:41001/compute/v1/',
      'export CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS=http://127.0.0.1:41002/',
      // A path with a space or a quote is quoted for the shell.
      `export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE='/tmp/a dir/it'\\''s/access-token'`,
      'export CLOUDSDK_CORE_PROJECT=demo-bootwarden',
      'export CLOUDSDK_WORKFLOWS_LOCATION=us-central1',
      'gcloud compute instances list --zones us-central1-a',
      'gcloud compute instances describe web-03 --zone us-central1-a',
      'gcloud workflows executions list integrity-response',
      `gcloud workflows executions describe "$(gcloud workflows executions list integrity-response --limit 1 --format 'value(name)')"`,
    ]);
  });
});

describe('GcloudTokenFile', () => {
  it("holds a token the local APIs accept on the stack's clock, and a fresh one once that clock has moved past its hour", async () => {
    const clock = { time: Date.parse('2026-11-05T00:00:00Z'), now: () => clock.time, sleep: () => Promise.resolve() };
    const verifier = new LocalTokenSource({ clock });
    const file = new GcloudTokenFile(path.join(dir, 'access-token'), () => clock.time);
    const accepted = (): boolean => checkAccess(`Bearer ${readFileSync(file.file, 'utf8')}`, verifier).ok;
    await file.write();
    expect(statSync(file.file).mode & 0o777).toBe(0o600);
    expect(accepted()).toBe(true);
    // Skipped waits move the stack's clock two hours on: the token written before has expired.
    clock.time += 2 * 3600 * 1000;
    expect(accepted()).toBe(false);
    await file.write();
    expect(accepted()).toBe(true);
    file.close();
  });
});
