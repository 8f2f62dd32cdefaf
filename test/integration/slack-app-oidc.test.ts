/**
 * The internal API as deployed (no local tokens): Google-signed OIDC ID tokens checked by
 * google-auth-library. Google's certificate endpoint is replaced by a loopback server serving a
 * key made here, so that the real verifier checks real RS256 signatures, issuers, expiry, the
 * exact audience and the service account.
 *
 * Google's Workflows authentication pages say a call with `auth: {type: OIDC}` carries an ID token
 * of the workflow's service account (https://cloud.google.com/workflows/docs/authenticate-from-workflow),
 * not whether it has `email` and `email_verified`; an ID token always has `sub`. Both shapes are
 * tested: with the e-mail, and with `sub` only (the account's unique id,
 * BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID).
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { APPROVAL_PATHS, WORKFLOW_EXECUTIONS_ORIGIN } from '../../core/approvals.js';
import { DELIVER_PATH } from '../../slack-app/internal.js';
import {
  approvalRequest,
  CallbackReceiver,
  CHANNEL,
  fingerprintOf,
  outcomeReport,
  postInternal,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-app.js';

const fs = useFirestore();
const WORKFLOW_SA = 'bootwarden-workflow@demo-bootwarden.iam.gserviceaccount.com';
/** The workflow service account's uniqueId (21 digits), the `sub` of its ID tokens. */
const WORKFLOW_SA_ID = '113774264463038321964';
const APP_URL = 'https://bootwarden-slack-abc123-uc.a.run.app';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'f5f4bf46e52b31d9b6249f7309ad0338400680cd';
let certs: http.Server;
/** Knows the workflow's account by its e-mail only. */
let byEmail: SlackHarness;
/** Also knows its unique id (BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID). */
let byId: SlackHarness;
/** Also accepts the Cloud Scheduler job's account (BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT), on /internal/deliver only. */
let withScheduler: SlackHarness;
const SCHEDULER_SA = 'bootwarden-scheduler@demo-bootwarden.iam.gserviceaccount.com';
const SCHEDULER_SA_ID = '108472955130276614382';

/** An RS256 ID token as Google signs it; `claims` replace or (undefined) remove the defaults. */
function idToken(claims: Record<string, unknown>, key = privateKey, kid = KID): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'RS256', kid, typ: 'JWT' })}.${enc({
    iss: 'https://accounts.google.com',
    aud: APP_URL,
    azp: WORKFLOW_SA_ID,
    sub: WORKFLOW_SA_ID,
    email: WORKFLOW_SA,
    email_verified: true,
    iat: now,
    exp: now + 3600,
    ...claims,
  })}`;
  return `${body}.${createSign('RSA-SHA256').update(body).sign(key).toString('base64url')}`;
}

/** A token without the e-mail claims: `sub` (and `azp`) only. */
const subOnly = (sub = WORKFLOW_SA_ID): string => idToken({ email: undefined, email_verified: undefined, sub, azp: sub });

beforeAll(async () => {
  certs = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
    res.end(JSON.stringify({ [KID]: publicKey.export({ type: 'spki', format: 'pem' }) }));
  });
  await new Promise<void>((resolve) => certs.listen(0, '127.0.0.1', resolve));
  const oidcClient = (): OAuth2Client =>
    new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `http://127.0.0.1:${(certs.address() as AddressInfo).port}/oauth2/v1/certs` },
    });
  const env = {
    BOOTWARDEN_LOCAL_TOKENS: '',
    HOST: '127.0.0.1',
    BOOTWARDEN_SLACK_APP_URL: APP_URL,
    BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: WORKFLOW_SA,
  };
  byEmail = await startSlackHarness(fs.prefix, { env, deps: { oidcClient: oidcClient() } });
  byId = await startSlackHarness(fs.prefix, {
    env: { ...env, BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: WORKFLOW_SA_ID },
    deps: { oidcClient: oidcClient() },
  });
  withScheduler = await startSlackHarness(fs.prefix, {
    env: { ...env, BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID: WORKFLOW_SA_ID, BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT: SCHEDULER_SA },
    deps: { oidcClient: oidcClient() },
  });
});
afterAll(async () => {
  await byEmail.close();
  await byId.close();
  await withScheduler.close();
  await new Promise<void>((resolve) => certs.close(() => resolve()));
});

const PROJECT_NUMBER = '482915736104';

