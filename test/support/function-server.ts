/** Runs the real function under functions-framework in a child process, as Cloud Run would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, functionServerArgs, postEventarc } from '../../devstack/eventarc.js';
import { ROOT } from './cli.js';

export interface FunctionServer {
  readonly url: string;
  readonly executionsLog: string;
  /** Executions the local starter recorded, in order. */
  executions(): { name: string; labels: Record<string, string>; argument: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/**
 * `source`: the function's folder or file (default: dist/functions/index.js of this checkout);
 * `framework`: functions-framework's main.js (default: the repository's).
 */
export async function startFunction(
  env: Record<string, string>,
  dir: string,
  opts: { source?: string; framework?: string } = {},
): Promise<FunctionServer> {
  const port = await freePort();
  const executionsLog = path.join(dir, 'executions.jsonl');
  const args = functionServerArgs(opts.source ?? path.join(ROOT, 'dist', 'functions', 'index.js'), port);
  if (opts.framework !== undefined) args[0] = opts.framework;
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      METADATA_SERVER_DETECTION: 'none',
      FIRESTORE_EMULATOR_HOST: process.env['FIRESTORE_EMULATOR_HOST'] ?? '',
      GOOGLE_CLOUD_PROJECT: 'demo-bootwarden',
      BOOTWARDEN_EXECUTIONS: 'local',
      BOOTWARDEN_LOCAL_EXECUTIONS_LOG: executionsLog,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`function did not start within 20 s:\n${output}`)), 20_000);
    const check = (): void => {
      if (output.includes('Serving function')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`function exited with ${String(code)}:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    executionsLog,
    executions: () =>
      existsSync(executionsLog)
        ? readFileSync(executionsLog, 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as { name: string; labels: Record<string, string>; argument: Record<string, unknown> })
        : [],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Eventarc delivery in binary content mode: ce-* headers, the messagePublished body as JSON. */
export function postBinary(url: string, body: unknown, id?: string): Promise<Response> {
  return postEventarc(url, body, { id, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
}

/** The same delivery in structured content mode: one application/cloudevents+json document. */
export function postStructured(url: string, body: unknown, id?: string): Promise<Response> {
  return postEventarc(url, body, { id, mode: 'structured' });
}
