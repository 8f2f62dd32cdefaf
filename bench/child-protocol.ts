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
