import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BootwardenError } from '../../core/errors.js';
import { findGcloudFirestoreEmulator, startFirestoreEmulator, type FirestoreEmulator } from '../../devstack/firestore-emulator.js';
import { firestoreAt, firestoreEmulatorKind, useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { useTmpDirs } from '../support/tmp.js';

const { db, prefix } = useFirestore();
const tmpDir = useTmpDirs();

/** Emulators and env changes a test made, undone after it whatever happened. */
const started: FirestoreEmulator[] = [];
const envSaved: Record<string, string | undefined> = {};
function setEnv(name: string, value: string | undefined): void {
  if (!(name in envSaved)) envSaved[name] = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
afterEach(async () => {
  for (const e of started.splice(0)) await e.stop();
  for (const [name, value] of Object.entries(envSaved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
    delete envSaved[name];
  }
});
async function start(...args: Parameters<typeof startFirestoreEmulator>): Promise<FirestoreEmulator> {
  const e = await startFirestoreEmulator(...args);
  started.push(e);
  return e;
}

function portOf(host: string): number {
  return Number(host.slice(host.lastIndexOf(':') + 1));
}

/** Resolves true when something accepts TCP connections on host:port. */
function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the shared emulator, through the real client', () => {
  it('reaches the test files through FIRESTORE_EMULATOR_HOST', () => {
    expect(process.env['FIRESTORE_EMULATOR_HOST']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(process.env['METADATA_SERVER_DETECTION']).toBe('none');
    expect(prefix).toMatch(/^t[0-9a-f]{10}_$/);
  });

  it('creates a document once: a second create fails with ALREADY_EXISTS (gRPC 6)', async () => {
    const ref = db().collection(`${prefix}events`).doc('e1');
    await ref.create({ n: 1 });
    await expect(ref.create({ n: 2 })).rejects.toMatchObject({ code: 6 });
    expect((await ref.get()).data()).toEqual({ n: 1 });
  });

  it('gets a missing document as not existing', async () => {
    const snap = await db().collection(`${prefix}events`).doc('never-written').get();
    expect(snap.exists).toBe(false);
    expect(snap.data()).toBeUndefined();
  });

  it('queries a subcollection with orderBy desc and limit 1', async () => {
    const boots = db().collection(`${prefix}instances`).doc('vm-1').collection('boots');
    const other = db().collection(`${prefix}instances`).doc('vm-2').collection('boots');
    await Promise.all([
      boots.doc('a').create({ order: 2 }),
      boots.doc('b').create({ order: 10 }),
      boots.doc('c').create({ order: 7 }),
      other.doc('d').create({ order: 99 }),
    ]);
    const latest = await boots.orderBy('order', 'desc').limit(1).get();
    expect(latest.docs.map((d) => [d.id, d.get('order') as number])).toEqual([['b', 10]]);
  });
});

describe('startFirestoreEmulator', () => {
  it('starts a second, independent npm emulator on another port and stops it', async () => {
    const second = await start({ prefer: 'npm' });
    expect(second.kind).toBe('npm');
    expect(second.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(second.host).not.toBe(process.env['FIRESTORE_EMULATOR_HOST']);

    const client = firestoreAt(second.host);
    try {
      const path = `${prefix}isolation/only-in-second`;
      await client.doc(path).create({ where: 'second' });
      expect((await client.doc(path).get()).data()).toEqual({ where: 'second' });
      expect((await db().doc(path).get()).exists).toBe(false);

      await db().doc(`${prefix}isolation/only-in-shared`).create({ where: 'shared' });
      expect((await client.doc(`${prefix}isolation/only-in-shared`).get()).exists).toBe(false);
    } finally {
      await client.terminate();
    }

    const port = portOf(second.host);
    expect(await listening(port)).toBe(true);
    await second.stop();
    await second.stop(); // idempotent
    expect(await listening(port)).toBe(false);
  });

  // Reached on loopback, refused on the machine's other address (when it has one).
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  it('binds the npm emulator to loopback only', async (ctx) => {
    ctx.skip(external === undefined, 'this machine has no non-loopback IPv4 address to try');
    const e = await start({ prefer: 'npm' });
    const port = portOf(e.host);
    expect(await listening(port)).toBe(true);
    expect(await listening(port, external)).toBe(false);
  });

  it('lets BOOTWARDEN_FIRESTORE_EMULATOR=npm override prefer', async () => {
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', 'npm');
    const e = await start({ prefer: 'gcloud' });
    expect(e.kind).toBe('npm');
  });

  it('falls back to npm under auto when gcloud is not on PATH, and says why', async () => {
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', undefined);
    setEnv('PATH', '/nonexistent');
    const e = await start({ prefer: 'auto' });
    expect(e.kind).toBe('npm');
    expect(e.fallbackReason).toBe('gcloud is not on PATH');
  });

  it('falls back to npm under auto when gcloud fails to start, naming its log', async () => {
    // A Cloud SDK layout whose gcloud dies at once, as it does without a Java runtime.
    const sdk = tmpDir();
    mkdirSync(path.join(sdk, 'bin'));
    mkdirSync(path.join(sdk, 'platform', 'cloud-firestore-emulator'), { recursive: true });
    writeFileSync(path.join(sdk, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar'), '');
    writeFileSync(path.join(sdk, 'bin', 'gcloud'), '#!/bin/sh\necho "ERROR: java not found" >&2\nexit 1\n', { mode: 0o755 });
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', undefined);
    setEnv('PATH', `${path.join(sdk, 'bin')}${path.delimiter}${process.env['PATH']}`);
    setEnv('TMPDIR', sdk); // the logs of failed starts are kept: keep them where the test cleans up
    const e = await start({ prefer: 'auto' });
    expect(e.kind).toBe('npm');
    expect(e.fallbackReason).toMatch(
      /^The gcloud Firestore emulator exited \(status 1\) before answering on http:\/\/127\.0\.0\.1:\d+\/; see (\S+emulator\.log): ERROR: java not found$/,
    );
    expect(readFileSync(/see (\S+): /.exec(e.fallbackReason!)![1]!, 'utf8')).toContain('ERROR: java not found');
    await expect(startFirestoreEmulator({ prefer: 'gcloud' })).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  it('fails with store_unavailable when gcloud is asked for and missing', async () => {
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', undefined);
    setEnv('PATH', '/nonexistent');
    const e = await startFirestoreEmulator({ prefer: 'gcloud' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BootwardenError);
    expect(e).toMatchObject({ code: 'store_unavailable', message: 'The gcloud Firestore emulator cannot be used: gcloud is not on PATH.' });
  });

  it('rejects bad configuration with config_invalid', async () => {
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', undefined);
    await expect(startFirestoreEmulator({ port: 70000 })).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(startFirestoreEmulator({ port: 1.5 })).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(startFirestoreEmulator({ prefer: 'docker' as never })).rejects.toMatchObject({ code: 'config_invalid' });
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', 'java');
    await expect(startFirestoreEmulator()).rejects.toMatchObject({
      code: 'config_invalid',
      message: 'BOOTWARDEN_FIRESTORE_EMULATOR="java" is not one of auto, gcloud, npm.',
    });
  });

  it('says so when the port asked for is taken', async () => {
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', 'npm');
    const taken = portOf(process.env['FIRESTORE_EMULATOR_HOST']!);
    await expect(startFirestoreEmulator({ port: taken })).rejects.toMatchObject({ code: 'config_invalid' });
  });

  // The gcloud path end to end, including that stop() leaves no java behind. Skipped where the
  // component is missing and in the run that proves the suite works on the npm emulator alone.
  const gcloud = findGcloudFirestoreEmulator();
  it('starts the gcloud emulator on a free port and stop() kills its whole process group', async (ctx) => {
    ctx.skip(!gcloud.ok, `the gcloud Firestore emulator is not installed here (${gcloud.ok ? '' : gcloud.reason})`);
    ctx.skip(firestoreEmulatorKind() === 'npm', 'this run proves the suite on the npm emulator alone (BOOTWARDEN_FIRESTORE_EMULATOR=npm)');
    setEnv('BOOTWARDEN_FIRESTORE_EMULATOR', undefined);
    const e = await start({ prefer: 'gcloud' });
    expect(e.kind).toBe('gcloud');
    expect(e.fallbackReason).toBeUndefined();
    const port = portOf(e.host);
    expect(port).not.toBe(portOf(process.env['FIRESTORE_EMULATOR_HOST']!));
    const client = firestoreAt(e.host);
    try {
      await client.doc(`${prefix}g/one`).create({ ok: true });
      expect((await client.doc(`${prefix}g/one`).get()).get('ok')).toBe(true);
    } finally {
      await client.terminate();
    }
    const javaOnPort = (): string =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('CloudFirestore') && l.includes(`--port=${port}`))
        .join('\n');
    expect(javaOnPort()).not.toBe('');
    await e.stop();
    expect(javaOnPort()).toBe('');
    expect(await listening(port)).toBe(false);
  }, 90_000);
});
