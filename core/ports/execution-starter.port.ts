import type { ResponseArgument } from '../contracts.js';

export interface StartedExecution {
  /** Full resource name: projects/P/locations/L/workflows/W/executions/ID (or the local engine's equivalent). */
  readonly name: string;
}

/**
 * Starts executions of the response workflow. Executions cannot be given an id, so a caller that
 * may be retrying after a crash asks `findByEventKey` first (executions carry the event key as a
 * label). Implementations throw a retryable BootwardenError when the service is unavailable
 * (429, 5xx, deadline) and a permanent one when the request itself is refused.
 */
export interface ExecutionStarter {
  start(argument: ResponseArgument, labels: Readonly<Record<string, string>>): Promise<StartedExecution>;
  /**
   * The execution already started for this event, if any (label `event` = the event key's label
   * form). `startedSince` is when the event was first claimed: no execution for it started
   * earlier, so the lookup covers every execution started since then, however many.
   */
  findByEventKey(eventKeyLabel: string, startedSince: string): Promise<StartedExecution | null>;
}
