/**
 * What the local stack starts with: the bundled baselines copied into the Firestore emulator (as an
 * operator's `bootwarden baselines import` would put them), and the VMs of a fleet file in the
 * Compute fleet, so that the example entries find their instances.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RecordingComputeFleet } from '@bootwarden/workflows-emulator/testing';
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

interface FleetFile {
  readonly instances: readonly {
    project: string;
    zone: string;
    name: string;
    id?: string;
    labels?: Record<string, string>;
    lastStartTimestamp?: string;
  }[];
}

/** Adds the instances of `file` ({"instances": [{project, zone, name, id, labels, lastStartTimestamp}]}) to the fleet. */
export async function loadFleet(fleet: RecordingComputeFleet, file: string): Promise<number> {
  let parsed: FleetFile;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as FleetFile;
  } catch (e) {
    throw new Error(`fleet file ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!Array.isArray(parsed.instances)) throw new Error(`fleet file ${file}: expected {"instances": [...]}`);
  for (const vm of parsed.instances as FleetFile['instances']) fleet.addInstance(vm);
  return parsed.instances.length;
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
