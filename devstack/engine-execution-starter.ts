/**
 * The ExecutionStarter port on the local engine: the function's executions run the deployed YAML
 * in-process, exactly as Cloud Workflows would run it. The executions carry the same labels, so
 * `findByEventKey` answers from the engine's own list like the cloud's label filter does.
 */
import { encodeArgument, type ResponseArgument } from '../core/contracts.js';
import { BootwardenError } from '../core/errors.js';
import type { ExecutionStarter, StartedExecution } from '../core/ports/execution-starter.port.js';
import { EngineError, type WorkflowEngine } from '@bootwarden/workflows-emulator';

export class EngineExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly engine: WorkflowEngine,
    readonly workflowId: string,
  ) {}

  start(argument: ResponseArgument, labels: Readonly<Record<string, string>>): Promise<StartedExecution> {
    const text = encodeArgument(argument);
    try {
      const record = this.engine.startExecution(this.workflowId, { argument: text, labels });
      return Promise.resolve({ name: record.name });
    } catch (e) {
      if (e instanceof EngineError) {
        // Refusals of the request are permanent, like a 400/404 from the Executions API.
        return Promise.reject(
          new BootwardenError(e.code === 'not_found' ? 'not_found' : 'invalid_input', `local engine: ${e.message}`, { cause: e }),
        );
      }
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  findByEventKey(eventKeyLabel: string): Promise<StartedExecution | null> {
    const found = this.engine.listExecutions({ workflowId: this.workflowId, labels: { event: eventKeyLabel } })[0];
    return Promise.resolve(found === undefined ? null : { name: found.name });
  }
}
