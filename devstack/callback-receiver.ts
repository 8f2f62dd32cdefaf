/**
 * Stands for the callback endpoints of waiting executions (the Slack app's tests and benchmark):
 * a loopback HTTP server that records each request, and can be told to fail or to hold requests
 * unanswered (an app killed mid-delivery never hears back).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Waiters } from './waiters.js';

export interface ReceivedCallback {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
  readonly status: number;
}

/** Stands for the callback endpoints of waiting executions: records each request; can fail or hold. */
export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private server: http.Server | undefined;
  private origin = '';
  private failures: { path: string | null; status: number; remaining: number }[] = [];
  private holding = false;
  private held: http.ServerResponse[] = [];
  private readonly waiters = new Waiters();

  get url(): string {
    return this.origin;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        let body: unknown = Buffer.concat(chunks).toString('utf8');
        try {
          body = JSON.parse(body as string);
        } catch {
          // kept as text
        }
        if (this.holding) {
          this.record({ path, authorization: req.headers.authorization, body, status: 0 });
          this.held.push(res);
          return;
        }
        const failure = this.failures.find((f) => (f.path === null || f.path === path) && f.remaining > 0);
        const status = failure === undefined ? 200 : failure.status;
        if (failure !== undefined) failure.remaining--;
        this.record({ path, authorization: req.headers.authorization, body, status });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? '' : JSON.stringify({ error: { code: status, message: 'told to fail', status: 'UNAVAILABLE' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private record(r: ReceivedCallback): void {
    this.received.push(r);
    this.waiters.notify();
  }

  /** The next `times` requests (to `path`, or to any) are answered `status`. */
  failNext(status: number, times = 1, path: string | null = null): this {
    this.failures.push({ path, status, remaining: times });
    return this;
  }

  /** Requests are recorded and never answered (an app killed mid-delivery never hears back). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) res.destroy();
  }

  /** Resolves once `check` holds (checked now and after every request recorded). */
  until(check: () => boolean): Promise<void> {
    return this.waiters.until(check);
  }

  /** Callbacks answered 2xx, by path. */
  delivered(): Map<string, ReceivedCallback[]> {
    const out = new Map<string, ReceivedCallback[]>();
    for (const r of this.received.filter((x) => x.status >= 200 && x.status < 300)) out.set(r.path, [...(out.get(r.path) ?? []), r]);
    return out;
  }

  async close(): Promise<void> {
    this.release();
    const s = this.server;
    if (s === undefined) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
