/**
 * The local Workflows engine's tokens, for the Slack app with BOOTWARDEN_LOCAL_TOKENS=1 only.
 * The engine writes `bootwarden-local.<OIDC|OAuth2>.<base64url JSON claims>` (claims `aud` or
 * `scope`, `sub`, `iat`, `exp` in seconds; see the emulator's README). They are NOT signed: the
 * configuration accepts them only on a loopback listener and never on Cloud Run, and the app checks
 * that each caller is on loopback too.
 */
import type { AccessTokenSource, CallerCheck, CallerVerifier } from '../../core/ports/identity.port.js';
import { CLOUD_PLATFORM_SCOPE } from '../gcp/google-identity.js';

const PREFIX = 'bootwarden-local';

export class LocalIdTokenVerifier implements CallerVerifier {
  constructor(
    private readonly allowed: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  verify(token: string, audience: string): Promise<CallerCheck> {
    const [prefix, type, body, ...rest] = token.split('.');
    if (prefix !== PREFIX || rest.length > 0) return Promise.resolve({ ok: false, reason: 'not a local engine token' });
    if (type !== 'OIDC') return Promise.resolve({ ok: false, reason: `an OIDC token is required, got ${String(type)}` });
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return Promise.resolve({ ok: false, reason: 'the token claims are not JSON' });
    }
    const { aud, sub, exp } = claims;
    if (aud !== audience) return Promise.resolve({ ok: false, reason: `the token's audience is ${JSON.stringify(aud)}, not ${audience}` });
    if (typeof exp !== 'number' || exp * 1000 <= this.now()) return Promise.resolve({ ok: false, reason: 'the token has expired' });
    if (typeof sub !== 'string' || !this.allowed.includes(sub))
      return Promise.resolve({ ok: false, reason: `${JSON.stringify(sub)} is not an allowed caller` });
    return Promise.resolve({ ok: true, email: sub });
  }
}

/** A local OAuth2 access token of the cloud-platform scope for `subject`, valid one hour from `nowMs`. */
export function localAccessToken(subject: string, nowMs: number): { token: string; expiresAt: number } {
  const iat = Math.floor(nowMs / 1000);
  const claims = { scope: CLOUD_PLATFORM_SCOPE, sub: subject, iat, exp: iat + 3600 };
  return { token: `${PREFIX}.OAuth2.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`, expiresAt: claims.exp * 1000 };
}

/** An OAuth2 token the local engine's callback endpoints accept. */
export class LocalAccessTokens implements AccessTokenSource {
  constructor(
    private readonly subject: string,
    private readonly now: () => number = Date.now,
  ) {}

  accessToken(): Promise<string> {
    return Promise.resolve(localAccessToken(this.subject, this.now()).token);
  }
}
