/**
 * The local stack, one process, every part behind the port or client the cloud uses:
 * - Firestore: the emulator (gcloud's when installed, else the npm one) through the official client;
 * - Compute: the simulated fleet (devstack/fleet/: Shielded VMs that boot, measure and log) served as
 *   the Compute v1 REST API on loopback, which the engine's Compute connectors call over HTTP;
 * - Cloud Workflows: the local engine running workflows/integrity-response.workflows.yaml as deployed
 *   (waits skipped, deadlines real);
 * - the Slack app: the real one (slack-app/), on the engine's clock, with the Slack Web API stand-in;
 *   an operator can be told to click every approval message (autoDecide);
 * - the function: the real handler (functions/entry.ts) served by functions-framework on loopback,
 *   starting executions with its real Workflows client through the engine's Executions API.
 * `npm start`, `npm run function`, the benchmark and the tests all start it here.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import {
  loadLocalWorkflow,
  LocalTokenSource,
  SkipWaitsClock,
  startLocalEngine,
  type ExecutionRecord,
  type LocalEngine,
  type WorkflowEngine,
} from '@bootwarden/workflows-emulator';
import type { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
import type { ApprovalDecision } from '../core/approvals.js';
import { RESPONSE_WORKFLOW_ID, type ResponseArgument } from '../core/contracts.js';
import { createFunction, FUNCTION_TARGET } from '../functions/entry.js';
import { startComputeServer } from './fleet/compute-server.js';
import { SimulatedFleet, type FleetInstance } from './fleet/simulated-fleet.js';
import { startFirestoreEmulator, type FirestoreEmulator } from './firestore-emulator.js';
import { LocalLogSink, type LogSinkOptions } from './log-sink.js';
import { responseWorkflowFile } from './response-scenarios.js';
import { decideInSlack, startLocalSlackApp, type AutoDecision, type LocalSlackApp } from './slack-local.js';
import type { SlackUser } from './slack-web-api.js';

export interface StackOptions {
  readonly projectId: string;
  /** Where the engine's clock starts (default: now). */
  readonly clockStart?: number;
  /** How long an execution waits for a decision (default 86400 s, as deployed). */
  readonly approvalTimeoutSeconds?: number;
  /** An operator clicks every approval message in Slack, as soon as it is posted or once the stack has settled. */
  readonly autoDecide?: AutoDecision;
  /**
   * BOOTWARDEN_COLLECTION_PREFIX of the function, the workflow and the Slack app (default
   * bootwarden_); the function's environment may not say otherwise.
   */
  readonly collectionPrefix?: string;
  /** BOOTWARDEN_BASELINE_COLLECTION of the function and the workflow (default known_good_measurements). */
  readonly baselineCollection?: string;
  /** The fleet's instances (more can be added with `simulated.add`). */
  readonly instances?: readonly FleetInstance[];
  /** The log sink's fault injection (duplicates, republished entries, delays); with `function`. */
  readonly sink?: Pick<LogSinkOptions, 'duplicateRate' | 'republishRate' | 'maxDelayMs' | 'seed'>;
  /** Serve the function too: its environment (the function's configuration), port and log sink. */
  readonly function?: {
    readonly env?: Readonly<Record<string, string>>;
    readonly port?: number;
    readonly write?: (line: string) => void;
  };
}

