// Scale-out over machines: two `mlp worker` processes, each with its own scratch folder and working copy,
// sharing one S3-compatible store (a real Versity gateway), one registry and one Temporal namespace. The API
// (this process) reads the models they train from the bucket.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';
import pl from 'nodejs-polars';
import { startBatchScore } from '../../api/launcher.js';
import type { BatchScoreInput, BatchScoreResult } from '../../pipelines/contract.js';
import { trainingTaskQueue } from '../../pipelines/workflow-ids.js';
import { createBatchJob, getBatchJob } from '../../registry/batch-jobs.js';
import { startObjectStore, type ObjectStoreServer } from '../support/object-store.js';
import { quickFootballSpec } from '../support/specs.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { startRole, type RoleProcess } from '../support/role-process.js';

let s3: ObjectStoreServer;
let p: TestPlatform;
let scratch: string;
let storeEnv: Record<string, string>;
const workers = new Map<string, RoleProcess>();

/** `mlp worker` named `name` (its identity in the histories), polling `queues`, with folders of its own. */
async function startWorker(name: string, queues: string, extra: Record<string, string> = {}): Promise<void> {
  const port = await freePort();
  workers.set(name, await startRole('worker', {
    env: {
      DATABASE_URL: p.databaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: p.taskQueue,
      WORKER_PORT: String(port), TEMPORAL_METRICS_PORT: '0', LOG_LEVEL: 'warn',
      DATA_DIR: join(scratch, name), ARTIFACT_DIR: join(scratch, name, 'unused-local-store'),
      WORKER_TASK_QUEUES: queues, WORKER_IDENTITY: name, ...storeEnv, ...extra,
    },
    startupUrl: `http://127.0.0.1:${port}/health/startup`,
  }));
}

/** Per activity of a workflow: its type, the queue it was scheduled on and the worker that ran it. */
async function activityPlacements(workflowId: string): Promise<{ activity: string; queue: string; worker: string }[]> {
  const history = await p.temporal.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { activity: string; queue: string }>();
  const placements: { activity: string; queue: string; worker: string }[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { activity: s.activityType!.name!, queue: s.taskQueue!.name! });
    const started = e.activityTaskStartedEventAttributes;
    if (started) placements.push({ ...scheduled.get(String(started.scheduledEventId))!, worker: started.identity! });
  }
  return placements;
}

