// What a text value means, under a source's TextRules: missing, a number, a date. One implementation for
// the ingestion of a text file (data/ingest.ts) and for serving (serving/instance-validation.ts), so a raw
// row of the training file reads the same in both. No dependencies: the serving process loads it.
import { dateParser, escapeRegExp as escape } from '../pipelines/date-format.js';
import type { TextRules } from '../pipelines/fitted-features.js';

/** Tokens read as missing unless a source names its own (the empty string always is). */
export const DEFAULT_MISSING_TOKENS = ['NA', 'N/A', 'n/a', 'na', 'NaN', 'nan', 'null', 'NULL', 'None', '#N/A'];

export const DEFAULT_TEXT_RULES: TextRules = { missing: ['', ...DEFAULT_MISSING_TOKENS], decimal: '.', thousands: null, dateFormat: null };

/** The rules of a source's read options (pipelines/spec.ts ReadOptions). */
export function textRules(read: { nullValues?: string[]; decimal?: '.' | ','; thousands?: string; dateFormat?: string } = {}): TextRules {
  return {
    missing: ['', ...(read.nullValues ?? DEFAULT_MISSING_TOKENS).filter((t) => t !== '')],
    decimal: read.decimal ?? '.',
    thousands: read.thousands ?? null,
    dateFormat: read.dateFormat ?? null,
  };
}

export function isMissingText(s: string, rules: TextRules): boolean {
  const t = s.trim();
  return t === '' || rules.missing.includes(t);
}

const PLAIN = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const patterns = new Map<string, RegExp>();

/** Digits grouped by `thousands` (1,234,567), with an optional fraction after `decimal`. */
function groupedPattern(thousands: string, decimal: string): RegExp {
  const key = `${thousands}|${decimal}`;
  let re = patterns.get(key);
  if (!re) patterns.set(key, (re = new RegExp(`^[-+]?\\d{1,3}(?:${escape(thousands)}\\d{3})+(?:${escape(decimal)}\\d+)?$`)));
  return re;
}

/** The number a text value writes under `rules`, else NaN (missing tokens, words, malformed groups). */
export function numberFromText(s: string, rules: TextRules): number {
  const t = s.trim();
  if (t === '') return NaN;
  const grouped = rules.thousands !== null && groupedPattern(rules.thousands, rules.decimal).test(t);
  let plain = grouped ? t.split(rules.thousands!).join('') : t;
  if (rules.decimal === ',') {
    if (plain.includes('.')) return NaN;
    plain = plain.replace(',', '.');
  }
  if (!PLAIN.test(plain)) return NaN;
  const x = Number(plain);
  return Number.isFinite(x) ? x : NaN;
}

/** Whether a text value is digits grouped by `,` (1,234 or 12,345.5): a thousands separator nobody declared. */
export const looksGroupedByComma = (s: string) => groupedPattern(',', '.').test(s.trim());

const SLASH_DATE = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$/;

/**
 * A date written with slashes, dots or dashes, day or month first (03/04/2017, 31/12/2017, 3.4.17): a
 * column of them does not say which order it uses unless a format is given. Parts that cannot be a day and
 * a month in either order (a version such as 2.0.12) are no date.
 */
export function isSlashDate(s: string): boolean {
  const m = SLASH_DATE.exec(s);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * ISO 8601 text for a date written in `format` (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ when the format has a
 * time), else null (not in the format, or no such day).
 */
export function isoFromText(s: string, format: string): string | null {
  const { re, fields } = dateParser(format);
  const m = re.exec(s.trim());
  if (!m) return null;
  const v: Record<string, number> = {};
  fields.forEach((f, i) => (v[f] = Number(m[i + 1])));
  const year = v.Y ?? (v.y < 70 ? 2000 + v.y : 1900 + v.y);
  const month = v.m;
  const day = v.d;
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1) return null;
  const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  if (v.H === undefined) return date;
  if (v.H > 23 || (v.M ?? 0) > 59 || (v.S ?? 0) > 59) return null;
  return `${date}T${pad(v.H)}:${pad(v.M ?? 0)}:${pad(v.S ?? 0)}Z`;
}
