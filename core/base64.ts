/**
 * Strict base64 (RFC 4648 §4, with padding). Node's decoder skips characters it does not know and
 * accepts missing padding, so a corrupted value would silently decode to different bytes; here a
 * value is accepted only when re-encoding its bytes gives back exactly the same text.
 */
import { Buffer } from 'node:buffer';

const ALPHABET = /[^A-Za-z0-9+/=]/;

export type Base64Result = { ok: true; bytes: Buffer } | { ok: false; problem: string };

export function decodeBase64Strict(text: string): Base64Result {
  if (text.length === 0) return { ok: false, problem: 'is empty' };
  const bad = ALPHABET.exec(text);
  if (bad) {
    const ch = bad[0];
    const shown = /\s/.test(ch) ? JSON.stringify(ch) : `'${ch}'`;
    return { ok: false, problem: `has ${shown} at offset ${bad.index}, which is not a base64 character` };
  }
  if (text.length % 4 !== 0) {
    return { ok: false, problem: `has length ${text.length}, not a multiple of 4 (missing or extra padding)` };
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) {
    return { ok: false, problem: 'is not canonical base64 (misplaced padding or non-zero trailing bits)' };
  }
  return { ok: true, bytes };
}
