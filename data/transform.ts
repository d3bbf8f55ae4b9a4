/**
 * Feature transform: fitted on the TRAINING split only, applied to every split
 * and — from its JSON form saved beside the model — by the prediction API to
 * raw incoming rows. The same `applyTransform` code runs in both places, so
 * there is no training/serving skew.
 *
 * Encodings (per column, in deterministic column order):
 *  - numeric     → (x - mean) / std with train mean/std (std 0 → 1).
 *                  Missing → train mean (i.e. 0 after standardizing), plus a
 *                  `<col>__missing` 0/1 indicator ONLY if train had missing values.
 *                  Numeric strings ("3.5") and booleans (1/0) are coerced;
 *                  anything else non-numeric counts as missing.
 *  - categorical → one-hot `<col>=<value>` over the `maxCategories` most frequent
 *                  train values (ties broken by value, ascending), then
 *                  `<col>=__missing__` if train had missing values, then
 *                  `<col>=__other__` for unseen/rare values (and for missing
 *                  values when train had none).
 *  - date        → `<col>__year` (standardized), `<col>__month_sin/cos`,
 *                  `<col>__dow_mon..sun` one-hot, `<col>__doy_sin/cos`
 *                  (+ `<col>__missing` if train had missing). Missing date → all 0.
 *                  The calendar date as written is used (time/offset ignored).
 *  - boolean     → 0/1 (also accepts "true"/"false" strings and 1/0 numbers).
 *                  Missing → train rate of `true`, plus `<col>__missing` if train had missing.
 *
 * "Missing" = null, undefined, NaN, or a blank string.
 */
import { z } from 'zod';
import {
  CALENDAR_DATE_PARTS, DATE_PARTS, type ColumnKind, type DatePart, type FittedColumn, type FittedTransform, type InputField, type InputSchema, type TeamRatingsState,
} from '../pipelines/fitted-features.js';
import type { ScoringWarning } from '../pipelines/contract.js';
import { HeadToHeadConfigSchema, type HeadToHeadConfig } from '../pipelines/head-to-head-config.js';
import { dayToIso, valueToDay, valueToMinuteOfDay } from './dates.js';
import { HEAD_TO_HEAD_FEATURES } from './head-to-head.js';
import { allRows, codedColumn, isoOfMillis, rowColumns, type ColumnData, type Columns } from './column-data.js';


export interface FeatureConfig {
  /** Restrict features to these columns (order of `candidateColumns` is kept). */
  include?: string[];
  /** Never use these columns as features. */
  exclude?: string[];
  /** One-hot cap for categorical columns (default 20). */
  maxCategories: number;
  /** Per-column kind overrides (otherwise inferred from the training rows). */
  kinds?: Record<string, ColumnKind>;
  /** Per date column, the parts to encode (see datePartsFor for the default). */
  dateParts?: Record<string, DatePart[]>;
}

export const DEFAULT_MAX_CATEGORIES = 20;
export const OTHER_CATEGORY = '__other__';
export const MISSING_CATEGORY = '__missing__';



// ---------------------------------------------------------------------------
// value helpers
// ---------------------------------------------------------------------------

const NUMERIC_STRING_RE = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function isMissing(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'number') return v !== v; // NaN
  if (typeof v === 'string') return v.length === 0 || (v.charCodeAt(0) <= 32 && v.trim().length === 0);
  return false;
}

/** Number for a numeric column, NaN if missing / not numeric. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'string') return NUMERIC_STRING_RE.test(v) ? Number(v) : NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NaN;
}

/** 1 / 0 for a boolean column, -1 if missing / not boolean. */
function toBool(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v === 1 ? 1 : v === 0 ? 0 : -1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    return s === 'true' ? 1 : s === 'false' ? 0 : -1;
  }
  return -1;
}

/** Category key for a non-missing value. */
function toCategory(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function isBoolLike(v: unknown): boolean {
  if (typeof v === 'boolean') return true;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    return s === 'true' || s === 'false';
  }
  return false;
}

// ---------------------------------------------------------------------------
// per-row values of a column, read the way encodeValue reads one value
// ---------------------------------------------------------------------------

// Fitting and encoding read the same column the same way (the numbers of a numeric feature, the days and
// minutes of a date): each view is computed once per column and kept with it, and a number column with
// no infinities is its own view (no copy of millions of rows).
const views = new WeakMap<ColumnData, Partial<Record<'numbers' | 'days' | 'minutes' | 'bools', Float64Array>>>();
function view(c: ColumnData, kind: 'numbers' | 'days' | 'minutes' | 'bools', compute: () => Float64Array): Float64Array {
  let perColumn = views.get(c);
  if (!perColumn) views.set(c, (perColumn = {}));
  return (perColumn[kind] ??= compute());
}

