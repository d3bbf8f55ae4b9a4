// Date primitives shared by training (transform, head-to-head ratings, time splits) and serving (instance
// validation), so both read a date with exactly the same code. No dependencies: the serving process loads it.

/**
 * 'YYYY-MM-DD' optionally followed by a time ('T' or space separator),
 * fractional seconds and a 'Z' / ±HH:MM offset.
 */
export const ISO_DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(?:\.\d{1,9})?)?(?:[Zz]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

const MS_PER_DAY = 86_400_000;

// A module-level helper, not a closure per call: this runs for every date of every predict row.
function digit(s: string, i: number): number {
  return s.charCodeAt(i) - 48;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function isPlainIsoDate(s: string): boolean {
  return isDigit(s, 0) && isDigit(s, 1) && isDigit(s, 2) && isDigit(s, 3) && s.charCodeAt(4) === 45 &&
    isDigit(s, 5) && isDigit(s, 6) && s.charCodeAt(7) === 45 && isDigit(s, 8) && isDigit(s, 9);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Calendar day of an ISO date string as days since 1970-01-01, or NaN when the
 * string is not a valid ISO date/timestamp.
 *
 * The day is the calendar date AS WRITTEN (the first 10 characters); any time
 * of day and UTC offset are validated but ignored. This makes date features
 * independent of the server's time zone (no training/serving skew).
 */
export function isoDateToDay(s: string): number {
  // A plain 'YYYY-MM-DD' (what predict requests send) is checked digit by digit; the regex is for the rest.
  if (s.length === 10 ? !isPlainIsoDate(s) : s.length < 10 || !ISO_DATE_RE.test(s)) return NaN;
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const month = digit(s, 5) * 10 + digit(s, 6);
  const day = digit(s, 8) * 10 + digit(s, 9);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** Day number (days since epoch) for a raw value: ISO string or Date. NaN otherwise. */
export function valueToDay(v: unknown): number {
  if (typeof v === 'string') return isoDateToDay(v);
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isFinite(t) ? Math.floor(t / MS_PER_DAY) : NaN;
  }
  return NaN;
}

/**
 * Minutes since midnight of a date value's time of day AS WRITTEN (any offset ignored, like the day), 0
 * for a plain date; NaN when the value is no date. A Date gives its UTC time, as it gives its UTC day.
 */
export function valueToMinuteOfDay(v: unknown): number {
  if (typeof v === 'string') {
    if (Number.isNaN(isoDateToDay(v))) return NaN;
    if (v.length < 16) return 0;
    return (digit(v, 11) * 10 + digit(v, 12)) * 60 + digit(v, 14) * 10 + digit(v, 15);
  }
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isFinite(t) ? minuteOfDay(t) : NaN;
  }
  return NaN;
}

/** Minutes since the UTC midnight of epoch milliseconds. */
export function minuteOfDay(ms: number): number {
  return Math.floor((ms - Math.floor(ms / MS_PER_DAY) * MS_PER_DAY) / 60_000);
}

/** 'YYYY-MM-DD' for a day number. */
export function dayToIso(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Epoch milliseconds of a time-column value (Date, epoch ms, bigint or a parseable string); NaN otherwise. */
export function toMillis(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v; // already epoch ms
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Date.parse(v);
  return Number.NaN;
}

/** The period (e.g. a season starting 07-01) that contains `t`. */
export function periodContaining(tMs: number, periodMonths: number, anchor: string): { from: number; to: number } {
  const [month, day] = anchor.split('-').map(Number);
  const d = new Date(tMs);
  let from = Date.UTC(d.getUTCFullYear(), month - 1, day);
  const step = (ms: number, months: number) => {
    const x = new Date(ms);
    return Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + months, x.getUTCDate());
  };
  while (from > tMs) from = step(from, -periodMonths);
  while (step(from, periodMonths) <= tMs) from = step(from, periodMonths);
  return { from, to: step(from, periodMonths) };
}
