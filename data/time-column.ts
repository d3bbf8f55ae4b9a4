// Point-in-time handling: reading a frame's time column as epoch milliseconds and cutting at `asOf`.
import pl from 'nodejs-polars';
import { toMillis } from './dates.js';
import { epochMillis, isTemporalColumn } from './frame-columns.js';
import { PipelineInputError } from './pipeline-error.js';

/** Each row's time as epoch milliseconds; a value that is no time fails the run, naming it. */
export function timeMillis(df: pl.DataFrame, column: string): Float64Array {
  if (!df.columns.includes(column)) {
    throw new PipelineInputError('InvalidSource', `time column "${column}" not found; columns are: ${df.columns.join(', ')}`);
  }
  let out: Float64Array;
  if (isTemporalColumn(df, column)) {
    out = epochMillis(df, column);
  } else {
    // Text or numbers: each distinct value read once, then looked up per row.
    const distinct = df.getColumn(column).unique();
    const millisOf = new Map<unknown, number>();
    for (const v of distinct.toArray() as unknown[]) millisOf.set(v, toMillis(v));
    const values = df.getColumn(column).toArray() as unknown[];
    out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = millisOf.get(values[i]) ?? Number.NaN;
  }
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== out[i]) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  if (bad > 0) {
    const example = df.getColumn(column).get(firstBad) as unknown;
    throw new PipelineInputError('DataQuality', `time column "${column}": ${bad} of ${out.length} rows are not dates (first: ${JSON.stringify(example)})`, { column, rows: bad });
  }
  return out;
}


/** Keeps the rows at or before `asOf`; the run never reads anything after it. */
export function cutAtAsOf(df: pl.DataFrame, column: string, asOfMs: number): pl.DataFrame {
  const t = timeMillis(df, column);
  const keep = new Uint8Array(t.length);
  let kept = 0;
  for (let i = 0; i < t.length; i++) if (t[i] <= asOfMs) { keep[i] = 1; kept++; }
  if (kept === t.length) return df;
  return df.filter(pl.Series('keep', keep).cast(pl.Bool));
}

/** The frame in time order (stable: rows at the same time keep their order). */
export function sortByTime(df: pl.DataFrame, column: string): pl.DataFrame {
  const t = timeMillis(df, column);
  const key = '\u0000t';
  return df.withColumn(pl.Series(key, t)).sort({ by: key, maintainOrder: true }).drop(key);
}

/** The rows strictly after an instant (the rows a model trained up to it never saw). */
export function rowsAfter(df: pl.DataFrame, column: string, instantMs: number): pl.DataFrame {
  const t = timeMillis(df, column);
  const keep = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) if (t[i] > instantMs) keep[i] = 1;
  return df.filter(pl.Series('keep', keep).cast(pl.Bool));
}
