// A time split over more rows than a call's arguments can hold (Math.max(...rows) overflowed the stack at
// 200,000 rows): the held-out period is found by a loop.
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { buildFeatureSets } from '../../../data/feature-pipeline.js';
import { PipelineSpecSchema } from '../../../pipelines/spec.js';

describe('a time split', () => {
  it('over 300,000 rows finds the last period', () => {
    const spec = PipelineSpecSchema.parse({
      name: 'big', source: { kind: 'bundled', dataset: 'cars.json' }, target: 'y', task: 'regression', timeColumn: 't',
      split: { kind: 'time', periodMonths: 12, anchor: '01-01' }, features: { include: ['x'] },
    });
    const start = Date.UTC(2000, 0, 1);
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ t: new Date(start + i * 3_600_000).toISOString(), x: i % 97, y: (i % 97) * 2 }));
    const sets = buildFeatureSets(pl.DataFrame(rows), spec, 'regression');
    // 300,000 hours from 2000-01-01 end in 2034-03: the held-out split is 2034 so far.
    expect(sets.testPeriod).toEqual({ from: '2034-01-01', to: '2035-01-01' });
    expect(sets.train.rows + sets.test.rows).toBe(300_000);
  });
});
