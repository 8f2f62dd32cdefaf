/**
 * Step 6 of the local stack's timeline: the history as an operator reads it, through the same
 * use case as `bootwarden history` (core/history.ts): the executions from the engine's Executions
 * API (the official Workflows client) and the approvals' audit trail in Firestore.
 */
import { approvalCollections, FirestoreApprovalStore } from '../adapters/gcp/firestore-approval-store.js';
import { WorkflowsExecutionStarter } from '../adapters/gcp/workflows-execution-starter.js';
import { RESPONSE_WORKFLOW_ID } from '../core/contracts.js';
import { readHistory } from '../core/history.js';
import type { LocalStack } from './stack.js';

/** The history of each named VM, as `bootwarden history --instance <id>` prints it. */
export async function printHistory(stack: LocalStack, say: (line: string) => void, names: readonly string[]): Promise<void> {
  const executions = new WorkflowsExecutionStarter({
    project: stack.projectId,
    location: stack.engine.location,
    workflow: RESPONSE_WORKFLOW_ID,
    apiUrl: stack.workflowsUrl,
    now: () => stack.now(),
  });
  const audit = new FirestoreApprovalStore(() => Promise.resolve(stack.db), approvalCollections(stack.collectionPrefix));
  for (const name of names) {
    const id = stack.simulated.vm(name).ref.id;
    const history = await readHistory({ executions, audit }, { instance: id, limit: 10 });
    say(`   ${name} (instance ${id}):`);
    say('     executions (from the Executions API):');
    for (const line of history.executions ?? []) say(`       ${line}`);
    say('     approvals (the audit trail in Firestore):');
    for (const line of history.approvals) say(`       ${line}`);
  }
}