export interface LocalStack {
  readonly projectId: string;
  /** BOOTWARDEN_COLLECTION_PREFIX of the function, the workflow and the Slack app. */
  readonly collectionPrefix: string;
  /** The simulated cloud's clock (the engine's, the function's, the fleet's). */
  now(): number;
  readonly emulator: FirestoreEmulator;
  readonly db: Firestore;
  readonly engine: WorkflowEngine;
  readonly local: LocalEngine;
  /** Compute's view of the fleet: every call it answered, instances by name or id. */
  readonly fleet: RecordingComputeFleet;
  /** The simulated VMs behind it: chains to install, guest reboots, the entries they write. */
  readonly simulated: SimulatedFleet;
  /** The fleet's Compute v1 REST API (`http://127.0.0.1:<port>/compute/v1/`). */
  readonly computeUrl: string;
  /** The engine's Workflow Executions API (`http://127.0.0.1:<port>/`). */
  readonly workflowsUrl: string;
  readonly slackApp: LocalSlackApp;
  /** The function's URL, when it is served. */
  readonly functionUrl: string | null;
  /** With the function: the log sink that pushes every entry the fleet writes to it, as Eventarc does. */
  readonly sink: LocalLogSink | null;
  /** (Re)deploys the response workflow with this approval timeout. */
  deploy(approvalTimeoutSeconds: number): void;
  /** Runs one execution to its end; `decision` is made once it waits for one (stop paths). */
  run(argument: ResponseArgument, decision?: { decision: ApprovalDecision; user?: SlackUser }): Promise<ExecutionRecord>;
  /** Resolves when no execution is ACTIVE; the records of every execution. */
  settle(): Promise<ExecutionRecord[]>;
  /**
   * Resolves when the whole loop is quiet: nothing in the log sink, no click on its way, no
   * execution ACTIVE (except those waiting for a decision nobody will click). Executions that
   * start VMs make new entries: it waits for those too. The records of every execution.
   */
  quiet(): Promise<ExecutionRecord[]>;
  close(): Promise<void>;
}

/**
 * The function's environment in the local stack: its project, and a Workflows location that its
 * configuration requires (the local engine starts the executions, so any region does).
 */
export function localFunctionEnv(projectId: string, env: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { GOOGLE_CLOUD_PROJECT: projectId, BOOTWARDEN_WORKFLOW_LOCATION: 'us-central1', ...env };
}

