// Pipelines created through the API over other shipped data sets, and specs that must fail clearly.
import { ApplicationFailure } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec, shippedSpec } from '../support/specs.js';

let p: TestPlatform;
beforeAll(async () => {
  p = await createTestPlatform();
});
afterAll(() => p?.stop());

/** The non-retryable cause of a failed run, and how many attempts each activity made. */
async function failureOf(workflowId: string, error: unknown) {
  expect(error).toBeDefined();
  const cause = (error as { cause?: unknown }).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const history = await p.temporal.workflow.getHandle(workflowId).fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => Number(e.activityTaskStartedEventAttributes!.attempt));
  return { failure: cause as ApplicationFailure, maxAttempt: Math.max(...attempts) };
}

describe('a regression pipeline created through the API', () => {
  it('trains on seattle-weather, beats the mean baseline and serves values', async () => {
    const created = await p.request('POST', '/v1/pipelines', shippedSpec('seattle-weather.json'));
    expect(created.status).toBe(201);
    expect(created.body.pipeline).toMatchObject({ name: 'seattle-temp', version: 1 });
    // A worker read the source's columns before it was saved.
    expect(created.headers.get('x-source-check')).toBe('checked');

    const run = await p.runPipeline('seattle-temp');
    if (run.error) throw run.error;
    const r = run.result!;
    expect(r.metrics.rmse).toBeLessThan(r.baselines.mean.rmse);
    expect(r.metrics.r2).toBeGreaterThan(0.5);
    expect(r.promotion.promoted).toBe(true);

    const res = await p.request('POST', '/v1/models/seattle-temp/predict', {
      instances: [{ precipitation: 0, temp_min: 15, wind: 3, weather: 'sun' }, { precipitation: 12, temp_min: 2, wind: 6, weather: 'rain' }],
    });
    expect(res.status).toBe(200);
    const [warm, cold] = res.body.predictions.map((x: { value: number }) => x.value);
    expect(warm).toBeGreaterThan(cold);
    expect(warm).toBeGreaterThan(15);
  });

  it('keeps an unchanged spec at its version and versions a changed one', async () => {
    const same = await p.request('POST', '/v1/pipelines', shippedSpec('seattle-weather.json'));
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ created: false, pipeline: { version: 1 } });
    // Nothing new to check.
    expect(same.headers.get('x-source-check')).toBe('skipped');
    const changed = await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), description: 'edited' });
    expect(changed.status).toBe(201);
    expect(changed.body.pipeline.version).toBe(2);
  });

  it('rejects an invalid spec with 422 naming the field', async () => {
    const res = await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), split: { kind: 'time' }, timeColumn: undefined });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('body.timeColumn');
  });
});

describe('bad data fails the run at once, with a reason, and leaves earlier models alone', () => {
  beforeAll(async () => {
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'football-base' }));
    const base = await p.runPipeline('football-base');
    if (base.error) throw base.error;
  });

  async function registrySnapshot() {
    const r = await p.db.execute(sql`select (select count(*) from model_versions)::int as versions, (select count(*) from alias_events)::int as moves, (select json_agg(json_build_object('m', model_id, 'a', alias, 'v', version) order by model_id, alias) from aliases) as aliases`);
    return r.rows[0];
  }

  it('a missing target column fails in clean, non-retryably, naming the column', async () => {
    const before = await registrySnapshot();
    const spec = { name: 'penguins-missing', source: { kind: 'bundled', dataset: 'penguins' }, target: 'Beak Colour' };
    // Refused when saved: a worker read the source and the column is not there.
    const checked = await p.request('POST', '/v1/pipelines', spec);
    expect(checked.status).toBe(422);
    expect(checked.body.error.details.issues).toEqual([{ path: 'body.target', message: expect.stringMatching(/^column "Beak Colour" is not in the source; its columns are: .*Species/) }]);
    // And by the run, when saved unchecked.
    await p.request('POST', '/v1/pipelines?check=false', spec);
    const run = await p.runPipeline('penguins-missing');
    const { failure, maxAttempt } = await failureOf(run.workflowId, run.error);
    expect(failure.type).toBe('InvalidSource');
    expect(failure.message).toMatch(/target column "Beak Colour" is not in the source/);
    expect(failure.message).toMatch(/Species/);
    expect(maxAttempt).toBe(1);
    const rec = await p.request('GET', `/v1/runs/${encodeURIComponent(run.workflowId)}`);
    expect(rec.body.run).toMatchObject({ status: 'failed', failure: { stage: 'clean', type: 'InvalidSource' } });
    expect(await registrySnapshot()).toEqual(before);
  });

  it('a non-numeric regression target fails, naming the column and the fix', async () => {
    const before = await registrySnapshot();
    await p.request('POST', '/v1/pipelines', {
      name: 'weather-as-number', source: { kind: 'bundled', dataset: 'seattle-weather.csv' }, target: 'weather', task: 'regression',
    });
    const run = await p.runPipeline('weather-as-number');
    const { failure, maxAttempt } = await failureOf(run.workflowId, run.error);
    expect(failure.type).toBe('InvalidSpec');
    expect(failure.message).toMatch(/target "weather" is not numeric/);
    expect(failure.message).toMatch(/use task "classification"/);
    expect(maxAttempt).toBe(1);
    expect(await registrySnapshot()).toEqual(before);
    const served = await p.request('POST', '/v1/models/football-base/predict', { instances: [{ home_team: 'Arsenal', away_team: 'Chelsea' }] });
    expect(served.status).toBe(200);
    expect(served.body.version).toBe(1);
  });

  it('an asOf before any data fails in collect with the date in the message', async () => {
    const run = await p.runPipeline('football-base', { asOf: '2001-01-01' });
    const { failure } = await failureOf(run.workflowId, run.error);
    expect(failure.type).toBe('InvalidSource');
    expect(failure.message).toMatch(/no rows at or before asOf 2001-01-01/);
  });
});
