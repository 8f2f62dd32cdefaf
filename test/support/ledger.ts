/** The function's event ledger, read as the tests of the whole loop check it. */
import type { Firestore } from '@google-cloud/firestore';
import { eventKeyOf, eventsCollection } from '../../core/contracts.js';
import type { JsonObject } from '../../core/json.js';

/** The event record of `entry` (by its log entry identity) under `prefix`; {} when there is none. */
export async function ledgerRecord(db: Firestore, prefix: string, entry: JsonObject): Promise<Record<string, unknown>> {
  const key = eventKeyOf({
    logName: entry['logName'] as string,
    insertId: entry['insertId'] as string,
    timestamp: entry['timestamp'] as string,
  });
  return (await db.collection(eventsCollection(prefix)).doc(key).get()).data() ?? {};
}
