/**
 * A local Firestore emulator for the tests and the local stack.
 *
 * Two kinds, one interface:
 * - `gcloud`: Google's emulator (`gcloud emulators firestore start`, a Java server). The reference:
 *   it behaves like production, preconditions and transactions included. Needs the Cloud SDK with
 *   its `cloud-firestore-emulator` component and a Java runtime.
 * - `npm`: `@firestore-emulator/server` (a devDependency), an in-process gRPC server. Starts in
 *   milliseconds and needs nothing else, but it is partial (0.3.15): it ignores `lastUpdateTime`
 *   preconditions, ignores query cursors (`startAfter`, `startAt`...) and `orderBy('__name__')`
 *   (documents come in insertion order), and lacks ListDocuments, ListCollectionIds and BatchWrite
 *   (so `listDocuments()`, `listCollections()`, `bulkWriter()`, `recursiveDelete()` fail), and its
 *   transactions are not isolated (10 concurrent read-increment transactions leave 1, not 10).
 *   Create-once, `exists` preconditions, field `orderBy` + `limit`, merges and transforms work.
 *
 * `prefer: 'auto'` (the default) takes gcloud when it is installed and falls back to npm when it is
 * not or when it fails to start. `BOOTWARDEN_FIRESTORE_EMULATOR=gcloud|npm` overrides `prefer`.
 * Both bind to loopback only. Nothing is started, and no SDK is loaded, until a call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BootwardenError } from '../core/errors.js';

export type FirestoreEmulatorKind = 'gcloud' | 'npm';
export type FirestoreEmulatorPreference = 'auto' | FirestoreEmulatorKind;

export interface FirestoreEmulatorOptions {
  /** Address to bind; default 127.0.0.1. The emulators have no authentication: keep it on loopback. */
  host?: string;
  /** Port to bind; 0 or unset picks a free port. */
  port?: number;
  /** Project the gcloud command runs under (the emulator itself serves every project). Default `demo-bootwarden`. */
  projectId?: string;
  /** Which emulator; `BOOTWARDEN_FIRESTORE_EMULATOR` overrides it. Default `auto`. */
  prefer?: FirestoreEmulatorPreference;
}

export interface FirestoreEmulator {
  /** What to put in FIRESTORE_EMULATOR_HOST, e.g. `127.0.0.1:8412`. */
  readonly host: string;
  readonly kind: FirestoreEmulatorKind;
  /** With `prefer: 'auto'`, why gcloud was not used (absent when it was, or when it was not asked for). */
  readonly fallbackReason?: string;
  /** Stops the emulator (the whole process group for gcloud). Safe to call more than once. */
  stop(): Promise<void>;
}

/** What the npm emulator cannot do that bootwarden uses: said wherever the local stack starts on it. */
export const NPM_EMULATOR_LIMITS =
  "the npm Firestore emulator cannot filter on nested fields, so baseline documents not keyed by their fingerprint (the tutorial's baseline1) are not found by their PCR values here; gcloud's emulator and Firestore find them";

export const FIRESTORE_EMULATOR_ENV = 'BOOTWARDEN_FIRESTORE_EMULATOR';
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PROJECT = 'demo-bootwarden';
const GCLOUD_START_TIMEOUT_MS = 60_000;
const GCLOUD_STOP_GRACE_MS = 10_000;
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export async function startFirestoreEmulator(opts: FirestoreEmulatorOptions = {}): Promise<FirestoreEmulator> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? 0;
  const projectId = opts.projectId ?? DEFAULT_PROJECT;
  if (host.trim() === '' || /[\s/[\]]/.test(host)) {
    throw new BootwardenError('config_invalid', `Firestore emulator host ${JSON.stringify(host)} is not an address to bind.`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BootwardenError('config_invalid', `Firestore emulator port ${String(port)} is not an integer from 0 to 65535.`);
  }
  if (!PROJECT_ID.test(projectId)) {
    throw new BootwardenError('config_invalid', `Firestore emulator project id ${JSON.stringify(projectId)} is not a valid project id.`);
  }
  const prefer = resolvePreference(opts.prefer);

  if (prefer === 'npm') return startNpm(host, port);
  if (prefer === 'gcloud') {
    const found = findGcloudFirestoreEmulator();
    if (!found.ok) throw new BootwardenError('store_unavailable', `The gcloud Firestore emulator cannot be used: ${found.reason}.`);
    return startGcloud(found.gcloud, host, port, projectId);
  }
  const found = findGcloudFirestoreEmulator();
  if (!found.ok) return { ...(await startNpm(host, port)), fallbackReason: found.reason };
  try {
    return await startGcloud(found.gcloud, host, port, projectId);
  } catch (e) {
    // A port the caller chose that is taken would fail the npm emulator too: say so instead.
    if (e instanceof BootwardenError && e.code === 'config_invalid') throw e;
    const npm = await startNpm(host, port);
    return { ...npm, fallbackReason: e instanceof Error ? e.message : String(e) };
  }
}

