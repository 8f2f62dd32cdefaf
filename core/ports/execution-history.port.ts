/** Executions of the response workflow, for operators' history (the Workflows Executions API). */
export interface ExecutionSummary {
  readonly name: string;
  /** ACTIVE, SUCCEEDED, FAILED, CANCELLED, ... */
  readonly state: string;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** The result (the workflow's report, JSON) of a SUCCEEDED execution; null otherwise. */
  readonly result: string | null;
}

export interface ExecutionHistory {
  /** The newest executions (at most `limit`) carrying every one of `labels`, newest first. */
  recent(labels: Readonly<Record<string, string>>, limit: number): Promise<ExecutionSummary[]>;
}
