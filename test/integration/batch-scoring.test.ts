// Batch scoring: a table through a registered model in chunks, into one Parquet file of predictions, with
// the same numbers the predict API gives; and a worker killed with SIGKILL mid-job, whose job a new worker
// finishes from its last written chunk, with every row scored exactly once.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';
import { startBatchScore } from '../../api/launcher.js';
import { resolveBundled } from '../../data/sources.js';
import type { BatchScoreInput, BatchScoreResult } from '../../pipelines/contract.js';
import { loadShippedPipeline } from '../../pipelines/shipped.js';
import { createBatchJob, getBatchJob } from '../../registry/batch-jobs.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';
import { startRole, type RoleProcess } from '../support/role-process.js';

let p: TestPlatform;
const ROWS = 30_000;

/** Flights spread over the six months, each with an ID, as a table to score would have one. */
function flights(every: number, rows: number, offset = 0): pl.DataFrame {
  const df = pl.readParquet(resolveBundled('flights-3m.parquet')).slice(offset, every * rows).gatherEvery(every).head(rows);
  return df.withColumn(pl.Series('flight_id', Array.from({ length: df.height }, (_, i) => `F${offset + i}`)));
}

beforeAll(async () => {
  p = await createTestPlatform();
  const root = p.config.sources.files.roots[0];
  flights(50, 60_000).writeParquet(join(root, 'flights-train.parquet'));
  flights(97, ROWS, 7).writeParquet(join(root, 'to-score.parquet'));
  flights(97, ROWS, 7).drop('origin').writeParquet(join(root, 'no-origin.parquet'));
  // 25 flights without a distance, which the model never saw missing.
  const gaps = flights(97, 2000, 7);
  gaps.withColumn(pl.when(pl.col('flight_id').str.contains('5$')).then(pl.lit(null)).otherwise(pl.col('distance')).alias('distance')).head(250).writeParquet(join(root, 'gaps.parquet'));
  const shipped = loadShippedPipeline('flights');
  const created = await p.request('POST', '/v1/pipelines', {
    ...shipped, name: 'flights-small', source: { kind: 'file', path: 'flights-train.parquet' }, quality: { ...shipped.quality, minRows: 100 },
    model: { ...shipped.model, epochs: 1 }, promotion: { mustBeatProduction: false, mustBeatBaselines: false },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const run = await p.runPipeline('flights-small', { allowPromotion: true });
  if (run.error) throw new Error((await failureOf(p, run)).failure.message);
});
afterAll(() => p?.stop());

async function finished(jobId: string) {
  await p.temporal.workflow.getHandle(jobId).result().catch(() => undefined);
  return (await p.request('GET', `/v1/batch-predictions/${encodeURIComponent(jobId)}`)).body.job;
}

async function predictionsOf(jobId: string): Promise<pl.DataFrame> {
  const res = await p.app.request(`/v1/batch-predictions/${encodeURIComponent(jobId)}/predictions`, { headers: { authorization: `Bearer ${p.adminKey}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
  return pl.readParquet(Buffer.from(await res.arrayBuffer()));
}

describe('a batch prediction job', () => {
  it('scores every row in chunks, as the predict API scores it, with its lineage recorded', async () => {
    const started = await p.request('POST', '/v1/models/flights-small/batch-predictions', {
      source: { kind: 'file', path: 'to-score.parquet' }, keep: ['flight_id'], chunkRows: 4000,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.job).toMatchObject({ model: 'flights-small', version: 1, alias: 'production', status: 'running', chunksDone: 0 });
    const job = await finished(started.body.job.id);
    expect(job).toMatchObject({ status: 'succeeded', rows: ROWS, chunks: 8, chunksDone: 8, failure: null, startedBy: 'key:test-admin' });
    expect(job.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(job.outputSha256).toMatch(/^[0-9a-f]{64}$/);

    const out = await predictionsOf(job.id);
    expect(out.columns).toEqual(['row', 'flight_id', 'label', 'p_late', 'p_on-time']);
    expect(out.height).toBe(ROWS);
    const input = pl.readParquet(join(p.config.sources.files.roots[0], 'to-score.parquet'));
    expect(out.getColumn('row').toArray()).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(out.getColumn('flight_id').toArray()).toEqual(input.getColumn('flight_id').toArray());

    // The same rows through POST /predict: the same probabilities (tfjs and the JS forward pass agree
    // to float32 rounding) and the same labels.
    const sample = input.slice(12_345, 40).toRecords() as unknown as { date: Date; distance: number; origin: string; destination: string }[];
    const predicted = await p.request('POST', '/v1/models/flights-small/predict', {
      instances: sample.map((r) => ({ date: r.date.toISOString(), distance: r.distance, origin: r.origin, destination: r.destination })),
    });
    expect(predicted.status).toBe(200);
    const scored = out.slice(12_345, 40).toRecords() as unknown as { label: string; p_late: number }[];
    predicted.body.predictions.forEach((pred: { label: string; probabilities: Record<string, number> }, i: number) => {
      expect(scored[i].p_late).toBeCloseTo(pred.probabilities.late, 5);
      expect(scored[i].label).toBe(pred.label);
    });

    const audit = await p.request('GET', '/v1/audit?action=batch.started');
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0]).toMatchObject({ actor: 'key:test-admin', subject: `batch:${job.id}`, details: { model: 'flights-small', version: 1, chunkRows: 4000 } });
  });

  it('scores rows the predict API would refuse, the way training imputes them, and counts them', async () => {
    const started = await p.request('POST', '/v1/models/flights-small/batch-predictions', { source: { kind: 'file', path: 'gaps.parquet' }, chunkRows: 1000 });
    const job = await finished(started.body.job.id);
    expect(job).toMatchObject({ status: 'succeeded', rows: 250, warnings: [{ column: 'distance', issue: 'missing-required', rows: 25 }] });
    const one = await p.request('POST', '/v1/models/flights-small/predict', { instances: [{ date: '2001-03-05T08:00', origin: 'ORD', destination: 'ATL' }] });
    expect(one.status).toBe(422);
  });

  it('fails, naming the column, when the source lacks one the model needs; and refuses what it cannot start', async () => {
    const started = await p.request('POST', '/v1/models/flights-small/batch-predictions', { source: { kind: 'file', path: 'no-origin.parquet' } });
    expect(started.status).toBe(201);
    const job = await finished(started.body.job.id);
    expect(job.status).toBe('failed');
    expect(job.failure).toMatchObject({ stage: 'plan', type: 'InvalidSource' });
    expect(job.failure.message).toContain('"origin"');

    expect((await p.request('POST', '/v1/models/no-such-model/batch-predictions', { source: { kind: 'file', path: 'to-score.parquet' } })).body.error.code).toBe('no_model');
    const clash = await p.request('POST', '/v1/models/flights-small/batch-predictions', { source: { kind: 'file', path: 'to-score.parquet' }, keep: ['label'] });
    expect(clash.status).toBe(422);
    expect(clash.body.error.details.issues[0].path).toBe('body.keep.0');
    const viewer = await p.keyFor('viewer');
    const refused = await p.request('POST', '/v1/models/flights-small/batch-predictions', { source: { kind: 'file', path: 'to-score.parquet' } }, { authorization: `Bearer ${viewer}` });
    expect(refused.status).toBe(403);
    // A job that did not succeed has no predictions to hand out.
    expect((await p.request('GET', `/v1/batch-predictions/${encodeURIComponent(job.id)}/predictions`)).status).toBe(409);
  });
});

describe('a worker killed with SIGKILL in the middle of a job', () => {
  const workers: RoleProcess[] = [];
  afterAll(async () => {
    for (const w of workers) await w.stop();
  });

  async function worker(taskQueue: string): Promise<RoleProcess> {
    const port = await freePort();
    const w = await startRole('worker', {
      env: {
        DATABASE_URL: p.databaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue, WORKER_PORT: String(port),
        TEMPORAL_METRICS_PORT: String(await freePort()), DATA_DIR: p.config.dataDir, ARTIFACT_DIR: p.config.artifactDir,
        SOURCE_FILE_ROOTS: p.config.sources.files.roots.join(','), LOG_LEVEL: 'warn',
      },
      startupUrl: `http://127.0.0.1:${port}/health/startup`,
    });
    workers.push(w);
    return w;
  }

  it('leaves a job that another worker finishes from its last chunk, every row exactly once', async () => {
    // The job runs on a queue that only worker processes of this test serve.
    const taskQueue = `batch-kill-${randomBytes(4).toString('hex')}`;
    const first = await worker(taskQueue);
    const jobId = `score:flights-small:kill-test:${randomBytes(4).toString('hex')}`;
    const input: BatchScoreInput = { model: 'flights-small', version: 1, alias: null, source: { kind: 'file', path: 'to-score.parquet' }, keep: ['flight_id'], chunkRows: 1000, actor: 'platform:test' };
    await createBatchJob(p.db, jobId, input);
    await startBatchScore({ temporal: p.temporal, config: { ...p.config, temporal: { ...p.config.temporal, taskQueue } } }, jobId, input);

    let doneAtKill = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      doneAtKill = (await getBatchJob(p.db, jobId))?.chunksDone ?? 0;
      if (doneAtKill >= 3) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGKILL');
    expect(doneAtKill).toBeGreaterThanOrEqual(3);
    expect(doneAtKill, 'the job finished before the kill: nothing was tested').toBeLessThan(30);

    await worker(taskQueue);
    const result = await p.temporal.workflow.getHandle(jobId).result() as BatchScoreResult;
    // The retry started at the first chunk not on disk: at or after the count seen before the kill.
    expect(result.resumedFromChunk).toBeGreaterThanOrEqual(doneAtKill);
    expect(result.resumedFromChunk).toBeLessThan(30);
    expect(result).toMatchObject({ rows: ROWS, chunks: 30 });

    const out = await predictionsOf(jobId);
    expect(out.height).toBe(ROWS);
    const rows = out.getColumn('row').toArray() as number[];
    expect(new Set(rows).size).toBe(ROWS);
    expect(rows).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    const input2 = pl.readParquet(join(p.config.sources.files.roots[0], 'to-score.parquet'));
    expect(out.getColumn('flight_id').toArray()).toEqual(input2.getColumn('flight_id').toArray());
  });
});
