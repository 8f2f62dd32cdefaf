/**
 * The function's body bound, enforced before functions-framework parses anything.
 *
 * functions-framework 5 parses every body with body-parser under a fixed limit of 1024 MB
 * (build/src/server.js, not configurable), buffering the whole body and its JSON before the
 * handler runs. No Pub/Sub push can be larger than MAX_PUSH_BODY_BYTES, so a larger body is
 * answered 413 here, through Node's `http.server.request.start` diagnostics channel (published
 * for each request before the server's request listener, Express, sees it):
 * - a Content-Length over the bound: answered at once, nothing of the body read (body-parser is
 *   told there is no body, no route matches the refused request), the connection closed;
 * - a body without Content-Length (chunked): counted as it arrives, and once over the bound
 *   answered, its reading stopped and the connection closed, so that at most the bound is ever
 *   buffered. The sender is still writing then, and a close with unread data can reset the
 *   connection before it reads the 413 (seen under load): the cut is certain, the answer is not.
 */
import diagnostics from 'node:diagnostics_channel';
import { Buffer } from 'node:buffer';
import type http from 'node:http';
import { MAX_PUSH_BODY_BYTES } from '../core/json.js';

interface RequestStart {
  readonly request: http.IncomingMessage;
  readonly response: http.ServerResponse;
}

const CHANNEL = 'http.server.request.start';

/** What a refusal tells the caller (and what the log line says). */
export function bodyTooLarge(limit: number): string {
  return `the body is larger than ${limit} bytes, more than any Pub/Sub push can be: refused unread`;
}

/**
 * How long a refused connection stays open, reading nothing, before it is closed: closing a socket
 * with unread data makes the kernel reset it, and a reset can discard the 413 before the caller
 * read it (the lingering close of HTTP servers).
 */
const LINGER_MS = 2000;

function refuse(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  declared: string | undefined,
  limit: number,
  log: (message: string) => void,
): void {
  if (response.headersSent) return;
  // Nothing more of the body reaches body-parser.
  request.pause();
  log(`${bodyTooLarge(limit)} (content-length ${declared ?? 'none'})`);
  const body = JSON.stringify({ error: bodyTooLarge(limit) });
  response.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body, () => setTimeout(() => request.socket.destroy(), LINGER_MS).unref());
}

/**
 * Installs the bound for every HTTP server of this process (the function's one); `log` receives a
 * line per refusal. Returns the uninstaller.
 */
export function installBodyLimit(log: (message: string) => void, limit = MAX_PUSH_BODY_BYTES): () => void {
  const onStart = (message: unknown): void => {
    const { request, response } = message as RequestStart;
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) <= limit) return;
      // body-parser reads only a request with a body; Express routes no method named REFUSED.
      delete request.headers['content-length'];
      delete request.headers['transfer-encoding'];
      request.method = 'REFUSED';
      refuse(request, response, declared, limit, log);
      return;
    }
    let seen = 0;
    request.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) refuse(request, response, undefined, limit, log);
    });
  };
  diagnostics.subscribe(CHANNEL, onStart);
  return () => diagnostics.unsubscribe(CHANNEL, onStart);
}
