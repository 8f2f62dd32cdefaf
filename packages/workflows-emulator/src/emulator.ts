/**
 * The local engine wired for use: the standard library, the connectors over whatever local
 * services are given, a loopback callback server and a local token source. One place builds it
 * for the CLI, the local stack, the tests and the benchmark.
 */
import { Firestore } from '@google-cloud/firestore';
import type { ComputeFleet } from './connectors/compute-fleet.js';
import { HttpComputeFleet } from './connectors/compute-http.js';
import { LoopbackCallbackHub } from './run/callbacks.js';
import { connectorTable } from './connectors/index.js';
import { WorkflowEngine } from './executions.js';
import { handleExecutionsApi } from './executions-api.js';
import { loadWorkflow, loadWorkflowFile, type LoadOptions } from './load/loader.js';
import type { Program } from './load/program.js';
import { functionTable, type Clock, type FunctionTable, type LogRecord } from './run/runtime.js';
import { eventsFunctions } from './stdlib/events.js';
import { httpFunctions, retryFunctions } from './stdlib/http.js';
import { pureFunctions } from './stdlib/pure.js';
import { CLOUD_PLATFORM_SCOPE, LocalTokenSource } from './run/tokens.js';

let library: FunctionTable | undefined;

/** Every standard library function the local engine implements. */
export function standardLibrary(): FunctionTable {
  library ??= functionTable(pureFunctions, httpFunctions, retryFunctions, eventsFunctions);
  return library;
}

/** What the loader checks names against: the whole library and every connector (backed or not). */
export function localLoadOptions(): LoadOptions {
  return { functions: standardLibrary(), connectors: connectorTable({}) };
}

export function loadLocalWorkflow(file: string): Promise<Program> {
  return loadWorkflowFile(file, localLoadOptions());
}

export function loadLocalWorkflowText(source: string, file: string): Program {
  return loadWorkflow(source, file, localLoadOptions());
}

export interface LocalEngineOptions {
  /** Backs the googleapis.compute.v1.instances.* connectors. */
  readonly instances?: ComputeFleet;
  /**
   * Or: the connectors call a Compute v1 REST API at this URL (ending in /compute/v1/), with the
   * engine's OAuth2 tokens, as they call compute.googleapis.com in the cloud.
   */
  readonly computeApiUrl?: string;
  /** Backs the googleapis.firestore.v1.* connectors; called on first use. */
  readonly firestore?: () => Firestore;
  readonly clock?: Clock;
  /** Where executions are recorded, for `bootwarden workflows history`. */
  readonly directory?: string;
  readonly projectId?: string;
  /** The process environment: FIRESTORE_EMULATOR_HOST there backs the Firestore connector. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onLog?: (execution: string, record: LogRecord) => void;
}

export interface LocalEngine {
  readonly engine: WorkflowEngine;
  /** Its origin (`callbacks.url`) also serves the Workflow Executions API v1 (create, list, get, cancel). */
  readonly callbacks: LoopbackCallbackHub;
  readonly tokens: LocalTokenSource;
  close(): Promise<void>;
}

export async function startLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngine> {
  if (options.instances !== undefined && options.computeApiUrl !== undefined)
    throw new Error('startLocalEngine: give the Compute connectors either `instances` or `computeApiUrl`, not both');
  const tokens = new LocalTokenSource(options.clock === undefined ? {} : { clock: options.clock });
  const instances =
    options.computeApiUrl === undefined
      ? options.instances
      : new HttpComputeFleet({ url: options.computeApiUrl, accessToken: () => tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE) });
  const callbacks = new LoopbackCallbackHub({ tokens, ...(options.clock === undefined ? {} : { clock: options.clock }) });
  await callbacks.start();
  let firestore = options.firestore;
  let ownFirestore: Firestore | undefined;
  const emulator = options.env?.['FIRESTORE_EMULATOR_HOST'];
  if (firestore === undefined && emulator !== undefined && emulator !== '') {
    const projectId = options.projectId ?? options.env?.['GOOGLE_CLOUD_PROJECT'] ?? 'local-project';
    // Created on the first Firestore connector call; the SDK reads FIRESTORE_EMULATOR_HOST itself.
    firestore = () => (ownFirestore ??= new Firestore({ projectId, useBigInt: true }));
  }
  const engine = new WorkflowEngine({
    functions: standardLibrary(),
    connectors: connectorTable({
      ...(instances === undefined ? {} : { instances }),
      ...(firestore === undefined ? {} : { firestore }),
    }),
    callbacks,
    tokens,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.directory === undefined ? {} : { directory: options.directory }),
    ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });
  // The Executions API shares the callbacks' origin, as both share workflowexecutions.googleapis.com.
  callbacks.serveApi((req, res, url) => handleExecutionsApi(engine, req, res, url));
  return {
    engine,
    callbacks,
    tokens,
    close: async () => {
      await engine.close();
      await callbacks.close();
      await ownFirestore?.terminate();
    },
  };
}