/** Each row's number as toNumber reads it (NaN: missing or not a number). */
function numbersOf(c: ColumnData): Float64Array {
  return view(c, 'numbers', () => {
    if (c.type === 'time') return new Float64Array(c.values.length).fill(NaN); // a Date is not a number
    if (c.type === 'coded') return gather(c, c.uniques.map(toNumber), NaN);
    const values = c.values;
    let infinite = false;
    for (let i = 0; i < values.length; i++) if (values[i] === Infinity || values[i] === -Infinity) { infinite = true; break; }
    if (!infinite) return values;
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[i] === Infinity || values[i] === -Infinity ? NaN : values[i];
    return out;
  });
}

/** Each row's calendar day as valueToDay reads it (NaN: missing or not a date). */
function daysOf(c: ColumnData): Float64Array {
  return view(c, 'days', () => {
    if (c.type === 'number') return new Float64Array(c.values.length).fill(NaN);
    if (c.type === 'coded') return gather(c, c.uniques.map(valueToDay), NaN);
    const ms = c.values;
    const out = new Float64Array(ms.length);
    for (let i = 0; i < ms.length; i++) out[i] = Math.floor(ms[i] / MS_PER_DAY);
    return out;
  });
}

/** Each row's minutes since midnight as valueToMinuteOfDay reads it (NaN: missing or not a date). */
function minutesOf(c: ColumnData): Float64Array {
  return view(c, 'minutes', () => {
    if (c.type === 'number') return new Float64Array(c.values.length).fill(NaN);
    if (c.type === 'coded') return gather(c, c.uniques.map(valueToMinuteOfDay), NaN);
    const ms = c.values;
    const out = new Float64Array(ms.length);
    // minuteOfDay (./dates.ts) written out: a call per row through a closure costs more than the arithmetic.
    for (let i = 0; i < ms.length; i++) out[i] = Math.floor((ms[i] - Math.floor(ms[i] / MS_PER_DAY) * MS_PER_DAY) / 60_000);
    return out;
  });
}

/** Each row's 1 / 0 as toBool reads it (-1: missing or not a boolean). */
function boolsOf(c: ColumnData): Float64Array {
  return view(c, 'bools', () => {
    if (c.type === 'time') return new Float64Array(c.values.length).fill(-1);
    if (c.type === 'coded') return gather(c, c.uniques.map(toBool), -1);
    const values = c.values;
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[i] === 1 ? 1 : values[i] === 0 ? 0 : -1;
    return out;
  });
}

function gather(c: { codes: Int32Array }, perUnique: number[], ifNull: number): Float64Array {
  const out = new Float64Array(c.codes.length);
  for (let i = 0; i < out.length; i++) {
    const code = c.codes[i];
    out[i] = code < 0 ? ifNull : perUnique[code];
  }
  return out;
}

/** A column as categories: codes into distinct values, whether each is missing, and its category key. */
function categoriesOf(c: ColumnData): { codes: Int32Array; missing: boolean[]; keys: string[] } {
  // A time is keyed by its ISO form, the form a request sends it in.
  const { codes, uniques } = codedColumn(c, isoOfMillis);
  return { codes, missing: uniques.map(isMissing), keys: uniques.map(toCategory) };
}

// ---------------------------------------------------------------------------
// inference
// ---------------------------------------------------------------------------

/**
 * Infer each column's kind from the rows:
 *  boolean if every non-missing value is a boolean (or "true"/"false");
 *  numeric if every non-missing value is a finite number or numeric string;
 *  date if every non-missing value is an ISO date / timestamp string;
 *  otherwise (including all-missing columns) categorical.
 */
export function inferColumnKinds(rows: readonly Record<string, unknown>[], columns: string[]): Record<string, ColumnKind> {
  return inferKinds(rowColumns(rows, columns), allRows(rows.length), columns);
}

