/**
 * What the local stack starts with: the bundled baselines copied into the Firestore emulator (as an
 * operator's `bootwarden baselines import` would put them), and the bundled entries in the order
 * the log sink would publish them. (The fleet comes from a fleet file: devstack/fleet/fleet-file.ts.)
 */
import { readdirSync } from 'node:fs';
import { DirectoryBaselineStore } from '../adapters/local/file-baseline-store.js';
import { FirestoreBaselineStore } from '../adapters/gcp/firestore-stores.js';
import type { Firestore } from '@google-cloud/firestore';

export async function seedBaselines(
  db: Firestore,
  directory: string,
  collection: string,
): Promise<{ copied: string[]; invalid: string[] }> {
  const target = new FirestoreBaselineStore(() => Promise.resolve(db), collection);
  const copied: string[] = [];
  const invalid: string[] = [];
  for await (const doc of new DirectoryBaselineStore(directory).list()) {
    if ('invalid' in doc) {
      invalid.push(`${doc.id}: ${doc.invalid.message}`);
      continue;
    }
    await target.save(doc.baseline);
    copied.push(doc.id);
  }
  return { copied, invalid };
}

/** The bundled examples in the order the log sink would publish them (their timestamps); any other file after them. */
const CHRONOLOGICAL = [
  'passed.json',
  'startup.json',
  'kernel-update-known-good.json',
  'unknown-measurements.pubsub.json',
  'windows-update.eventarc.json',
  'bad-hash.json',
];

/** The `.json` files of examples/entries/, in delivery order. */
export function exampleEntries(directory: string): string[] {
  const rank = (f: string): number => CHRONOLOGICAL.indexOf(f) + 1 || CHRONOLOGICAL.length + 1;
  return readdirSync(directory)
    .filter((f) => f.endsWith('.json'))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
