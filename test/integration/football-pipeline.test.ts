// The flagship pipeline end to end on the real Temporal dev server and real PostgreSQL.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPredictor } from '../../serving/predictor.js';
import type { TrainingPipelineResult } from '../../pipelines/contract.js';
import { progressQuery } from '../../workflows/definitions.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

let p: TestPlatform;
let workflowId: string;
let result: TrainingPipelineResult;

const fixtures = [
  { home_team: 'Arsenal', away_team: 'Chelsea', date: '2017-08-12' },
  { home_team: 'Bayern Munich', away_team: 'Hamburger SV' },
  { home_team: 'Juventus', away_team: 'Inter', division: 'Serie A' },
];

beforeAll(async () => {
  p = await createTestPlatform();
  const created = await p.request('POST', '/v1/pipelines', quickFootballSpec());
  expect(created.status).toBe(201);
  const run = await p.runPipeline('football');
  if (run.error) throw run.error;
  workflowId = run.workflowId;
  result = run.result!;
});
afterAll(() => p?.stop());

describe('the football pipeline', () => {
  it('drops the four matches without a score and says so', () => {
    expect(result.clean.inputRows).toBe(6508);
    expect(result.clean.droppedMissingTarget).toBe(4);
    expect(result.clean.outputRows).toBe(6504);
    expect(result.clean.notes.join(' ')).toMatch(/4 rows with a missing home_score or away_score/);
  });

  it('keeps statistics of its raw and clean datasets, served column by column, with the headline figures in the registry', async () => {
    const enc = encodeURIComponent(workflowId);
    const clean = await p.request('GET', `/v1/runs/${enc}/datasets/clean/statistics`, undefined, { authorization: `Bearer ${await p.keyFor('viewer')}` });
    expect(clean.status, JSON.stringify(clean.body)).toBe(200);
    expect(clean.body.dataset).toMatchObject({ workflowId, stage: 'clean', rows: 6504 });
    const stats = clean.body.statistics;
    expect(stats.rows).toBe(6504);
    const col = (name: string) => stats.columns.find((c: { name: string }) => c.name === name);
    // The target built from the scores: three outcomes, every row has one.
    expect(col('result')).toMatchObject({ kind: 'categorical', count: 6504, missing: 0, distinct: 3 });
    expect(col('result').top.map((t: { count: number }) => t.count).reduce((a: number, b: number) => a + b, 0)).toBe(6504);
    expect(col('home_score')).toMatchObject({ kind: 'numeric', missing: 0, min: 0 });
    expect(col('home_score').histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(6504);
    expect(col('home_score').quantiles['0.5']).toBeGreaterThanOrEqual(1);
    // The CSV's dates stay text in the dataset (the feature transform reads them as dates): counted as values.
    expect(col('date')).toMatchObject({ kind: 'categorical', type: 'String', missing: 0 });
    // The raw dataset still has the four matches without a score: missing there, not in clean.
    const raw = await p.request('GET', `/v1/runs/${enc}/datasets/raw/statistics`);
    expect(raw.body.statistics.rows).toBe(6508);
    expect(raw.body.statistics.columns.find((c: { name: string }) => c.name === 'home_score')).toMatchObject({ missing: 4 });
    const [row] = (await p.owner.execute(sql`SELECT statistics FROM datasets WHERE run_workflow_id = ${workflowId} AND stage = 'clean'`)).rows as { statistics: { rows: number; columns: { name: string; mean?: number }[] } }[];
    expect(row.statistics.rows).toBe(6504);
    expect(row.statistics.columns.find((c) => c.name === 'home_score')!.mean).toBeCloseTo(col('home_score').mean, 12);
    // The version trained on that clean dataset answers with the same statistics.
    const trained = await p.request('GET', '/v1/models/football/versions/1/statistics');
    expect(trained.status).toBe(200);
    expect(trained.body).toMatchObject({ model: 'football', version: 1, dataset: { workflowId, stage: 'clean', rows: 6504 } });
    expect(trained.body.statistics).toEqual(stats);
    expect((await p.request('GET', '/v1/models/football/versions/9/statistics')).status).toBe(404);
    // Unknown runs and stages: 404 and 400, with the stable error shape.
    const none = await p.request('GET', '/v1/runs/train%3Anope%3A2016-01-01%3Ax/datasets/clean/statistics');
    expect(none.status).toBe(404);
    expect(none.body.error.message).toMatch(/has no clean dataset/);
    expect((await p.request('GET', `/v1/runs/${enc}/datasets/features/statistics`)).status).toBe(400);
  });

  it('beats the class prior and always-home baselines on the held-out season, in accuracy and log-loss', () => {
    const { metrics, baselines } = result;
    expect(Object.keys(baselines).sort()).toEqual(['always-home', 'prior']);
    for (const b of Object.values(baselines)) {
      expect(metrics.accuracy).toBeGreaterThan(b.accuracy);
      expect(metrics.logLoss).toBeLessThan(b.logLoss);
      expect(metrics.rankedProbabilityScore).toBeLessThan(b.rankedProbabilityScore);
    }
    // The held-out split is the 2016-17 season: every match from 2016-07-01 on.
    expect(metrics.n).toBeGreaterThan(1500);
  });

  it('promotes the first version to production and records the move once', async () => {
    expect(result.promotion).toMatchObject({ promoted: true, alias: 'production', fromVersion: null, toVersion: 1 });
    const models = await p.request('GET', '/v1/models');
    expect(models.body.models).toEqual([expect.objectContaining({ name: 'football', task: 'classification', latestVersion: 1, aliases: { production: 1 } })]);
    const history = await p.request('GET', '/v1/models/football/aliases/history');
    expect(history.body.events).toHaveLength(1);
    expect(history.body.events[0]).toMatchObject({ alias: 'production', fromVersion: null, toVersion: 1, actor: `workflow:${workflowId}` });
  });

  it('records the run, its datasets and the version lineage in the registry', async () => {
    const run = await p.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}`);
    expect(run.body.run).toMatchObject({ status: 'succeeded', pipeline: 'football', modelVersion: 1, trigger: 'api' });
    expect(run.body.run.summary.metrics.accuracy).toBeCloseTo(result.metrics.accuracy, 10);
    const ds = await p.db.execute(sql`select stage, rows, content_hash from datasets where run_workflow_id = ${workflowId} order by stage`);
    expect(ds.rows.map((r: any) => [r.stage, r.rows])).toEqual([['clean', 6504], ['raw', 6508]]);
    expect(ds.rows.every((r: any) => /^[0-9a-f]{64}$/.test(r.content_hash))).toBe(true);
    const v = await p.request('GET', '/v1/models/football/versions/1');
    expect(v.body.version.lineage).toMatchObject({ run: workflowId, pipeline: 'football', pipelineVersion: 1, testPeriod: { from: '2016-07-01', to: '2017-07-01' } });
    expect(v.body.version.inputSchema.map((f: any) => f.name)).toEqual(expect.arrayContaining(['home_team', 'away_team', 'date', 'division']));
  });

  it('shows seven stage activities, training heartbeats and search attributes in Temporal', async () => {
    const handle = p.temporal.workflow.getHandle(workflowId);
    const history = await handle.fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
    expect(scheduled).toEqual(['beginRun', 'collect', 'clean', 'validate', 'feature', 'train', 'evaluate', 'promote', 'finishRun']);
    const train = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'train')!;
    expect(Number(train.activityTaskScheduledEventAttributes!.heartbeatTimeout!.seconds)).toBeGreaterThan(0);
    const desc = await handle.describe();
    expect(desc.typedSearchAttributes.getAll().map((a) => [a.key.name, a.value])).toEqual(expect.arrayContaining([['MlPipeline', 'football'], ['MlModelVersion', 1]]));
    expect(await handle.query(progressQuery)).toMatchObject({ stage: 'done', completed: ['collect', 'clean', 'validate', 'feature', 'train', 'evaluate', 'promote'], modelVersion: 1 });
    expect(result.training.epochsRun).toBeGreaterThan(1);
  });

  it('serves predictions from production with class probabilities and the answering version', async () => {
    const res = await p.request('POST', '/v1/models/football/predict', { instances: fixtures });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model: 'football', version: 1, alias: 'production' });
    expect(res.body.predictions).toHaveLength(3);
    for (const pr of res.body.predictions) {
      const probs = Object.values(pr.probabilities) as number[];
      expect(Object.keys(pr.probabilities)).toEqual(['home', 'draw', 'away']);
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(pr.label).toBe(Object.entries(pr.probabilities).sort((a: any, b: any) => b[1] - a[1])[0][0]);
    }
  });

  it('answers exactly what the registered model gives offline for the same rows', async () => {
    const res = await p.request('POST', '/v1/models/football/predict', { instances: fixtures });
    const v = await p.request('GET', '/v1/models/football/versions/1');
    const offline = await loadPredictor(await p.artifacts.localPath(v.body.version.artifactUri));
    try {
      const expected = offline.predict(fixtures);
      expect(res.body.predictions.length).toBe(expected.length);
      res.body.predictions.forEach((got: any, i: number) => {
        const want = expected[i] as { label: string; probabilities: Record<string, number> };
        expect(got.label).toBe(want.label);
        for (const k of Object.keys(want.probabilities)) expect(got.probabilities[k]).toBeCloseTo(want.probabilities[k], 6);
      });
    } finally {
      offline.dispose();
    }
  });

  it('answers a row alone exactly as inside a batch, and one-row answers do not leak into each other', async () => {
    const batch = await p.request('POST', '/v1/models/football/predict', { instances: fixtures });
    const alone = await Promise.all(fixtures.map((f) => p.request('POST', '/v1/models/football/predict', { instances: [f] })));
    // Each row has its own ID; everything else is the same, alone or in the batch.
    const answer = ({ id: _id, ...rest }: { id: string }) => rest;
    expect(alone.map((r) => answer(r.body.predictions[0]))).toEqual(batch.body.predictions.map(answer));
    expect(new Set(alone.map((r) => JSON.stringify(r.body.predictions[0].probabilities))).size).toBe(fixtures.length);
  });

  it('falls back to a new team\'s default rating instead of failing', async () => {
    const res = await p.request('POST', '/v1/models/football/predict', { instances: [{ home_team: 'Never Seen FC', away_team: 'Also New United' }] });
    expect(res.status).toBe(200);
    const pr = res.body.predictions[0];
    // Two unknown teams are rated alike, so home advantage decides: home is the most likely outcome.
    expect(pr.label).toBe('home');
  });

  it('raises the fallback-rate alarm of the monitor when a flood of unknown teams is served', async () => {
    await new Promise((r) => setTimeout(r, 3));
    const from = new Date(Date.now() - 1).toISOString();
    const unknown = Array.from({ length: 60 }, (_, i) => ({ home_team: `Nowhere Town ${i}`, away_team: 'Arsenal', date: '2017-08-12' }));
    const known = Array.from({ length: 20 }, () => ({ home_team: 'Arsenal', away_team: 'Chelsea', date: '2017-08-12' }));
    const served = await p.request('POST', '/v1/models/football/predict', { instances: [...unknown, ...known] });
    expect(served.status).toBe(200);
    const to = new Date(Date.now() + 1).toISOString();
    await p.predictionLog.flush();
    const res = await p.request('POST', '/v1/models/football/monitor/windows', { from, to });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { report } = res.body;
    expect(report).toMatchObject({ predictions: 80, fallbackRate: 0.75, breach: true });
    expect(report.warningRates['unknown-team']).toBe(0.75);
    const alarm = report.findings.find((f: { check: string }) => f.check === 'fallbackRate');
    expect(alarm).toMatchObject({ value: 0.75, threshold: 0.05, action: 'warn' });
    expect(alarm.message).toMatch(/^75\.0% of 80 predictions were answered for a team or category the model never saw/);
    // No webhook on this platform, and the pipeline does not retrain on a breach by default.
    expect(res.body).toMatchObject({ webhook: 'not-configured', retraining: null });
  });

  it('rejects malformed predict bodies with a 4xx naming the problem', async () => {
    const wrongType = await p.request('POST', '/v1/models/football/predict', { instances: [{ home_team: 5, away_team: 'Chelsea' }] });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.error.code).toBe('validation_failed');
    expect(wrongType.body.error.details.issues[0].path).toBe('instances[0].home_team');

    const missing = await p.request('POST', '/v1/models/football/predict', { instances: [{ home_team: 'Arsenal' }] });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toMatch(/instances\[0\]\.away_team/);

    const noInstances = await p.request('POST', '/v1/models/football/predict', { rows: [] });
    expect(noInstances.status).toBe(422);
    expect(noInstances.body.error.details.issues[0].path).toBe('instances');

    const empty = await p.request('POST', '/v1/models/football/predict', { instances: [] });
    expect(empty.status).toBe(422);

    const notJson = await p.request('POST', '/v1/models/football/predict', '{"instances": [', { 'content-type': 'application/json' });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ error: { code: 'bad_request', message: 'the request body is not valid JSON', details: null } });

    const unknownModel = await p.request('POST', '/v1/models/nope/predict', { instances: fixtures });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.error.code).toBe('no_model');
  });

  it('does not promote a retrained model that is no better than production', async () => {
    const again = await p.runPipeline('football');
    if (again.error) throw again.error;
    const r = again.result!;
    expect(r.modelVersion).toBe(2);
    expect(r.champion?.version).toBe(1);
    // Same data, same seed: the challenger ties the champion, and a tie does not move the alias.
    expect(r.promotion.promoted).toBe(false);
    expect(r.promotion.reasons.join(' ')).toMatch(/does not beat production v1/);
    const models = await p.request('GET', '/v1/models');
    expect(models.body.models[0].aliases).toEqual({ production: 1 });
  });
});
