// The validate stage on real data with real changes: Seattle's weather, a model trained through 2014, then
// the same file with 2015 in it — as it was, with its maximum temperatures 5 °C warmer, and without its
// wind column. A changed column is found and named; a dropped one fails the run before anything is
// trained, and production stays where it was.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundled } from '../../data/sources.js';
import type { TrainingPipelineResult } from '../../pipelines/contract.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';

let p: TestPlatform;
let root: string;
const INPUTS = ['precipitation', 'temp_max', 'temp_min', 'wind'];

/** The bundled CSV with each 2015 row's `temp_max` raised by `by` °C (2012–2014 as they were). */
async function warmer2015(by: number): Promise<string> {
  const [header, ...lines] = (await readFile(resolveBundled('seattle-weather.csv'), 'utf8')).trimEnd().split('\n');
  const at = header.split(',').indexOf('temp_max');
  return [header, ...lines.map((line) => {
    const cells = line.split(',');
    if (cells[0] >= '2015') cells[at] = (Number(cells[at]) + by).toFixed(1);
    return cells.join(',');
  })].join('\n') + '\n';
}

beforeAll(async () => {
  p = await createTestPlatform();
  root = p.config.sources.files.roots[0];
  await copyFile(resolveBundled('seattle-weather.csv'), join(root, 'weather.csv'));
  const created = await p.request('POST', '/v1/pipelines', {
    name: 'weather-watch', source: { kind: 'file', path: 'weather.csv' }, target: 'weather', timeColumn: 'date',
    split: { kind: 'time', periodMonths: 12, anchor: '01-01' },
    model: { hiddenLayers: [8], epochs: 3, batchSize: 64, learningRate: 0.01, seed: 1 },
    promotion: { metric: 'logLoss', mustBeatProduction: false, mustBeatBaselines: false },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const first = await p.runPipeline('weather-watch', { asOf: '2014-12-31T23:59:59Z' });
  if (first.error) throw new Error((await failureOf(p, first)).failure.message);
  expect(first.result!.promotion.promoted).toBe(true);
  expect(first.result!.validation).toMatchObject({ baseline: null, findings: [], notes: [expect.stringMatching(/no production model of weather-watch yet/)] });
}, 240_000);
afterAll(() => p?.stop());

const findingsOn = (r: TrainingPipelineResult, column: string) => r.validation!.findings.filter((f) => f.column === column);

describe('the validate stage', () => {
  it('compares only the rows the production model never saw, and finds nothing in 2015 as it was', async () => {
    const run = await p.runPipeline('weather-watch', { asOf: '2015-12-31T23:59:59Z', allowPromotion: false });
    if (run.error) throw new Error((await failureOf(p, run)).failure.message);
    const v = run.result!.validation!;
    expect(v.baseline).toMatchObject({ model: 'weather-watch', alias: 'production', version: 1, asOf: '2014-12-31T23:59:59.000Z' });
    expect(v.compared).toEqual({ scope: 'new-rows', rows: 365, after: '2014-12-31T23:59:59.000Z' });
    for (const column of INPUTS) expect(findingsOn(run.result!, column), column).toEqual([]);
    const temp = v.columns.find((c) => c.column === 'temp_max')!;
    // 2015 was a warm year in Seattle (+1.3 °C on average): measurable, not significant over four columns.
    expect(temp.ks!.pValue).toBeGreaterThan(0.05 / 5);
    expect(temp.wasserstein).toBeGreaterThan(0.1);
    expect(temp.outOfRange).toBeLessThan(0.05);
    expect(temp.psi).toBeLessThan(0.25);
    // The date is the time column: never compared.
    expect(v.columns.map((c) => c.column).sort()).toEqual([...INPUTS, 'weather'].sort());
    // What the run keeps in the registry says the same.
    const record = await p.request('GET', `/v1/runs/${encodeURIComponent(run.workflowId)}`);
    expect(record.body.run.summary.validation.compared.rows).toBe(365);
  }, 240_000);

  it('names the one column whose distribution moved (temp_max +5 °C in 2015), with its statistics, and goes on', async () => {
    await writeFile(join(root, 'weather.csv'), await warmer2015(5));
    const run = await p.runPipeline('weather-watch', { asOf: '2015-12-31T23:59:59Z', allowPromotion: false });
    if (run.error) throw new Error((await failureOf(p, run)).failure.message);
    const found = findingsOn(run.result!, 'temp_max');
    expect(found.map((f) => f.check).sort()).toEqual(['ks', 'psi']);
    const ks = found.find((f) => f.check === 'ks')!;
    expect(ks).toMatchObject({ action: 'warn', threshold: 0.05 / 5 });
    expect(ks.value).toBeLessThan(1e-6);
    expect(ks.message).toMatch(/^temp_max drifted: Kolmogorov–Smirnov p-value .+ < 0\.01 \(0\.05 over 5 columns\), Wasserstein distance 0\.[6-9]\d* ≥ 0\.1 training standard deviations$/);
    const psi = found.find((f) => f.check === 'psi')!;
    expect(psi.value).toBeGreaterThan(0.25);
    for (const column of ['precipitation', 'temp_min', 'wind']) expect(findingsOn(run.result!, column), column).toEqual([]);
    expect(run.result!.modelVersion).toBeGreaterThan(1);
    // The Web UI shows the warnings on the run: its current details (the metadata query the UI reads).
    const metadata = await p.temporal.workflow.getHandle(run.workflowId).query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/^\*\*\d+ validation warnings?\*\*\n\n(- .+\n)*- temp_max drifted: Kolmogorov–Smirnov/m);
  }, 240_000);

  it('fails the run when a column the production model was trained with is gone: non-retryable, named, production untouched', async () => {
    const text = await warmer2015(0);
    await writeFile(join(root, 'weather.csv'), text.split('\n').map((line) => line.split(',').filter((_, i) => i !== 4).join(',')).join('\n'));
    const before = await p.request('GET', '/v1/models');
    const run = await p.runPipeline('weather-watch', { asOf: '2015-12-31T23:59:59Z' });
    const { failure, maxAttempt, stage } = await failureOf(p, run);
    expect(failure.type).toBe('DataValidation');
    expect(failure.message).toMatch(/^validate failed: column "wind" is missing: the production model \(weather-watch v1\) was trained with it/);
    expect(failure.message).toMatch(/missingColumn/);
    expect(maxAttempt).toBe(1);
    expect(stage).toBe('validate');
    // Nothing was trained or registered, and the alias did not move.
    const after = await p.request('GET', '/v1/models');
    expect(after.body.models.find((m: { name: string }) => m.name === 'weather-watch')).toEqual(before.body.models.find((m: { name: string }) => m.name === 'weather-watch'));
    const history = await p.temporal.workflow.getHandle(run.workflowId).fetchHistory();
    const activities = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
    expect(activities).not.toContain('feature');
    expect(activities).not.toContain('train');
  }, 240_000);
});
