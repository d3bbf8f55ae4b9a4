// Point-in-time handling: reading a frame's time column as epoch milliseconds and cutting at `asOf`.
import pl from 'nodejs-polars';
import { toMillis } from './dates.js';
import { PipelineInputError } from './pipeline-error.js';

export function timeMillis(df: pl.DataFrame, column: string): Float64Array {
  if (!df.columns.includes(column)) {
    throw new PipelineInputError('InvalidSource', `time column "${column}" not found; columns are: ${df.columns.join(', ')}`);
  }
  const values = df.getColumn(column).toArray() as unknown[];
  const out = new Float64Array(values.length);
  let bad = 0;
  let firstBad: unknown;
  for (let i = 0; i < values.length; i++) {
    const t = toMillis(values[i]);
    if (Number.isNaN(t)) {
      bad++;
      firstBad ??= values[i];
    }
    out[i] = t;
  }
  if (bad > 0) {
    throw new PipelineInputError('DataQuality', `time column "${column}": ${bad} of ${values.length} rows are not dates (first: ${JSON.stringify(firstBad)})`, { column, rows: bad });
  }
  return out;
}


/** Keeps the rows at or before `asOf`; the run never reads anything after it. */
export function cutAtAsOf(df: pl.DataFrame, column: string, asOfMs: number): pl.DataFrame {
  const t = timeMillis(df, column);
  const keep = new Array<boolean>(t.length);
  for (let i = 0; i < t.length; i++) keep[i] = t[i] <= asOfMs;
  return df.filter(pl.Series('keep', keep));
}