const request = (): ReturnType<typeof approvalRequest> => {
  const r = approvalRequest(new CallbackReceiver(), fingerprintOf('oidc kernel'), { projectNumber: PROJECT_NUMBER });
  // Deployed, a callback URL must be the execution's own endpoint on the Workflows Executions API.
  return { ...r, callbackUrl: `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${r.execution}/callbacks/a1b2c3_d4` };
};

const members = async (): Promise<number> => (await fs.db().collection(`${fs.prefix}approval_members`).get()).size;

describe('Google-signed OIDC tokens', () => {
  it.each([
    ['the e-mail shape, the app knowing the e-mail', () => byEmail, () => idToken({})],
    ['the e-mail shape, the app knowing the e-mail and the unique id', () => byId, () => idToken({})],
    ['the sub-only shape, the app knowing the unique id', () => byId, () => subOnly()],
  ])("the workflow's token for the app's URL is accepted: %s", async (_what, app, token) => {
    const before = await members();
    const res = await postInternal(app().appUrl, APPROVAL_PATHS.request, request(), token());
    expect(res.status).toBe(200);
    expect((res.body as { groupId: string }).groupId).toMatch(/^grp_[0-9a-f]{32}$/);
    expect(await members()).toBe(before + 1);
  });

  it.each([
    ['no token', () => byEmail, () => null, 'an OIDC ID token (Authorization: Bearer) is required'],
    ['a wrong audience', () => byEmail, () => idToken({ aud: 'https://another-service-uc.a.run.app' }), 'the ID token is not valid'],
    [
      'another service account',
      () => byEmail,
      () => idToken({ email: 'attacker@evil.iam.gserviceaccount.com' }),
      'attacker@evil.iam.gserviceaccount.com is not an allowed caller',
    ],
    [
      'an unverified e-mail',
      () => byEmail,
      () => idToken({ email_verified: false }),
      `the ID token's e-mail ${WORKFLOW_SA} is not verified`,
    ],
    [
      'an e-mail without email_verified',
      () => byEmail,
      () => idToken({ email_verified: undefined }),
      `the ID token's e-mail ${WORKFLOW_SA} is not verified`,
    ],
    [
      'an unverified e-mail whose sub is the configured id',
      () => byId,
      () => idToken({ email_verified: false }),
      `the ID token's e-mail ${WORKFLOW_SA} is not verified`,
    ],
    [
      'email_verified as the string "true"',
      () => byId,
      () => idToken({ email_verified: 'true' }),
      `the ID token's e-mail ${WORKFLOW_SA} is not verified`,
    ],
    [
      'the sub-only shape, the app knowing no unique id',
      () => byEmail,
      () => subOnly(),
      `the ID token carries no e-mail, and its sub "${WORKFLOW_SA_ID}" is not the unique id of an allowed caller`,
    ],
    [
      'the sub-only shape with another account',
      () => byId,
      () => subOnly('104815162342108151623'),
      'the ID token carries no e-mail, and its sub "104815162342108151623" is not the unique id of an allowed caller',
    ],
    [
      "the configured sub with another account's verified e-mail",
      () => byId,
      () => idToken({ email: 'attacker@evil.iam.gserviceaccount.com' }),
      'attacker@evil.iam.gserviceaccount.com is not an allowed caller',
    ],
    [
      "the workflow's e-mail with another sub (an account re-created under the same e-mail)",
      () => byId,
      () => idToken({ sub: '104815162342108151623', azp: '104815162342108151623' }),
      `the ID token of ${WORKFLOW_SA} has sub "104815162342108151623", not the configured unique id ${WORKFLOW_SA_ID}`,
    ],
    ['a signature by another key', () => byId, () => idToken({}, other.privateKey), 'the ID token is not valid'],
    ['an expired token', () => byId, () => idToken({ iat: 1_700_000_000, exp: 1_700_003_600 }), 'the ID token is not valid'],
    ['another issuer', () => byId, () => idToken({ iss: 'https://evil.example' }), 'the ID token is not valid'],
    [
      "a local engine's unsigned token",
      () => byId,
      () =>
        `bootwarden-local.OIDC.${Buffer.from(JSON.stringify({ aud: APP_URL, sub: WORKFLOW_SA, iat: 0, exp: 9e9 })).toString('base64url')}`,
      'the ID token is not valid',
    ],
  ])('%s: 401, nothing recorded', async (_what, app, token, reason) => {
    const before = await members();
    const res = await postInternal(app().appUrl, APPROVAL_PATHS.request, request(), token());
    expect(res.status).toBe(401);
    expect((res.body as { error: string }).error).toContain(reason);
    expect(await members()).toBe(before);
  });
});

