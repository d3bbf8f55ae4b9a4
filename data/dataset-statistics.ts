// Statistics of a dataset, column by column, computed with Polars expressions (no row becomes a JS object):
// what the monitoring loop compares served inputs and new sources against, and what a person reads to see
// what a run trained on. Numbers: count, missing, distinct, min/max/mean/std, quantiles and a histogram of
// equal-width bins; text and booleans: the most frequent values with their counts; dates: the range.
import pl from 'nodejs-polars';
import type { ColumnStatistics, DatasetStatistics, DatasetStatisticsSummary } from '../pipelines/contract.js';
import type { ColumnSample } from './drift-checks.js';
import { dtypeName, isNumericDtype, isTemporalColumn } from './frame-columns.js';

export const STATISTICS_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
/** Bins of a numeric column's histogram, between its minimum and maximum. */
export const HISTOGRAM_BINS = 20;
/**
 * Values listed for a categorical column, most frequent first: enough to hold the whole vocabulary of a
 * typical category (football's ~130 teams), so that a value outside it can be called unseen.
 */
export const TOP_VALUES = 200;
/** A numeric column's percentiles 0..100 (101 values): its distribution, for drift tests against it. */
export const PERCENTILES = 101;

type StatisticsKind = ColumnStatistics['kind'];
const kindOf = (df: pl.DataFrame, name: string): StatisticsKind => (isNumericDtype(df.getColumn(name).dtype) ? 'numeric' : isTemporalColumn(df, name) ? 'date' : 'categorical');

/**
 * The values of a column that count as present: NaN and ±Infinity count as missing in a float column (the
 * feature transform reads them so), and null in any.
 */
function present(df: pl.DataFrame, name: string, kind: StatisticsKind): pl.Expr {
  const c = pl.col(name);
  return kind === 'numeric' && isFloatDtype(dtypeName(df.getColumn(name).dtype)) ? c.isNotNull().and(c.isFinite()) : c.isNotNull();
}

export function datasetStatistics(df: pl.DataFrame): DatasetStatistics {
  const rows = df.height;
  const names = df.columns;
  const kinds = names.map((name) => kindOf(df, name));
  // One query for every column's counts and every numeric column's figures, which Polars runs side by side.
  const exprs: pl.Expr[] = [];
  names.forEach((name, i) => {
    const kind = kinds[i];
    const values = pl.col(name).filter(present(df, name, kind));
    exprs.push(values.count().alias(`${i}:count`), values.nUnique().alias(`${i}:distinct`));
    if (kind === 'date') {
      const ms = values.cast(pl.Datetime('ms')).cast(pl.Float64);
      exprs.push(ms.min().alias(`${i}:min`), ms.max().alias(`${i}:max`));
    }
  });
  const figures = (exprs.length ? df.select(...exprs).toRecords()[0] : {}) as Record<string, number | null>;
  const num = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? null : Number(v));
  return {
    rows,
    columns: names.map((name, i): ColumnStatistics => {
      const count = Number(figures[`${i}:count`] ?? 0);
      const base = { name, type: dtypeName(df.getColumn(name).dtype), count, missing: rows - count, distinct: Number(figures[`${i}:distinct`] ?? 0) };
      if (kinds[i] === 'date') {
        const iso = (v: number | null) => (v === null ? null : new Date(v).toISOString());
        return { ...base, kind: 'date', min: iso(num(figures[`${i}:min`])), max: iso(num(figures[`${i}:max`])) };
      }
      if (kinds[i] === 'categorical') return { ...base, kind: 'categorical', top: topValues(df, name) };
      // One sort in Polars, then every figure in one pass over the sorted values (seven quantile
      // expressions would sort seven times).
      const sorted = sortedValues(df, name);
      return { ...base, kind: 'numeric', ...numericFigures(sorted) };
    }),
  };
}

const isFloatDtype = (type: string) => type === 'Float32' || type === 'Float64';

