/**
 * RE2, the regular expression syntax of the text module
 * (https://cloud.google.com/workflows/docs/reference/stdlib/text/find_all_regex and its siblings),
 * matched by re2js, a maintained JavaScript port of RE2 (through RE2J): RE2's own parser decides
 * what is valid (lookaround, backreferences and the like are refused, as RE2 refuses them), and
 * its own matcher runs, in leftmost-longest mode, which is what text.find_all_regex and
 * text.replace_all_regex document. A pattern RE2 refuses raises ValueError.
 */
import { RE2JS } from 're2js';
import { raise } from '../run/values.js';
import { utf8, widthAt } from './code-points.js';

export interface CompiledRegex {
  readonly pattern: RE2JS;
}

const compiledCache = new Map<string, CompiledRegex>();
const CACHE_SIZE = 200;

/**
 * RE2's own parser and matcher for `pattern` (the one place RE2 patterns are compiled: the text
 * module here, Compute's list filter in the recording fleet). Throws RE2's syntax error for a
 * pattern RE2 refuses (lookaround, backreferences, ...).
 */
export function re2(pattern: string, flags = 0): RE2JS {
  return RE2JS.compile(pattern, flags);
}

export function compileRe2(fn: string, pattern: string): CompiledRegex {
  const hit = compiledCache.get(pattern);
  if (hit !== undefined) return hit;
  utf8(fn, 'regexp', pattern);
  let compiled: CompiledRegex;
  try {
    compiled = { pattern: re2(pattern, RE2JS.LONGEST_MATCH) };
  } catch (e) {
    return raise('ValueError', `${fn}: invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  if (compiledCache.size >= CACHE_SIZE) compiledCache.delete(compiledCache.keys().next().value as string);
  compiledCache.set(pattern, compiled);
  return compiled;
}

/** Whether the pattern matches anywhere in `s` (text.match_regex). */
export function matchesAnywhere(re: CompiledRegex, s: string): boolean {
  return re.pattern.matcher(s).find();
}

/**
 * Successive non-overlapping leftmost-longest matches, as [start, end) UTF-16 offsets, the way
 * RE2's and Go's "All" routines find them: an empty match right after the previous match is
 * skipped, and the search then moves one code point on.
 */
export function allMatches(re: CompiledRegex, s: string): [number, number][] {
  const matcher = re.pattern.matcher(s);
  const out: [number, number][] = [];
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length) {
    if (!matcher.find(pos)) break;
    const m: [number, number] = [matcher.start(), matcher.end()];
    let accept = true;
    if (m[1] === pos) {
      if (m[0] === prevEnd) accept = false;
      pos += pos < s.length ? widthAt(s, pos) : 1;
    } else {
      pos = m[1];
    }
    prevEnd = m[1];
    if (accept) out.push(m);
  }
  return out;
}
