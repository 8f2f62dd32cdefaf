/**
 * Timestamps as instants. Cloud Logging and Pub/Sub write RFC 3339 times in protobuf Timestamp's
 * JSON form (https://protobuf.dev/reference/protobuf/google.protobuf/#timestamp): a real date of
 * the years 0001 to 9999, a time of day with seconds 0 to 59 (no leap second), up to 9 fraction
 * digits, and `Z` or an offset within ±23:59. A text that matches the pattern but names no
 * instant (month 13, February 30, `+24:00`) is no timestamp: `instantOf` gives null, so that no
 * comparison ever runs on the NaN `Date.parse` would give.
 */

const PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:Z|([+-])([0-9]{2}):([0-9]{2}))$/;

/** What a rejection says a timestamp must be. */
export const TIMESTAMP_EXPECTED = 'an RFC 3339 instant like "2026-03-01T08:15:30.123456789Z" (a real date and time, offset within ±23:59)';

/** An instant: milliseconds since the epoch, and the nanoseconds within that millisecond (0 to 999,999). */
export interface Instant {
  readonly ms: number;
  readonly nanos: number;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The instant `text` names, or null when it is not an RFC 3339 timestamp of a real instant. */
export function instantOf(text: string): Instant | null {
  const m = PATTERN.exec(text);
  if (m === null) return null;
  const [, ys, mos, ds, hs, mis, ss, frac, sign, ohs, oms] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const h = Number(hs);
  const mi = Number(mis);
  const s = Number(ss);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  if (d > (mo === 2 && isLeap(y) ? 29 : (MONTH_DAYS[mo - 1] ?? 0))) return null;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = (frac ?? '').padEnd(9, '0');
  const secondsMs = ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi - offsetMinutes) * 60_000 + s * 1000;
  return { ms: secondsMs + Number(fraction.slice(0, 3)), nanos: Number(fraction.slice(3)) };
}

/** Milliseconds since the epoch of `text`, or null when it is no real instant. */
export function epochMs(text: string): number | null {
  return instantOf(text)?.ms ?? null;
}

/** How many milliseconds `a` is after `b` (negative: before), with the nanoseconds as its fraction. */
export function msAfter(a: Instant, b: Instant): number {
  return a.ms - b.ms + (a.nanos - b.nanos) / 1e6;
}

/** Orders two instants to the nanosecond. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.ms - b.ms || a.nanos - b.nanos;
}

/**
 * Orders two timestamps by the instants they name, to the nanosecond (a string comparison is wrong
 * across offsets and fraction lengths); a text that is no instant orders before every instant.
 */
export function compareTimestamps(a: string, b: string): number {
  const x = instantOf(a);
  const y = instantOf(b);
  if (x === null || y === null) return (x === null ? 0 : 1) - (y === null ? 0 : 1);
  return compareInstants(x, y);
}
