/** What the benchmark's child processes print, shared by the parent and the children. */

/** Marks the child-replay statistics line on stdout, after the CLI's own output. */
export const STATS_PREFIX = 'BENCH_CHILD_STATS ';

export interface ParseChildResult {
  readonly seconds: number;
  readonly readSeconds: number;
  readonly parseSeconds: number;
  readonly maxRssKb: number;
  readonly entries: number | null;
}

export interface ReplayChildStats {
  readonly exitCode: number;
  readonly seconds: number;
  readonly maxRssKb: number;
}

/** Marks the waiting-executions child's statistics line (workflows benchmark). */
export const WAITING_PREFIX = 'BENCH_WORKFLOWS_WAITING ';

export interface WaitingStats {
  readonly executions: number;
  readonly heapBytesPerExecution: number;
  readonly completed: number;
  readonly deliverSeconds: number;
}
