// Point-in-time handling: reading a frame's time column as epoch milliseconds and cutting at `asOf`.
import pl from 'nodejs-polars';
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

export function toMillis(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v; // already epoch ms
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Date.parse(v);
  return Number.NaN;
}

/** Keeps the rows at or before `asOf`; the run never reads anything after it. */
export function cutAtAsOf(df: pl.DataFrame, column: string, asOfMs: number): pl.DataFrame {
  const t = timeMillis(df, column);
  const keep = new Array<boolean>(t.length);
  for (let i = 0; i < t.length; i++) keep[i] = t[i] <= asOfMs;
  return df.filter(pl.Series('keep', keep));
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
