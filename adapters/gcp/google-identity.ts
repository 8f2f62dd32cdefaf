/**
 * Google-signed identities, with google-auth-library (loaded on first use):
 * - GoogleIdTokenVerifier checks an OIDC ID token's signature (Google's public certificates), issuer,
 *   expiry and exact audience, then who it names (see identify);
 * - GoogleAccessTokens gets the service's own OAuth2 access token (metadata server on Cloud Run).
 */
import type { OAuth2Client } from 'google-auth-library';
import type { AccessTokenSource, AllowedCaller, CallerCheck, CallerVerifier } from '../../core/ports/identity.port.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export class GoogleIdTokenVerifier implements CallerVerifier {
  private client: Promise<OAuth2Client> | null;

  /** `client` replaces Google's (tests give one whose certificates URL is a loopback server). */
  constructor(
    private readonly allowed: readonly AllowedCaller[],
    client?: OAuth2Client,
  ) {
    this.client = client === undefined ? null : Promise.resolve(client);
  }

  async verify(token: string, audience: string): Promise<CallerCheck> {
    this.client ??= import('google-auth-library').then(({ OAuth2Client }) => new OAuth2Client());
    let payload;
    try {
      payload = (await (await this.client).verifyIdToken({ idToken: token, audience })).getPayload();
    } catch (e) {
      return { ok: false, reason: `the ID token is not valid for ${audience}: ${e instanceof Error ? e.message : String(e)}` };
    }
    return identify(this.allowed, payload ?? {});
  }
}

/**
 * Which allowed caller a verified ID token names. Google's Workflows pages document that a call
 * with `auth: {type: OIDC}` carries an ID token of the execution's service account, not which
 * claims it has; an ID token always has `sub` (the account's unique id, which survives renames
 * and is never reused), and `email` / `email_verified` only when Google adds them. So:
 * - a token with `email` must have `email_verified: true` and an allowed e-mail, and when that
 *   caller's unique id is configured its `sub` must be that id too (both configured: both must
 *   match, so that an account deleted and re-created under the same e-mail, which gets a new
 *   id, is refused);
 * - a token without `email` is accepted only by `sub`, equal to a configured unique id.
 * The caller is then named by its configured e-mail (audit records, logs).
 */
export function identify(
  allowed: readonly AllowedCaller[],
  claims: { email?: string; email_verified?: boolean; sub?: string },
): CallerCheck {
  const { email, sub } = claims;
  if (email !== undefined) {
    if (claims.email_verified !== true) return { ok: false, reason: `the ID token's e-mail ${email} is not verified` };
    const caller = allowed.find((c) => c.email === email);
    if (caller === undefined) return { ok: false, reason: `${email} is not an allowed caller` };
    if (caller.uniqueId !== null && sub !== caller.uniqueId)
      return {
        ok: false,
        reason: `the ID token of ${email} has sub ${JSON.stringify(sub)}, not the configured unique id ${caller.uniqueId} (an account re-created under the same e-mail has a new id)`,
      };
    return { ok: true, email };
  }
  const caller = sub === undefined ? undefined : allowed.find((c) => c.uniqueId === sub);
  if (caller === undefined)
    return {
      ok: false,
      reason: `the ID token carries no e-mail, and its sub ${JSON.stringify(sub)} is not the unique id of an allowed caller (BOOTWARDEN_WORKFLOW_SERVICE_ACCOUNT_ID)`,
    };
  return { ok: true, email: caller.email };
}

export class GoogleAccessTokens implements AccessTokenSource {
  private auth: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | null = null;

  async accessToken(): Promise<string> {
    this.auth ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }));
    const token = await (await this.auth).getAccessToken();
    if (typeof token !== 'string' || token === '') throw new Error('google-auth-library returned no access token');
    return token;
  }
}
