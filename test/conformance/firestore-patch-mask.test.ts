/**
 * Firestore's patch without a mask replaces the whole document
 * (https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.documents/patch):
 * for the response workflow that would wipe the event ledger or the instance state. Every patch
 * of the deployed workflow carries its mask, nested as the connector page's snippet writes it
 * (https://cloud.google.com/workflows/docs/reference/googleapis/firestore/v1/projects.databases.documents/patch),
 * listing only fields its body sets.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

type Yaml = unknown;

/** Every `call: …documents.patch` step's args in a parsed workflow. */
function patches(node: Yaml, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const n of node) patches(n, out);
  else if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (o['call'] === 'googleapis.firestore.v1.projects.databases.documents.patch') out.push(o['args'] as Record<string, unknown>);
    for (const v of Object.values(o)) patches(v, out);
  }
  return out;
}

describe('every Firestore patch of the response workflow carries its mask', () => {
  const doc = parse(readFileSync(path.join(ROOT, 'workflows/integrity-response.workflows.yaml'), 'utf8')) as Yaml;

  it('finds the four patches (relearned, awaiting, response, and response on failure), each masked to the one field its body sets', () => {
    const found = patches(doc);
    expect(
      found.map((args) => ({
        mask: (args['updateMask'] as { fieldPaths?: unknown } | undefined)?.fieldPaths,
        body: Object.keys((args['body'] as { fields: Record<string, unknown> }).fields),
      })),
    ).toEqual([
      { mask: ['relearned'], body: ['relearned'] },
      { mask: ['awaiting'], body: ['awaiting'] },
      { mask: ['response'], body: ['response'] },
      { mask: ['response'], body: ['response'] },
    ]);
    expect(found.every((args) => !('updateMask.fieldPaths' in args))).toBe(true);
  });
});
