/**
 * The `text` module (https://cloud.google.com/workflows/docs/reference/stdlib/text/...).
 *
 * Strings are indexed over code points, as the reference says for text.find_all and
 * text.substring. Regular expressions are RE2's, matched by re2js (re2.ts).
 */
import type { StdFunction } from '../run/runtime.js';
import { Bytes, raise, type Value, type WfMap } from '../run/values.js';
import { bytes, int, str } from './check.js';
import { codePointIndexer, utf8, widthAt } from './code-points.js';
import { allMatches, compileRe2, matchesAnywhere } from './re2.js';

// ---------------------------------------------------------------------------------------------
// Charsets for text.encode / text.decode

const ASCII = new Set(['us-ascii', 'ascii', 'iso646-us', 'ansi_x3.4-1968', 'iso-ir-6', 'cp367', 'ibm367', 'us', 'csascii']);
const LATIN1 = new Set(['iso-8859-1', 'iso_8859-1', 'latin1', 'l1', 'iso-ir-100', 'cp819', 'ibm819', 'csisolatin1', 'iso8859-1']);
const UTF8 = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);
const singleByteTables = new Map<string, Map<number, number>>();

function charsetName(fn: string, v: Value | undefined): string {
  return v === undefined || v === null ? 'utf-8' : str(fn, 'charset', v).toLowerCase();
}

function decoderFor(fn: string, charset: string): InstanceType<typeof TextDecoder> {
  try {
    return new TextDecoder(charset, { fatal: false, ignoreBOM: true });
  } catch {
    return raise('ValueError', `${fn}: unsupported charset ${JSON.stringify(charset)}`);
  }
}

function decodeBytes(fn: string, data: Uint8Array, charset: string): string {
  if (UTF8.has(charset)) return decoderFor(fn, 'utf-8').decode(data);
  // WHATWG maps the ASCII and Latin-1 labels to windows-1252; IANA's charsets are decoded here.
  if (ASCII.has(charset)) return Array.from(data, (b) => (b < 0x80 ? String.fromCharCode(b) : '\ufffd')).join('');
  if (LATIN1.has(charset)) return Array.from(data, (b) => String.fromCharCode(b)).join('');
  if (charset === 'utf-16') {
    // RFC 2781: a byte order mark decides; without one the text is big-endian.
    if (data[0] === 0xff && data[1] === 0xfe) return decoderFor(fn, 'utf-16le').decode(data.subarray(2));
    if (data[0] === 0xfe && data[1] === 0xff) return decoderFor(fn, 'utf-16be').decode(data.subarray(2));
    return decoderFor(fn, 'utf-16be').decode(data);
  }
  return decoderFor(fn, charset).decode(data);
}

function encodeText(fn: string, text: string, charset: string): Uint8Array {
  const unrepresentable = (ch: string): never =>
    raise('ValueError', `${fn}: the character ${JSON.stringify(ch)} cannot be represented in ${charset.toUpperCase()}`);
  if (UTF8.has(charset)) return new TextEncoder().encode(text);
  if (ASCII.has(charset) || LATIN1.has(charset)) {
    const max = ASCII.has(charset) ? 0x7f : 0xff;
    return Uint8Array.from(Array.from(text, (ch) => ((ch.codePointAt(0) ?? 0) <= max ? (ch.codePointAt(0) ?? 0) : unrepresentable(ch))));
  }
  if (charset === 'utf-16be' || charset === 'utf-16le' || charset === 'utf-16') {
    // UTF-16 without a byte order mark is big-endian (RFC 2781); none is written.
    const little = charset === 'utf-16le';
    const out = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) {
      const u = text.charCodeAt(i);
      out[2 * i] = little ? u & 0xff : u >> 8;
      out[2 * i + 1] = little ? u >> 8 : u & 0xff;
    }
    return out;
  }
  // Other single-byte charsets (ISO-8859-2, windows-1250, KOI8-R, ...): invert the decoder's table.
  let table = singleByteTables.get(charset);
  if (table === undefined) {
    const decoder = decoderFor(fn, charset);
    const all = decoder.decode(Uint8Array.from({ length: 256 }, (_, i) => i));
    if (Array.from(all).length !== 256)
      raise('ValueError', `${fn}: encoding to ${charset.toUpperCase()} is not supported by the local engine`);
    table = new Map();
    Array.from(all).forEach((ch, b) => {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp !== 0xfffd && !table?.has(cp)) table?.set(cp, b);
    });
    singleByteTables.set(charset, table);
  }
  const t = table;
  return Uint8Array.from(Array.from(text, (ch) => t.get(ch.codePointAt(0) ?? -1) ?? unrepresentable(ch)));
}

