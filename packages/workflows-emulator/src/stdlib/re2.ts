/**
 * RE2, the regular expression syntax of the text module, translated into JavaScript RegExps (flag
 * `u`) construct by construct, so that RE2 semantics are kept where JavaScript differs: `.` does
 * not match `\n` unless `(?s)`, `\s \d \w \b` are ASCII-only, `^ $` anchor to the text unless
 * `(?m)`, `(?i)` may apply to a group only. What RE2 rejects is rejected with ValueError:
 * lookaround, backreferences, `\Z`, `\C`, possessive or nested repetition, repeat counts above
 * 1000. Matching is leftmost-longest (`allMatches`), as text.find_all_regex and
 * text.replace_all_regex document. Capture groups are never exposed, so they are compiled as
 * non-capturing. Known differences: case folding under `(?i)` follows JavaScript's simple case
 * mappings plus the special orbits listed in FOLD_ORBITS, and classes spanning more than 0x3000
 * code points are not folded; `\p{...}` classes are not case-folded.
 */
import { raise } from '../run/values.js';
import { codePointIndexer, utf8, widthAt } from './code-points.js';

type Range = readonly [number, number];
interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const MAX_CP = 0x10ffff;
const MAX_REPEAT = 1000;
const DIGIT: Range[] = [[0x30, 0x39]];
const SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];
const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const POSIX: Readonly<Record<string, Range[]>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Case-folding orbits JavaScript's toLowerCase/toUpperCase do not reveal from every member. */
const FOLD_ORBITS: readonly (readonly number[])[] = [
  [0x4b, 0x6b, 0x212a],
  [0x53, 0x73, 0x17f],
  [0xc5, 0xe5, 0x212b],
  [0xb5, 0x39c, 0x3bc],
  [0x392, 0x3b2, 0x3d0],
  [0x395, 0x3b5, 0x3f5],
  [0x398, 0x3b8, 0x3d1, 0x3f4],
  [0x399, 0x3b9, 0x345, 0x1fbe],
  [0x39a, 0x3ba, 0x3f0],
  [0x3a0, 0x3c0, 0x3d6],
  [0x3a1, 0x3c1, 0x3f1],
  [0x3a3, 0x3c2, 0x3c3],
  [0x3a6, 0x3c6, 0x3d5],
  [0x3a9, 0x3c9, 0x2126],
  [0x1c4, 0x1c5, 0x1c6],
  [0x1c7, 0x1c8, 0x1c9],
  [0x1ca, 0x1cb, 0x1cc],
  [0x1f1, 0x1f2, 0x1f3],
  [0x1e60, 0x1e61, 0x1e9b],
];
/** Dotted and dotless i fold only to themselves under simple case folding. */
const FOLD_SELF = new Set([0x130, 0x131]);

function caseVariants(cp: number): number[] {
  if (FOLD_SELF.has(cp)) return [cp];
  const set = new Set<number>([cp]);
  const add = (s: string): void => {
    const chars = Array.from(s);
    const c = chars.length === 1 ? chars[0]?.codePointAt(0) : undefined;
    if (c !== undefined && !FOLD_SELF.has(c)) set.add(c);
  };
  for (let round = 0; round < 2; round++) {
    for (const v of [...set]) {
      const ch = String.fromCodePoint(v);
      add(ch.toLowerCase());
      add(ch.toUpperCase());
    }
  }
  for (const orbit of FOLD_ORBITS) if (orbit.some((c) => set.has(c))) orbit.forEach((c) => set.add(c));
  return [...set];
}

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

const cpEscape = (cp: number): string =>
  /^[0-9A-Za-z]$/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : `\\u{${cp.toString(16)}}`;
const rangeText = ([lo, hi]: Range): string => (lo === hi ? cpEscape(lo) : `${cpEscape(lo)}-${cpEscape(hi)}`);

