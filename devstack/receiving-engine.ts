/**
 * A local Workflows engine whose response workflow only receives: each execution takes its
 * argument and ends, and the engine keeps what it was started with. The function's tests and its
 * benchmark point the function's Workflows client at it (its Executions API on loopback) to see
 * which executions the function starts, with which argument and labels.
 */
import { loadLocalWorkflowText, startLocalEngine, type LocalEngine } from '@bootwarden/workflows-emulator';
import { RESPONSE_WORKFLOW_ID } from '../core/contracts.js';

const RECEIVER = 'main:\n  params: [args]\n  steps:\n    - received:\n        return: ${args.eventKey}\n';

export async function startReceivingEngine(projectId: string): Promise<LocalEngine> {
  const local = await startLocalEngine({ projectId });
  local.engine.deploy(RESPONSE_WORKFLOW_ID, loadLocalWorkflowText(RECEIVER, 'receiver.workflows.yaml'));
  return local;
}
