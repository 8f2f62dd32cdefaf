/**
 * Google-signed identities, with google-auth-library (loaded on first use):
 * - GoogleIdTokenVerifier checks an OIDC ID token's signature (Google's public certificates), issuer,
 *   expiry and exact audience, then requires a verified e-mail among the allowed service accounts;
 * - GoogleAccessTokens gets the service's own OAuth2 access token (metadata server on Cloud Run).
 */
import type { OAuth2Client } from 'google-auth-library';
import type { AccessTokenSource, CallerCheck, CallerVerifier } from '../../core/ports/identity.port.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export class GoogleIdTokenVerifier implements CallerVerifier {
  private client: Promise<OAuth2Client> | null;

  /** `client` replaces Google's (tests give one whose certificates URL is a loopback server). */
  constructor(
    private readonly allowed: readonly string[],
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
    const email = payload?.email;
    if (email === undefined || payload?.email_verified !== true) return { ok: false, reason: 'the ID token carries no verified e-mail' };
    if (!this.allowed.includes(email)) return { ok: false, reason: `${email} is not an allowed caller` };
    return { ok: true, email };
  }
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