/** Case variants of a class's ranges that the ranges do not already hold. */
function foldedExtras(ranges: readonly Range[]): Range[] {
  const inside = (c: number): boolean => ranges.some(([lo, hi]) => c >= lo && c <= hi);
  const extra = new Set<number>();
  for (const [lo, hi] of ranges) {
    if (hi - lo > 0x3000) continue;
    for (let c = lo; c <= hi; c++) for (const v of caseVariants(c)) if (!inside(v)) extra.add(v);
  }
  return [...extra].map((c) => [c, c] as const);
}

function classText(ranges: readonly Range[], props: readonly string[], negated: boolean, fold: boolean): string {
  const all = fold ? [...ranges, ...foldedExtras(ranges)] : ranges;
  return `[${negated ? '^' : ''}${all.map(rangeText).join('')}${props.join('')}]`;
}

type Escape = { cp: number } | { ranges: Range[] } | { prop: string } | { assertion: string } | { quote: string };

const WORD_CLASS = '[0-9A-Za-z_]';
const ASSERTIONS = {
  beginText: '(?:(?<![\\s\\S]))',
  endText: '(?:(?![\\s\\S]))',
  beginLine: '(?:(?<![^\\n]))',
  endLine: '(?:(?![^\\n]))',
  wordBoundary: `(?:(?<=${WORD_CLASS})(?!${WORD_CLASS})|(?<!${WORD_CLASS})(?=${WORD_CLASS}))`,
  notWordBoundary: `(?:(?<=${WORD_CLASS})(?=${WORD_CLASS})|(?<!${WORD_CLASS})(?!${WORD_CLASS}))`,
};