beforeAll(async () => {
  s3 = await startObjectStore();
  scratch = await mkdtemp(join(tmpdir(), 'mlp-two-workers-'));
  storeEnv = s3.env('two-workers');
  // The API only: the stages run in the worker processes below.
  p = await createTestPlatform({ worker: false, env: { ...storeEnv, ARTIFACT_CACHE_DIR: join(scratch, 'api-cache') } });
  // A machine without cores to spare runs the light stages; another takes training only.
  // One stage at a time on the light one, so that in the backfill below neither can take every stage.
  await Promise.all([startWorker('worker-light', 'pipelines', { WORKER_ACTIVITY_SLOTS: '1' }), startWorker('worker-training', 'training')]);
});
afterAll(async () => {
  for (const w of workers.values()) await w.stop();
  await p?.stop();
  await s3?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('two workers on two machines sharing one S3 store', () => {
  it('run one pipeline whose stages land on both, and the API serves the model from the bucket', async () => {
    expect((await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'football-2w' }))).status).toBe(201);
    const { workflowId, result, error } = await p.runPipeline('football-2w');
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ modelVersion: 1, promotion: { promoted: true } });

    const placements = await activityPlacements(workflowId);
    const stage = (name: string) => placements.filter((x) => x.activity === name);
    expect(stage('train')).toEqual([{ activity: 'train', queue: trainingTaskQueue(p.taskQueue), worker: 'worker-training' }]);
    for (const name of ['collect', 'clean', 'feature', 'evaluate']) expect(stage(name)).toEqual([{ activity: name, queue: p.taskQueue, worker: 'worker-light' }]);

    // Every artifact went through the bucket: the training machine read the features the other wrote.
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'two-workers/runs/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    for (const part of ['/clean/clean.parquet', '/features/fitted.json', '/model/']) expect(keys.some((k) => k.includes(part)), part).toBe(true);

    const res = await p.request('POST', '/v1/models/football-2w/predict', { instances: [{ date: '2017-08-12', home_team: 'Arsenal', away_team: 'Leicester City' }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ model: 'football-2w', version: 1 });
    expect(res.body.predictions[0].probabilities).toBeDefined();
  });

  it('spread a backfill\'s partitions over both when both poll the same queues', async () => {
    // The training machine now takes every kind of work too; one stage at a time each, so neither can take it all.
    await workers.get('worker-training')!.stop();
    workers.delete('worker-training');
    await startWorker('worker-both', 'pipelines,training', { WORKER_ACTIVITY_SLOTS: '1' });
    const started = await p.request('POST', '/v1/pipelines/football-2w/backfills', { start: '2014-07-01', end: '2017-07-01', step: 'season', concurrency: 4 });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await p.temporal.workflow.getHandle(started.body.backfill.id).result();
    const runs = await p.request('GET', '/v1/runs?pipeline=football-2w');
    const partitions: string[] = runs.body.runs.filter((r: { trigger: string }) => r.trigger === 'backfill').map((r: { workflowId: string }) => r.workflowId);
    expect(partitions).toHaveLength(4);
    const placed = (await Promise.all(partitions.map(activityPlacements))).flat();
    const lightStagesBy = new Set(placed.filter((x) => x.activity !== 'train').map((x) => x.worker));
    expect([...lightStagesBy].sort()).toEqual(['worker-both', 'worker-light']);
    expect(new Set(placed.filter((x) => x.activity === 'train').map((x) => x.worker))).toEqual(new Set(['worker-both']));
  });

  it('finish a batch job on the other machine after one is killed with SIGKILL, from the chunks it left in the bucket', async () => {
    // Its own queue, served only by the workers of this test; each with its own working copy.
    const queue = `${p.taskQueue}-kill`;
    await startWorker('worker-killed', 'pipelines', { TEMPORAL_TASK_QUEUE: queue });
    const jobId = `score:football-2w:two-workers:${Date.now()}`;
    const input: BatchScoreInput = { model: 'football-2w', version: 1, alias: null, source: { kind: 'bundled', dataset: 'football' }, keep: ['home_team'], chunkRows: 100, actor: 'platform:test' };
    await createBatchJob(p.db, jobId, input);
    await startBatchScore({ temporal: p.temporal, config: { ...p.config, temporal: { ...p.config.temporal, taskQueue: queue } } }, jobId, input);
    let doneAtKill = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      doneAtKill = (await getBatchJob(p.db, jobId))?.chunksDone ?? 0;
      if (doneAtKill >= 3) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    workers.get('worker-killed')!.child.kill('SIGKILL');
    const chunks = Math.ceil(6508 / 100);
    expect(doneAtKill).toBeGreaterThanOrEqual(3);
    expect(doneAtKill, 'the job finished before the kill: nothing was tested').toBeLessThan(chunks);

    await startWorker('worker-rescue', 'pipelines', { TEMPORAL_TASK_QUEUE: queue });
    const result = await p.temporal.workflow.getHandle(jobId).result() as BatchScoreResult;
    expect(result.resumedFromChunk).toBeGreaterThanOrEqual(doneAtKill);
    expect(result).toMatchObject({ rows: 6508, chunks });
    const score = (await activityPlacements(jobId)).filter((x) => x.activity === 'scoreBatch');
    expect(score.at(-1)).toMatchObject({ worker: 'worker-rescue' });

    const res = await p.app.request(`/v1/batch-predictions/${encodeURIComponent(jobId)}/predictions`, { headers: { authorization: `Bearer ${p.adminKey}` } });
    expect(res.status).toBe(200);
    const rows = pl.readParquet(Buffer.from(await res.arrayBuffer())).getColumn('row').toArray() as number[];
    expect(rows).toEqual(Array.from({ length: 6508 }, (_, i) => i));
  });
});
