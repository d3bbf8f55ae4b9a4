// The shipped flights pipeline on every tenth flight of flights-3m.parquet (300,000 rows over six months):
// large enough that training runs hundreds of minibatches, small enough for the suite. The full 3,000,000
// rows are `npm run bench:flights`.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundled } from '../../data/sources.js';
import { loadShippedPipeline } from '../../pipelines/shipped.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';

const FLIGHTS = resolveBundled('flights-3m.parquet');

let p: TestPlatform;
let sample: pl.DataFrame;
let workflowId: string;

beforeAll(async () => {
  p = await createTestPlatform();
  sample = pl.readParquet(FLIGHTS).gatherEvery(10);
  sample.writeParquet(join(p.config.sources.files.roots[0], 'flights-sample.parquet'));
});
afterAll(() => p?.stop());

describe('the flights pipeline on a 300,000-row sample', () => {
  it('cleans, features, trains and promotes a model of late arrivals', async () => {
    const shipped = loadShippedPipeline('flights');
    const created = await p.request('POST', '/v1/pipelines', { ...shipped, name: 'flights-sample', source: { kind: 'file', path: 'flights-sample.parquet' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = await p.runPipeline('flights-sample', { allowPromotion: true });
    if (run.error) throw new Error((await failureOf(p, run)).failure.message);
    workflowId = run.workflowId;
    const result = run.result!;
    expect(result.clean).toMatchObject({ inputRows: 300_000, droppedMissingTarget: 0 });
    expect(result.clean.outputRows).toBeGreaterThan(299_000);
    expect(result.training.epochsRun).toBeGreaterThanOrEqual(1);
    // The model knows more than the share of late flights: it beats the prior on log loss, so it is promoted.
    expect(result.metrics.logLoss).toBeLessThan(result.baselines.prior.logLoss);
    expect(result.promotion).toMatchObject({ promoted: true, toVersion: 1 });
  });

  it('holds out June, leaves out the stragglers of July, and keeps the split, not its matrices', async () => {
    const v = await p.request('GET', '/v1/models/flights-sample/versions/1');
    const lineage = v.body.version.lineage;
    expect(lineage.testPeriod).toEqual({ from: '2001-06-01', to: '2001-07-01' });
    const june = sample.filter(pl.col('date').dt.month().eq(6)).unique().height;
    expect(lineage.testRows).toBe(june);
    const julyRows = sample.filter(pl.col('date').dt.month().eq(7)).height;
    expect(lineage.trainRows + lineage.testRows + julyRows).toBe(lineage.cleanDataset.rows);
    const cols = v.body.version.transform.transform.outputNames.length;
    // the date's weekday (7) and time of day (2), distance, origin and destination (30 airports and __other__ each)
    expect(cols).toBe(7 + 2 + 1 + 31 + 31);
    // The feature stage's output, as the workflow history recorded it.
    const history = await p.temporal.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'feature')!;
    const completed = history.events!.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId))!;
    const features = p.temporal.options.loadedDataConverter.payloadConverter.fromPayload<{ uri: string }>(completed.activityTaskCompletedEventAttributes!.result!.payloads![0]);
    const dir = await p.artifacts.localPath(features.uri);
    // Labels and row positions only: training and evaluation encode their rows from the clean dataset.
    expect((await stat(join(dir, 'y_train.f32'))).size).toBe(lineage.trainRows * 4);
    expect((await stat(join(dir, 'train_index.i32'))).size).toBe(lineage.trainRows * 4);
    expect((await stat(join(dir, 'test_index.i32'))).size).toBe(lineage.testRows * 4);
    expect((await readdir(dir)).filter((f) => f.startsWith('x_'))).toEqual([]);
  });

  it('predicts the raw rows of the file, with both classes', async () => {
    const rows = sample.slice(1000, 300).toRecords() as unknown as { date: Date; distance: number; origin: string; destination: string }[];
    const instances = rows.map((r) => ({ date: r.date.toISOString().slice(0, 16), distance: r.distance, origin: r.origin, destination: r.destination }));
    const res = await p.request('POST', '/v1/models/flights-sample/predict', { instances });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.predictions).toHaveLength(300);
    for (const pred of res.body.predictions) {
      expect(Object.keys(pred.probabilities).sort()).toEqual(['late', 'on-time']);
      expect(pred.probabilities.late + pred.probabilities['on-time']).toBeCloseTo(1, 5);
    }
  });
});
