// Dataset statistics: each figure checked by hand on a small table, and the quantiles against Polars' own on
// a large random column.
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { datasetStatistics, HISTOGRAM_BINS } from '../../../data/dataset-statistics.js';
import { mulberry32 } from '../../../data/prng.js';

describe('datasetStatistics', () => {
  const df = pl.DataFrame({
    x: [1, 2, 3, null, Number.NaN, 10, Number.POSITIVE_INFINITY],
    n: [5, 5, 5, 5, 5, 5, 5],
    t: ['a', 'b', 'a', null, 'c', 'a', 'b'],
    d: [new Date('2020-01-01T00:00:00Z'), new Date('2020-02-01T00:00:00Z'), null, new Date('2020-03-01T12:30:00Z'), new Date('2020-01-05T00:00:00Z'), new Date('2020-01-06T00:00:00Z'), new Date('2020-01-07T00:00:00Z')],
    b: [true, false, true, true, null, false, true],
  });
  const stats = datasetStatistics(df);
  const col = (name: string) => stats.columns.find((c) => c.name === name)!;

  it('counts what is present (null, NaN and infinities are missing in a float column), and the distinct values among it', () => {
    expect(stats.rows).toBe(7);
    expect(col('x')).toMatchObject({ kind: 'numeric', type: 'Float64', count: 4, missing: 3, distinct: 4 });
    expect(col('t')).toMatchObject({ kind: 'categorical', type: 'String', count: 6, missing: 1, distinct: 3 });
    expect(col('d')).toMatchObject({ kind: 'date', count: 6, missing: 1, distinct: 6 });
    expect(col('b')).toMatchObject({ kind: 'categorical', count: 6, missing: 1, distinct: 2 });
  });

  it('gives a numeric column its moments, quantiles and histogram', () => {
    const x = col('x');
    if (x.kind !== 'numeric') throw new Error('x is numeric');
    expect([x.min, x.max, x.mean]).toEqual([1, 10, 4]);
    expect(x.std).toBeCloseTo(Math.sqrt((9 + 4 + 1 + 36) / 3), 12);
    // Ranks 0..3 of [1, 2, 3, 10]: the median sits halfway between 2 and 3.
    expect(x.quantiles).toMatchObject({ '0.25': 1.75, '0.5': 2.5, '0.75': 4.75 });
    expect(x.histogram!.edges).toHaveLength(HISTOGRAM_BINS + 1);
    expect([x.histogram!.edges[0], x.histogram!.edges[HISTOGRAM_BINS]]).toEqual([1, 10]);
    const counts = x.histogram!.counts;
    expect([counts[0], counts[2], counts[4], counts[19]]).toEqual([1, 1, 1, 1]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    // A constant column: one bin holds every value, and its std is 0.
    const n = col('n');
    expect(n.kind === 'numeric' && [n.min, n.max, n.std, n.histogram!.counts[0], n.distinct]).toEqual([5, 5, 0, 7, 1]);
  });

  it('lists a categorical column\'s most frequent values, ties by value, and a date column\'s range as ISO instants', () => {
    const t = col('t');
    expect(t.kind === 'categorical' && t.top).toEqual([{ value: 'a', count: 3 }, { value: 'b', count: 2 }, { value: 'c', count: 1 }]);
    const b = col('b');
    expect(b.kind === 'categorical' && b.top).toEqual([{ value: 'true', count: 4 }, { value: 'false', count: 2 }]);
    const d = col('d');
    expect(d.kind === 'date' && [d.min, d.max]).toEqual(['2020-01-01T00:00:00.000Z', '2020-03-01T12:30:00.000Z']);
  });

  it('computes the quantiles Polars computes, on 100,000 random values', () => {
    const rand = mulberry32(7);
    const values = Array.from({ length: 100_000 }, () => (rand() - 0.3) * 1000);
    const big = pl.DataFrame({ v: values });
    const v = datasetStatistics(big).columns[0];
    if (v.kind !== 'numeric') throw new Error('v is numeric');
    for (const [q, value] of Object.entries(v.quantiles!)) {
      const polars = big.select(pl.col('v').quantile(Number(q), 'linear')).toRecords()[0].v as number;
      expect(value, `quantile ${q}`).toBeCloseTo(polars, 9);
    }
    expect(v.mean).toBeCloseTo(big.select(pl.col('v').mean()).toRecords()[0].v as number, 9);
    expect(v.std).toBeCloseTo(big.select(pl.col('v').std()).toRecords()[0].v as number, 9);
  });

  it('describes an empty table and an all-missing column without failing', () => {
    const empty = datasetStatistics(pl.DataFrame({ x: pl.Series('x', [], pl.Float64), t: pl.Series('t', [], pl.Utf8) }));
    expect(empty.rows).toBe(0);
    expect(empty.columns[0]).toMatchObject({ kind: 'numeric', count: 0, min: null, quantiles: null, histogram: null });
    expect(empty.columns[1]).toMatchObject({ kind: 'categorical', count: 0, top: [] });
  });
});