/**
 * min, max, mean, sample std, quantiles (linear interpolation between the two nearest ranks, as Polars and
 * NumPy's default), and equal-width bins from min to max (counts[i]: edges[i] ≤ x < edges[i+1]; the
 * maximum in the last; all values equal: all in the first) of ascending finite values.
 */
export function numericFigures(sorted: Float64Array) {
  const n = sorted.length;
  if (n === 0) return { min: null, max: null, mean: null, std: null, quantiles: null, percentiles: null, histogram: null };
  const min = sorted[0];
  const max = sorted[n - 1];
  let sum = 0;
  for (let k = 0; k < n; k++) sum += sorted[k];
  const mean = sum / n;
  let squares = 0;
  for (let k = 0; k < n; k++) squares += (sorted[k] - mean) ** 2;
  const quantile = (q: number) => {
    const at = q * (n - 1);
    const lo = Math.floor(at);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
  };
  const width = (max - min) / HISTOGRAM_BINS;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  if (width > 0) {
    for (let k = 0; k < n; k++) counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((sorted[k] - min) / width))]++;
  } else {
    counts[0] = n;
  }
  return {
    min, max, mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : null,
    quantiles: Object.fromEntries(STATISTICS_QUANTILES.map((q) => [String(q), quantile(q)])),
    percentiles: Array.from({ length: PERCENTILES }, (_, k) => quantile(k / (PERCENTILES - 1))),
    histogram: { edges: Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => (k === HISTOGRAM_BINS ? max : min + k * width)), counts },
  };
}

const sortedValues = (df: pl.DataFrame, name: string) =>
  df.select(pl.col(name).filter(present(df, name, 'numeric')).cast(pl.Float64).sort()).getColumn(name).toTypedArray() as Float64Array;

/** Every value of a text or boolean column with its count, most frequent first (ties by value: the same data always lists the same values). */
function valueCounts(df: pl.DataFrame, name: string, limit?: number): { value: string; count: number }[] {
  let counted = df.select(pl.col(name).cast(pl.Utf8).alias('value')).filter(pl.col('value').isNotNull())
    .groupBy('value').agg(pl.len().alias('count'))
    .sort(['count', 'value'], [true, false]);
  if (limit !== undefined) counted = counted.head(limit);
  return (counted.toRecords() as { value: string; count: number }[]).map((r) => ({ value: String(r.value), count: Number(r.count) }));
}

const topValues = (df: pl.DataFrame, name: string) => valueCounts(df, name, TOP_VALUES);

/** Each column's values as the drift checks read them (data/drift-checks.ts): numbers sorted, categories counted. */
export function columnSamples(df: pl.DataFrame): Map<string, ColumnSample> {
  const samples = new Map<string, ColumnSample>();
  for (const name of df.columns) {
    const kind = kindOf(df, name);
    if (kind === 'numeric') {
      const sorted = sortedValues(df, name);
      samples.set(name, { kind, sorted, missing: df.height - sorted.length });
    } else if (kind === 'categorical') {
      const counts = new Map(valueCounts(df, name).map((v) => [v.value, v.count]));
      let counted = 0;
      for (const c of counts.values()) counted += c;
      samples.set(name, { kind, counts, missing: df.height - counted });
    } else {
      const presentRows = Number(df.select(pl.col(name).filter(present(df, name, kind)).count()).getColumn(name).get(0));
      samples.set(name, { kind, present: presentRows, missing: df.height - presentRows });
    }
  }
  return samples;
}

/** The figures of each column the registry's row keeps (the artifact has the quantiles, histograms and top values). */
export function statisticsSummary(stats: DatasetStatistics): DatasetStatisticsSummary {
  return {
    rows: stats.rows,
    columns: stats.columns.map((c) => ({
      name: c.name, kind: c.kind, count: c.count, missing: c.missing, distinct: c.distinct,
      ...(c.kind === 'numeric' ? { min: c.min, max: c.max, mean: c.mean } : c.kind === 'date' ? { min: c.min, max: c.max } : {}),
    })),
  };
}
