/**
 * Firestore for tests: the one emulator the global setup started (FIRESTORE_EMULATOR_HOST), a
 * client made on first use, and a collection prefix of the test file's own so that files running
 * in parallel never see each other's documents. Call `useFirestore()` at the top of a test file.
 */
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll } from 'vitest';

export const TEST_PROJECT_ID = 'demo-bootwarden';

export interface TestFirestore {
  /** The client, created on first call and terminated after the file's tests. */
  readonly db: () => Firestore;
  /** Prepend to every top-level collection name, e.g. `db().collection(`${prefix}baselines`)`. */
  readonly prefix: string;
}

/**
 * Which emulator the run uses: `npm` ignores `lastUpdateTime` preconditions and lacks some RPCs, so
 * a test of those calls `ctx.skip(firestoreEmulatorKind() === 'npm', why)`. `external` = FIRESTORE_EMULATOR_HOST
 * was set before the run.
 */
export function firestoreEmulatorKind(): 'gcloud' | 'npm' | 'external' {
  const kind = process.env['BOOTWARDEN_TEST_FIRESTORE_KIND'];
  return kind === 'gcloud' || kind === 'npm' ? kind : 'external';
}

export function useFirestore(): TestFirestore {
  const prefix = `t${randomBytes(5).toString('hex')}_`;
  let client: Firestore | undefined;
  afterAll(async () => {
    const c = client;
    client = undefined;
    await c?.terminate();
  });
  return {
    prefix,
    db: () => {
      if (client === undefined) {
        if (!process.env['FIRESTORE_EMULATOR_HOST']) {
          throw new Error(
            'FIRESTORE_EMULATOR_HOST is not set: test/support/global-setup.ts starts the emulator (run the tests with vitest).',
          );
        }
        // The SDK reads FIRESTORE_EMULATOR_HOST itself: plain text, no credentials, "Bearer owner".
        client = new Firestore({ projectId: TEST_PROJECT_ID });
      }
      return client;
    },
  };
}

/**
 * A client for an emulator other than the shared one. FIRESTORE_EMULATOR_HOST wins over `host`
 * in the SDK's constructor, so it is hidden while the client is made. The caller terminates it.
 */
export function firestoreAt(host: string, projectId = TEST_PROJECT_ID): Firestore {
  const saved = process.env['FIRESTORE_EMULATOR_HOST'];
  delete process.env['FIRESTORE_EMULATOR_HOST'];
  try {
    return new Firestore({ projectId, host, ssl: false });
  } finally {
    if (saved !== undefined) process.env['FIRESTORE_EMULATOR_HOST'] = saved;
  }
}
