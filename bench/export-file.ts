/**
 * Writes a log export as `gcloud logging read --format=json` does: one JSON array, entries
 * pretty-printed with a 2-space indent. Streamed in batches: the file is never held in memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Fleet, type Expected } from './fleet.js';

export interface ExportFile {
  readonly file: string;
  readonly bytes: number;
  readonly entries: number;
  readonly expected: Record<Expected, number>;
}

const BATCH_BYTES = 1 << 20;

export function writeExport(file: string, targetBytes: number, seed = 3): ExportFile {
  const fleet = new Fleet(seed);
  const expected: Record<Expected, number> = { relearn: 0, stop: 0, ignore: 0 };
  const fd = openSync(file, 'wx');
  let bytes = 0;
  let entries = 0;
  try {
    let batch: string[] = ['['];
    let batchBytes = 1;
    const flush = (): void => {
      const buf = Buffer.from(batch.join(''), 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      bytes += buf.length;
      batch = [];
      batchBytes = 0;
    };
    // Stop before the closing "\n]\n" would take the file past the target.
    while (bytes + batchBytes + 3 < targetBytes || entries === 0) {
      const g = fleet.entry(entries);
      const text = `${entries === 0 ? '\n' : ',\n'}  ${JSON.stringify(g.entry, null, 2).replace(/\n/g, '\n  ')}`;
      batch.push(text);
      batchBytes += text.length; // ASCII only: characters are bytes
      expected[g.expect]++;
      entries++;
      if (batchBytes >= BATCH_BYTES) flush();
    }
    batch.push('\n]\n');
    flush();
  } finally {
    closeSync(fd);
  }
  return { file, bytes, entries, expected };
}
