/** Builds the ingest dependencies from configuration: the one place where adapters are chosen. */
import type { IngestDeps, IngestSettings } from '../core/ingest.js';
import type { Logger } from '../core/ports/logger.port.js';
import type { ExecutionStarter } from '../core/ports/execution-starter.port.js';
import { lazyFirestore, type FirestoreProvider } from '../adapters/gcp/firestore-client.js';
import {
  collectionNames,
  FirestoreBaselineStore,
  FirestoreEventLedger,
  FirestoreInstanceState,
  FirestoreRejectedInputs,
  FirestoreStopSlots,
} from '../adapters/gcp/firestore-stores.js';
import { WorkflowsExecutionStarter } from '../adapters/gcp/workflows-execution-starter.js';
import type { FunctionConfig } from '../core/config.js';

export interface Wiring {
  readonly deps: Omit<IngestDeps, 'logger'>;
  readonly settings: IngestSettings;
  /** A delivery not handled within this time fails, so that it is redelivered rather than hanging. */
  readonly deadlineMs: number;
}

export function settingsFrom(config: FunctionConfig): IngestSettings {
  return {
    dryRun: config.dryRun,
    stopOnEarlyBootFailure: config.stopOnEarlyBootFailure,
    allowedProjects: config.allowedProjects,
    sourceTopic: config.sourceTopic,
    claimLeaseMs: config.claimLeaseSeconds * 1000,
    waitForOwnerMs: config.waitForOwnerSeconds * 1000,
    pollMs: 200,
    collections: collectionNames(config.collectionPrefix, config.baselineCollection),
    blastRadius: config.blastRadius,
    maxBootCounterJump: config.maxBootCounterJump,
  };
}

/** `now`: the clock local tokens are minted on (the simulated cloud's, in the local stack). */
export function starterFrom(config: FunctionConfig, now: () => Date = () => new Date()): ExecutionStarter {
  const e = config.executions;
  return new WorkflowsExecutionStarter({
    project: config.project,
    location: e.location,
    workflow: e.workflow,
    apiUrl: e.apiUrl,
    now: () => now().getTime(),
  });
}

export function wire(
  config: FunctionConfig,
  overrides: { firestore?: FirestoreProvider; starter?: ExecutionStarter; now?: () => Date } = {},
): Wiring {
  const db = overrides.firestore ?? lazyFirestore({ projectId: config.project, databaseId: config.firestoreDatabase });
  const names = collectionNames(config.collectionPrefix, config.baselineCollection);
  return {
    deps: {
      baselines: new FirestoreBaselineStore(db, names.baselines),
      ledger: new FirestoreEventLedger(db, names, config.retentionDays),
      instances: new FirestoreInstanceState(db, names),
      rejected: new FirestoreRejectedInputs(db, names, config.retentionDays),
      stopSlots: new FirestoreStopSlots(db, names.stopSlots),
      starter: overrides.starter ?? starterFrom(config, overrides.now),
      now: overrides.now ?? (() => new Date()),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    settings: settingsFrom(config),
    deadlineMs: config.deadlineSeconds * 1000,
  };
}

export type { Logger };
