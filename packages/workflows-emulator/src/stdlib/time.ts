/**
 * The `time` module (https://cloud.google.com/workflows/docs/reference/stdlib/time/format,
 * .../time/parse).
 *
 * time.format writes RFC 3339 with exactly six fraction digits ("2024-07-12T12:50:33.000000Z"),
 * `Z` for a zero offset and `±hh:mm` otherwise (the reference's examples). Where it is silent:
 * fractions are rounded to the nearest microsecond, an unknown timezone is a ValueError, and
 * instants outside years 0001–9999 are a ValueError.
 *
 * time.parse reads RFC 3339 section 5.6 date-times (`T`/`Z` in either case, `Z` or `±hh:mm`)
 * "with up to a microsecond precision": more than six fraction digits (Cloud Logging writes nine)
 * are refused with ValueError rather than dropped; a leap second (60) is rejected. The result is
 * a double.
 */
import type { StdFunction } from '../run/runtime.js';
import { raise } from '../run/values.js';
import { num, str } from './check.js';

const MIN_US = -62135596800n * 1_000_000n; // 0001-01-01T00:00:00Z
const MAX_US = 253402300800n * 1_000_000n - 1n; // 9999-12-31T23:59:59.999999Z

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(fn: string, timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      return raise('ValueError', `${fn}: unknown timezone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** RFC 3339 text of an instant given in microseconds since the epoch. */
function formatMicros(fn: string, us: bigint, timeZone: string): string {
  if (us < MIN_US || us > MAX_US) raise('ValueError', `${fn}: the timestamp is outside the years 0001 to 9999`);
  const ms = Number(us / 1000n - (us % 1000n < 0n ? 1n : 0n));
  const micros = Number(((us % 1_000_000n) + 1_000_000n) % 1_000_000n);
  let offsetSeconds = 0;
  let fields: { year: number; month: number; day: number; hour: number; minute: number; second: number };
  const d = new Date(ms);
  if (timeZone === '' || timeZone === 'UTC') {
    fields = {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  } else {
    const parts = Object.fromEntries(
      formatter(fn, timeZone)
        .formatToParts(d)
        .map((p) => [p.type, p.value]),
    );
    fields = {
      year: Number(parts.year),
      month: Number(parts.month),
      day: Number(parts.day),
      hour: Number(parts.hour),
      minute: Number(parts.minute),
      second: Number(parts.second),
    };
    const local = new Date(0);
    local.setUTCFullYear(fields.year, fields.month - 1, fields.day);
    local.setUTCHours(fields.hour, fields.minute, fields.second, 0);
    offsetSeconds = Math.round((local.getTime() - (ms - (((ms % 1000) + 1000) % 1000))) / 1000);
  }
  const date = `${pad(fields.year, 4)}-${pad(fields.month, 2)}-${pad(fields.day, 2)}`;
  const clock = `${pad(fields.hour, 2)}:${pad(fields.minute, 2)}:${pad(fields.second, 2)}.${pad(micros, 6)}`;
  if (offsetSeconds === 0) return `${date}T${clock}Z`;
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  return `${date}T${clock}${sign}${pad(Math.floor(abs / 3600), 2)}:${pad(Math.floor((abs % 3600) / 60), 2)}`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Microseconds since the epoch of an RFC 3339 date-time; ValueError when it is not one. */
export function parseRfc3339(fn: string, param: string, text: string): bigint {
  const m = RFC3339.exec(text);
  const bad = (): never => raise('ValueError', `${fn}: argument '${param}' is not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  if (m === null) return bad();
  if ((m[7] ?? '').length > 6)
    raise(
      'ValueError',
      `${fn}: argument '${param}' has ${(m[7] ?? '').length} fraction digits: the reference takes RFC 3339 "with up to a microsecond precision", and the local engine refuses more: ${JSON.stringify(text)}`,
    );
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const maxDay = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > maxDay || hour > 23 || minute > 59 || second > 59) bad();
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  let us = BigInt(d.getTime()) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) bad();
    const offset = BigInt((oh * 3600 + om * 60) * 1_000_000);
    us = m[9] === '+' ? us - offset : us + offset;
  }
  return us;
}

/** Seconds (as a double) of a microsecond count, exact to the microsecond where a double allows. */
const microsToSeconds = (us: bigint): number => Number(us / 1_000_000n) + Number(us % 1_000_000n) / 1e6;

export const timeFunctions: readonly StdFunction[] = [
  {
    name: 'time.format',
    params: ['seconds', 'timezone'],
    required: 1,
    call([seconds, timezone]) {
      const s = num('time.format', 'seconds', seconds);
      const tz = timezone === undefined || timezone === null ? '' : str('time.format', 'timezone', timezone);
      let us: bigint;
      if (typeof s === 'bigint') {
        us = s * 1_000_000n;
      } else {
        if (!Number.isFinite(s)) raise('ValueError', `time.format: argument 'seconds' must be finite, got ${s}`);
        const whole = Math.floor(s);
        us = BigInt(whole) * 1_000_000n + BigInt(Math.round((s - whole) * 1e6));
      }
      return formatMicros('time.format', us, tz);
    },
  },
  {
    name: 'time.parse',
    params: ['value'],
    required: 1,
    call: ([value]) => microsToSeconds(parseRfc3339('time.parse', 'value', str('time.parse', 'value', value))),
  },
];