describe('one identity per internal endpoint', () => {
  /** Cloud Scheduler's OIDC token of the job's account (https://cloud.google.com/scheduler/docs/http-target-auth). */
  const schedulerToken = (): string => idToken({ email: SCHEDULER_SA, sub: SCHEDULER_SA_ID, azp: SCHEDULER_SA_ID });
  const audits = async (): Promise<number> => (await fs.db().collection(`${fs.prefix}approval_audit`).get()).size;

  it.each([
    ['/internal/approvals', APPROVAL_PATHS.request, () => request()],
    [
      '/internal/outcomes',
      APPROVAL_PATHS.outcome,
      () => ({ ...outcomeReport(request(), null, 'failed', 'forged by the scheduler'), fingerprint: null }),
    ],
  ])("the scheduler's valid token on %s: 403, nothing recorded or posted", async (_what, path, body) => {
    const [before, auditsBefore, posted] = [await members(), await audits(), withScheduler.slack.channelMessages(CHANNEL).length];
    const res = await postInternal(withScheduler.appUrl, path, body(), schedulerToken());
    expect(res).toEqual({ status: 403, body: { error: `${SCHEDULER_SA} may not call ${path}` } });
    expect(await members()).toBe(before);
    expect(await audits()).toBe(auditsBefore);
    expect(withScheduler.slack.channelMessages(CHANNEL)).toHaveLength(posted);
  });

  it.each([
    ["the scheduler's token", () => schedulerToken()],
    ["the workflow's token", () => idToken({})],
  ])('%s on /internal/deliver: a delivery pass', async (_what, token) => {
    const res = await postInternal(withScheduler.appUrl, DELIVER_PATH, {}, token());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ messages: expect.any(Number) as number });
  });

  it("the workflow's token still opens a group where the scheduler is configured", async () => {
    const before = await members();
    const res = await postInternal(withScheduler.appUrl, APPROVAL_PATHS.request, request(), idToken({}));
    expect(res.status).toBe(200);
    expect(await members()).toBe(before + 1);
  });

  it("without BOOTWARDEN_SCHEDULER_SERVICE_ACCOUNT the scheduler's token is no caller at all: 401", async () => {
    const res = await postInternal(byId.appUrl, DELIVER_PATH, {}, schedulerToken());
    expect(res).toEqual({ status: 401, body: { error: `${SCHEDULER_SA} is not an allowed caller` } });
  });
});

describe('callback URLs of a deployed workflow', () => {
  const byNumber = (r: ReturnType<typeof request>, number: string): string =>
    `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${r.execution.replace(/^projects\/[^/]+\//, `projects/${number}/`)}/callbacks/a1b2c3_d4`;

  it('the execution named by its project number (the number the workflow sends) is accepted', async () => {
    const r = request();
    const res = await postInternal(byId.appUrl, APPROVAL_PATHS.request, { ...r, callbackUrl: byNumber(r, PROJECT_NUMBER) }, idToken({}));
    expect(res.status).toBe(200);
  });

  type Row = [string, (r: ReturnType<typeof request>) => string, string | null];
  it.each<Row>([
    ['off the Workflows Executions API', (r) => `https://attacker.example/v1/${r.execution}/callbacks/x`, PROJECT_NUMBER],
    ['another project number', (r) => byNumber(r, '731046482915'), PROJECT_NUMBER],
    ['the number, from a workflow that sends none', (r) => byNumber(r, PROJECT_NUMBER), null],
  ])('%s: refused even with a valid token, nothing recorded', async (_what, url, projectNumber) => {
    const r = { ...request(), projectNumber };
    const before = await members();
    const res = await postInternal(byId.appUrl, APPROVAL_PATHS.request, { ...r, callbackUrl: url(r) }, idToken({}));
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(/^callbackUrl must be (on|a callback endpoint of the execution)/);
    expect(await members()).toBe(before);
  });

  it("an execution of another project than the app's, with its own endpoint: refused, nothing recorded", async () => {
    const r = request();
    const execution = r.execution.replace(/^projects\/[^/]+\//, 'projects/victim-prod/');
    const before = await members();
    const res = await postInternal(
      byId.appUrl,
      APPROVAL_PATHS.request,
      { ...r, execution, callbackUrl: `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${execution}/callbacks/a1b2c3_d4` },
      idToken({}),
    );
    expect(res).toEqual({
      status: 400,
      body: { error: "execution must be in the app's project demo-bootwarden (GOOGLE_CLOUD_PROJECT), not victim-prod" },
    });
    expect(await members()).toBe(before);
  });
});
