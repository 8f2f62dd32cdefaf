/**
 * Pointing an official Google client at a local stand-in of its API (the local stack's Compute and
 * Workflows Executions servers): the same client and the same REST protocol, over http on loopback,
 * with the local engine's OAuth2 tokens instead of application default credentials.
 *
 * The URL must be loopback: a local token is unsigned and means nothing anywhere else, and an
 * operator's real credentials are never sent to a local server (there are none to send).
 */
import type { OAuth2Client } from 'google-auth-library';
import { ConfigError } from '../../core/config.js';
import { localAccessToken } from './local-tokens.js';

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The options that make a generated Google client (google-gax, REST) call `url`. */
export interface LocalClientOptions {
  readonly apiEndpoint: string;
  readonly port: number;
  readonly protocol: 'http';
  readonly fallback: true;
  readonly authClient: OAuth2Client;
}

/** Checks that `url` (from `variable`) is an http URL on loopback ending in `pathSuffix`. */
export function loopbackApiUrl(variable: string, url: string, pathSuffix: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${variable} must be a URL such as http://127.0.0.1:8090${pathSuffix}, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname) || u.port === '')
    throw new ConfigError(
      `${variable} must be http://127.0.0.1:<port>${pathSuffix} (a local stand-in of the API, on loopback), got ${JSON.stringify(url)}`,
    );
  if (u.pathname !== pathSuffix || u.search !== '' || u.hash !== '')
    throw new ConfigError(`${variable} must end in ${pathSuffix} with no query, got ${JSON.stringify(url)}`);
  return u;
}

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
