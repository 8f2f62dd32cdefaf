/** Streams the entries of an input (file or stdin) through the export splitter. */
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { BootwardenError } from '../core/errors.js';
import { ExportSplitter, type SplitRecord } from '../core/export-splitter.js';
import { MAX_ENVELOPE_BYTES, MAX_JSON_DEPTH } from '../core/json.js';

export interface InputSource {
  readonly label: string;
  readonly stream: Readable;
  /** Size in bytes when known (files), for progress. */
  readonly size: number | null;
}

export async function openInput(label: string, stdin: Readable): Promise<InputSource> {
  if (label === '-') return { label: 'stdin', stream: stdin, size: null };
  try {
    const st = await fs.stat(label);
    if (st.isDirectory()) throw new BootwardenError('io_error', `${label} is a directory, not an input file`);
    return { label, stream: createReadStream(label, { highWaterMark: 64 * 1024 }), size: st.size };
  } catch (e) {
    if (e instanceof BootwardenError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new BootwardenError('io_error', `cannot read ${label}: ${reason}`, { cause: e });
  }
}

/** Yields batches of records; `onBytes` reports progress after each chunk. */
export async function* records(source: InputSource, onBytes?: (bytes: number) => void): AsyncGenerator<SplitRecord[]> {
  const splitter = new ExportSplitter(MAX_ENVELOPE_BYTES, MAX_JSON_DEPTH);
  try {
    for await (const chunk of source.stream) {
      const out: SplitRecord[] = [];
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer), out);
      onBytes?.(splitter.bytesRead);
      if (out.length > 0) yield out;
    }
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new BootwardenError('io_error', `cannot read ${source.label}: ${reason}`, { cause: e });
  }
  const out: SplitRecord[] = [];
  splitter.end(out);
  if (out.length > 0) yield out;
}
