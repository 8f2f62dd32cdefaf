/**
 * The Slack app, wired in one place: Bolt (its HTTP receiver's request listener, with
 * processBeforeResponse, so that all work is done before Slack gets its answer) for `/slack/events`,
 * the internal endpoints for the workflow, Firestore for the records, and the Web API client
 * pointed at SLACK_API_URL. SDK clients are created here, lazily; tests inject what they fake.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuth2Client } from 'google-auth-library';
import type { SlackAppConfig } from '../core/config.js';
import type { Logger } from '../core/ports/logger.port.js';
import type { AccessTokenSource, AllowedCaller, CallerVerifier } from '../core/ports/identity.port.js';
import type { ExecutionHistory } from '../core/ports/execution-history.port.js';
import { lazyFirestore, type FirestoreProvider } from '../adapters/gcp/firestore-client.js';
import { approvalCollections, FirestoreApprovalStore } from '../adapters/gcp/firestore-approval-store.js';
import { FirestoreBaselineStore } from '../adapters/gcp/firestore-stores.js';
import { GoogleAccessTokens, GoogleIdTokenVerifier } from '../adapters/gcp/google-identity.js';
import { jsonLogger } from '../adapters/gcp/json-logger.js';
import { WorkflowsExecutionStarter } from '../adapters/gcp/workflows-execution-starter.js';
import { LocalAccessTokens, LocalIdTokenVerifier } from '../adapters/local/local-tokens.js';
import { WebApiMessenger } from '../adapters/slack/web-api-messenger.js';
import { Approvals } from './approvals.js';
import { endpointCallers, handleInternal, INTERNAL_PATHS, readBody } from './internal.js';
import { register as registerActions } from './listeners/actions/index.js';
import { register as registerCommands } from './listeners/commands/index.js';
import { slackSignatureProblem } from './signature.js';

export const SLACK_EVENTS_PATH = '/slack/events';
/** Slack's own limit for interaction payloads is far below this. */
const MAX_SLACK_BODY_BYTES = 1024 * 1024;

export interface SlackAppDeps {
  readonly firestore?: FirestoreProvider;
  /** Replaces the OIDC verifier chosen by the configuration. */
  readonly verifier?: CallerVerifier;
  /** The OAuth2 client Google's ID tokens are verified with (tests: one whose certificates URL is a loopback server). */
  readonly oidcClient?: OAuth2Client;
  readonly tokens?: AccessTokenSource;
  /** Replaces the Executions API client chosen by the configuration (tests: a loopback Executions API). */
  readonly history?: ExecutionHistory | null;
  /** The app's clock: records, expiry, local tokens. */
  readonly now?: () => Date;
  /** The clock Slack's request timestamps are checked against (default the wall clock, as Bolt's own check uses). */
  readonly slackNow?: () => number;
  readonly write?: (line: string) => void;
  readonly deliveryBudgetMs?: number;
}

/** The identities the internal endpoints accept from Google-signed tokens: the workflow's, and the scheduler's if set. */
export function allowedCallers(config: SlackAppConfig): AllowedCaller[] {
  return [
    { email: config.workflowServiceAccount, uniqueId: config.workflowServiceAccountId },
    ...(config.schedulerServiceAccount === null ? [] : [{ email: config.schedulerServiceAccount, uniqueId: null }]),
  ];
}

