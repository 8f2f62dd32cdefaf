/** Runs the benchmark's helper scripts in their own `node` processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn to exit, as seen by the parent (includes node's start-up). */
  readonly wallSeconds: number;
}

const running = new Set<ChildProcess>();

/** Compiled helper `name` next to this file (dist/bench/). */
export function helperPath(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

/** Kills the children still running (the benchmark was interrupted). */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Spawns `node <script> ...args`; its stderr is relayed to ours line by line with `label`. */
export function runNode(script: string, args: readonly string[], label: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let pending = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      pending += b.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`bench: [${label}] ${line}\n`);
    });
    child.on('error', (e) => {
      running.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      if (pending !== '') process.stderr.write(`bench: [${label}] ${pending}\n`);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallSeconds: (performance.now() - started) / 1000,
      });
    });
  });
}
