import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFirestoreEmulator } from '../../devstack/firestore-emulator.js';

/**
 * Once per run, before any test file:
 * - builds dist/ fresh: the CLI tests run the real `bin/bootwarden.js`, which runs dist/;
 * - starts one Firestore emulator for every file (each file keeps to its own collection prefix, see
 *   test/support/firestore.ts), unless FIRESTORE_EMULATOR_HOST already points at one. The workers
 *   are forked after this returns and inherit process.env, so they see FIRESTORE_EMULATOR_HOST.
 *   BOOTWARDEN_FIRESTORE_EMULATOR=npm runs the suite on the npm emulator instead of gcloud's.
 * Returns the teardown that stops the emulator.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (const project of ['packages/workflows-emulator/tsconfig.build.json', 'tsconfig.build.json'])
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], {
      cwd: root,
      stdio: 'inherit',
    });

  process.env['METADATA_SERVER_DETECTION'] = 'none';
  if (process.env['FIRESTORE_EMULATOR_HOST']) {
    process.stderr.write(`firestore emulator: using FIRESTORE_EMULATOR_HOST=${process.env['FIRESTORE_EMULATOR_HOST']}\n`);
    return () => Promise.resolve();
  }
  const started = Date.now();
  const emulator = await startFirestoreEmulator();
  process.env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
  process.env['BOOTWARDEN_TEST_FIRESTORE_KIND'] = emulator.kind;
  const fallback = emulator.fallbackReason === undefined ? '' : ` (gcloud not used: ${emulator.fallbackReason})`;
  process.stderr.write(`firestore emulator: ${emulator.kind} on ${emulator.host}, up in ${Date.now() - started} ms${fallback}\n`);
  return async () => {
    await emulator.stop();
    delete process.env['FIRESTORE_EMULATOR_HOST'];
    delete process.env['BOOTWARDEN_TEST_FIRESTORE_KIND'];
  };
}