export async function startLocalStack(options: StackOptions): Promise<LocalStack> {
  const projectId = options.projectId;
  const emulator = await startFirestoreEmulator({ projectId });
  // The clients talk to the emulator only: no metadata server to ask.
  const env: Record<string, string> = { FIRESTORE_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: 'none' };
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  let db: Firestore | undefined;
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
    await db?.terminate();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await emulator.stop();
  };
  try {
    const { Firestore: Client } = await import('@google-cloud/firestore');
    const client = new Client({ projectId });
    db = client;
    const clock = new SkipWaitsClock(options.clockStart ?? Date.now());
    const simulated = new SimulatedFleet(() => clock.now());
    for (const vm of options.instances ?? []) simulated.add(vm);
    const fleet = simulated.compute;
    // The engine's tokens and the Compute server's check run on the one clock of the simulated cloud.
    const compute = await startComputeServer({ fleet, tokens: new LocalTokenSource({ clock }) });
    closers.push(() => compute.close());
    const computeUrl = compute.url;
    const local = await startLocalEngine({
      clock,
      computeApiUrl: computeUrl,
      firestore: () => client,
      projectId,
    });
    closers.push(() => local.close());
    // The function and the workflow are deployed with the same collections, as in the cloud.
    const collectionEnv = {
      BOOTWARDEN_COLLECTION_PREFIX: options.collectionPrefix ?? 'bootwarden_',
      BOOTWARDEN_BASELINE_COLLECTION: options.baselineCollection ?? 'known_good_measurements',
    };
    const slackApp = await startLocalSlackApp(collectionEnv.BOOTWARDEN_COLLECTION_PREFIX, {
      // `/bootwarden history` reads the engine's executions through its Executions API.
      env: { BOOTWARDEN_WORKFLOW_LOCATION: local.engine.location, BOOTWARDEN_WORKFLOWS_API_URL: `${local.callbacks.url}/` },
      deps: { firestore: () => Promise.resolve(client), now: () => new Date(clock.now()), write: () => undefined },
      ...(options.autoDecide === undefined ? {} : { autoDecide: options.autoDecide }),
    });
    closers.push(() => slackApp.close());
    const program = await loadLocalWorkflow(responseWorkflowFile());
    const engine = local.engine;
    const deploy = (approvalTimeoutSeconds: number): void =>
      engine.deploy(RESPONSE_WORKFLOW_ID, program, {
        BOOTWARDEN_SLACK_APP_URL: slackApp.url,
        BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: String(approvalTimeoutSeconds),
        ...collectionEnv,
      });
    deploy(options.approvalTimeoutSeconds ?? 86_400);
    let functionUrl: string | null = null;
    let sink: LocalLogSink | null = null;
    if (options.function !== undefined) {
      const topic = `projects/${projectId}/topics/shielded-vm-integrity`;
      const server = await serveFunction(
        // The function starts executions through its real Workflows client, over the engine's
        // Executions API on loopback, and acts only on the sink's topic.
        localFunctionEnv(projectId, {
          BOOTWARDEN_SOURCE_TOPIC: topic,
          ...options.function.env,
          ...collectionEnv,
          BOOTWARDEN_WORKFLOWS_API_URL: `${local.callbacks.url}/`,
        }),
        options.function.port ?? 0,
        options.function.write,
        // One time for the whole simulated cloud: the function, the engine and the fleet.
        () => new Date(clock.now()),
      );
      closers.push(server.close);
      functionUrl = server.url;
      const routed = new LocalLogSink({ functionUrl, project: projectId, now: () => clock.now(), ...options.sink });
      const unsubscribe = simulated.onEntry((entry) => routed.write(entry));
      closers.push(async () => {
        unsubscribe();
        await routed.close();
      });
      sink = routed;
    }
    return {
      projectId,
      collectionPrefix: collectionEnv.BOOTWARDEN_COLLECTION_PREFIX,
      now: () => clock.now(),
      emulator,
      db: client,
      engine,
      local,
      fleet,
      simulated,
      computeUrl,
      workflowsUrl: `${local.callbacks.url}/`,
      slackApp,
      functionUrl,
      sink,
      deploy,
      run: async (argument, decision) => {
        const started = engine.startExecution(RESPONSE_WORKFLOW_ID, { argument: JSON.stringify(argument) });
        if (decision !== undefined) {
          // Only a stopped VM waits for a decision; any other path ends without one.
          const waiting = await Promise.race([
            engine.reached(started.name, 'wait_decision').then(
              () => true,
              () => false,
            ),
            engine.wait(started.name).then(() => false),
          ]);
          if (waiting) await decideInSlack(slackApp, started.name, decision.decision, decision.user);
        }
        return engine.wait(started.name);
      },
      settle: async () => {
        for (;;) {
          const active = engine.listExecutions({ state: 'ACTIVE' });
          if (active.length === 0) break;
          await Promise.all(active.map((r) => engine.wait(r.name)));
        }
        return engine.listExecutions({});
      },
      quiet: async () => {
        // What moves: deliveries, executions and their steps, clicks. Quiet is two looks alike.
        const signature = (): string =>
          [
            sink?.deliveries.length ?? 0,
            slackApp.autoDecisions.length,
            ...engine.listExecutions({}).map((r) => `${r.state}:${r.steps.length}`),
          ].join(',');
        let last = '';
        for (;;) {
          await sink?.settled();
          await Promise.all(slackApp.autoDecisions);
          await slackApp.app.approvals.settled();
          // An execution waiting for operators stays ACTIVE until someone decides: not waited for.
          const running = engine.listExecutions({ state: 'ACTIVE' }).filter((r) => r.currentStep?.step !== 'wait_decision');
          // Each runs to its end or to its wait for operators.
          await Promise.all(
            running.map((r) =>
              Promise.race([engine.wait(r.name), engine.reached(r.name, 'wait_decision').catch(() => engine.wait(r.name))]),
            ),
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
          const now = signature();
          if (now === last && running.length === 0) {
            // Settled: an operator who reads before deciding clicks now, and things move again.
            if (slackApp.decideOpen() === 0) break;
          }
          last = now;
        }
        return engine.listExecutions({});
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The function under functions-framework, in this process: the framework's own server (the one
 * `functions-framework --target=onIntegrityEvent` runs) around the handler Cloud Run runs.
 */
async function serveFunction(
  env: Readonly<Record<string, string>>,
  port: number,
  write: ((line: string) => void) | undefined,
  now: () => Date,
): Promise<{ url: string; close: () => Promise<void> }> {
  const framework = await import('@google-cloud/functions-framework');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  framework.cloudEvent(FUNCTION_TARGET, createFunction({ env, overrides: { now }, ...(write === undefined ? {} : { write }) }));
  const server: http.Server = getTestServer(FUNCTION_TARGET);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