class Re2Translator {
  private pos = 0;
  private readonly names = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly fn: string,
  ) {}

  translate(): string {
    const out = this.sequence({ i: false, m: false, s: false, U: false }, 0);
    if (this.pos < this.src.length) this.fail('unexpected )');
    return out;
  }

  private fail(why: string): never {
    return raise('ValueError', `${this.fn}: invalid regular expression ${JSON.stringify(this.src)}: ${why}`);
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private codePoint(): number {
    const cp = this.src.codePointAt(this.pos);
    if (cp === undefined) return this.fail('unexpected end');
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  /** A sequence of alternatives up to the closing ')' of the current group (not consumed). */
  private sequence(flags: Flags, depth: number): string {
    let out = '';
    let canRepeat = false;
    let afterRepeat = false;
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === ')') {
        if (depth === 0) this.fail('unexpected )');
        return out;
      }
      if (c === '|') {
        this.pos++;
        out += '|';
        canRepeat = false;
        afterRepeat = false;
        continue;
      }
      const q = this.quantifier(flags);
      if (q !== null) {
        if (!canRepeat) this.fail(afterRepeat ? 'invalid nested repetition operator' : 'missing argument to repetition operator');
        out += q;
        canRepeat = false;
        afterRepeat = true;
        continue;
      }
      afterRepeat = false;
      const atom = this.atom(flags, depth);
      out += atom.text;
      canRepeat = atom.repeatable;
    }
    if (depth > 0) this.fail('missing closing )');
    return out;
  }

  private quantifier(flags: Flags): string | null {
    const c = this.peek();
    let q: string;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      q = c;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (m === null) return null;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
      if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) this.fail(`invalid repeat count ${m[0]}`);
      this.pos += m[0].length;
      q = m[0];
    } else {
      return null;
    }
    let lazy = false;
    if (this.peek() === '?') {
      this.pos++;
      lazy = true;
    }
    if (flags.U) lazy = !lazy;
    return lazy ? `${q}?` : q;
  }

  private atom(flags: Flags, depth: number): { text: string; repeatable: boolean } {
    const c = this.peek();
    switch (c) {
      case '(':
        return this.group(flags, depth);
      case '[':
        return { text: this.charClass(flags), repeatable: true };
      case '.':
        this.pos++;
        return { text: flags.s ? '[\\s\\S]' : '[^\\n]', repeatable: true };
      case '^':
        this.pos++;
        return { text: flags.m ? ASSERTIONS.beginLine : ASSERTIONS.beginText, repeatable: true };
      case '$':
        this.pos++;
        return { text: flags.m ? ASSERTIONS.endLine : ASSERTIONS.endText, repeatable: true };
      case '\\': {
        const e = this.escape(false);
        if ('cp' in e) return { text: this.literal(e.cp, flags), repeatable: true };
        if ('ranges' in e) return { text: classText(e.ranges, [], false, flags.i), repeatable: true };
        if ('prop' in e) return { text: e.prop, repeatable: true };
        if ('assertion' in e) return { text: e.assertion, repeatable: true };
        // \Q...\E: literals one by one, so a following quantifier applies to the last one.
        const quoted = Array.from(e.quote, (ch) => this.literal(ch.codePointAt(0) ?? 0, flags)).join('');
        return { text: quoted, repeatable: e.quote !== '' };
      }
      default:
        return { text: this.literal(this.codePoint(), flags), repeatable: true };
    }
  }

  private literal(cp: number, flags: Flags): string {
    if (!flags.i) return cpEscape(cp);
    const variants = caseVariants(cp);
    return variants.length === 1 ? cpEscape(cp) : `[${variants.map(cpEscape).join('')}]`;
  }

  private group(flags: Flags, depth: number): { text: string; repeatable: boolean } {
    this.pos++; // (
    let inner: Flags = { ...flags };
    if (this.peek() === '?') {
      const rest = this.src.slice(this.pos + 1);
      if (/^(=|!|<=|<!)/.test(rest)) this.fail('lookahead and lookbehind assertions are not supported (RE2 syntax)');
      const named = /^(?:P<|<)([^>]*)>/.exec(rest);
      if (named !== null) {
        const name = named[1] ?? '';
        if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid capture group name ${JSON.stringify(name)}`);
        if (this.names.has(name)) this.fail(`duplicate capture group name ${JSON.stringify(name)}`);
        this.names.add(name);
        this.pos += 1 + named[0].length;
      } else {
        this.pos++; // ?
        let negate = false;
        let any = false;
        for (;;) {
          const f = this.peek();
          if (f === undefined) this.fail('missing closing )');
          this.pos++;
          if (f === '-') {
            if (negate) this.fail('invalid flag syntax');
            negate = true;
            any = false;
          } else if (f === 'i' || f === 'm' || f === 's' || f === 'U') {
            inner[f] = !negate;
            any = true;
          } else if (f === ':' || f === ')') {
            if (negate && !any) this.fail('missing flags after -');
            if (f === ')') {
              if (!any && !negate) this.fail('missing argument to repetition operator');
              Object.assign(flags, inner);
              return { text: '', repeatable: false };
            }
            break;
          } else {
            this.fail(`invalid or unsupported Perl syntax (?${f}`);
          }
        }
      }
    } else {
      inner = { ...flags };
    }
    const body = this.sequence(inner, depth + 1);
    if (this.peek() !== ')') this.fail('missing closing )');
    this.pos++;
    return { text: `(?:${body})`, repeatable: true };
  }

  private charClass(flags: Flags): string {
    this.pos++; // [
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: Range[] = [];
    const props: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('missing closing ]');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
      if (posix !== null) {
        const set = POSIX[posix[2] ?? ''];
        if (set === undefined) this.fail(`invalid character class range ${posix[0]}`);
        ranges.push(...(posix[1] === '^' ? complement(set) : set));
        this.pos += posix[0].length;
        continue;
      }
      const lo = this.classAtom();
      if (typeof lo !== 'number') {
        if ('ranges' in lo) ranges.push(...lo.ranges);
        else props.push(lo.prop);
        continue;
      }
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        const hi = this.classAtom();
        if (typeof hi !== 'number' || hi < lo) this.fail('invalid character class range');
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    return classText(ranges, props, negated, flags.i);
  }

  private classAtom(): number | { ranges: Range[] } | { prop: string } {
    if (this.peek() !== '\\') return this.codePoint();
    const e = this.escape(true);
    if ('cp' in e) return e.cp;
    if ('ranges' in e) return e;
    if ('prop' in e) return e;
    return this.fail('invalid escape sequence in character class');
  }

  private escape(inClass: boolean): Escape {
    this.pos++; // backslash
    const c = this.peek();
    if (c === undefined) this.fail('trailing backslash at end of expression');
    this.pos++;
    switch (c) {
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        if (!/[0-7]/.test(this.peek() ?? '')) this.fail(`backreferences are not supported: \\${c}`);
        return { cp: this.octal(c) };
      case '0':
        return { cp: this.octal(c) };
      case '8':
      case '9':
        return this.fail(`backreferences are not supported: \\${c}`);
      case 'x':
        return { cp: this.hex() };
      case 'a':
        return { cp: 7 };
      case 'f':
        return { cp: 12 };
      case 't':
        return { cp: 9 };
      case 'n':
        return { cp: 10 };
      case 'r':
        return { cp: 13 };
      case 'v':
        return { cp: 11 };
      case 'd':
        return { ranges: DIGIT };
      case 'D':
        return { ranges: complement(DIGIT) };
      case 's':
        return { ranges: SPACE };
      case 'S':
        return { ranges: complement(SPACE) };
      case 'w':
        return { ranges: WORD };
      case 'W':
        return { ranges: complement(WORD) };
      case 'p':
      case 'P':
        return { prop: this.property(c === 'P') };
      default:
        break;
    }
    if (!inClass) {
      switch (c) {
        case 'A':
          return { assertion: ASSERTIONS.beginText };
        case 'z':
          return { assertion: ASSERTIONS.endText };
        case 'b':
          return { assertion: ASSERTIONS.wordBoundary };
        case 'B':
          return { assertion: ASSERTIONS.notWordBoundary };
        case 'Q': {
          const end = this.src.indexOf('\\E', this.pos);
          const quote = this.src.slice(this.pos, end < 0 ? undefined : end);
          this.pos = end < 0 ? this.src.length : end + 2;
          return { quote };
        }
        default:
          break;
      }
    }
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x80 && !/[0-9A-Za-z]/.test(c)) return { cp: code };
    return this.fail(`invalid escape sequence \\${c}`);
  }

  private octal(first: string): number {
    let digits = first;
    while (digits.length < 3 && /[0-7]/.test(this.peek() ?? '')) digits += this.src[this.pos++];
    return parseInt(digits, 8);
  }

  private hex(): number {
    const rest = this.src.slice(this.pos);
    const m = /^\{([0-9A-Fa-f]+)\}/.exec(rest) ?? /^([0-9A-Fa-f]{2})/.exec(rest);
    if (m === null) this.fail('invalid escape sequence \\x');
    const cp = parseInt(m[1] ?? '', 16);
    if (cp > MAX_CP) this.fail('invalid escape sequence \\x: code point out of range');
    this.pos += m[0].length;
    return cp;
  }

  private property(negated: boolean): string {
    let name: string;
    if (this.peek() === '{') {
      const end = this.src.indexOf('}', this.pos);
      if (end < 0) this.fail('invalid character class range: missing }');
      name = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      const letter = this.peek();
      if (letter === undefined || !/[A-Za-z]/.test(letter)) this.fail('invalid character class range');
      name = letter;
      this.pos++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (!/^[A-Za-z_]+$/.test(name)) this.fail(`invalid character class range \\p{${name}}`);
    const js = name === 'Any' || /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
    const text = `\\${negated ? 'P' : 'p'}{${js}}`;
    try {
      new RegExp(text, 'u');
    } catch {
      this.fail(`invalid character class range \\p{${name}}`);
    }
    return text;
  }
}

export interface CompiledRegex {
  /** The translated pattern, for building derived expressions. */
  readonly source: string;
  /** The pattern with flags `gu`, for searching from a position. */
  readonly search: RegExp;
  /** Sticky variants asserting that the match ends at least k code points after the text's start. */
  readonly atLeast: Map<number, RegExp>;
}

const compiledCache = new Map<string, CompiledRegex>();
const CACHE_SIZE = 200;

export function compileRe2(fn: string, pattern: string): CompiledRegex {
  const hit = compiledCache.get(pattern);
  if (hit !== undefined) return hit;
  utf8(fn, 'regexp', pattern);
  const source = new Re2Translator(pattern, fn).translate();
  let search: RegExp;
  try {
    search = new RegExp(source, 'gu');
  } catch (e) {
    return raise('ValueError', `${fn}: invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  const compiled: CompiledRegex = { source, search, atLeast: new Map() };
  if (compiledCache.size >= CACHE_SIZE) compiledCache.delete(compiledCache.keys().next().value as string);
  compiledCache.set(pattern, compiled);
  return compiled;
}

/**
 * The leftmost-longest match starting at or after `from`, as [start, end) UTF-16 offsets. The
 * leftmost start comes from JavaScript's search (a backtracking engine tries every path from a
 * position before moving on). The end is then pushed as far right as any match from that start
 * reaches: "some match from `start` is at least k code points long" is monotone in k, so a binary
 * search over k with a sticky variant of the pattern, `(?:p)(?<=[\s\S]{k})`, finds the longest.
 * The variant runs on the text from one code point before `start` (every assertion the translator
 * emits looks at most one code point around it), so its lookbehind scans only the match, not the
 * whole text. The common case, JavaScript's match already being the longest, costs one extra
 * sticky match.
 */
function leftmostLongest(
  re: CompiledRegex,
  s: string,
  from: number,
  cpOf: (unit: number) => number,
  total: number,
): [number, number] | null {
  re.search.lastIndex = from;
  const m = re.search.exec(s);
  if (m === null) return null;
  const start = m.index;
  const firstEnd = start + m[0].length;
  const before =
    start === 0 ? 0 : start >= 2 && /[\ud800-\udbff]/.test(s[start - 2] ?? '') && /[\udc00-\udfff]/.test(s[start - 1] ?? '') ? 2 : 1;
  const tail = s.slice(start - before);
  const base = cpOf(start - before);
  const endsAtOrAfter = (cp: number): RegExpExecArray | null => {
    const k = cp - base;
    let sticky = re.atLeast.get(k);
    if (sticky === undefined) {
      sticky = new RegExp(`(?:${re.source})(?<=[\\s\\S]{${k}})`, 'yu');
      if (re.atLeast.size < 1000) re.atLeast.set(k, sticky);
    }
    sticky.lastIndex = before;
    return sticky.exec(tail);
  };
  let good = cpOf(firstEnd);
  if (good >= total || endsAtOrAfter(good + 1) === null) return [start, firstEnd];
  // Gallop up from the first longer end, then bisect between the last success and a failure.
  good += 1;
  let bad = total + 1;
  for (let step = 1; good + step <= total; step *= 2) {
    if (endsAtOrAfter(good + step) === null) {
      bad = good + step;
      break;
    }
    good += step;
  }
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (endsAtOrAfter(mid) !== null) good = mid;
    else bad = mid;
  }
  const longest = endsAtOrAfter(good);
  return [start, start + (longest?.[0].length ?? m[0].length)];
}

/**
 * Successive non-overlapping matches, as RE2's and Go's "All" routines find them: an empty
 * match right after the previous match is skipped, and the search then moves one code point on.
 */
export function allMatches(re: CompiledRegex, s: string): [number, number][] {
  const cpOf = codePointIndexer(s);
  const total = cpOf(s.length);
  const out: [number, number][] = [];
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length) {
    const m = leftmostLongest(re, s, pos, cpOf, total);
    if (m === null) break;
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

// ---------------------------------------------------------------------------------------------
