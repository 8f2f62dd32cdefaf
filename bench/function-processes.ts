/**
 * Processes of the function benchmark: functions-framework servers and one-shot node children.
 * Every process started here is tracked, so that an interrupted benchmark can kill it
 * (`killFunctionProcesses`, called next to children.ts's `killChildren`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { functionServerArgs } from '../devstack/eventarc.js';

const running = new Set<ChildProcess>();

/** Kills the processes of the function benchmark still running (the benchmark was interrupted). */
export function killFunctionProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}

export { freePort } from '../devstack/eventarc.js';

const TAIL_BYTES = 16 * 1024;

export interface NodeProcess {
  readonly pid: number;
  /** performance.now() just before spawn. */
  readonly spawnedAt: number;
  /** How it ended ("status 1", "signal SIGKILL"), null while it runs. */
  exited(): string | null;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Peak resident set size (VmHWM) in kB from /proc, null when unavailable. */
  peakRssKb(): number | null;
  /** Resolves with the first stdout line for which `match` is true; rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `node ...args` with exactly `env` (plus PATH). `onLine` sees each stdout line as it
 * arrives (a server's structured logs); stderr is kept for the tail only.
 */
export function spawnNode(args: readonly string[], env: Record<string, string>, onLine?: (line: string) => void): NodeProcess {
  let tail = '';
  let exited: string | null = null;
  let pending = '';
  const lineWaiters = new Set<(line: string) => void>();
  const exitWaiters = new Set<() => void>();
  const keep = (s: string): void => {
    tail = (tail + s).slice(-TAIL_BYTES);
  };
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exitPromise = new Promise<void>((resolve) => {
    const done = (how: string): void => {
      running.delete(child);
      exited ??= how;
      for (const w of exitWaiters) w();
      resolve();
    };
    child.once('exit', (code, signal) => done(signal !== null ? `signal ${signal}` : `status ${String(code)}`));
    child.once('error', (e) => done(`spawn failed: ${e.message}`));
  });
  child.stdout.on('data', (b: Buffer) => {
    const s = b.toString('utf8');
    keep(s);
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      onLine?.(line);
      for (const w of lineWaiters) w(line);
    }
  });
  child.stderr.on('data', (b: Buffer) => keep(b.toString('utf8')));
  const pid = child.pid ?? -1;
  return {
    pid,
    spawnedAt,
    exited: () => exited,
    tail: () => tail.trim().split('\n').slice(-8).join('\n'),
    peakRssKb: () => {
      try {
        const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m === null ? null : Number(m[1]);
      } catch {
        return null;
      }
    },
    waitForLine: (match, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const finish = (): void => {
          clearTimeout(timer);
          lineWaiters.delete(onAnyLine);
          exitWaiters.delete(onExit);
        };
        const onAnyLine = (line: string): void => {
          if (!match(line)) return;
          finish();
          resolve(line);
        };
        const onExit = (): void => {
          finish();
          reject(
            new Error(`process ${pid} ended (${exited ?? '?'}) before the expected line: ${tail.trim().split('\n').slice(-8).join(' | ')}`),
          );
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`process ${pid} did not print the expected line within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        lineWaiters.add(onAnyLine);
        exitWaiters.add(onExit);
        if (exited !== null) onExit();
      }),
    stop: async (graceMs = 5_000) => {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

/** A functions-framework server for `target` in `source`, on `port`, as Cloud Run runs it. */
export function spawnFunctionServer(
  opts: { target: string; source: string; port: number; env: Record<string, string> },
  onLine?: (line: string) => void,
): NodeProcess {
  return spawnNode(functionServerArgs(opts.source, opts.port, opts.target), opts.env, onLine);
}