function resolvePreference(prefer: FirestoreEmulatorPreference | undefined): FirestoreEmulatorPreference {
  const p = prefer ?? 'auto';
  if (p !== 'auto' && p !== 'gcloud' && p !== 'npm') {
    throw new BootwardenError('config_invalid', `Firestore emulator preference ${JSON.stringify(p)} is not one of auto, gcloud, npm.`);
  }
  const env = process.env[FIRESTORE_EMULATOR_ENV];
  if (env === undefined || env === '') return p;
  if (env === 'auto' || env === 'gcloud' || env === 'npm') return env;
  throw new BootwardenError('config_invalid', `${FIRESTORE_EMULATOR_ENV}=${JSON.stringify(env)} is not one of auto, gcloud, npm.`);
}

export type GcloudFirestoreEmulatorLookup = { ok: true; gcloud: string; jar: string } | { ok: false; reason: string };

/**
 * Whether `gcloud` is on PATH with the `cloud-firestore-emulator` component installed. Looks at files
 * only: `gcloud components list` would go to the network.
 */
export function findGcloudFirestoreEmulator(): GcloudFirestoreEmulatorLookup {
  const gcloud = findOnPath('gcloud');
  if (gcloud === null) return { ok: false, reason: 'gcloud is not on PATH' };
  let sdkRoot: string;
  try {
    sdkRoot = path.dirname(path.dirname(realpathSync(gcloud)));
  } catch {
    return { ok: false, reason: `cannot resolve ${gcloud}` };
  }
  const jar = path.join(sdkRoot, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
  if (!isFile(jar)) {
    return {
      ok: false,
      reason: `the cloud-firestore-emulator component is not installed (no ${jar}; gcloud components install cloud-firestore-emulator)`,
    };
  }
  return { ok: true, gcloud, jar };
}

/** The executable `command` on PATH, or null. */
export function findOnPath(command: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (isFile(candidate)) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `host:port`, IPv6 in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `host:port` as FIRESTORE_EMULATOR_HOST wants it; a wildcard bind is reached through loopback. */
function connectHost(bindHost: string, port: number): string {
  if (bindHost === '0.0.0.0') return hostPort('127.0.0.1', port);
  if (bindHost === '::') return hostPort('::1', port);
  return hostPort(bindHost, port);
}

/** Binds `host:port` (port 0 = any) and releases it, returning the port: free now, very likely free a moment later. */
function reservePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (e: NodeJS.ErrnoException) => {
      const what = port === 0 ? `a free port on ${host}` : `port ${port} on ${host}`;
      const why = e.code === 'EADDRINUSE' ? 'it is in use' : e.message;
      reject(new BootwardenError('config_invalid', `Cannot bind the Firestore emulator to ${what}: ${why}.`, { cause: e }));
    });
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// gcloud

async function startGcloud(gcloud: string, host: string, requestedPort: number, projectId: string): Promise<FirestoreEmulator> {
  const port = await reservePort(host, requestedPort);
  const logDir = mkdtempSync(path.join(tmpdir(), 'bootwarden-firestore-'));
  const logFile = path.join(logDir, 'emulator.log');
  const logFd = openSync(logFile, 'a');
  const args = ['emulators', 'firestore', 'start', `--host-port=${hostPort(host, port)}`, `--project=${projectId}`, '--quiet'];
  let child: ChildProcess;
  try {
    child = spawn(gcloud, args, {
      detached: true, // its own process group: gcloud (python) → cloud_firestore_emulator (sh) → java
      stdio: ['ignore', logFd, logFd],
      env: {
        ...process.env,
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
        CLOUDSDK_CORE_DISABLE_FILE_LOGGING: '1',
      },
    });
  } finally {
    closeSync(logFd);
  }
  const group = new ProcessGroup(child);
  const address = connectHost(host, port);
  const url = `http://${address}/`;
  try {
    await waitUntilReady(url, group, logFile);
  } catch (e) {
    await group.stop();
    throw e;
  }
  return {
    host: address,
    kind: 'gcloud',
    async stop() {
      await group.stop();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, group: ProcessGroup, logFile: string): Promise<void> {
  const deadline = Date.now() + GCLOUD_START_TIMEOUT_MS;
  for (;;) {
    if (group.exited !== null) {
      throw new BootwardenError(
        'store_unavailable',
        `The gcloud Firestore emulator exited (${group.exited}) before answering on ${url}; see ${logFile}: ${logTail(logFile)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.text()).trim();
      // Ask again if the group died meanwhile: the answer came from someone else's server.
      if (res.ok && body === 'Ok' && group.exited === null) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new BootwardenError(
        'store_unavailable',
        `The gcloud Firestore emulator did not answer on ${url} within ${GCLOUD_START_TIMEOUT_MS / 1000} s; see ${logFile}: ${logTail(logFile)}`,
      );
    }
    await sleep(100);
  }
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
    return lines === '' ? '(empty log)' : lines;
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A detached child and everything it spawned; killed as a group, and on process exit if not before. */
class ProcessGroup {
  exited: string | null = null;
  private readonly pgid: number | undefined;
  private readonly exitPromise: Promise<void>;
  private stopping: Promise<void> | undefined;
  private readonly onProcessExit = (): void => this.signal('SIGKILL');

  constructor(child: ChildProcess) {
    this.pgid = child.pid;
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = signal !== null ? `signal ${signal}` : `status ${String(code)}`;
        resolve();
      });
      child.once('error', (e) => {
        this.exited = `spawn failed: ${e.message}`;
        resolve();
      });
    });
    if (this.pgid !== undefined) process.once('exit', this.onProcessExit);
  }

  stop(): Promise<void> {
    this.stopping ??= this.kill();
    return this.stopping;
  }

  private async kill(): Promise<void> {
    if (this.pgid === undefined) return this.exitPromise;
    this.signal('SIGTERM');
    if (!(await this.groupGoneWithin(GCLOUD_STOP_GRACE_MS))) {
      this.signal('SIGKILL');
      await this.groupGoneWithin(GCLOUD_STOP_GRACE_MS);
    }
    await this.exitPromise;
    process.removeListener('exit', this.onProcessExit);
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.pgid === undefined) return;
    try {
      process.kill(-this.pgid, sig);
    } catch {
      // the group is already gone
    }
  }

  /** True once no process of the group is left (java outlives its wrapper for a moment). */
  private async groupGoneWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.pgid === undefined || !groupAlive(this.pgid)) return true;
      await sleep(50);
    }
    return false;
  }
}

/**
 * Whether a process of the group is still running. Zombies do not count: once its wrapper is dead,
 * java is reparented to PID 1, which may reap it late or (a container whose PID 1 is not an init)
 * never. Linux: read /proc; elsewhere: signal 0, which counts zombies.
 */
function groupAlive(pgid: number): boolean {
  let pids: string[] | null = null;
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    // no /proc
  }
  if (pids !== null) {
    for (const pid of pids) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// npm

interface GrpcServerLike {
  bindAsync(address: string, creds: unknown, callback: (error: Error | null, port: number) => void): void;
}
interface NpmFirestoreServer {
  start(port: number): Promise<void>;
  stop(): void;
}

async function startNpm(host: string, requestedPort: number): Promise<FirestoreEmulator> {
  let mod: { FirestoreServer: new () => NpmFirestoreServer };
  try {
    // A devDependency: loaded only when asked for, so dist/ runs without it. Required, not
    // imported: its ESM build (the "module" field, which Vite picks) has extensionless imports
    // that Node cannot resolve; the CommonJS build works everywhere.
    mod = createRequire(import.meta.url)('@firestore-emulator/server') as typeof mod;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    const why = missing
      ? 'is not installed: run npm ci without --omit=dev'
      : `cannot be loaded: ${e instanceof Error ? e.message : String(e)}`;
    throw new BootwardenError('store_unavailable', `The npm Firestore emulator (@firestore-emulator/server, a devDependency) ${why}.`, {
      cause: e,
    });
  }
  // grpc-js reports a taken port as "No address added out of total 1 resolved": check it first.
  if (requestedPort !== 0) await reservePort(host, requestedPort);
  const server = new mod.FirestoreServer();
  // FirestoreServer.start() binds 0.0.0.0 and has no option for the address (0.3.15), and it drops
  // the bound port. Its grpc-js Server is the private field `server`: rewrite the address on the way
  // in (loopback only; the emulator has no authentication) and keep the port on the way out.
  const grpcServer = (server as unknown as { server?: GrpcServerLike }).server;
  if (grpcServer === undefined || typeof grpcServer.bindAsync !== 'function') {
    throw new BootwardenError(
      'store_unavailable',
      'The npm Firestore emulator cannot be bound to loopback: @firestore-emulator/server no longer exposes its gRPC server (tested with 0.3.15).',
    );
  }
  let boundPort = requestedPort;
  const original = grpcServer.bindAsync.bind(grpcServer);
  grpcServer.bindAsync = (_address, creds, callback) =>
    original(hostPort(host, requestedPort), creds, (err, p) => {
      boundPort = p;
      callback(err, p);
    });
  try {
    await server.start(requestedPort);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const message = `The npm Firestore emulator could not listen on ${hostPort(host, requestedPort)}: ${why}.`;
    throw new BootwardenError('store_unavailable', message, { cause: e });
  }
  let stopped = false;
  return {
    host: connectHost(host, boundPort),
    kind: 'npm',
    stop() {
      if (!stopped) {
        stopped = true;
        server.stop();
      }
      return Promise.resolve();
    },
  };
}