/** inferColumnKinds over the rows at `index` of a table's columns. */
function inferKinds(data: Columns, index: Int32Array, columns: string[]): Record<string, ColumnKind> {
  const out: Record<string, ColumnKind> = {};
  for (const col of columns) {
    const c = data.column(col);
    if (c.type !== 'coded') {
      // A typed column: the kind follows from the type, once a value is there (an infinity is no number).
      let seen = 0;
      let infinite = false;
      for (let k = 0; k < index.length; k++) {
        const v = c.values[index[k]];
        if (v !== v) continue;
        seen++;
        if (v === Infinity || v === -Infinity) infinite = true;
      }
      out[col] = seen === 0 || infinite ? 'categorical' : c.type === 'time' ? 'date' : 'numeric';
      continue;
    }
    // Coded: the distinct values that occur in these rows decide, as each row would.
    const present = new Uint8Array(c.uniques.length);
    for (let k = 0; k < index.length; k++) {
      const code = c.codes[index[k]];
      if (code >= 0) present[code] = 1;
    }
    let bool = true;
    let num = true;
    let date = true;
    let seen = 0;
    for (let u = 0; u < c.uniques.length; u++) {
      const v = c.uniques[u];
      if (!present[u] || isMissing(v)) continue;
      seen++;
      if (bool && !isBoolLike(v)) bool = false;
      if (num && (typeof v === 'boolean' || Number.isNaN(toNumber(v)))) num = false;
      if (date && Number.isNaN(valueToDay(v))) date = false;
      if (!bool && !num && !date) break;
    }
    out[col] = seen === 0 ? 'categorical' : bool ? 'boolean' : num ? 'numeric' : date ? 'date' : 'categorical';
  }
  return out;
}

// ---------------------------------------------------------------------------
// fit
// ---------------------------------------------------------------------------

const DOW_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Output names produced by one fitted column (the single source of truth for layout). */
export function columnOutputNames(c: FittedColumn): string[] {
  switch (c.kind) {
    case 'numeric':
    case 'boolean':
      return c.hadMissing ? [c.name, `${c.name}__missing`] : [c.name];
    case 'categorical': {
      const names = c.categories.map((v) => `${c.name}=${v}`);
      if (c.hadMissing) names.push(`${c.name}=${MISSING_CATEGORY}`);
      names.push(`${c.name}=${OTHER_CATEGORY}`);
      return names;
    }
    case 'date': {
      const names = (c.parts ?? CALENDAR_DATE_PARTS).flatMap((part) => DATE_PART_OUTPUTS[part].map((suffix) => `${c.name}__${suffix}`));
      if (c.hadMissing) names.push(`${c.name}__missing`);
      return names;
    }
  }
}

/** Each date part's model inputs, in layout order. */
const DATE_PART_OUTPUTS: Record<DatePart, readonly string[]> = {
  year: ['year'],
  month: ['month_sin', 'month_cos'],
  weekday: DOW_NAMES.map((d) => `dow_${d}`),
  dayOfYear: ['doy_sin', 'doy_cos'],
  timeOfDay: ['time_sin', 'time_cos'],
};

/**
 * The parts a date column is fitted with, in layout order; undefined for the calendar parts alone (the
 * layout of every model fitted before parts existed, which keeps their saved transforms unchanged).
 */
function datePartsFor(asked: readonly DatePart[] | undefined, timed: boolean): DatePart[] | undefined {
  const wanted = new Set(asked ?? (timed ? [...CALENDAR_DATE_PARTS, 'timeOfDay'] : CALENDAR_DATE_PARTS));
  const parts = DATE_PARTS.filter((p) => wanted.has(p));
  return parts.join() === CALENDAR_DATE_PARTS.join() ? undefined : parts;
}

/** Mean and population standard deviation of values[index[k]] over the non-NaN ones (two passes, no copy). */
function meanStd(values: Float64Array, index: Int32Array): { mean: number; std: number } {
  let sum = 0;
  let count = 0;
  for (let k = 0; k < index.length; k++) {
    const v = values[index[k]];
    if (v === v) {
      sum += v;
      count++;
    }
  }
  const mean = count ? sum / count : 0;
  let ss = 0;
  for (let k = 0; k < index.length; k++) {
    const v = values[index[k]];
    if (v === v) ss += (v - mean) * (v - mean);
  }
  const std = count ? Math.sqrt(ss / count) : 0;
  return { mean, std: std > 1e-12 && Number.isFinite(std) ? std : 1 };
}

export interface FitOptions {
  target: string;
  features: FeatureConfig;
  /** Available columns, in the order features should appear. */
  candidateColumns: string[];
  /** Optional head-to-head state to carry for serving (see HeadToHeadBlock). */
  headToHead?: { config: HeadToHeadConfig; state: TeamRatingsState };
}

/**
 * Fit the transform on the training rows. Feature columns = candidateColumns
 * (order kept) ∩ include (if given) − exclude − target. Columns with no
 * non-missing value in the training split are skipped (nothing to learn).
 */
export function fitTransform(trainRows: readonly Record<string, unknown>[], opts: FitOptions): FittedTransform {
  return fitColumns(rowColumns(trainRows, opts.candidateColumns), allRows(trainRows.length), opts);
}

