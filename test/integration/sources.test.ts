// Any tabular source with a target column works: a CSV file on disk (under the worker's file root:
// test/integration/file-url-source-attacks.test.ts for what else files and URLs may not read), and a SQL
// query on Postgres (schema source_data, read by the read-only source role:
// test/integration/sql-source-attacks.test.ts for the rest).
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
const vegaData = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');
const penguins = JSON.parse(readFileSync(join(vegaData, 'penguins.json'), 'utf8')) as Record<string, unknown>[];
const cars = JSON.parse(readFileSync(join(vegaData, 'cars.json'), 'utf8')) as Record<string, unknown>[];

beforeAll(async () => {
  p = await createTestPlatform();
});
afterAll(() => p?.stop());

describe('sources', () => {
  it('a CSV file with a categorical target: penguin species from body measurements', async () => {
    // The default root, DATA_DIR/sources, made by the worker.
    const file = join(p.config.sources.files.roots[0], 'penguins.csv');
    const cols = ['species', 'island', 'beak_length', 'beak_depth', 'flipper_length', 'body_mass', 'sex'];
    const keys = ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex'];
    const csv = [cols.join(','), ...penguins.map((r) => keys.map((k) => (r[k] ?? '')).join(','))].join('\n');
    await writeFile(file, csv);
    const created = await p.request('POST', '/v1/pipelines', {
      name: 'penguins-csv', source: { kind: 'file', path: file }, target: 'species',
      split: { kind: 'random', testFraction: 0.25, seed: 3 },
      model: { hiddenLayers: [16], epochs: 60, learningRate: 0.01, earlyStoppingPatience: 10 },
    });
    expect(created.status).toBe(201);
    const run = await p.runPipeline('penguins-csv');
    if (run.error) throw run.error;
    const r = run.result!;
    expect(r.metrics.accuracy).toBeGreaterThan(0.9);
    expect(r.metrics.accuracy).toBeGreaterThan(r.baselines.prior.accuracy);
    // Penguins with missing measurements are kept and imputed from the training split.
    expect(r.clean.missingByColumn.beak_length).toBeGreaterThan(0);
    const pred = await p.request('POST', '/v1/models/penguins-csv/predict', {
      instances: [{ island: 'Biscoe', beak_length: 47.5, beak_depth: 14.2, flipper_length: 217, body_mass: 4875, sex: 'FEMALE' }],
    });
    expect(pred.status).toBe(200);
    expect(pred.body.predictions[0].label).toBe('Gentoo');
  });

  it('a SQL query on schema source_data, read as the source role, with a numeric target: miles per gallon', async () => {
    await p.owner.execute(sql`CREATE TABLE source_data.cars (name text, mpg double precision, cylinders int, displacement double precision, horsepower double precision, weight double precision, acceleration double precision, year date, origin text)`);
    for (const c of cars) {
      await p.owner.execute(sql`INSERT INTO source_data.cars VALUES (${c.Name}, ${c.Miles_per_Gallon}, ${c.Cylinders}, ${c.Displacement}, ${c.Horsepower}, ${c.Weight_in_lbs}, ${c.Acceleration}, ${c.Year}, ${c.Origin})`);
    }
    const created = await p.request('POST', '/v1/pipelines', {
      name: 'cars-sql', source: { kind: 'sql', query: 'SELECT mpg, cylinders, displacement, horsepower, weight, acceleration, extract(year from year)::int AS model_year, origin FROM cars' },
      target: 'mpg', task: 'regression', split: { kind: 'random', testFraction: 0.2, seed: 5 },
      quality: { maxMissingTargetFraction: 0.05 },
      model: { hiddenLayers: [16], epochs: 80, learningRate: 0.01, earlyStoppingPatience: 10 },
    });
    expect(created.status).toBe(201);
    const run = await p.runPipeline('cars-sql');
    if (run.error) throw run.error;
    const r = run.result!;
    expect(r.clean.droppedMissingTarget).toBe(8);
    expect(r.metrics.rmse).toBeLessThan(r.baselines.mean.rmse * 0.6);
    expect(r.metrics.r2).toBeGreaterThan(0.6);
  });

  it('a query that writes is refused before it reaches the database', async () => {
    const res = await p.request('POST', '/v1/pipelines', { name: 'evil', source: { kind: 'sql', query: 'DELETE FROM runs' }, target: 'x' });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/only SELECT/);
  });
});
