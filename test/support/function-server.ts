/**
 * Runs the real function under functions-framework in a child process, as Cloud Run would. It
 * starts executions with its Workflows client in a local engine of this process, through the
 * engine's Executions API (BOOTWARDEN_WORKFLOWS_API_URL), where a receiving workflow records each
 * execution's argument and labels.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { LocalEngine } from '@bootwarden/workflows-emulator';
import { freePort, functionServerArgs, postEventarc } from '../../devstack/eventarc.js';
import { startReceivingEngine } from '../../devstack/receiving-engine.js';
import { ROOT } from './cli.js';

export interface FunctionServer {
  readonly url: string;
  /** The engine the function starts executions in (others may start executions there too). */
  readonly engine: LocalEngine['engine'];
  /** Executions the function started, in order. */
  executions(): { name: string; labels: Record<string, string>; argument: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/**
 * `source`: the function's folder or file (default: dist/functions/index.js of this checkout);
 * `framework`: functions-framework's main.js (default: the repository's); `front`: given the
 * engine's Executions API URL, the URL the function is to use instead (a front standing before it).
 */
export async function startFunction(
  env: Record<string, string>,
  opts: { source?: string; framework?: string; front?: (apiUrl: string) => Promise<string> } = {},
): Promise<FunctionServer> {
  const port = await freePort();
  const local = await startReceivingEngine('demo-bootwarden');
  const apiUrl = `${local.callbacks.url}/`;
  const workflowsApiUrl = opts.front === undefined ? apiUrl : await opts.front(apiUrl);
  const args = functionServerArgs(opts.source ?? path.join(ROOT, 'dist', 'functions', 'index.js'), port);
  if (opts.framework !== undefined) args[0] = opts.framework;
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      METADATA_SERVER_DETECTION: 'none',
      FIRESTORE_EMULATOR_HOST: process.env['FIRESTORE_EMULATOR_HOST'] ?? '',
      GOOGLE_CLOUD_PROJECT: 'demo-bootwarden',
      BOOTWARDEN_WORKFLOW_LOCATION: local.engine.location,
      BOOTWARDEN_WORKFLOWS_API_URL: workflowsApiUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const started = new Promise<void>((resolve, reject) => {
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
  try {
    await started;
  } catch (e) {
    await local.close();
    throw e;
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    engine: local.engine,
    // The engine lists newest first, executions of one millisecond in the order started.
    executions: () =>
      local.engine
        .listExecutions({})
        .map((r, i) => ({ r, i }))
        .sort((a, b) => (a.r.startTime < b.r.startTime ? -1 : a.r.startTime > b.r.startTime ? 1 : a.i - b.i))
        .map(({ r }) => ({
          name: r.name,
          labels: { ...r.labels },
          argument: JSON.parse(r.argument ?? 'null') as Record<string, unknown>,
        })),
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      await local.close();
    },
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
