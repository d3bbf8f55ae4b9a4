// Training and evaluation read only the clean dataset's columns the fitted transform reads; a column the
// transform knows but the file lacks (an optional field, a head-to-head group a source has no column for)
// is encoded as missing, as the feature stage encoded it, not an error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, describe, expect, it } from 'vitest';
import { allRows } from '../../../data/column-data.js';
import { writeFeatureArtifacts } from '../../../data/feature-artifacts.js';
import { readColumns, splitMatrix } from '../../../data/split-rows.js';
import { frameColumns } from '../../../data/frame-columns.js';
import { encodeColumns, fitColumns, inputSchema } from '../../../data/transform.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('a split read back from the clean dataset', () => {
  it('reads the columns the file has, and encodes one it lacks as missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'split-columns-'));
    dirs.push(dir);
    const full = pl.DataFrame({ x: [1, 2, 3, 4, 5, 6], shade: ['a', 'b', 'a', null, 'b', 'a'], other: [9, 9, 9, 9, 9, 9] });
    const transform = fitColumns(frameColumns(full), allRows(6), { target: 'y', features: { maxCategories: 5 }, candidateColumns: ['x', 'shade'] });
    const cleanPath = join(dir, 'clean.parquet');
    full.drop('shade').writeParquet(cleanPath);
    expect(readColumns(cleanPath, ['x', 'shade']).columns).toEqual(['x']);

    const index = Int32Array.from([5, 0, 2]);
    await writeFeatureArtifacts(dir, {
      fitted: { version: 1, task: 'regression', target: 'y', classes: null, transform, inputSchema: inputSchema(transform) },
      train: { labels: new Float32Array(3), rows: 3, index }, test: { labels: new Float32Array(0), rows: 0, index: new Int32Array(0) }, cols: transform.outputNames.length, testPeriod: null, notes: [],
    });
    const lacking = pl.DataFrame({ x: [1, 2, 3, 4, 5, 6], shade: [null, null, null, null, null, null] as (string | null)[] });
    expect(Array.from(await splitMatrix(dir, cleanPath, 'train'))).toEqual(Array.from(encodeColumns(transform, frameColumns(lacking), index)));
  });
});
