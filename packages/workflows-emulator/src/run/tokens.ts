/**
 * Local stand-ins for the Google-issued tokens an `auth: {type: OIDC|OAuth2}` HTTP call carries,
 * and for the OAuth2 access token a sender must present to a callback endpoint.
 *
 * A token reads `bootwarden-local.<OIDC|OAuth2>.<base64url JSON claims>`. The claims are
 * `{aud}` (OIDC) or `{scope}` (OAuth2, space-separated scopes), plus `sub`, `iat` and `exp` in
 * seconds since the epoch. Google's tokens live one hour; so do these.
 *
 * THESE TOKENS ARE NOT SIGNED. Anyone can mint one. They exist so that loopback servers of the
 * local stack (the callback endpoint, the Slack app stand-in) can tell "an authenticated caller of
 * the local engine" from "no credentials at all" and check audiences and scopes the way Google's
 * front ends do. Never accept them on anything but a loopback listener, and never in the cloud.
 */
import { LOCAL_SERVICE_ACCOUNT, systemClock, type Clock, type TokenSource } from './runtime.js';

export const LOCAL_TOKEN_PREFIX = 'bootwarden-local';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const LIFETIME_SECONDS = 3600;

export type TokenType = 'OIDC' | 'OAuth2';

export interface LocalTokenClaims {
  readonly type: TokenType;
  /** OIDC: the audience the token was minted for. */
  readonly aud?: string;
  /** OAuth2: the granted scopes, space-separated. */
  readonly scope?: string;
  /** The identity the token speaks for (a service account e-mail in the cloud). */
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
}

export type VerifyResult = { readonly ok: true; readonly claims: LocalTokenClaims } | { readonly ok: false; readonly reason: string };

export interface LocalTokenSourceOptions {
  /** The identity tokens speak for; default the local engine's own service account. */
  readonly subject?: string;
  /** Time for `iat`/`exp` and for expiry checks. */
  readonly clock?: Clock;
}

export class LocalTokenSource implements TokenSource {
  readonly subject: string;
  private readonly clock: Clock;

  constructor(options: LocalTokenSourceOptions = {}) {
    this.subject = options.subject ?? LOCAL_SERVICE_ACCOUNT;
    this.clock = options.clock ?? systemClock;
  }

  token(type: TokenType, audienceOrScope: string): Promise<string> {
    if (type !== 'OIDC' && type !== 'OAuth2') return Promise.reject(new Error(`unknown token type ${String(type)}`));
    if (audienceOrScope.trim() === '')
      return Promise.reject(new Error(`an ${type} token needs ${type === 'OIDC' ? 'an audience' : 'a scope'}`));
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: LocalTokenClaims =
      type === 'OIDC'
        ? { type, aud: audienceOrScope, sub: this.subject, iat, exp: iat + LIFETIME_SECONDS }
        : { type, scope: audienceOrScope, sub: this.subject, iat, exp: iat + LIFETIME_SECONDS };
    const payload: Omit<LocalTokenClaims, 'type'> =
      type === 'OIDC'
        ? { aud: claims.aud, sub: claims.sub, iat, exp: claims.exp }
        : { scope: claims.scope, sub: claims.sub, iat, exp: claims.exp };
    return Promise.resolve(`${LOCAL_TOKEN_PREFIX}.${type}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`);
  }

  /** Checks shape, type and expiry (against this source's clock). Signatures: there are none. */
  verify(token: string): VerifyResult {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== LOCAL_TOKEN_PREFIX) return { ok: false, reason: 'not a bootwarden-local token' };
    const type = parts[1];
    if (type !== 'OIDC' && type !== 'OAuth2') return { ok: false, reason: `unknown token type ${String(type)}` };
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(parts[2] ?? '', 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'the token claims are not JSON' };
    }
    if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'the token claims are not an object' };
    const c = raw as Record<string, unknown>;
    if (typeof c['sub'] !== 'string' || typeof c['iat'] !== 'number' || typeof c['exp'] !== 'number')
      return { ok: false, reason: 'sub, iat or exp missing' };
    if (type === 'OIDC' && typeof c['aud'] !== 'string') return { ok: false, reason: 'an OIDC token without an audience' };
    if (type === 'OAuth2' && typeof c['scope'] !== 'string') return { ok: false, reason: 'an OAuth2 token without a scope' };
    if (c['exp'] * 1000 <= this.clock.now()) return { ok: false, reason: 'the token has expired' };
    const claims: LocalTokenClaims =
      type === 'OIDC'
        ? { type, aud: c['aud'] as string, sub: c['sub'], iat: c['iat'], exp: c['exp'] }
        : { type, scope: c['scope'] as string, sub: c['sub'], iat: c['iat'], exp: c['exp'] };
    return { ok: true, claims };
  }
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Whether an OAuth2 claim set grants `scope` (space-separated list, exact match). */
export function hasScope(claims: LocalTokenClaims, scope: string): boolean {
  return (claims.scope ?? '').split(/\s+/).includes(scope);
}

/** Why a request's credentials are refused: the HTTP status, the Google status and the message. */
export interface AccessRefusal {
  readonly ok: false;
  readonly code: 401 | 403;
  readonly status: 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
  readonly message: string;
  /** The WWW-Authenticate header of a 401. */
  readonly challenge?: string;
}

/**
 * The check Google's front ends make before a request reaches an API: an OAuth 2 access token
 * (`Authorization: Bearer`) that is valid and grants the cloud-platform scope.
 */
export function checkAccess(
  authorization: string | undefined,
  tokens: { verify(token: string): VerifyResult },
): { readonly ok: true; readonly claims: LocalTokenClaims } | AccessRefusal {
  const token = bearerToken(authorization);
  if (token === undefined)
    return {
      ok: false,
      code: 401,
      status: 'UNAUTHENTICATED',
      message: 'Request is missing required authentication credential. Expected an OAuth 2 access token.',
      challenge: 'Bearer',
    };
  const verified = tokens.verify(token);
  if (!verified.ok || verified.claims.type !== 'OAuth2')
    return {
      ok: false,
      code: 401,
      status: 'UNAUTHENTICATED',
      message: `Request had invalid authentication credentials: ${verified.ok ? 'an OAuth 2 access token is required' : verified.reason}.`,
      challenge: 'Bearer error="invalid_token"',
    };
  if (!hasScope(verified.claims, CLOUD_PLATFORM_SCOPE))
    return {
      ok: false,
      code: 403,
      status: 'PERMISSION_DENIED',
      message: `Request had insufficient authentication scopes: ${CLOUD_PLATFORM_SCOPE} is required.`,
    };
  return { ok: true, claims: verified.claims };
}