export interface SlackAppServer {
  readonly approvals: Approvals;
  readonly logger: Logger;
  /** Listens; the base URL. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export async function createSlackApp(config: SlackAppConfig, deps: SlackAppDeps = {}): Promise<SlackAppServer> {
  const { App, HTTPReceiver, LogLevel } = await import('@slack/bolt');
  const now = deps.now ?? (() => new Date());
  const logger = jsonLogger({
    component: 'slack-app',
    project: config.project,
    ...(deps.write === undefined ? {} : { write: deps.write }),
  });
  const db = deps.firestore ?? lazyFirestore({ projectId: config.project, databaseId: config.firestoreDatabase });
  const store = new FirestoreApprovalStore(db, approvalCollections(config.collectionPrefix), config.retentionDays);
  const baselines = new FirestoreBaselineStore(db, config.baselineCollection);
  const verifier =
    deps.verifier ??
    (config.localTokens
      ? new LocalIdTokenVerifier(
          allowedCallers(config).map((c) => c.email),
          () => now().getTime(),
        )
      : new GoogleIdTokenVerifier(allowedCallers(config), deps.oidcClient));
  const tokens =
    deps.tokens ??
    (config.localTokens ? new LocalAccessTokens(config.workflowServiceAccount, () => now().getTime()) : new GoogleAccessTokens());

  const boltLogger = {
    debug: () => undefined,
    info: (...m: unknown[]) => logger.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => logger.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => logger.error(m.map(String).join(' ')),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
  const receiver = new HTTPReceiver({ signingSecret: config.signingSecret, processBeforeResponse: true, logger: boltLogger });
  const app = new App({
    receiver,
    token: config.botToken,
    tokenVerificationEnabled: false,
    logger: boltLogger,
    clientOptions: {
      slackApiUrl: config.slackApiUrl,
      // Inside a request the app cannot wait out a long Retry-After: a refused call leaves the message stale for a later sync.
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 1, factor: 2, minTimeout: 100, maxTimeout: 300 },
      timeout: 2000,
    },
  });
  const slack = new WebApiMessenger(app.client, () => now().getTime());
  const approvals = new Approvals({
    store,
    slack,
    tokens,
    channel: config.channel,
    approvers: config.approvers,
    requiredApprovals: config.requiredApprovals,
    logger,
    now,
    ...(deps.deliveryBudgetMs === undefined ? {} : { deliveryBudgetMs: deps.deliveryBudgetMs }),
  });
  registerActions(app, { approvals });
  const history =
    deps.history !== undefined
      ? deps.history
      : config.executions === null
        ? null
        : new WorkflowsExecutionStarter({
            project: config.project,
            location: config.executions.location,
            workflow: config.executions.workflow,
            apiUrl: config.executions.apiUrl,
            localSubject: 'bootwarden-slack-app@bootwarden.local',
            now: () => now().getTime(),
          });
  registerCommands(app, { approvals, store, recentBaselines: (n) => baselines.recent(n), history });
  app.error(async (error) => {
    const e = error as Error & { code?: string; original?: unknown };
    const cause = e.original instanceof Error ? e.original.message : undefined;
    logger.error(`a Slack request failed: ${e.message}${cause === undefined ? '' : ` (${cause})`}`, { code: e.code ?? 'internal' });
    return Promise.resolve();
  });
  const internal = {
    approvals,
    store,
    verifier,
    audience: config.appUrl,
    callers: endpointCallers(config.workflowServiceAccount, config.schedulerServiceAccount),
    callbackTarget: config.localTokens ? ('loopback' as const) : ('google' as const),
    project: config.project,
    loopbackOnly: config.localTokens,
    logger,
    now,
  };

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    const fail = (e: unknown): void => {
      logger.error(`request to ${path} failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    };
    if (INTERNAL_PATHS.includes(path)) return void handleInternal(internal, req, res, path).catch(fail);
    if (path === SLACK_EVENTS_PATH && req.method === 'POST') {
      return void readBody(req, MAX_SLACK_BODY_BYTES)
        .then((raw) => {
          if (raw === null) {
            res.writeHead(413).end();
            return;
          }
          const problem = slackSignatureProblem(req.headers, raw, config.signingSecret, (deps.slackNow ?? Date.now)());
          if (problem !== null) {
            logger.warn(`refused a request to ${SLACK_EVENTS_PATH}: ${problem}`, { remote: req.socket.remoteAddress });
            res.writeHead(401).end();
            return;
          }
          // Bolt reads a buffered request's body from rawBody and verifies the signature again.
          Object.assign(req, { rawBody: raw });
          receiver.requestListener(req, res);
        })
        .catch(fail);
    }
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no endpoint ${req.method ?? ''} ${path}` }));
  });

  return {
    approvals,
    logger,
    listen: (port, host) =>
      new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Work that followed an answer finishes before the process goes (SIGTERM gives Cloud Run 10 s).
      await approvals.settled();
    },
  };
}
