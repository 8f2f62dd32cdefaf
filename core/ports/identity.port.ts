/**
 * Google identities between bootwarden's services: who calls the Slack app's internal endpoints
 * (an OIDC ID token, checked for its audience and service account), and the OAuth2 access token
 * the app presents to a Workflows callback endpoint.
 */
export type CallerCheck = { readonly ok: true; readonly email: string } | { readonly ok: false; readonly reason: string };

/**
 * A service account the internal endpoints accept: its e-mail, and its unique id (the `sub` of its
 * Google ID tokens) when configured.
 */
export interface AllowedCaller {
  readonly email: string;
  readonly uniqueId: string | null;
}

export interface CallerVerifier {
  /** Verifies a bearer token for `audience`; the caller's service-account e-mail when it is valid. */
  verify(token: string, audience: string): Promise<CallerCheck>;
}

export interface AccessTokenSource {
  /** An OAuth2 access token with the cloud-platform scope. */
  accessToken(): Promise<string>;
}
