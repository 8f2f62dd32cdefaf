/**
 * The `math` module: math.abs, math.floor, math.max, math.min. Their reference pages
 * (https://cloud.google.com/workflows/docs/reference/stdlib/math/abs and siblings) could not be
 * read, so the parameter names (`x`, `y`) and these rules are the conservative choice, not the
 * reference's word:
 * - abs keeps the argument's type; abs of the smallest integer overflows (ValueError);
 * - floor of a double gives an integer (ValueError beyond 64 bits); floor of an integer is itself;
 * - max/min compare integers and doubles by value and return the chosen argument unchanged
 *   (its type kept); on a tie the first argument is returned.
 */
import type { StdFunction } from '../run/runtime.js';
import { INT_MAX, INT_MIN, raise, toDouble } from '../run/values.js';
import { num } from './check.js';

function less(a: bigint | number, b: bigint | number): boolean {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b;
  return toDouble(a) < toDouble(b);
}

export const mathFunctions: readonly StdFunction[] = [
  {
    name: 'math.abs',
    params: ['x'],
    required: 1,
    call([x]) {
      const v = num('math.abs', 'x', x);
      if (typeof v === 'number') return Math.abs(v);
      if (v === INT_MIN) raise('ValueError', `math.abs: the absolute value of ${v} does not fit in 64 bits`);
      return v < 0n ? -v : v;
    },
  },
  {
    name: 'math.floor',
    params: ['x'],
    required: 1,
    call([x]) {
      const v = num('math.floor', 'x', x);
      if (typeof v === 'bigint') return v;
      if (!Number.isFinite(v)) raise('ValueError', `math.floor: argument 'x' must be finite, got ${v}`);
      const f = BigInt(Math.floor(v));
      if (f < INT_MIN || f > INT_MAX) raise('ValueError', `math.floor: ${v} is out of the 64-bit integer range`);
      return f;
    },
  },
  {
    name: 'math.max',
    params: ['x', 'y'],
    required: 2,
    call([x, y]) {
      const a = num('math.max', 'x', x);
      const b = num('math.max', 'y', y);
      return less(a, b) ? b : a;
    },
  },
  {
    name: 'math.min',
    params: ['x', 'y'],
    required: 2,
    call([x, y]) {
      const a = num('math.min', 'x', x);
      const b = num('math.min', 'y', y);
      return less(b, a) ? b : a;
    },
  },
];
