// A DataFrame's columns as ColumnData (./column-data.ts) without one JS object per row: nodejs-polars
// casts numbers and times to Float64Arrays, and codes text by a join against its distinct values.
import pl from 'nodejs-polars';
import type { ColumnData, Columns } from './column-data.js';

const NUMERIC_DTYPES = new Set(['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float32', 'Float64']);
/** A dtype's name without its parameters: Datetime(us,) → Datetime. */
export const dtypeName = (dtype: unknown) => String(dtype).replace(/^DataType\(/, '').replace(/\)$/, '').replace(/\(.*$/, '');
export const isNumericDtype = (dtype: unknown) => NUMERIC_DTYPES.has(dtypeName(dtype));
const dtypeKey = (s: pl.Series) => dtypeName(s.dtype);

/** The frame's columns, each converted on first use and kept. */
export function frameColumns(df: pl.DataFrame): Columns {
  const cache = new Map<string, ColumnData>();
  return {
    height: df.height,
    names: df.columns,
    column(name) {
      let c = cache.get(name);
      if (!c) {
        c = seriesColumn(df, name);
        cache.set(name, c);
      }
      return c;
    },
  };
}

function seriesColumn(df: pl.DataFrame, name: string): ColumnData {
  const dtype = dtypeKey(df.getColumn(name));
  if (NUMERIC_DTYPES.has(dtype)) {
    return { type: 'number', values: df.select(pl.col(name).cast(pl.Float64).fillNull(Number.NaN)).getColumn(name).toTypedArray() as Float64Array };
  }
  if (dtype === 'Date' || dtype === 'Datetime') return { type: 'time', values: hasTimeZone(df, name) ? wallClockMillis(df, name) : epochMillis(df, name) };
  if (dtype === 'String' || dtype === 'Utf8') return textColumn(df, name);
  // Distinct values in JS, in order of first appearance (so the same table always gets the same codes:
  // training's checkpoint fingerprint hashes them), then each row's code by a join on the column.
  const uniques = df.getColumn(name).unique(true).dropNulls();
  const codeName = `${name}\u0000code`;
  const table = pl.DataFrame([uniques, pl.Series(codeName, Int32Array.from({ length: uniques.length }, (_, i) => i))]);
  const codes = df.select(name).join(table, { on: name, how: 'left', maintainOrder: 'left' })
    .select(pl.col(codeName).fillNull(-1).cast(pl.Int32)).getColumn(codeName).toTypedArray() as Int32Array;
  return { type: 'coded', codes, uniques: uniques.toArray() as unknown[] };
}

/**
 * A text column coded through Polars' categorical type (a cast, then its integer codes: about half the
 * time of a join on millions of rows). Polars numbers the categories its own way, so each code is mapped
 * to the position of its text among the distinct values in order of first appearance, read from the same
 * categorical column (same numbering).
 */
function textColumn(df: pl.DataFrame, name: string): ColumnData {
  const categorical = df.select(pl.col(name).cast(pl.Categorical)).getColumn(name);
  const distinct = categorical.unique(true).dropNulls();
  const physical = (s: pl.Series) => pl.DataFrame([s]).select(pl.col(name).toPhysical().cast(pl.Int32).fillNull(pl.lit(-1).cast(pl.Int32))).getColumn(name).toTypedArray() as Int32Array;
  const distinctCodes = physical(distinct);
  let most = -1;
  for (const c of distinctCodes) if (c > most) most = c;
  const position = new Int32Array(most + 1).fill(-1);
  distinctCodes.forEach((c, i) => (position[c] = i));
  const codes = physical(categorical);
  for (let i = 0; i < codes.length; i++) if (codes[i] >= 0) codes[i] = position[codes[i]];
  return { type: 'coded', codes, uniques: distinct.cast(pl.Utf8).toArray() as unknown[] };
}

/** Epoch milliseconds of a Date/Datetime column, NaN where null. */
export function epochMillis(df: pl.DataFrame, name: string): Float64Array {
  return df.select(pl.col(name).cast(pl.Datetime('ms')).cast(pl.Float64).fillNull(Number.NaN)).getColumn(name).toTypedArray() as Float64Array;
}

/** True for a Datetime column with a time zone (Datetime(us, Europe/Paris)). */
function hasTimeZone(df: pl.DataFrame, name: string): boolean {
  return /^DataType\(Datetime\(\w+,\s*[^)\s]+\)\)$/.test(String(df.getColumn(name).dtype));
}

/**
 * A zoned column's times as the clock in its zone shows them, as epoch milliseconds of that wall time read
 * as UTC: the date and time as written, which is how serving reads a request's date (data/dates.ts).
 * (Its instants, for splitting and asOf, are epochMillis.)
 */
function wallClockMillis(df: pl.DataFrame, name: string): Float64Array {
  const format = '%Y-%m-%dT%H:%M:%S%.f';
  return df.select(pl.col(name).dt.strftime(format).str.strptime(pl.Datetime('ms'), format).cast(pl.Datetime('ms')).cast(pl.Float64).fillNull(Number.NaN))
    .getColumn(name).toTypedArray() as Float64Array;
}

/** True for a Date or Datetime column of the frame. */
export function isTemporalColumn(df: pl.DataFrame, name: string): boolean {
  const d = dtypeKey(df.getColumn(name));
  return d === 'Date' || d === 'Datetime';
}

