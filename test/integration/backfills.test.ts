// Pipeline backfills over the football seasons: one run per asOf, idempotent re-submission, a failed
// partition retried alone, and the walk-forward report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineInputError } from '../../data/pipeline-error.js';
import type { BackfillProgress } from '../../pipelines/contract.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

let p: TestPlatform;
let sourceDown = true;
let backfillId: string;
let first: BackfillProgress;

beforeAll(async () => {
  p = await createTestPlatform({
    // The 2016-07-01 partition's source is "down" until the test brings it back.
    faults: (point, _attempt, run) => {
      if (point === 'collect' && sourceDown && run.workflowId.includes(':2016-07-01:')) {
        throw new PipelineInputError('InvalidSource', 'the match feed is unavailable (test outage)');
      }
    },
  });
  await p.request('POST', '/v1/pipelines', quickFootballSpec());
  const res = await p.request('POST', '/v1/pipelines/football/backfills', { start: '2015-07-01', end: '2017-07-01', step: 'season', concurrency: 2 });
  expect(res.status).toBe(201);
  backfillId = res.body.backfill.id;
  first = await p.temporal.workflow.getHandle(backfillId).result();
});
afterAll(() => p?.stop());

const encoded = () => encodeURIComponent(backfillId);

describe('a football backfill over three seasons', () => {
  it('runs one pipeline per asOf with deterministic IDs and reports per-partition progress', () => {
    expect(backfillId).toBe('backfill:football:2015-07-01:2017-07-01:12m');
    expect(first.partitions.map((x) => [x.asOf.slice(0, 10), x.status])).toEqual([
      ['2015-07-01', 'succeeded'], ['2016-07-01', 'failed'], ['2017-07-01', 'succeeded'],
    ]);
    expect(first.partitions[1].failure).toBe('[InvalidSource] collect failed: the match feed is unavailable (test outage)');
    expect(first).toMatchObject({ total: 3, done: 2, failed: 1, running: 0, remaining: 0 });
    expect(first.partitions[0].workflowId).toBe('train:football:2015-07-01:backfill-2015-07-01-2017-07-01-12m');
  });

  it('never moves production', async () => {
    const models = await p.request('GET', '/v1/models');
    expect(models.body.models[0]).toMatchObject({ name: 'football', latestVersion: 2, aliases: {} });
  });

  it('starts nothing when the same backfill is submitted again', async () => {
    const before = await p.request('GET', '/v1/runs?pipeline=football');
    const again = await p.request('POST', '/v1/pipelines/football/backfills', { start: '2015-07-01', end: '2017-07-01', step: 'season', concurrency: 2 });
    expect(again.status).toBe(200);
    expect(again.body.backfill).toMatchObject({ id: backfillId, existing: true });
    const after = await p.request('GET', '/v1/runs?pipeline=football');
    expect(after.body.runs.map((r: { workflowId: string }) => r.workflowId).sort()).toEqual(before.body.runs.map((r: { workflowId: string }) => r.workflowId).sort());
    expect(after.body.runs).toHaveLength(3);
    // The same instants written with odd offsets are the same backfill.
    const offsets = await p.request('POST', '/v1/pipelines/football/backfills', { start: '2015-07-01T14:59:00+14:59', end: '2017-06-30T09:01:00-14:59', step: 'season', concurrency: 2 });
    expect(offsets.status, JSON.stringify(offsets.body)).toBe(200);
    expect(offsets.body.backfill).toMatchObject({ id: backfillId, existing: true });
  });

  it('retries the failed partition alone, on the backfill\'s pinned pipeline version, and the progress counts it done', async () => {
    const refused = await p.request('POST', `/v1/backfills/${encoded()}/partitions/2015-07-01/retry`);
    expect(refused.status).toBe(409);
    sourceDown = false;
    // The pipeline is edited after the backfill started: the retried partition must still run version 1.
    const edited = await p.request('POST', '/v1/pipelines', { ...quickFootballSpec(), description: 'edited after the backfill started' });
    expect(edited.body.pipeline.version).toBe(2);
    const retry = await p.request('POST', `/v1/backfills/${encoded()}/partitions/2016-07-01/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body.retry.pipelineVersion).toBe(1);
    // Its one audit row, naming the caller, the backfill and the partition.
    const audit = await p.request('GET', '/v1/audit?action=backfill.partition-retried');
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0]).toMatchObject({
      actor: 'key:test-admin', subject: `backfill:${backfillId}`, requestId: retry.headers.get('x-request-id'),
      details: { asOf: expect.stringMatching(/^2016-07-01/), workflowId: retry.body.retry.workflowId, pipelineVersion: 1 },
    });
    await p.temporal.workflow.getHandle(retry.body.retry.workflowId).result();
    const run = await p.request('GET', `/v1/runs/${encodeURIComponent(retry.body.retry.workflowId)}`);
    expect(run.body.run).toMatchObject({ pipeline: 'football', pipelineVersion: 1, status: 'succeeded' });
    const progress = await p.request('GET', `/v1/backfills/${encoded()}`);
    expect(progress.body.backfill).toMatchObject({ total: 3, done: 3, failed: 0, running: 0, remaining: 0, status: 'COMPLETED' });
  });

  it('reports each period\'s model on the season after its training data, next to the baselines', async () => {
    const report = await p.request('GET', `/v1/backfills/${encoded()}/report`);
    const rows = report.body.rows as any[];
    expect(rows.map((r) => [r.asOf.slice(0, 10), r.testFrom, r.testTo, r.status])).toEqual([
      ['2015-07-01', '2014-07-01', '2015-07-01', 'succeeded'],
      ['2016-07-01', '2015-07-01', '2016-07-01', 'succeeded'],
      ['2017-07-01', '2016-07-01', '2017-07-01', 'succeeded'],
    ]);
    for (const r of rows) {
      expect(r.metrics.accuracy).toBeGreaterThan(0.4);
      expect(r.metrics.logLoss).toBeLessThan(1.1);
      expect(Object.keys(r.baselines).sort()).toEqual(['always-home', 'prior']);
      expect(r.baselines.prior.logLoss).toBeGreaterThan(0.9);
    }
    const csv = await fetchText(`/v1/backfills/${encoded()}/report?format=csv`);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^as_of,test_from,test_to,status,model_version,accuracy,logLoss,.*always-home_accuracy.*prior_logLoss/);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^2017-07-01,2016-07-01,2017-07-01,succeeded,/);
    const svg = await fetchText(`/v1/backfills/${encoded()}/report?format=svg`);
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // accuracy: model + 2 baselines; log-loss: model + prior, with always-home's far larger log-loss listed as off scale.
    expect((svg.match(/<polyline/g) ?? []).length).toBe(5);
    expect(svg).toMatch(/always-home \d\.\d\d–\d\.\d\d \(off scale\)/);
  });

  it('answers 404 and 422 clearly', async () => {
    expect((await p.request('GET', '/v1/backfills/backfill:nope')).status).toBe(404);
    const bad = await p.request('POST', '/v1/pipelines/football/backfills', { start: '2017-07-01', end: '2015-07-01' });
    expect(bad.status).toBe(422);
    const missing = await p.request('POST', '/v1/backfills/' + encoded() + '/partitions/2001-01-01/retry');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/partitions: 2015-07-01, 2016-07-01, 2017-07-01/);
  });
});

async function fetchText(path: string): Promise<string> {
  const base = await p.listen();
  return (await fetch(base + path, { headers: { authorization: `Bearer ${p.adminKey}` } })).text();
}
