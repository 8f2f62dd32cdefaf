/**
 * The Firestore client, created on first use: importing this module loads no SDK, so the
 * function's cold start pays for Firestore only when an event arrives.
 */
import type { Firestore } from '@google-cloud/firestore';
import { BootwardenError } from '../../core/errors.js';

export type FirestoreProvider = () => Promise<Firestore>;

/** A provider that creates its client once, and `close()`, which ends that client if there is one. */
export type LazyFirestore = FirestoreProvider & { close(): Promise<void> };

export function lazyFirestore(settings: { projectId?: string; databaseId?: string } = {}): LazyFirestore {
  let client: Promise<Firestore> | null = null;
  const provider = (): Promise<Firestore> => {
    client ??= import('@google-cloud/firestore').then(({ Firestore }) => new Firestore({ ...settings, ignoreUndefinedProperties: true }));
    return client;
  };
  return Object.assign(provider, {
    close: async (): Promise<void> => {
      if (client !== null) await (await client).terminate();
    },
  });
}

/** gRPC status codes the Firestore client reports. */
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

export function grpcCode(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number') return (e as { code: number }).code;
  return undefined;
}

export function isAlreadyExists(e: unknown): boolean {
  return grpcCode(e) === ALREADY_EXISTS;
}

export function isNotFound(e: unknown): boolean {
  return grpcCode(e) === NOT_FOUND;
}

const HINTS: Record<number, string> = {
  7: "check that the function's service account has roles/datastore.user",
  16: 'check the credentials (GOOGLE_APPLICATION_CREDENTIALS or the metadata server)',
  5: 'check that the Firestore database exists (Native mode) in this project',
};

/** gRPC INVALID_ARGUMENT: Firestore refuses the document itself (over 1 MiB, or a value it does not take). */
const INVALID_ARGUMENT = 3;

/**
 * Every Firestore failure but one is retryable for the function: redelivery keeps the event until
 * the database (or its permissions) is back, rather than losing it. INVALID_ARGUMENT is permanent
 * (`invalid_input`): the same document is refused on every redelivery
 * (https://cloud.google.com/firestore/docs/understand-error-codes: "Document too large" and
 * invalid data are INVALID_ARGUMENT, fixed by changing the request, not by retrying).
 */
export function firestoreError(what: string, e: unknown): BootwardenError {
  if (e instanceof BootwardenError) return e;
  const code = grpcCode(e);
  const reason = e instanceof Error ? e.message : String(e);
  if (code === INVALID_ARGUMENT)
    return new BootwardenError(
      'invalid_input',
      `Firestore refused to ${what}: ${reason.slice(0, 500)} (the document is too large or invalid)`,
      {
        retryable: false,
        cause: e,
      },
    );
  const hint = code !== undefined && HINTS[code] !== undefined ? ` (${HINTS[code]})` : '';
  return new BootwardenError('store_unavailable', `Firestore failed to ${what}: ${reason}${hint}`, { retryable: true, cause: e });
}
