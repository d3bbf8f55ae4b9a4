// A split of the clean dataset read back for training and evaluation: the columns the fitted transform
// reads (as typed arrays) and the rows the feature stage put in the split, or their encoded matrix.
import pl from 'nodejs-polars';
import type { FittedFeatures, FittedTransform } from '../pipelines/fitted-features.js';
import { recordColumns, type ColumnData } from './column-data.js';
import { readFittedFeatures, readSplitIndex } from './feature-artifacts.js';
import { historyColumns } from './feature-pipeline.js';
import { encodeColumns } from './transform.js';

/** A split's rows to encode: the transform, the columns it reads (as typed arrays), and the rows' positions. */
export interface SplitColumns {
  transform: FittedTransform;
  columns: Record<string, ColumnData>;
  index: Int32Array;
}

/**
 * A split of the clean dataset (the Parquet file at `cleanPath`) as the feature stage split it, with the
 * columns its fitted transform reads (point-in-time features included): what training encodes a
 * minibatch at a time. Only the columns the transform reads are loaded.
 */
export async function splitColumns(dir: string, cleanPath: string, split: 'train' | 'test'): Promise<SplitColumns> {
  const [fitted, index] = await Promise.all([readFittedFeatures(dir), readSplitIndex(dir)]);
  const data = historyColumns(fitted, readColumns(cleanPath, transformInputs(fitted)));
  const present = new Set(data.names);
  const columns = Object.fromEntries(fitted.transform.columns.filter((c) => present.has(c.name)).map((c) => [c.name, data.column(c.name)]));
  return { transform: fitted.transform, columns, index: split === 'train' ? index.trainIndex : index.testIndex };
}

/** A split's model input matrix (row-major, rows × the transform's width), encoded as the feature stage would have. */
export async function splitMatrix(dir: string, cleanPath: string, split: 'train' | 'test'): Promise<Float32Array> {
  const s = await splitColumns(dir, cleanPath, split);
  return encodeColumns(s.transform, recordColumns(s.columns), s.index);
}

/**
 * The named columns of a Parquet file, those it has: a column the transform knows but the file lacks
 * (an optional one, the head-to-head group of a source without leagues) is encoded as missing.
 */
export function readColumns(path: string, wanted: readonly string[]): pl.DataFrame {
  const available = new Set(pl.scanParquet(path).columns);
  return pl.readParquet(path, { columns: wanted.filter((c) => available.has(c)) });
}

/** The clean dataset's columns a fitted transform reads: its own, or for head-to-head features the match fields. */
export function transformInputs(fitted: FittedFeatures): string[] {
  const h2h = fitted.transform.headToHead;
  const derived = new Set(h2h?.featureNames ?? []);
  const own = fitted.transform.columns.map((c) => c.name).filter((n) => !derived.has(n));
  const match = h2h ? [h2h.config.date, h2h.config.homeTeam, h2h.config.awayTeam, h2h.config.homeScore, h2h.config.awayScore, h2h.config.group] : [];
  return [...new Set([...own, ...match.filter((c): c is string => typeof c === 'string')])];
}

