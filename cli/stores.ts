/** The baseline store a command works on: a local directory or file, or Firestore. */
import { BootwardenError } from '../core/errors.js';
import type { BaselineStore } from '../core/ports/baseline-store.port.js';
import { isFingerprint } from '../core/measurements.js';
import { openFileBaselineStore } from '../adapters/local/file-baseline-store.js';
import { firestoreError, lazyFirestore } from '../adapters/gcp/firestore-client.js';
import { FirestoreBaselineStore } from '../adapters/gcp/firestore-stores.js';
import { baselinesLocation, stringOption, type Parsed } from './args.js';
import type { CommandIo } from './io.js';

export interface CliBaselineStore extends BaselineStore {
  /** Where the baselines are, for messages. */
  readonly location: string;
  /** Ids that are not fingerprints: found by their PCR values (an extra read) until imported. */
  idsNotKeyedByFingerprint(): Promise<string[]>;
  close(): Promise<void>;
}

export const STORE_OPTIONS = {
  store: { type: 'string' },
  baselines: { type: 'string' },
} as const;

export const STORE_HELP = `  --store dir|firestore     where baselines live (default dir):
                             dir        --baselines <dir|file>: a directory of JSON documents
                                        (file name = document id) or one JSON file mapping id
                                        to document (default: $BOOTWARDEN_BASELINES)
                             firestore  the Firestore collection $BOOTWARDEN_BASELINE_COLLECTION
                                        (default known_good_measurements) of $GOOGLE_CLOUD_PROJECT;
                                        the emulator when $FIRESTORE_EMULATOR_HOST is set
`;

function openFirestore(io: CommandIo): CliBaselineStore {
  const { project, baselineCollection: collection, firestoreDatabase, firestoreEmulatorHost } = io.config;
  if (project === null) {
    throw new BootwardenError('usage', '--store firestore needs GOOGLE_CLOUD_PROJECT (the project of the Firestore database)');
  }
  // Against an emulator there is no metadata server to ask for credentials.
  if (firestoreEmulatorHost !== null) process.env['METADATA_SERVER_DETECTION'] = 'none';
  const db = lazyFirestore({ projectId: project, databaseId: firestoreDatabase });
  const where = firestoreEmulatorHost !== null ? ` (emulator at ${firestoreEmulatorHost})` : '';
  return Object.assign(new FirestoreBaselineStore(db, collection), {
    location: `firestore:${project}/${collection}${where}`,
    idsNotKeyedByFingerprint: async () => {
      // Document ids only (an empty projection); operators' commands, never the function's hot path.
      try {
        const snap = await (await db()).collection(collection).select().get();
        return snap.docs
          .map((d) => d.id)
          .filter((id) => !isFingerprint(id))
          .sort();
      } catch (e) {
        throw firestoreError(`list ${collection}`, e);
      }
    },
    close: () => db.close(),
  });
}

export async function openCliStore(
  command: string,
  p: Parsed,
  io: CommandIo,
  opts: { createIfMissing?: boolean } = {},
): Promise<CliBaselineStore> {
  const kind = stringOption(p, 'store') ?? 'dir';
  if (kind === 'firestore') {
    if (stringOption(p, 'baselines') !== undefined)
      throw new BootwardenError(
        'usage',
        `${command}: --baselines is for --store dir; the Firestore collection comes from BOOTWARDEN_BASELINE_COLLECTION`,
      );
    return openFirestore(io);
  }
  if (kind !== 'dir') throw new BootwardenError('usage', `${command}: --store must be dir or firestore, got ${JSON.stringify(kind)}`);
  const store = await openFileBaselineStore(baselinesLocation(command, p, io.config.baselines), opts);
  return Object.assign(store, { close: () => Promise.resolve() });
}

/** Runs `body` with the store open, and closes it (Firestore keeps the process alive otherwise). */
export async function withStore<T>(store: CliBaselineStore, body: (s: CliBaselineStore) => Promise<T>): Promise<T> {
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}
