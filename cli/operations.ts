/**
 * What the operators' commands (`history`, `instances`, `relearn`) open: the project's Firestore
 * (the emulator when FIRESTORE_EMULATOR_HOST is set), and the Workflows and Compute APIs through
 * their official clients (local stand-ins when BOOTWARDEN_WORKFLOWS_API_URL or
 * BOOTWARDEN_COMPUTE_API_URL is set). Each is created on first use and closed by `close`.
 */
import { ComputeInstances } from '../adapters/gcp/compute-instances.js';
import { approvalCollections, FirestoreApprovalStore } from '../adapters/gcp/firestore-approval-store.js';
import { lazyFirestore } from '../adapters/gcp/firestore-client.js';
import { collectionNames, FirestoreInstanceState } from '../adapters/gcp/firestore-stores.js';
import { WorkflowsExecutionStarter } from '../adapters/gcp/workflows-execution-starter.js';
import { BootwardenError } from '../core/errors.js';
import type { CommandIo } from './io.js';

export interface Operations {
  readonly project: string;
  readonly instanceState: FirestoreInstanceState;
  readonly approvals: FirestoreApprovalStore;
  /** The Executions API; throws a usage error naming BOOTWARDEN_WORKFLOW_LOCATION when it is not set. */
  executions(command: string): WorkflowsExecutionStarter;
  readonly compute: ComputeInstances;
  close(): Promise<void>;
}

export function projectOf(command: string, io: CommandIo, option: string | undefined): string {
  const project = option ?? io.config.project;
  if (project === null)
    throw new BootwardenError(
      'usage',
      `${command}: give --project or set GOOGLE_CLOUD_PROJECT (the project of the VMs, Firestore and the workflow)`,
    );
  return project;
}

export function openOperations(command: string, io: CommandIo, project: string): Operations {
  const { config } = io;
  // Against an emulator there is no metadata server to ask for credentials.
  if (config.firestoreEmulatorHost !== null) process.env['METADATA_SERVER_DETECTION'] = 'none';
  const firestore = lazyFirestore({ projectId: project, databaseId: config.firestoreDatabase });
  const names = collectionNames(config.collectionPrefix, config.baselineCollection);
  const compute = new ComputeInstances({ apiUrl: config.computeApiUrl, localSubject: `${config.operator}@bootwarden.local` });
  return {
    project,
    instanceState: new FirestoreInstanceState(firestore, names),
    approvals: new FirestoreApprovalStore(firestore, approvalCollections(config.collectionPrefix)),
    executions: () => {
      const location = config.workflow.location;
      if (location === null)
        throw new BootwardenError(
          'usage',
          `${command}: set BOOTWARDEN_WORKFLOW_LOCATION (the region of the response workflow) to read its executions`,
        );
      return new WorkflowsExecutionStarter({
        project,
        location,
        workflow: config.workflow.name,
        apiUrl: config.workflow.apiUrl,
      });
    },
    compute,
    close: async () => {
      await compute.close();
      await firestore.close();
    },
  };
}