// ---------------------------------------------------------------------------------------------
// The functions

function urlEncode(source: string, plus: boolean): string {
  let out = '';
  for (const b of new TextEncoder().encode(source)) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9._-]/.test(ch)) out += ch;
    else if (plus && b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Clamps a code point index as the reference describes: negative counts from the end. */
function clampIndex(i: bigint, length: number): number {
  const n = BigInt(length);
  const v = i < 0n ? i + n : i;
  return Number(v < 0n ? 0n : v > n ? n : v);
}

function simpleCase(source: string, upper: boolean): string {
  let out = '';
  for (const ch of source) {
    const cp = ch.codePointAt(0) ?? 0;
    // Per-letter mappings only (strings.ToUpper/ToLower semantics): a letter whose full mapping
    // is several characters (ß → SS) keeps its single-character mapping, which is itself.
    if (!upper && cp === 0x130) {
      out += 'i';
      continue;
    }
    const mapped = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += Array.from(mapped).length === 1 ? mapped : ch;
  }
  return out;
}

export const textFunctions: readonly StdFunction[] = [
  {
    name: 'text.split',
    params: ['source', 'separator'],
    required: 2,
    call([source, separator]) {
      const s = str('text.split', 'source', source);
      const sep = utf8('text.split', 'separator', str('text.split', 'separator', separator));
      if (sep === '') raise('ValueError', `text.split: argument 'separator' is an empty string`);
      return s.split(sep);
    },
  },
  {
    name: 'text.substring',
    params: ['source', 'start', 'end'],
    required: 3,
    call([source, start, end]) {
      const chars = Array.from(str('text.substring', 'source', source));
      const from = clampIndex(int('text.substring', 'start', start), chars.length);
      const to = clampIndex(int('text.substring', 'end', end), chars.length);
      // A start at or after the end gives an empty string (the reference is silent; slicing rules).
      return from >= to ? '' : chars.slice(from, to).join('');
    },
  },
  {
    name: 'text.find_all',
    params: ['source', 'substr'],
    required: 2,
    call([source, substr]) {
      const s = str('text.find_all', 'source', source);
      const sub = utf8('text.find_all', 'substr', str('text.find_all', 'substr', substr));
      const cpOf = codePointIndexer(s);
      // An empty substring is found before every code point and at the end (as text.replace_all
      // documents for an empty expression); the reference is silent for find_all.
      if (sub === '') return Array.from({ length: cpOf(s.length) + 1 }, (_, i) => BigInt(i));
      const out: Value[] = [];
      for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) out.push(BigInt(cpOf(i)));
      return out;
    },
  },
  {
    name: 'text.find_all_regex',
    params: ['source', 'regexp'],
    required: 2,
    call([source, regexp]) {
      const s = str('text.find_all_regex', 'source', source);
      const re = compileRe2('text.find_all_regex', str('text.find_all_regex', 'regexp', regexp));
      const cpOf = codePointIndexer(s);
      return allMatches(re, s).map(
        ([a, b]): WfMap =>
          new Map<string, Value>([
            ['index', BigInt(cpOf(a))],
            ['match', s.slice(a, b)],
          ]),
      );
    },
  },
  {
    name: 'text.match_regex',
    params: ['source', 'regexp'],
    required: 2,
    call([source, regexp]) {
      const s = str('text.match_regex', 'source', source);
      return matchesAnywhere(compileRe2('text.match_regex', str('text.match_regex', 'regexp', regexp)), s);
    },
  },
  {
    name: 'text.replace_all',
    params: ['source', 'substr', 'repl'],
    required: 3,
    call([source, substr, repl]) {
      const s = str('text.replace_all', 'source', source);
      const sub = utf8('text.replace_all', 'substr', str('text.replace_all', 'substr', substr));
      const r = utf8('text.replace_all', 'repl', str('text.replace_all', 'repl', repl));
      if (sub === '') return r + Array.from(s, (ch) => ch + r).join('');
      return s.split(sub).join(r);
    },
  },
  {
    name: 'text.replace_all_regex',
    params: ['source', 'regexp', 'repl'],
    required: 3,
    call([source, regexp, repl]) {
      const s = str('text.replace_all_regex', 'source', source);
      const re = compileRe2('text.replace_all_regex', str('text.replace_all_regex', 'regexp', regexp));
      // Backreferences are not supported, so `repl` is inserted literally ($1 and \1 included).
      const r = utf8('text.replace_all_regex', 'repl', str('text.replace_all_regex', 'repl', repl));
      let out = '';
      let last = 0;
      for (const [a, b] of allMatches(re, s)) {
        out += s.slice(last, a) + r;
        last = b;
      }
      return out + s.slice(last);
    },
  },
  {
    name: 'text.to_lower',
    params: ['source'],
    required: 1,
    call: ([source]) => simpleCase(str('text.to_lower', 'source', source), false),
  },
  {
    name: 'text.to_upper',
    params: ['source'],
    required: 1,
    call: ([source]) => simpleCase(str('text.to_upper', 'source', source), true),
  },
  {
    name: 'text.url_encode',
    params: ['source'],
    required: 1,
    call: ([source]) => urlEncode(str('text.url_encode', 'source', source), false),
  },
  {
    name: 'text.url_encode_plus',
    params: ['source'],
    required: 1,
    call: ([source]) => urlEncode(str('text.url_encode_plus', 'source', source), true),
  },
  {
    name: 'text.url_decode',
    params: ['source'],
    required: 1,
    call([source]) {
      const s = str('text.url_decode', 'source', source);
      const out: number[] = [];
      const encoder = new TextEncoder();
      for (let i = 0; i < s.length;) {
        const ch = s[i];
        if (ch === '%') {
          const hex = s.slice(i + 1, i + 3);
          if (!/^[0-9A-Fa-f]{2}$/.test(hex))
            raise('ValueError', `text.url_decode: '%' at offset ${i} is not followed by two hexadecimal characters`);
          out.push(parseInt(hex, 16));
          i += 3;
        } else if (ch === '+') {
          out.push(0x20);
          i++;
        } else {
          const w = widthAt(s, i);
          out.push(...encoder.encode(s.slice(i, i + w)));
          i += w;
        }
      }
      // Decoded bytes that are not UTF-8 become U+FFFD (the reference is silent).
      return decodeBytes('text.url_decode', Uint8Array.from(out), 'utf-8');
    },
  },
  {
    name: 'text.decode',
    params: ['data', 'charset'],
    required: 1,
    call([data, charset]) {
      const b = bytes('text.decode', 'data', data);
      return decodeBytes('text.decode', b.data, charsetName('text.decode', charset));
    },
  },
  {
    name: 'text.encode',
    params: ['text', 'charset'],
    required: 1,
    call([text, charset]) {
      const t = str('text.encode', 'text', text);
      return new Bytes(encodeText('text.encode', t, charsetName('text.encode', charset)));
    },
  },
];
