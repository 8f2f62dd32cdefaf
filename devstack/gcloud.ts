/**
 * Google's own CLI pointed at the local stack, by gcloud's own settings: each property
 * `section/name` is also read from the environment as `CLOUDSDK_SECTION_NAME`
 * (https://cloud.google.com/sdk/docs/properties; for the endpoint overrides, the example
 * `CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=…` of
 * https://cloud.google.com/sdk/gcloud/reference/topic/endpoint-override), so
 *
 * - `api_endpoint_overrides/compute` = the local Compute API, `http://127.0.0.1:<port>/compute/v1/`
 *   (gcloud keeps an override that has a path as it is, and calls `<override>projects/…`);
 * - `api_endpoint_overrides/workflowexecutions` = the local Executions API, `http://127.0.0.1:<port>/`
 *   (gcloud calls `<override>v1/projects/…`);
 * - `auth/access_token_file` = a file holding a local OAuth 2 access token (what
 *   `--access-token-file` gives on one command line);
 * - `core/project`, `workflows/location`.
 *
 * `gcloud compute instances list` needs `--zones` with ONE zone here: for several zones gcloud
 * sends a batch request (`/batch/compute/v1`), and without `--zones` it calls aggregatedList;
 * the local Compute API serves neither.
 */
import { writeFile, rename } from 'node:fs/promises';
import { localAccessToken } from '../adapters/local/local-tokens.js';
import { findOnPath } from './firestore-emulator.js';

/** Who the token file's token speaks for (an operator at this machine). */
export const GCLOUD_SUBJECT = 'operator@bootwarden.local';

export interface GcloudTarget {
  /** The local Compute API, ending in /compute/v1/. */
  readonly computeUrl: string;
  /** The local Executions API, ending in /. */
  readonly workflowsUrl: string;
  readonly projectId: string;
  readonly location: string;
  /** Where the local access token is written. */
  readonly tokenFile: string;
}

/** The environment that points gcloud at the local stack. */
export function gcloudEnvironment(target: GcloudTarget): Record<string, string> {
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: target.computeUrl,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: target.workflowsUrl,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: target.tokenFile,
    CLOUDSDK_CORE_PROJECT: target.projectId,
    CLOUDSDK_WORKFLOWS_LOCATION: target.location,
  };
}

/** Shell lines to paste into another shell: the `export`s, then example commands. */
export function gcloudLines(
  target: GcloudTarget,
  example: { readonly zone: string; readonly instance: string; readonly workflow: string },
): string[] {
  const quote = (v: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);
  return [
    ...Object.entries(gcloudEnvironment(target)).map(([k, v]) => `export ${k}=${quote(v)}`),
    `gcloud compute instances list --zones ${example.zone}`,
    `gcloud compute instances describe ${example.instance} --zone ${example.zone}`,
    `gcloud workflows executions list ${example.workflow}`,
    `gcloud workflows executions describe "$(gcloud workflows executions list ${example.workflow} --limit 1 --format 'value(name)')"`,
  ];
}

/**
 * Keeps a local access token in `file`, minted on the stack's clock (which the local APIs check it
 * against, and which jumps ahead when workflows' waits are skipped): written now and again every
 * `everyMs`, well inside the token's hour.
 */
export class GcloudTokenFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly now: () => number,
  ) {}

  async write(): Promise<void> {
    const { token } = localAccessToken(GCLOUD_SUBJECT, this.now());
    await writeFile(`${this.file}.tmp`, token, { mode: 0o600 });
    await rename(`${this.file}.tmp`, this.file);
  }

  async start(everyMs = 30_000): Promise<void> {
    await this.write();
    this.timer = setInterval(() => void this.write().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** gcloud on PATH, or why not. */
export function findGcloud(): { ok: true; gcloud: string } | { ok: false; reason: string } {
  const gcloud = findOnPath('gcloud');
  return gcloud === null ? { ok: false, reason: 'gcloud is not on PATH' } : { ok: true, gcloud };
}
