/**
 * Splits a Cloud Logging export into one JSON text per entry, in constant memory, chunk by chunk.
 *
 * Accepted layouts: a JSON array (`gcloud logging read --format=json`), JSON Lines (one entry per
 * line), or JSON values one after another (e.g. a single pretty-printed entry). The layout is
 * detected from the first bytes: `[` means an array; otherwise, when the first value ends on its
 * first line the input is JSON Lines (a broken line is then one rejected record, not the end of
 * the file), else values are delimited by their brackets.
 *
 * An entry larger than `maxBytes` or nested deeper than `maxDepth` is reported as a rejection
 * without being buffered, so memory stays bounded whatever the input.
 */
import { Buffer } from 'node:buffer';
import { rejection, type Rejection } from './errors.js';

export interface SplitRecord {
  /** 1-based position of the entry in the export. */
  readonly ordinal: number;
  /** Byte offset of the entry's first byte. */
  readonly byteOffset: number;
  readonly text: string | null;
  readonly rejection: Rejection | null;
}

type Mode = 'detect' | 'array' | 'values' | 'lines' | 'after-array';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NL = 0x0a;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

function isSpace(b: number): boolean {
  return b === 0x20 || b === NL || b === 0x0d || b === 0x09;
}

export class ExportSplitter {
  private mode: Mode = 'detect';
  private baseDepth = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private inRecord = false;
  private recordIsPrimitive = false;
  private recordStart = 0;
  private recordOffset = 0;
  private recordBytes = 0;
  private recordHadNewline = false;
  private tooDeep = false;
  private oversize = false;
  private pieces: Buffer[] = [];
  private offset = 0;
  private ordinal = 0;
  private trailingReported = false;

  constructor(
    private readonly maxBytes: number,
    private readonly maxDepth: number,
  ) {}

  /** Bytes consumed so far. */
  get bytesRead(): number {
    return this.offset;
  }

  push(input: Uint8Array, out: SplitRecord[]): void {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          continue;
        }
        // Most of an export is string content: skip to the next byte that matters.
        let j = i;
        let c = 0;
        while (j < n) {
          c = chunk[j] as number;
          if (c === QUOTE || c === BACKSLASH || c === NL) break;
          j++;
        }
        i = j;
        if (j === n) break;
        if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.recordIsPrimitive && this.depth === this.baseDepth) this.finish(chunk, i + 1, out);
        } else {
          this.recordHadNewline = true;
          if (this.mode === 'lines') this.finish(chunk, i, out);
        }
        continue;
      }
      const b = chunk[i] as number;
      // Indentation of a pretty-printed export: nothing to do unless a bare value is open.
      if (b === 0x20 && !this.recordIsPrimitive) continue;
      // A UTF-8 byte order mark before the first value is skipped, even split across chunks.
      if (this.mode === 'detect' && this.offset + i < 3 && b === UTF8_BOM[this.offset + i]) continue;
      if (this.inRecord && this.recordIsPrimitive && this.depth === this.baseDepth) {
        if (isSpace(b) || b === 0x2c || b === 0x5d || b === 0x7d || b === QUOTE || b === 0x7b || b === 0x5b) {
          this.finish(chunk, i, out);
        } else {
          continue;
        }
      }
      if (b === NL && this.inRecord) {
        this.recordHadNewline = true;
        if (this.mode === 'lines') {
          this.finish(chunk, i, out);
          continue;
        }
      }
      if (isSpace(b)) continue;
      if (this.mode === 'after-array') {
        this.structural(`data after the closing ] of the export's array at byte ${this.offset + i}`, this.offset + i, out);
        continue;
      }
      switch (b) {
        case QUOTE:
          if (!this.inRecord) this.start(i, true);
          this.inString = true;
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (this.mode === 'detect') {
            this.mode = b === 0x5b ? 'array' : 'values';
            this.baseDepth = b === 0x5b ? 1 : 0;
            this.depth = this.baseDepth;
            if (b === 0x5b) break;
          }
          if (!this.inRecord) this.start(i, false);
          if (++this.depth - this.baseDepth > this.maxDepth) this.tooDeep = true;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          if (this.inRecord) {
            this.depth--;
            if (this.depth === this.baseDepth) this.finish(chunk, i + 1, out);
          } else if (this.mode === 'array' && b === 0x5d) {
            this.mode = 'after-array';
            this.depth = 0;
          } else {
            this.structural(`unexpected '${String.fromCharCode(b)}' at byte ${this.offset + i}`, this.offset + i, out);
          }
          break;
        case 0x2c: // ,
          if (!this.inRecord && this.mode !== 'array') this.structural(`unexpected ',' at byte ${this.offset + i}`, this.offset + i, out);
          break;
        default:
          if (!this.inRecord) this.start(i, true);
      }
    }
    if (this.inRecord) this.keep(chunk.subarray(this.recordStart));
    this.recordStart = 0;
    this.offset += n;
  }

  end(out: SplitRecord[]): void {
    if (this.inRecord) {
      // An unfinished entry (truncated file, or a single malformed document) goes to JSON.parse,
      // whose message says what is wrong; the array's missing ] is then not reported again.
      this.finish(Buffer.alloc(0), 0, out);
      return;
    }
    if (this.mode === 'array') {
      this.structural('the export ends before the closing ] of its array (truncated file?)', this.offset, out);
    }
  }

  private start(i: number, primitive: boolean): void {
    if (this.mode === 'detect') {
      this.mode = 'values';
      this.baseDepth = 0;
      this.depth = 0;
    }
    this.inRecord = true;
    this.recordIsPrimitive = primitive;
    this.recordStart = i;
    this.recordOffset = this.offset + i;
    this.recordBytes = 0;
    this.recordHadNewline = false;
    this.tooDeep = false;
    this.oversize = false;
    this.pieces = [];
  }

  private keep(piece: Buffer): void {
    this.recordBytes += piece.length;
    if (this.oversize) return;
    if (this.recordBytes > this.maxBytes) {
      this.oversize = true;
      this.pieces = [];
      return;
    }
    this.pieces.push(Buffer.from(piece));
  }

  private finish(chunk: Buffer, end: number, out: SplitRecord[]): void {
    const tail = chunk.subarray(this.recordStart, end);
    const size = this.recordBytes + tail.length;
    const ordinal = ++this.ordinal;
    const byteOffset = this.recordOffset;
    let r: Rejection | null = null;
    let text: string | null = null;
    if (this.oversize || size > this.maxBytes) {
      r = rejection('input_too_large', `entry is ${size} bytes; the limit is ${this.maxBytes}`);
    } else if (this.tooDeep) {
      r = rejection('input_too_deep', `entry nests deeper than ${this.maxDepth} levels`);
    } else {
      text = (this.pieces.length === 0 ? tail : Buffer.concat([...this.pieces, tail])).toString('utf8');
    }
    out.push({ ordinal, byteOffset, text, rejection: r });
    if (this.mode === 'values' && ordinal === 1 && !this.recordHadNewline && !this.recordIsPrimitive) this.mode = 'lines';
    this.inRecord = false;
    this.recordIsPrimitive = false;
    this.inString = false;
    this.escape = false;
    this.depth = this.baseDepth;
    this.pieces = [];
    this.recordStart = end;
  }

  private structural(message: string, byteOffset: number, out: SplitRecord[]): void {
    if (this.mode === 'after-array') {
      if (this.trailingReported) return;
      this.trailingReported = true;
    }
    out.push({ ordinal: ++this.ordinal, byteOffset, text: null, rejection: rejection('invalid_json', message) });
  }
}
