// Training from a table's columns, encoded a minibatch at a time, must be training on the encoded matrix:
// the same batches of the same values, so the same losses to the last bit, and the same resumable run.
import path from 'node:path';
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { allRows } from '../../../data/column-data.js';
import { frameColumns } from '../../../data/frame-columns.js';
import { encodeColumns, fitColumns } from '../../../data/transform.js';
import { trainMlp, type TrainInput } from '../../../models/training.js';
import { spec, tempDir } from './fixtures.js';

const N = 3000;
const df = pl.DataFrame({
  size: Array.from({ length: N }, (_, i) => (i % 53 === 0 ? null : ((i * 37) % 100) / 10)),
  colour: Array.from({ length: N }, (_, i) => ['red', 'green', 'blue', 'teal'][(i * 7) % 4]),
  when: pl.Series('when', Array.from({ length: N }, (_, i) => new Date(Date.UTC(2020, 0, 1 + (i % 300), (i * 5) % 24))), pl.Datetime('ms')),
});
const labels = Float32Array.from({ length: N }, (_, i) => (((i * 37) % 100) / 10 + ((i * 7) % 4 === 1 ? 3 : 0) > 6 ? 1 : 0));

describe('training on encoded columns', () => {
  it('gives the losses training on the encoded matrix gives, and refuses a mismatched transform', async () => {
    const data = frameColumns(df);
    const transform = fitColumns(data, allRows(N), { target: 'y', features: { maxCategories: 10 }, candidateColumns: df.columns });
    // Training order: every row but the first 100, from the end backwards (any order the split gives).
    const index = Int32Array.from({ length: N - 100 }, (_, k) => N - 1 - k);
    const rows = index.length;
    const cols = transform.outputNames.length;
    const y = Float32Array.from(index, (i) => labels[i]);
    const common = async (name: string): Promise<Omit<TrainInput, 'features' | 'encoded'>> => {
      const root = await tempDir();
      return { rows, cols, labels: y.slice(), task: 'classification', numClasses: 2, spec: spec({ epochs: 3, batchSize: 64, dropout: 0.2, earlyStoppingPatience: 0 }), modelDir: path.join(root, name), checkpointDir: path.join(root, `${name}-ck`) };
    };
    const fromMatrix = await trainMlp({ ...await common('m'), features: encodeColumns(transform, data, index) }, () => undefined);
    const columns = Object.fromEntries(df.columns.map((c) => [c, data.column(c)]));
    const fromColumns = await trainMlp({ ...await common('c'), encoded: { transform, columns, index } }, () => undefined);
    expect(fromColumns.history).toEqual(fromMatrix.history);
    expect(fromColumns.history[2].loss).toBeLessThan(fromColumns.history[0].loss);

    const narrower = { ...transform, outputNames: transform.outputNames.slice(1) };
    await expect(trainMlp({ ...await common('x'), encoded: { transform: narrower, columns, index } }, () => undefined)).rejects.toThrow(/columns|outputs/);
  });
});