/** fitTransform over the rows at `index` (the training split) of a table's columns. */
export function fitColumns(data: Columns, index: Int32Array, opts: FitOptions): FittedTransform {
  const { target, features, candidateColumns } = opts;
  const maxCategories = Math.max(1, Math.floor(features.maxCategories ?? DEFAULT_MAX_CATEGORIES));
  const include = features.include ? new Set(features.include) : null;
  const exclude = new Set(features.exclude ?? []);
  if (include) {
    const cand = new Set(candidateColumns);
    const unknown = [...include].filter((c) => !cand.has(c));
    if (unknown.length) throw new Error(`feature include list names unknown column(s): ${unknown.join(', ')}`);
  }
  const cols: string[] = [];
  const seenCols = new Set<string>();
  for (const c of candidateColumns) {
    if (c === target || exclude.has(c) || seenCols.has(c)) continue;
    if (include && !include.has(c)) continue;
    seenCols.add(c);
    cols.push(c);
  }

  const inferred = inferKinds(data, index, cols.filter((c) => !features.kinds?.[c]));
  const columns: FittedColumn[] = [];
  const n = index.length;

  for (const name of cols) {
    const kind: ColumnKind = features.kinds?.[name] ?? inferred[name];
    const column = data.column(name);
    let missing = 0;
    switch (kind) {
      case 'numeric': {
        const x = numbersOf(column);
        let min = Infinity;
        let max = -Infinity;
        for (let k = 0; k < n; k++) {
          const v = x[index[k]];
          if (v !== v) { missing++; continue; }
          if (v < min) min = v;
          if (v > max) max = v;
        }
        if (missing === n) continue;
        const { mean, std } = meanStd(x, index);
        columns.push({ name, kind, mean, std, min, max, hadMissing: missing > 0 });
        break;
      }
      case 'boolean': {
        const b = boolsOf(column);
        let trues = 0;
        let count = 0;
        for (let k = 0; k < n; k++) {
          const v = b[index[k]];
          if (v < 0) { missing++; continue; }
          count++;
          trues += v;
        }
        if (count === 0) continue;
        columns.push({ name, kind, trueRate: trues / count, hadMissing: missing > 0 });
        break;
      }
      case 'date': {
        const days = daysOf(column);
        const minutes = minutesOf(column);
        let timed = false;
        let minDay = Infinity;
        let maxDay = -Infinity;
        for (let k = 0; k < n; k++) {
          const d = days[index[k]];
          if (d !== d) { missing++; continue; }
          if (d < minDay) minDay = d;
          if (d > maxDay) maxDay = d;
          if (minutes[index[k]] !== 0) timed = true;
        }
        if (missing === n) continue;
        const parts = datePartsFor(features.dateParts?.[name], timed);
        // The year's scale only when the year is encoded (civilFromDays per row is the costly part).
        let mean = 0;
        let std = 1;
        if ((parts ?? CALENDAR_DATE_PARTS).includes('year')) {
          const years = new Float64Array(days.length).fill(NaN);
          const ymd = new Int32Array(3);
          for (let k = 0; k < n; k++) {
            const d = days[index[k]];
            if (d !== d) continue;
            civilFromDays(d, ymd);
            years[index[k]] = ymd[0];
          }
          ({ mean, std } = meanStd(years, index));
        }
        columns.push({ name, kind, ...(parts ? { parts } : {}), yearMean: mean, yearStd: std, min: dayToIso(minDay), max: dayToIso(maxDay), hadMissing: missing > 0 });
        break;
      }
      case 'categorical': {
        const cat = categoriesOf(column);
        const perCode = new Float64Array(cat.keys.length);
        for (let k = 0; k < n; k++) {
          const code = cat.codes[index[k]];
          if (code < 0 || cat.missing[code]) missing++;
          else perCode[code]++;
        }
        // Distinct values may share a key (1 and "1" in plain rows): count by key.
        const counts = new Map<string, number>();
        for (let u = 0; u < perCode.length; u++) {
          const key = cat.keys[u];
          if (perCode[u] === 0 || key === OTHER_CATEGORY || key === MISSING_CATEGORY) continue; // reserved → other
          counts.set(key, (counts.get(key) ?? 0) + perCode[u]);
        }
        if (counts.size === 0 && missing === 0) continue;
        if (missing === n) continue; // all-missing column: nothing to learn
        const categories = [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
          .slice(0, maxCategories)
          .map(([k]) => k);
        columns.push({ name, kind, categories, hadMissing: missing > 0, complete: counts.size <= maxCategories });
        break;
      }
      default:
        throw new Error(`unknown column kind '${String(kind)}' for column '${name}'`);
    }
  }

  const outputNames = columns.flatMap(columnOutputNames);
  const t: FittedTransform = { version: 1, target, columns, outputNames, nTrainRows: n };
  if (opts.headToHead) {
    t.headToHead = { config: opts.headToHead.config, state: opts.headToHead.state, featureNames: [...HEAD_TO_HEAD_FEATURES] };
  }
  return t;
}

// ---------------------------------------------------------------------------
// apply
// ---------------------------------------------------------------------------

/** Precomputed per-column encoder; built once per transform object (cached). */
export interface CompiledColumn {
  name: string;
  kind: 0 | 1 | 2 | 3; // numeric, categorical, date, boolean
  offset: number;
  // numeric / boolean
  mean: number;
  invStd: number;
  fill: number;
  missingSlot: number; // offset of missing indicator / __missing__ slot, -1 if none
  // categorical
  index: Map<string, number> | null;
  otherSlot: number;
  // date
  yearMean: number;
  yearInvStd: number;
  /** Offset within the row of each date part's inputs, -1 when the column does not encode it. */
  yearAt: number;
  monthAt: number;
  weekdayAt: number;
  dayOfYearAt: number;
  timeOfDayAt: number;
}

export interface CompiledTransform {
  cols: CompiledColumn[];
  width: number;
}

const compiledCache = new WeakMap<FittedTransform, CompiledTransform>();

/** The transform's column encoders and matrix width, built once per transform object. */
export function compileTransform(t: FittedTransform): CompiledTransform {
  const hit = compiledCache.get(t);
  if (hit) return hit;
  if (t.version !== 1) throw new Error(`unsupported transform version ${String(t.version)}`);
  const cols: CompiledColumn[] = [];
  let offset = 0;
  for (const c of t.columns) {
    const width = columnOutputNames(c).length;
    const cc: CompiledColumn = {
      name: c.name, kind: 0, offset, mean: 0, invStd: 1, fill: 0, missingSlot: -1,
      index: null, otherSlot: -1, yearMean: 0, yearInvStd: 1, yearAt: -1, monthAt: -1, weekdayAt: -1, dayOfYearAt: -1, timeOfDayAt: -1,
    };
    switch (c.kind) {
      case 'numeric':
        cc.kind = 0;
        cc.mean = c.mean;
        cc.invStd = 1 / (c.std > 0 ? c.std : 1);
        if (c.hadMissing) cc.missingSlot = offset + 1;
        break;
      case 'categorical': {
        cc.kind = 1;
        const index = new Map<string, number>();
        c.categories.forEach((v, i) => index.set(v, offset + i));
        cc.index = index;
        if (c.hadMissing) cc.missingSlot = offset + c.categories.length;
        cc.otherSlot = offset + width - 1;
        break;
      }
      case 'date':
        cc.kind = 2;
        cc.yearMean = c.yearMean;
        cc.yearInvStd = 1 / (c.yearStd > 0 ? c.yearStd : 1);
        let at = offset;
        for (const part of c.parts ?? CALENDAR_DATE_PARTS) {
          cc[`${part}At`] = at;
          at += DATE_PART_OUTPUTS[part].length;
        }
        if (c.hadMissing) cc.missingSlot = offset + width - 1;
        break;
      case 'boolean':
        cc.kind = 3;
        cc.fill = c.trueRate;
        if (c.hadMissing) cc.missingSlot = offset + 1;
        break;
      default:
        throw new Error(`unknown column kind in transform: ${JSON.stringify(c)}`);
    }
    cols.push(cc);
    offset += width;
  }
  if (offset !== t.outputNames.length) {
    throw new Error(`corrupt transform: columns produce ${offset} outputs but outputNames has ${t.outputNames.length}`);
  }
  const compiled = { cols, width: offset };
  compiledCache.set(t, compiled);
  return compiled;
}

const TWO_PI = 2 * Math.PI;
const MS_PER_DAY = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** Matrix bytes a block of rows spans while every column writes into it (about a core's L2 cache). */
const ENCODE_BLOCK_BYTES = 256 * 1024;
const MINUTE_SIN = Float64Array.from({ length: MINUTES_PER_DAY }, (_, i) => Math.sin((TWO_PI * i) / MINUTES_PER_DAY));
const MINUTE_COS = Float64Array.from({ length: MINUTES_PER_DAY }, (_, i) => Math.cos((TWO_PI * i) / MINUTES_PER_DAY));
// Month sin/cos lookup (index = month 0..11).
const MONTH_SIN = Float64Array.from({ length: 12 }, (_, m) => Math.sin((TWO_PI * m) / 12));
const MONTH_COS = Float64Array.from({ length: 12 }, (_, m) => Math.cos((TWO_PI * m) / 12));

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
const CUM_DAYS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Civil date from days since epoch (Howard Hinnant's algorithm); writes year/month(1-12)/day into out. */
function civilFromDays(z0: number, out: Int32Array): void {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (m <= 2 ? 1 : 0);
  out[1] = m;
  out[2] = d;
}

/**
 * Encode rows into a dense row-major Float32Array (rows × cols). Works on raw
 * rows (training or serving); unknown extra fields are ignored.
 */
export function applyTransform(
  t: FittedTransform,
  rows: readonly Record<string, unknown>[],
): { matrix: Float32Array; rows: number; cols: number } {
  const names = t.columns.map((c) => c.name);
  const { width } = compileTransform(t);
  return { matrix: encodeColumns(t, rowColumns(rows, names), allRows(rows.length)), rows: rows.length, cols: width };
}

/**
 * The rows at `index` of a table's columns as a row-major matrix (index.length × width). Each column's
 * values are read once as typed arrays and written through the same per-value functions as encodeValue,
 * so a row encodes here exactly as the same row sent to the predict path.
 */
export function encodeColumns(t: FittedTransform, data: Columns, index: Int32Array): Float32Array {
  return columnEncoder(t, data)(index);
}

/**
 * encodeColumns with each column read once up front, for encoding a large table a slice of rows at a time
 * (training a minibatch at a time, batch scoring a chunk at a time). Into `out` when given (its first
 * index.length × width values are overwritten), else into a new array.
 */
export function columnEncoder(t: FittedTransform, data: Columns): (index: Int32Array, out?: Float32Array) => Float32Array {
  const { cols, width } = compileTransform(t);
  const present = new Set(data.names);
  const ymd = new Int32Array(3);
  // Each writer fills its column's slots for the rows from..to-1 of `index`.
  type Writer = (index: Int32Array, m: Float32Array, from: number, to: number) => void;
  const writers = cols.map((c): Writer => {
    const column = present.has(c.name) ? data.column(c.name) : null;
    switch (c.kind) {
      case 0: {
        const x = column ? numbersOf(column) : null;
        return (index, m, from, to) => { for (let k = from; k < to; k++) encodeNumber(c, x ? x[index[k]] : NaN, m, k * width); };
      }
      case 1: {
        const nullSlot = missingCategorySlot(c);
        if (!column) return (_index, m, from, to) => { for (let k = from; k < to; k++) m[k * width + nullSlot] = 1; };
        const cat = categoriesOf(column);
        // One slot per distinct value, then a lookup per row.
        const slotOf = Int32Array.from(cat.keys, (key, u) => (cat.missing[u] ? nullSlot : c.index!.get(key) ?? c.otherSlot));
        return (index, m, from, to) => {
          for (let k = from; k < to; k++) {
            const code = cat.codes[index[k]];
            m[k * width + (code < 0 ? nullSlot : slotOf[code])] = 1;
          }
        };
      }
      case 2: {
        if (!column) return (_index, m, from, to) => { for (let k = from; k < to; k++) encodeDate(c, NaN, NaN, m, k * width, ymd); };
        const days = daysOf(column);
        const minutes = c.timeOfDayAt >= 0 ? minutesOf(column) : null;
        return (index, m, from, to) => {
          for (let k = from; k < to; k++) encodeDate(c, days[index[k]], minutes ? minutes[index[k]] : 0, m, k * width, ymd);
        };
      }
      case 3: {
        const b = column ? boolsOf(column) : null;
        return (index, m, from, to) => { for (let k = from; k < to; k++) encodeBool(c, b ? b[index[k]] : -1, m, k * width); };
      }
    }
  });
  // Rows a block at a time, every column for a block before the next: the block's part of the matrix stays
  // in cache while each column writes into it (column by column over all rows, each pass went to memory).
  const block = Math.max(1, Math.floor(ENCODE_BLOCK_BYTES / (width * 4)));
  return (index, out) => {
    let m: Float32Array;
    if (out) {
      if (out.length < index.length * width) throw new Error(`out holds ${out.length} values, ${index.length} rows need ${index.length * width}`);
      m = out;
      // The writers set only the slots a value lights up: start from zeros.
      m.fill(0, 0, index.length * width);
    } else {
      m = new Float32Array(index.length * width);
    }
    for (let from = 0; from < index.length; from += block) {
      const to = Math.min(index.length, from + block);
      for (const write of writers) write(index, m, from, to);
    }
    return m;
  };
}

/**
 * Writes one column's encoding of the raw value `v` into the zeroed matrix row starting at `base`.
 * The one place values become model inputs: training (encodeColumns, through the same per-kind
 * functions) and serving (serving/encoder.ts) both go through it. `ymd` is scratch space for dates.
 */
export function encodeValue(c: CompiledColumn, v: unknown, m: Float32Array, base: number, ymd: Int32Array): void {
  switch (c.kind) {
    case 0: return encodeNumber(c, toNumber(v), m, base);
    case 1: m[base + categorySlot(c, v)] = 1; return;
    case 2: return encodeDate(c, valueToDay(v), c.timeOfDayAt >= 0 ? valueToMinuteOfDay(v) : 0, m, base, ymd);
    case 3: return encodeBool(c, toBool(v), m, base);
  }
}

function encodeNumber(c: CompiledColumn, x: number, m: Float32Array, base: number): void {
  if (x !== x) {
    // missing → mean (0 after standardizing)
    if (c.missingSlot >= 0) m[base + c.missingSlot] = 1;
  } else {
    m[base + c.offset] = (x - c.mean) * c.invStd;
  }
}

function missingCategorySlot(c: CompiledColumn): number {
  return c.missingSlot >= 0 ? c.missingSlot : c.otherSlot;
}

function categorySlot(c: CompiledColumn, v: unknown): number {
  if (isMissing(v)) return missingCategorySlot(c);
  return c.index!.get(toCategory(v)) ?? c.otherSlot;
}

function encodeDate(c: CompiledColumn, day: number, minute: number, m: Float32Array, base: number, ymd: Int32Array): void {
  if (day !== day) {
    if (c.missingSlot >= 0) m[base + c.missingSlot] = 1;
    return;
  }
  // ISO weekday, Monday = 0 (1970-01-01 was a Thursday)
  if (c.weekdayAt >= 0) m[base + c.weekdayAt + ((((day + 3) % 7) + 7) % 7)] = 1;
  if (c.timeOfDayAt >= 0) {
    // Whole minutes (the usual case) from a table; anything finer computed.
    const whole = minute === (minute | 0) && minute >= 0 && minute < MINUTES_PER_DAY;
    const ang = (TWO_PI * minute) / MINUTES_PER_DAY;
    m[base + c.timeOfDayAt] = whole ? MINUTE_SIN[minute] : Math.sin(ang);
    m[base + c.timeOfDayAt + 1] = whole ? MINUTE_COS[minute] : Math.cos(ang);
  }
  // The calendar parts need the civil date, the costly part: only when one of them is encoded.
  if (c.yearAt < 0 && c.monthAt < 0 && c.dayOfYearAt < 0) return;
  civilFromDays(day, ymd);
  const y = ymd[0];
  const mo = ymd[1] - 1;
  if (c.yearAt >= 0) m[base + c.yearAt] = (y - c.yearMean) * c.yearInvStd;
  if (c.monthAt >= 0) {
    m[base + c.monthAt] = MONTH_SIN[mo];
    m[base + c.monthAt + 1] = MONTH_COS[mo];
  }
  if (c.dayOfYearAt >= 0) {
    const doy0 = CUM_DAYS[mo] + (mo >= 2 && isLeap(y) ? 1 : 0) + ymd[2] - 1;
    const ang = (TWO_PI * doy0) / (isLeap(y) ? 366 : 365);
    m[base + c.dayOfYearAt] = Math.sin(ang);
    m[base + c.dayOfYearAt + 1] = Math.cos(ang);
  }
}

function encodeBool(c: CompiledColumn, b: number, m: Float32Array, base: number): void {
  const o = base + c.offset;
  if (b < 0) {
    m[o] = c.fill;
    if (c.missingSlot >= 0) m[base + c.missingSlot] = 1;
  } else {
    m[o] = b;
  }
}

/**
 * Per input field, how many rows hold a value the predict API would refuse (serving/instance-validation.ts)
 * and the transform imputes instead: a batch job scores such rows and reports these counts. Fields absent
 * from the table are not counted (a missing required column is the caller's to refuse first).
 */
export function inputWarnings(schema: InputSchema, data: Columns): ScoringWarning[] {
  const out: ScoringWarning[] = [];
  const present = new Set(data.names);
  const add = (column: string, issue: ScoringWarning['issue'], rows: number) => {
    if (rows > 0) out.push({ column, issue, rows });
  };
  for (const f of schema) {
    if (!present.has(f.name)) continue;
    const c = data.column(f.name);
    const missing = missingCount(c);
    if (f.required) add(f.name, 'missing-required', missing);
    if (f.kind === 'categorical') {
      if (!f.closed) continue;
      const cat = categoriesOf(c);
      const known = new Set(f.categories ?? []);
      let unknown = 0;
      for (let i = 0; i < cat.codes.length; i++) {
        const code = cat.codes[i];
        if (code >= 0 && !cat.missing[code] && !known.has(cat.keys[code])) unknown++;
      }
      add(f.name, 'unknown-category', unknown);
      continue;
    }
    // Present values that read as nothing of the field's kind.
    const values = f.kind === 'numeric' ? numbersOf(c) : f.kind === 'date' ? daysOf(c) : boolsOf(c);
    const unread = f.kind === 'boolean' ? (v: number) => v < 0 : (v: number) => v !== v;
    let bad = 0;
    for (let i = 0; i < values.length; i++) if (unread(values[i])) bad++;
    add(f.name, f.kind === 'numeric' ? 'not-a-number' : f.kind === 'date' ? 'not-a-date' : 'not-a-boolean', bad - missing);
  }
  return out;
}

/** Rows whose value is missing as isMissing reads it: null, NaN, or blank text. */
function missingCount(c: ColumnData): number {
  let n = 0;
  if (c.type !== 'coded') {
    for (let i = 0; i < c.values.length; i++) if (c.values[i] !== c.values[i]) n++;
    return n;
  }
  const blank = c.uniques.map(isMissing);
  for (let i = 0; i < c.codes.length; i++) if (c.codes[i] < 0 || blank[c.codes[i]]) n++;
  return n;
}

// ---------------------------------------------------------------------------
// signature
// ---------------------------------------------------------------------------

/**
 * The model's input signature for the predict API. When the transform carries
 * head-to-head features, the derived feature columns are replaced by the raw
 * fixture fields they are computed from (home/away team required, date and
 * group optional).
 */
export function inputSchema(t: FittedTransform): InputSchema {
  const derived = new Set(t.headToHead?.featureNames ?? []);
  const fields: InputSchema = [];
  for (const c of t.columns) {
    if (derived.has(c.name)) continue;
    const f: InputField = { name: c.name, kind: c.kind, required: !c.hadMissing };
    if (c.kind === 'numeric') { f.min = c.min; f.max = c.max; }
    if (c.kind === 'categorical') {
      f.categories = [...c.categories];
      if (c.complete) f.closed = true;
    }
    if (c.kind === 'date') { f.minDate = c.min; f.maxDate = c.max; }
    fields.push(f);
  }
  if (t.headToHead) {
    const { config, state } = t.headToHead;
    const teams = Object.keys(state.teams).sort();
    const add = (f: InputField) => {
      const existing = fields.find((g) => g.name === f.name);
      if (existing) {
        // already an ordinary feature column: keep it, but a team is always required
        if (f.required) existing.required = true;
        if (f.team) existing.team = true;
        return;
      }
      fields.push(f);
    };
    add({ name: config.homeTeam, kind: 'categorical', required: true, categories: teams, team: true });
    add({ name: config.awayTeam, kind: 'categorical', required: true, categories: teams, team: true });
    add({ name: config.date, kind: 'date', required: false });
    if (config.group) {
      const groups = Object.keys(state.groups).sort();
      const existing = fields.find((g) => g.name === config.group);
      // Optional even when it is an ordinary feature: serving fills it from the home team's latest league.
      if (existing) existing.required = false;
      else add({ name: config.group, kind: 'categorical', required: false, categories: groups });
    }
  }
  return fields;
}

// ---------------------------------------------------------------------------
// (de)serialization
// ---------------------------------------------------------------------------

const FittedColumnSchema = z.discriminatedUnion('kind', [
  z.object({ name: z.string(), kind: z.literal('numeric'), mean: z.number(), std: z.number(), min: z.number(), max: z.number(), hadMissing: z.boolean() }),
  z.object({ name: z.string(), kind: z.literal('categorical'), categories: z.array(z.string()), hadMissing: z.boolean(), complete: z.boolean().optional() }),
  z.object({ name: z.string(), kind: z.literal('date'), parts: z.array(z.enum(DATE_PARTS)).optional(), yearMean: z.number(), yearStd: z.number(), min: z.string(), max: z.string(), hadMissing: z.boolean() }),
  z.object({ name: z.string(), kind: z.literal('boolean'), trueRate: z.number(), hadMissing: z.boolean() }),
]);

/** Zod schema for a saved transform (structure check when loading from disk). */
export const FittedTransformSchema = z.object({
  version: z.literal(1),
  target: z.string(),
  columns: z.array(FittedColumnSchema),
  outputNames: z.array(z.string()),
  nTrainRows: z.number(),
  headToHead: z
    .object({ config: HeadToHeadConfigSchema, state: z.record(z.string(), z.unknown()), featureNames: z.array(z.string()) })
    .optional(),
});

/** Parse + check a transform loaded from JSON (throws on a corrupt/incompatible file). */
export function parseFittedTransform(json: unknown): FittedTransform {
  const t = FittedTransformSchema.parse(typeof json === 'string' ? JSON.parse(json) : json) as FittedTransform;
  compileTransform(t); // validates layout consistency
  return t;
}
