// Ground truth and live quality on real data: a Seattle weather classifier trained through 2014 serves
// 2015's days; what happened is fed back by prediction ID and by business key; the live figures equal the
// offline evaluation's functions on those predictions and outcomes. Feedback is idempotent per key, refused
// with a reason when it cannot be right, and needs its own role.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundled } from '../../data/sources.js';
import { classificationMetrics } from '../../models/metrics.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { seattleWeatherDays, type WeatherDay as Day } from '../support/seattle-weather.js';
import { failureOf } from '../support/run-failure.js';

let p: TestPlatform;
const MODEL = 'weather-quality';
let days2015: Day[];
const served: { id: string; probabilities: Record<string, number>; day: Day }[] = [];
let classes: string[];

beforeAll(async () => {
  p = await createTestPlatform();
  await copyFile(resolveBundled('seattle-weather.csv'), join(p.config.sources.files.roots[0], 'weather.csv'));
  const created = await p.request('POST', '/v1/pipelines', {
    name: MODEL, source: { kind: 'file', path: 'weather.csv' }, target: 'weather', timeColumn: 'date',
    split: { kind: 'time', periodMonths: 12, anchor: '01-01' },
    model: { hiddenLayers: [8], epochs: 3, batchSize: 64, learningRate: 0.01, seed: 1 },
    promotion: { metric: 'logLoss', mustBeatProduction: false, mustBeatBaselines: false },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const run = await p.runPipeline(MODEL, { asOf: '2014-12-31T23:59:59Z' });
  if (run.error) throw new Error((await failureOf(p, run)).failure.message);
  days2015 = await seattleWeatherDays('2015');
  // 2015 served in requests of 50 days, as a caller would send them (the date and the outcome ride along, ignored).
  for (let at = 0; at < days2015.length; at += 50) {
    const chunk = days2015.slice(at, at + 50);
    const res = await p.request('POST', `/v1/models/${MODEL}/predict`, { instances: chunk.map(({ weather: _w, ...inputs }) => inputs) });
    expect(res.status).toBe(200);
    res.body.predictions.forEach((x: { id: string; probabilities: Record<string, number> }, i: number) => served.push({ id: x.id, probabilities: x.probabilities, day: chunk[i] }));
  }
  classes = Object.keys(served[0].probabilities);
  await p.predictionLog.flush();
}, 240_000);
afterAll(() => p?.stop());

/** Days whose four inputs no other 2015 day shares: their inputs are a business key. */
function uniqueByInputs(rows: typeof served) {
  const key = (d: Day) => `${d.precipitation}|${d.temp_max}|${d.temp_min}|${d.wind}`;
  const count = new Map<string, number>();
  for (const r of rows) count.set(key(r.day), (count.get(key(r.day)) ?? 0) + 1);
  return rows.filter((r) => count.get(key(r.day)) === 1);
}

describe('feedback and live quality', () => {
  it('scores the predictions with an outcome exactly as the offline evaluation would, by ID and by business key', async () => {
    const reporter = { authorization: `Bearer ${await p.keyFor('reporter')}` };
    const byId = served.slice(0, 200);
    const byKey = uniqueByInputs(served.slice(200));
    expect(byKey.length).toBeGreaterThan(100);
    const first = await p.request('POST', `/v1/models/${MODEL}/feedback`, { outcomes: byId.map((r) => ({ predictionId: r.id, label: r.day.weather })) }, reporter);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ model: MODEL, stored: 200, duplicates: 0, conflicts: [] });
    const keyed = await p.request('POST', `/v1/models/${MODEL}/feedback`, {
      outcomes: byKey.map((r) => ({ key: { precipitation: r.day.precipitation, temp_max: r.day.temp_max, temp_min: r.day.temp_min, wind: r.day.wind }, label: r.day.weather })),
    }, reporter);
    expect(keyed.body).toMatchObject({ stored: byKey.length, duplicates: 0, conflicts: [] });

    const quality = await p.request('GET', `/v1/models/${MODEL}/quality?from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`);
    expect(quality.status).toBe(200);
    const [v1] = quality.body.versions;
    expect(v1).toMatchObject({ version: 1, predictions: 365, withOutcome: 200 + byKey.length, unknownLabels: 0 });
    // The same figures from the responses' probabilities (rounded to 7 decimals: float precision apart).
    const scored = [...byId, ...byKey];
    const expected = classificationMetrics(scored.flatMap((r) => classes.map((c) => r.probabilities[c])), scored.map((r) => classes.indexOf(r.day.weather)), classes.length);
    for (const metric of ['accuracy', 'logLoss', 'macroF1', 'rankedProbabilityScore', 'expectedCalibrationError'] as const) {
      expect(v1.live[metric], metric).toBeCloseTo(expected[metric], 6);
    }
    const version = await p.request('GET', `/v1/models/${MODEL}/versions/1`);
    expect(v1.offline).toEqual(version.body.version.metrics);
  });

  it('stores an outcome once per key: a repeat is a no-op, a different one is refused and the first stands', async () => {
    const reporter = { authorization: `Bearer ${await p.keyFor('reporter')}` };
    const [a, b] = served;
    const other = classes.find((c) => c !== a.day.weather)!;
    const again = await p.request('POST', `/v1/models/${MODEL}/feedback`, {
      outcomes: [{ predictionId: a.id, label: a.day.weather }, { predictionId: b.id, label: b.day.weather }, { predictionId: a.id, label: other }],
    }, reporter);
    expect(again.body).toEqual({ model: MODEL, stored: 0, duplicates: 2, conflicts: [{ index: 2, stored: a.day.weather }] });
    // However an ID is written ("….01f" is "….1f"), it is one key.
    const [token, seq] = a.id.split('.');
    const padded = await p.request('POST', `/v1/models/${MODEL}/feedback`, { outcomes: [{ predictionId: `${token}.00${seq}`, label: other }] }, reporter);
    expect(padded.body).toEqual({ model: MODEL, stored: 0, duplicates: 0, conflicts: [{ index: 0, stored: a.day.weather }] });
    const rows = (await p.db.execute(sql`select label from prediction_outcomes where model = ${MODEL} and prediction_id = ${a.id}`)).rows;
    expect(rows).toEqual([{ label: a.day.weather }]);
    // One audit row per accepted request, under the reporter's identity.
    const audit = (await p.db.execute(sql`select actor, action, subject, details from audit_log where action = 'feedback.recorded' order by id`)).rows as { actor: string; subject: string; details: Record<string, number> }[];
    expect(audit).toHaveLength(4);
    expect(audit[2]).toMatchObject({ actor: 'key:test-reporter', subject: `model:${MODEL}`, details: { outcomes: 3, stored: 0, duplicates: 2, conflicts: 1 } });
  });

  it('refuses feedback that cannot be right, naming why, and stores none of it', async () => {
    const before = Number((await p.db.execute(sql`select count(*)::int as n from prediction_outcomes`)).rows[0].n);
    const send = (outcomes: unknown) => p.request('POST', `/v1/models/${MODEL}/feedback`, { outcomes });
    const unknownLabel = await send([{ predictionId: served[300].id, label: 'hail' }]);
    expect(unknownLabel.status).toBe(422);
    expect(unknownLabel.body.error.message).toMatch(/^outcomes\[0\]\.label: "hail" is none of weather-quality's classes \(/);
    const notAnId = await send([{ predictionId: 'DROP TABLE', label: 'sun' }]);
    expect(notAnId.status).toBe(422);
    expect(notAnId.body.error.message).toMatch(/not a prediction ID/);
    const both = await send([{ predictionId: served[300].id, key: { wind: 1 }, label: 'sun' }]);
    expect(both.status).toBe(422);
    expect(JSON.stringify(both.body.error)).toMatch(/exactly one of predictionId and key/);
    const value = await send([{ predictionId: served[300].id, value: 3 }]);
    expect(value.status).toBe(422);
    expect(value.body.error.message).toMatch(/is a classifier: give the label that happened/);
    const notAnInput = await send([{ key: { match_id: 7 }, label: 'sun' }]);
    expect(notAnInput.status).toBe(422);
    expect(notAnInput.body.error.message).toMatch(/^outcomes\[0\]\.key: "match_id" is not an input of weather-quality \(a key is made of input fields: /);
    expect((await send([{ key: { wind: 'x'.repeat(999) }, label: 'sun' }])).body.error.message).toMatch(/longer than 1000 characters/);
    expect((await send(Array.from({ length: 1001 }, () => ({ predictionId: served[0].id, label: 'sun' })))).status).toBe(422);
    expect((await p.request('POST', '/v1/models/no-such-model/feedback', { outcomes: [{ predictionId: served[0].id, label: 'sun' }] })).status).toBe(404);
    expect(Number((await p.db.execute(sql`select count(*)::int as n from prediction_outcomes`)).rows[0].n)).toBe(before);
  });

  it('needs the feedback role: a predictor may not report outcomes, a reporter may not predict', async () => {
    const body = { outcomes: [{ predictionId: served[301].id, label: served[301].day.weather }] };
    const predictor = await p.request('POST', `/v1/models/${MODEL}/feedback`, body, { authorization: `Bearer ${await p.keyFor('predictor')}` });
    expect(predictor.status).toBe(403);
    const reporter = { authorization: `Bearer ${await p.keyFor('reporter')}` };
    expect((await p.request('POST', `/v1/models/${MODEL}/predict`, { instances: [served[0].day] }, reporter)).status).toBe(403);
    expect((await p.request('GET', `/v1/models/${MODEL}/quality`, undefined, reporter)).status).toBe(403);
  });

  it('bounds the quality window', async () => {
    const long = await p.request('GET', `/v1/models/${MODEL}/quality?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z`);
    expect(long.status).toBe(400);
    expect(long.body.error.message).toMatch(/at most 31 days/);
    const backwards = await p.request('GET', `/v1/models/${MODEL}/quality?from=2020-03-01T00:00:00Z&to=2020-01-01T00:00:00Z`);
    expect(backwards.body.error.message).toBe('`from` must be before `to`');
  });
});
