import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newBaseline } from '../../core/baseline.js';
import { BootwardenError } from '../../core/errors.js';
import type { StoredBaseline } from '../../core/ports/baseline-store.port.js';
import { openFileBaselineStore, type CountingBaselineStore } from '../../adapters/local/file-baseline-store.js';
import { KERNEL_25, KERNEL_26 } from '../support/fixtures.js';
import { useTmpDirs } from '../support/tmp.js';

const tmp = useTmpDirs();
const meta = { addedBy: 'alice', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: null };
const b26 = newBaseline(KERNEL_26, meta);
const b25 = newBaseline(KERNEL_25, meta);

async function all(store: CountingBaselineStore): Promise<StoredBaseline[]> {
  const out: StoredBaseline[] = [];
  for await (const s of store.list()) out.push(s);
  return out;
}

describe.each([
  ['directory', (d: string) => path.join(d, 'store')],
  ['single JSON file', (d: string) => path.join(d, 'baselines.json')],
])('%s store', (_kind, where) => {
  it('creates once, reads back, lists, saves and removes', async () => {
    const location = where(tmp());
    const store = await openFileBaselineStore(location, { createIfMissing: true });
    expect(await store.get(b26.id)).toBeNull();
    expect(await store.create(b26)).toBe(true);
    expect(await store.create(b26)).toBe(false);
    expect(await store.get(b26.id)).toEqual({ id: b26.id, baseline: b26 });
    // Both lookups are reads, the one that found nothing too.
    expect(store.documentReads).toBe(2);
    await store.create(b25);
    expect((await all(store)).map((s) => s.id)).toEqual([b25.id, b26.id].sort());
    await store.save({ ...b25, metadata: { ...b25.metadata!, note: 'edited' } });
    const again = await openFileBaselineStore(location);
    const read = await again.get(b25.id);
    expect(read !== null && 'baseline' in read ? read.baseline.metadata?.note : null).toBe('edited');
    expect(await again.remove(b25.id)).toBe(true);
    expect(await again.remove(b25.id)).toBe(false);
    expect((await all(await openFileBaselineStore(location))).map((s) => s.id)).toEqual([b26.id]);
  });

  it('reports documents not keyed by fingerprint', async () => {
    const store = await openFileBaselineStore(where(tmp()), { createIfMissing: true });
    await store.create(b26);
    await store.save({ ...b25, id: 'baseline1' });
    expect(await store.idsNotKeyedByFingerprint()).toEqual(['baseline1']);
  });

  it('finds documents by their measurements whatever their id: an index built once, one read per look-up', async () => {
    const store = await openFileBaselineStore(where(tmp()), { createIfMissing: true });
    await store.create(b26);
    await store.save({ ...b25, id: 'baseline1' });
    await store.save({ ...b25, id: 'Xq3pRvT0cZ9mN2bK7aLw' });
    const reads = store.documentReads;
    expect((await store.withMeasurements([...KERNEL_25].reverse())).map((s) => s.id).sort()).toEqual(['Xq3pRvT0cZ9mN2bK7aLw', 'baseline1']);
    // A document keyed by its fingerprint is found by `get`; the index holds only the others.
    expect(await store.withMeasurements(KERNEL_26)).toEqual([]);
    expect([store.documentReads - reads, store.indexReads]).toEqual([2, 2]);
    // Any write drops the index: the next look-up sees it.
    expect(await store.remove('baseline1')).toBe(true);
    expect((await store.withMeasurements(KERNEL_25)).map((s) => s.id)).toEqual(['Xq3pRvT0cZ9mN2bK7aLw']);
    expect(store.indexReads).toBe(3);
  });
});

describe('directory store', () => {
  it('returns an invalid document as invalid, naming the file, instead of failing', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'broken.json'), '{"PCR_0": ');
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const store = await openFileBaselineStore(dir);
    const [s] = await all(store);
    expect(s?.id).toBe('broken');
    expect(s !== undefined && 'invalid' in s ? s.invalid.message : '').toContain('broken.json is not JSON');
  });

  it('leaves no temporary files behind', async () => {
    const dir = tmp();
    const store = await openFileBaselineStore(dir);
    await store.create(b26);
    await store.create(b26);
    await store.save(b25);
    expect(readdirSync(dir).sort()).toEqual([`${b25.id}.json`, `${b26.id}.json`].sort());
    expect(JSON.parse(readFileSync(path.join(dir, `${b26.id}.json`), 'utf8'))).toHaveProperty('PCR_4.pcrNum', 'PCR_4');
  });

  it('refuses ids that would escape the directory', async () => {
    const store = await openFileBaselineStore(tmp());
    await expect(store.remove('../x')).rejects.toThrow(BootwardenError);
    expect(await store.get('../x')).toBeNull();
  });
});

describe('opening', () => {
  it('a missing path is an error naming it, unless asked to create', async () => {
    const missing = path.join(tmp(), 'nope');
    await expect(openFileBaselineStore(missing)).rejects.toThrow(`baselines ${missing} does not exist`);
  });

  it.each([
    ['not JSON', '{', 'is not JSON'],
    ['not an object', '[]', 'must be a JSON object'],
  ])('a baselines file that is %s is an error naming it', async (_name, text, message) => {
    const file = path.join(tmp(), 'b.json');
    writeFileSync(file, text);
    await expect(openFileBaselineStore(file)).rejects.toThrow(message);
  });
});
