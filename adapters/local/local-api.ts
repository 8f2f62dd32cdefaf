/**
 * Pointing an official Google client at a local stand-in of its API (the local stack's Compute and
 * Workflows Executions servers): the same client and the same REST protocol, over http on loopback,
 * with the local engine's OAuth2 tokens instead of application default credentials.
 *
 * The URL is checked by `loopbackApiUrl` (core/config.ts): loopback http only.
 */
import type { OAuth2Client } from 'google-auth-library';
import { localAccessToken } from './local-tokens.js';

/** The options that make a generated Google client (google-gax, REST) call a local API. */
// A type, not an interface: the generated clients' ClientOptions has an index signature.
export type LocalClientOptions = {
  readonly apiEndpoint: string;
  readonly port: number;
  readonly protocol: 'http';
  readonly fallback: true;
  readonly authClient: OAuth2Client;
};

/**
 * Options for a client of the local API at `u`: an auth client handing out local OAuth2 tokens for
 * `subject` (cloud-platform scope, one hour), minted again when one expires. google-auth-library is
 * loaded here, on first use.
 */
export async function localClientOptions(u: URL, subject: string, now: () => number = Date.now): Promise<LocalClientOptions> {
  const { OAuth2Client } = await import('google-auth-library');
  const authClient = new OAuth2Client();
  const mint = (): { access_token: string; expiry_date: number } => {
    const { token, expiresAt } = localAccessToken(subject, now());
    return { access_token: token, expiry_date: expiresAt };
  };
  authClient.refreshHandler = () => Promise.resolve(mint());
  authClient.setCredentials(mint());
  return { apiEndpoint: u.hostname, port: Number(u.port), protocol: 'http', fallback: true, authClient };
}
