/**
 * The response workflow's local stack, for `npm start` and the benchmark: a Firestore emulator
 * and its client, a recording Compute fleet, the local Workflows engine (waits skipped, deadlines
 * real) with the deployed YAML, and the Slack app stand-in. `run` starts an execution and, when a
 * decision is given, makes it as an operator would once the execution waits for it.
 */
import type { Firestore } from '@google-cloud/firestore';
import { RecordingInstanceControl } from '../adapters/local/recording-instance-control.js';
import type { ApprovalDecision } from '../core/approvals.js';
import type { ResponseArgument } from '../core/contracts.js';
import { ApprovalsStandIn } from './approvals-stand-in.js';
import { startFirestoreEmulator } from './firestore-emulator.js';
import { RESPONSE_WORKFLOW_ID, responseWorkflowFile } from './response-scenarios.js';
import { SkipWaitsClock } from './workflows/clocks.js';
import type { ExecutionRecord, WorkflowEngine } from './workflows/engine.js';
import { loadLocalWorkflow, startLocalEngine } from './workflows/local-engine.js';

export interface ResponseStack {
  readonly engine: WorkflowEngine;
  readonly fleet: RecordingInstanceControl;
  readonly slackApp: ApprovalsStandIn;
  /** (Re)deploys the response workflow with this approval timeout. */
  deploy(approvalTimeoutSeconds: number): void;
  /** Runs one execution to its end; `decision` is made once it waits for one (stop paths). */
  run(
    argument: ResponseArgument,
    decision?: { decision: ApprovalDecision; approver?: { id: string; name: string } },
  ): Promise<ExecutionRecord>;
  close(): Promise<void>;
}

export async function startResponseStack(options: { projectId: string; clockStart?: number }): Promise<ResponseStack> {
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
    const fleet = new RecordingInstanceControl();
    const local = await startLocalEngine({
      clock: new SkipWaitsClock(options.clockStart),
      instances: fleet,
      firestore: () => client,
      projectId,
    });
    closers.push(() => local.close());
    const slackApp = new ApprovalsStandIn(local.tokens);
    await slackApp.start();
    closers.push(() => slackApp.close());
    const program = await loadLocalWorkflow(responseWorkflowFile());
    const engine = local.engine;
    return {
      engine,
      fleet,
      slackApp,
      deploy: (approvalTimeoutSeconds) =>
        engine.deploy(RESPONSE_WORKFLOW_ID, program, {
          BOOTWARDEN_SLACK_APP_URL: slackApp.url,
          BOOTWARDEN_APPROVAL_TIMEOUT_SECONDS: String(approvalTimeoutSeconds),
        }),
      run: async (argument, decision) => {
        const started = engine.startExecution(RESPONSE_WORKFLOW_ID, { argument: JSON.stringify(argument) });
        while (decision !== undefined && engine.getExecution(started.name).state === 'ACTIVE') {
          const request = slackApp.approvals.find((a) => a.eventKey === argument.eventKey);
          if (request !== undefined && engine.getExecution(started.name).currentStep?.step === 'wait_decision') {
            await slackApp.decide(request, decision.decision, decision.approver);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return engine.wait(started.name);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
