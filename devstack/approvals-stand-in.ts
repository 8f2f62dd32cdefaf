/**
 * A loopback stand-in of the Slack app's internal endpoints (core/approvals.ts), for running the
 * response workflow locally before the Slack app exists and for its tests and benchmark. It
 * checks the caller's OIDC token, answers as the contract says, records every request, and can
 * be told to fail. Deciding is left to its user: `decide()` POSTs a decision to the callback URL
 * an approval request carried, with an OAuth2 token, as the Slack app will.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APPROVAL_CONTRACT_VERSION,
  APPROVAL_PATHS,
  type ApprovalDecision,
  type ApprovalRequest,
  type OutcomeReport,
} from '../core/approvals.js';
import { bearerToken, CLOUD_PLATFORM_SCOPE, type LocalTokenSource } from '@bootwarden/workflows-emulator';

export interface StandInRequest {
  readonly path: string;
  readonly status: number;
  readonly body: unknown;
  /** The OIDC audience the caller's token was minted for, when it was valid. */
  readonly audience: string | null;
}

/** A decision the stand-in makes on every approval request, right after answering it. */
export interface AutoDecision {
  readonly decision: ApprovalDecision;
  readonly approver?: { readonly id: string; readonly name: string };
}

export class ApprovalsStandIn {
  readonly requests: StandInRequest[] = [];
  readonly approvals: ApprovalRequest[] = [];
  readonly outcomes: OutcomeReport[] = [];
  private server: http.Server | undefined;
  private origin: string | undefined;
  private failures: { path: string; status: number; remaining: number }[] = [];
  /** Who waits for a request: each check resolves its promise and says so once what it waits for arrived. */
  private waiters: (() => boolean)[] = [];

  /** Auto-decisions sent (their callback's HTTP status), in order: a failure here is visible, not lost. */
  readonly autoDecisions: Promise<number>[] = [];

  constructor(
    private readonly tokens: LocalTokenSource,
    private readonly autoDecide?: AutoDecision,
  ) {}

  get url(): string {
    if (this.origin === undefined) throw new Error('the approvals stand-in is not started');
    return this.origin;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  /** The next `times` requests to `path` are answered `status` (503: the app is down). */
  failNext(path: string, status: number, times = 1): this {
    this.failures.push({ path, status, remaining: times });
    return this;
  }

  /** Resolves once `count` requests to `path` have been answered (successfully or not). */
  async received(path: string, count = 1): Promise<void> {
    await this.until(() => (this.requests.filter((r) => r.path === path).length >= count ? true : undefined));
  }

  /** Resolves with the first approval request (received already, or later) that `matches`. */
  approval(matches: (a: ApprovalRequest) => boolean): Promise<ApprovalRequest> {
    return this.until(() => this.approvals.find(matches));
  }

  /** Resolves with what `find` gives: now, or after the request that makes it give something. */
  private until<T>(find: () => T | undefined): Promise<T> {
    const now = find();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) =>
      this.waiters.push(() => {
        const found = find();
        if (found !== undefined) resolve(found);
        return found !== undefined;
      }),
    );
  }

  /** Sends a decision to the execution that asked, as the Slack app does; the HTTP status. */
  async decide(
    request: ApprovalRequest,
    decision: ApprovalDecision,
    approver = { id: 'U024BE7LH', name: 'ops-oncall' },
    overrides: Record<string, unknown> = {},
  ): Promise<number> {
    const body = {
      version: APPROVAL_CONTRACT_VERSION,
      groupId: groupIdOf(request),
      decision,
      approver,
      decidedAt: new Date().toISOString(),
      ...overrides,
    };
    return this.send(request.callbackUrl, JSON.stringify(body));
  }

  /** POSTs any body to a callback URL with a valid token (for malformed-decision tests). */
  async send(callbackUrl: string, body: string): Promise<number> {
    const token = await this.tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);
    const res = await fetch(callbackUrl, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    await res.arrayBuffer();
    return res.status;
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const path = req.url ?? '';
    const answer = (status: number, body: unknown): void => {
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // kept as text
      }
      this.requests.push({ path, status, body: parsed, audience });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      this.waiters = this.waiters.filter((arrived) => !arrived());
    };
    let audience: string | null = null;
    const token = bearerToken(req.headers.authorization);
    const verified = token === undefined ? undefined : this.tokens.verify(token);
    if (verified === undefined || !verified.ok || verified.claims.type !== 'OIDC') {
      return answer(401, { error: 'an OIDC token of the workflow is required' });
    }
    audience = verified.claims.aud ?? null;
    // Cloud Run accepts an ID token only for its own URL: the audience is the app's base URL, exactly.
    if (audience !== this.url) return answer(401, { error: `the token's audience must be ${this.url}, got ${String(audience)}` });
    const failure = this.failures.find((f) => f.path === path && f.remaining > 0);
    if (failure !== undefined) {
      failure.remaining--;
      return answer(failure.status, { error: 'the stand-in was told to fail' });
    }
    if (req.method !== 'POST') return answer(405, { error: 'POST only' });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return answer(400, { error: 'the body is not JSON' });
    }
    if (path === APPROVAL_PATHS.request) {
      const request = body as ApprovalRequest;
      if (typeof request.callbackUrl !== 'string' || typeof request.fingerprint !== 'string') {
        return answer(400, { error: 'callbackUrl and fingerprint are required' });
      }
      this.approvals.push(request);
      answer(200, { groupId: groupIdOf(request) });
      // A callback sent before the execution awaits it is kept until it does (events.await_callback).
      const auto = this.autoDecide;
      if (auto !== undefined) this.autoDecisions.push(this.decide(request, auto.decision, auto.approver));
      return;
    }
    if (path === APPROVAL_PATHS.outcome) {
      this.outcomes.push(body as OutcomeReport);
      return answer(200, {});
    }
    return answer(404, { error: `no endpoint ${path}` });
  }
}

/** One group per fingerprint, as the Slack app keeps them. */
export function groupIdOf(request: Pick<ApprovalRequest, 'fingerprint'>): string {
  return `group-${request.fingerprint.slice(0, 16)}`;
}
