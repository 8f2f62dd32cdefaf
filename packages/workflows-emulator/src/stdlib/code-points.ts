/** Workflows strings are sequences of code points, stored as UTF-8; these map JavaScript's UTF-16 onto them. */
import { raise } from '../run/values.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** Workflows strings are UTF-8; a JavaScript string with a lone surrogate has no UTF-8 form. */
export function utf8(fn: string, param: string, s: string): string {
  if (LONE_SURROGATE.test(s)) raise('ValueError', `${fn}: argument '${param}' is not valid UTF-8`);
  return s;
}

/** Code point index of every UTF-16 offset of `s` (offsets inside a pair map to the pair). */
export function codePointIndexer(s: string): (unit: number) => number {
  const map = new Uint32Array(s.length + 1);
  let cp = 0;
  let i = 0;
  while (i < s.length) {
    map[i] = cp;
    const wide = (s.codePointAt(i) ?? 0) > 0xffff;
    if (wide) map[i + 1] = cp;
    i += wide ? 2 : 1;
    cp++;
  }
  map[s.length] = cp;
  return (unit) => map[unit] ?? cp;
}

/** The UTF-16 length of the code point at `i` (1 at the end of the string). */
export function widthAt(s: string, i: number): number {
  return (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
}
