// Where training reads its rows from: a matrix already in memory, or a table's columns and the fitted
// transform, encoded a minibatch at a time. The second keeps a training run of millions of rows to the
// table's columns (about 100 MB for the 2.5 million training flights) instead of its encoded matrix
// (720 MB), at the cost of encoding each row once per epoch, which costs about what copying it would.
import type { Hash } from 'node:crypto';
import { recordColumns } from '../data/column-data.js';
import type { SplitColumns } from '../data/split-rows.js';
import { columnEncoder } from '../data/transform.js';

/** A table's rows to encode: its columns (only those the transform reads), and which rows train, in order. */
export type EncodedRows = SplitColumns;

export interface RowSource {
  rows: number;
  cols: number;
  /** The rows at `positions` (0..rows-1) into `out`, row-major; `out` holds at least positions.length × cols values. */
  fill(positions: ArrayLike<number>, count: number, out: Float32Array): void;
  /** Feeds what identifies the rows' values into a hash (for the checkpoint's fingerprint). */
  digest(hash: Hash): void;
}

export function matrixSource(features: Float32Array, rows: number, cols: number): RowSource {
  return {
    rows,
    cols,
    fill(positions, count, out) {
      for (let r = 0; r < count; r++) {
        const from = positions[r] * cols;
        const to = r * cols;
        // A plain loop: a subarray per row would allocate a view object per row.
        for (let c = 0; c < cols; c++) out[to + c] = features[from + c];
      }
    },
    digest(hash) {
      hash.update(new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    },
  };
}

export function encodedSource(rows: EncodedRows): RowSource {
  const names = Object.keys(rows.columns);
  const encode = columnEncoder(rows.transform, recordColumns(rows.columns));
  const cols = rows.transform.outputNames.length;
  let picked = new Int32Array(0);
  return {
    rows: rows.index.length,
    cols,
    fill(positions, count, out) {
      if (picked.length < count) picked = new Int32Array(count);
      for (let r = 0; r < count; r++) picked[r] = rows.index[positions[r]];
      encode(picked.subarray(0, count), out);
    },
    digest(hash) {
      hash.update(JSON.stringify(rows.transform));
      hash.update(new Uint8Array(rows.index.buffer, rows.index.byteOffset, rows.index.byteLength));
      for (const name of [...names].sort()) {
        const c = rows.columns[name];
        hash.update(name);
        if (c.type === 'coded') {
          hash.update(new Uint8Array(c.codes.buffer, c.codes.byteOffset, c.codes.byteLength));
          // Value by value, tagged with its type (one string of them all could outgrow V8's string limit).
          for (const u of c.uniques) hash.update(`${u instanceof Date ? `date:${u.getTime()}` : `${typeof u}:${String(u)}`}\u0000`);
        } else {
          hash.update(c.type);
          hash.update(new Uint8Array(c.values.buffer, c.values.byteOffset, c.values.byteLength));
        }
      }
    },
  };
}
