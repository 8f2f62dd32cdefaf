/**
 * Slack's request signing (v0): `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>">`
 * keyed with the signing secret, and `X-Slack-Request-Timestamp` within five minutes of our clock,
 * in either direction (Bolt itself only refuses old ones). Checked before Bolt sees the request;
 * Bolt then checks the signature again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_WINDOW_SECONDS = 300;

export function slackSignatureProblem(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawBody: Buffer,
  secret: string,
  nowMs: number,
): string | null {
  const timestamp = headers['x-slack-request-timestamp'];
  const signature = headers['x-slack-signature'];
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return 'X-Slack-Request-Timestamp is missing or not a number';
  if (typeof signature !== 'string') return 'X-Slack-Signature is missing';
  const skew = Math.floor(nowMs / 1000) - Number(timestamp);
  if (Math.abs(skew) > SIGNATURE_WINDOW_SECONDS)
    return `X-Slack-Request-Timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'} (more than ${SIGNATURE_WINDOW_SECONDS} s)`;
  const m = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (m === null) return 'X-Slack-Signature is not a v0= signature';
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest();
  if (!timingSafeEqual(expected, Buffer.from(m[1] ?? '', 'hex'))) return 'X-Slack-Signature does not match the body';
  return null;
}

/** Signs a request body as Slack does (the Slack stand-in, the tests, `npm start`). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}
