/**
 * The internal API as deployed (no local tokens): Google-signed OIDC ID tokens checked by
 * google-auth-library. Google's certificate endpoint is replaced by a loopback server serving a
 * key made here, so that the real verifier checks real RS256 signatures, issuers, expiry, the
 * exact audience and the service account.
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { APPROVAL_PATHS, WORKFLOW_EXECUTIONS_ORIGIN } from '../../core/approvals.js';
import { GoogleIdTokenVerifier } from '../../adapters/gcp/google-identity.js';
import {
  approvalRequest,
  CallbackReceiver,
  fingerprintOf,
  postInternal,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-app.js';

const fs = useFirestore();
const WORKFLOW_SA = 'bootwarden-workflow@demo-bootwarden.iam.gserviceaccount.com';
const APP_URL = 'https://bootwarden-slack-abc123-uc.a.run.app';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'f5f4bf46e52b31d9b6249f7309ad0338400680cd';
let certs: http.Server;
let h: SlackHarness;

function idToken(claims: Record<string, unknown>, key = privateKey, kid = KID): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'RS256', kid, typ: 'JWT' })}.${enc({
    iss: 'https://accounts.google.com',
    aud: APP_URL,
    azp: '113774264463038321964',
    sub: '113774264463038321964',
    email: WORKFLOW_SA,
    email_verified: true,
    iat: now,
    exp: now + 3600,
    ...claims,
  })}`;
  return `${body}.${createSign('RSA-SHA256').update(body).sign(key).toString('base64url')}`;
}

beforeAll(async () => {
  certs = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
    res.end(JSON.stringify({ [KID]: publicKey.export({ type: 'spki', format: 'pem' }) }));
  });
  await new Promise<void>((resolve) => certs.listen(0, '127.0.0.1', resolve));
  const client = new OAuth2Client({
    endpoints: { oauth2FederatedSignonPemCertsUrl: `http://127.0.0.1:${(certs.address() as AddressInfo).port}/oauth2/v1/certs` },
  });
  h = await startSlackHarness(fs.prefix, {
    env: {
      BOOTWARDEN_LOCAL_TOKENS: '',
      HOST: '127.0.0.1',
      BOOTWARDEN_SLACK_APP_URL: APP_URL,
      BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT: WORKFLOW_SA,
    },
    deps: { verifier: new GoogleIdTokenVerifier([WORKFLOW_SA], client) },
  });
});
afterAll(async () => {
  await h.close();
  await new Promise<void>((resolve) => certs.close(() => resolve()));
});

const request = (): ReturnType<typeof approvalRequest> => {
  const r = approvalRequest(new CallbackReceiver(), fingerprintOf('oidc kernel'));
  // Deployed, a callback URL must be the execution's own endpoint on the Workflows Executions API.
  return { ...r, callbackUrl: `${WORKFLOW_EXECUTIONS_ORIGIN}/v1/${r.execution}/callbacks/a1b2c3_d4` };
};

describe('Google-signed OIDC tokens', () => {
  it("the workflow's token for the app's URL is accepted", async () => {
    const res = await postInternal(h.appUrl, APPROVAL_PATHS.request, request(), idToken({}));
    expect(res.status).toBe(200);
    expect((res.body as { groupId: string }).groupId).toMatch(/^grp_/);
  });

  it.each([
    ['no token', null, 'an OIDC ID token (Authorization: Bearer) is required'],
    ['a wrong audience', idToken({ aud: 'https://another-service-uc.a.run.app' }), 'the ID token is not valid'],
    [
      'another service account',
      idToken({ email: 'attacker@evil.iam.gserviceaccount.com' }),
      'attacker@evil.iam.gserviceaccount.com is not an allowed caller',
    ],
    ['an unverified e-mail', idToken({ email_verified: false }), 'the ID token carries no verified e-mail'],
    ['a signature by another key', idToken({}, other.privateKey), 'the ID token is not valid'],
    ['an expired token', idToken({ iat: 1_700_000_000, exp: 1_700_003_600 }), 'the ID token is not valid'],
    ['another issuer', idToken({ iss: 'https://evil.example' }), 'the ID token is not valid'],
    [
      "a local engine's unsigned token",
      `bootwarden-local.OIDC.${Buffer.from(JSON.stringify({ aud: APP_URL, sub: WORKFLOW_SA, iat: 0, exp: 9e9 })).toString('base64url')}`,
      'the ID token is not valid',
    ],
  ])('%s: 401, nothing recorded', async (_what, token, reason) => {
    const before = (await fs.db().collection(`${fs.prefix}approval_members`).get()).size;
    const res = await postInternal(h.appUrl, APPROVAL_PATHS.request, request(), token);
    expect(res.status).toBe(401);
    expect((res.body as { error: string }).error).toContain(reason);
    expect((await fs.db().collection(`${fs.prefix}approval_members`).get()).size).toBe(before);
  });

  it('a callback URL off the Workflows Executions API is refused even with a valid token', async () => {
    const r = request();
    const res = await postInternal(
      h.appUrl,
      APPROVAL_PATHS.request,
      { ...r, callbackUrl: `https://attacker.example/v1/${r.execution}/callbacks/x` },
      idToken({}),
    );
    expect(res).toEqual({ status: 400, body: { error: `callbackUrl must be on ${WORKFLOW_EXECUTIONS_ORIGIN}` } });
  });
});
