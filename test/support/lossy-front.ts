/**
 * An HTTP front for a loopback API that records what it was asked and can lose an answer: the
 * request reaches the service (which acts on it), then the connection is cut before the client
 * reads the answer, as when a response is lost on the way back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LossyFront {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Every request seen, as `METHOD /path`, and whether its answer was lost. */
  readonly seen: { request: string; lost: boolean }[];
  /** The next request matching `method` and `path` reaches the service; its answer is lost. */
  loseNextAnswer(method: string, path: RegExp): void;
  close(): Promise<void>;
}

export async function lossyFront(target: string): Promise<LossyFront> {
  const upstream = new URL(target);
  const seen: LossyFront['seen'] = [];
  let lose: { method: string; path: RegExp } | null = null;
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://front').pathname;
    const dropped = lose !== null && req.method === lose.method && lose.path.test(pathname);
    if (dropped) lose = null;
    seen.push({ request: `${req.method ?? ''} ${pathname}`, lost: dropped });
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (dropped) {
          // The service has acted and answered; the client never reads it.
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    seen,
    loseNextAnswer: (method, path) => (lose = { method, path }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
