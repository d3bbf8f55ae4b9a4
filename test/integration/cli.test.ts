// The `mlp` command as a user runs it, against the API served over real HTTP.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundled } from '../../data/sources.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

const run = promisify(execFile);
let p: TestPlatform;
let apiUrl: string;
let dir: string;

async function mlp(...args: string[]) {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'mlp.mjs');
  try {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, API_URL: apiUrl, MLP_API_KEY: p.adminKey }, timeout: 120_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

beforeAll(async () => {
  p = await createTestPlatform();
  apiUrl = await p.listen();
  dir = await mkdtemp(join(tmpdir(), 'mlp-cli-'));
});
afterAll(() => p?.stop());

describe('mlp', () => {
  it('creates a pipeline from a spec file, runs it with progress, and lists runs and models', async () => {
    const spec = join(dir, 'football.json');
    await writeFile(spec, JSON.stringify(quickFootballSpec()));
    const created = await mlp('pipeline', 'create', spec);
    expect(created.out.trim()).toBe('created: football v1');

    const ran = await mlp('run', 'football');
    expect(ran.code).toBe(0);
    expect(ran.out).toMatch(/started train:football:\d{4}-\d{2}-\d{2}:[0-9a-f]{8}/);
    // Not a terminal: the progress bar prints one line per change, ending at 100%.
    expect(ran.out).toMatch(/\[#{30}\] 100% succeeded/);
    expect(ran.out).toMatch(/baseline: always-home/);
    expect(ran.out).toMatch(/promoted v1 to production/);

    const runs = await mlp('runs', '--pipeline', 'football');
    expect(runs.out).toMatch(/succeeded\s+v1\s+train:football:/);
    const models = await mlp('models');
    expect(models.out).toMatch(/football\s+classification\s+latest v1\s+production=v1/);
  });

  it('predicts from a JSON file and reports API errors with their message', async () => {
    const file = join(dir, 'fixtures.json');
    await writeFile(file, JSON.stringify([{ home_team: 'Arsenal', away_team: 'Chelsea' }]));
    const ok = await mlp('predict', 'football', file);
    expect(ok.code).toBe(0);
    const body = JSON.parse(ok.out);
    expect(body.version).toBe(1);
    expect(Object.keys(body.predictions[0].probabilities)).toEqual(['home', 'draw', 'away']);

    await writeFile(file, JSON.stringify([{ home_team: 'Arsenal' }]));
    const bad = await mlp('predict', 'football', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/422 validation_failed: instances\[0\]\.away_team/);
  });

  it('monitors the model and judges a window of its served predictions, with a chart', async () => {
    const monitored = await mlp('monitor', 'football', '--paused', '--note', 'judged by hand for now');
    expect(monitored.code, monitored.err).toBe(0);
    expect(monitored.out).toMatch(/football: monitor PAUSED \(judged by hand for now\), one window every 1440 min, retraining never/);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    await p.predictionLog.flush();
    const to = new Date().toISOString();
    const svg = join(dir, 'psi.svg');
    const drift = await mlp('drift', 'football', '--window', `${from}/${to}`, '--svg', svg);
    expect(drift.code, drift.err).toBe(0);
    // The one prediction of the test before: too few to judge drift, which the report says.
    expect(drift.out).toMatch(new RegExp(`^football ${from.replace(/[.]/g, '\\.')} \\.\\. .*: 1 prediction, production v1 — ok`));
    expect(drift.out).toMatch(/fallbacks \(unknown team or category\): 0\.0%/);
    expect(drift.out).toMatch(/note: 1 prediction of v1 in the window \(fewer than monitoring\.minPredictions, 50\): drift not judged/);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg /);
    const reports = await mlp('monitor', 'football', 'reports');
    expect(reports.out).toMatch(/\s+1 prediction\s+ok/);
    const bad = await mlp('drift', 'football', '--window', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--window is FROM\/TO/);
    const stopped = await mlp('monitor', 'football', 'stop');
    expect(stopped.out).toMatch(/football is no longer monitored \(its reports stay\)\nfootball: not monitored/);
  });

  it('scores a file with the model as a batch job, follows it and downloads its checked predictions; a failed job exits non-zero', async () => {
    // 1,500 fixtures (two chunks of 1,000) of the football data set, under the worker's source root.
    const matches = (JSON.parse(readFileSync(resolveBundled('football'), 'utf8')) as Record<string, unknown>[]).slice(0, 1500);
    const fixtures = pl.DataFrame({
      match_id: matches.map((_, i) => `M${i}`),
      date: matches.map((m) => m.date as string),
      division: matches.map((m) => m.division as string),
      home_team: matches.map((m) => m.home_team as string),
      away_team: matches.map((m) => m.away_team as string),
    });
    const root = p.config.sources.files.roots[0];
    fixtures.writeParquet(join(root, 'cli-fixtures.parquet'));
    fixtures.drop('away_team').writeParquet(join(root, 'cli-no-away.parquet'));

    const outDir = await mkdtemp(join(tmpdir(), 'mlp-score-'));
    const out = join(outDir, 'p.parquet');
    const ok = await mlp('score', 'football', 'cli-fixtures.parquet', '--out', out, '--chunk-rows', '1000', '--keep', 'match_id');
    expect(ok.code, ok.err).toBe(0);
    const jobId = /started (score:football:\S+) \(football v1, alias production\)/.exec(ok.out)?.[1];
    expect(jobId, ok.out).toBeDefined();
    expect(ok.out).toMatch(/\[#{30}\] 100% succeeded 2\/2 chunks/);
    expect(ok.out).toMatch(/scored 1500 rows with football v1 in \d+\.\d s/);
    expect(ok.out).toContain(`predictions: ${out} (sha256 `);
    expect(ok.out).toMatch(/source hash: [0-9a-f]{64}/);
    const preds = pl.readParquet(out);
    expect(preds.height).toBe(1500);
    expect(preds.columns).toEqual(['row', 'match_id', 'label', 'p_home', 'p_draw', 'p_away']);
    expect(preds.getColumn('match_id').toArray()).toEqual(fixtures.getColumn('match_id').toArray());
    // Only the renamed file is left: no temporary file beside it.
    expect(await readdir(outDir)).toEqual(['p.parquet']);

    // Independent commands at once: each is a process of its own.
    const [status, list, noWait, unknown] = await Promise.all([
      mlp('score', 'status', jobId!),
      mlp('scores', '--model', 'football'),
      mlp('score', 'football', 'cli-no-away.parquet', '--no-wait'),
      mlp('score', 'no-such-model', 'cli-fixtures.parquet', '--out', join(outDir, 'never.parquet')),
    ]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^${jobId}  succeeded  football v1 \\(alias production\\)`));
    expect(status.out).toMatch(/rows 1500 {2}chunks 2\/2/);
    expect(list.out).toMatch(new RegExp(`succeeded\\s+football v1\\s+1500 rows\\s+2/2 chunks  ${jobId}`));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/404 no_model: model "no-such-model" has no "production" version/);
    expect(unknown.err).toMatch(/next: `mlp models` lists the models/);

    expect(noWait.code).toBe(0);
    const failedId = /started (score:football:\S+)/.exec(noWait.out)?.[1];
    expect(noWait.out).toContain(`follow it with: mlp score follow ${failedId}`);
    const failed = await mlp('score', 'follow', failedId!, '--out', join(outDir, 'never.parquet'));
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/job score:football:\S+ failed in plan: \[InvalidSource\] the source lacks column "away_team"/);
    expect(existsSync(join(outDir, 'never.parquet'))).toBe(false);
  });

  it('creates a pipeline whose source lacks its target only with --no-check, leaving it to the run', async () => {
    const spec = join(dir, 'no-target.json');
    await writeFile(spec, JSON.stringify(quickFootballSpec({ name: 'no-target', target: 'winner', targetFrom: undefined })));
    const checked = await mlp('pipeline', 'create', spec);
    expect(checked.code).toBe(1);
    expect(checked.err).toMatch(/422 validation_failed: body\.target: column "winner" is not in the source/);
    const unchecked = await mlp('pipeline', 'create', spec, '--no-check');
    expect(unchecked.code).toBe(0);
    expect(unchecked.out.trim()).toBe('created: no-target v1');
  });

  it('tells the user what to do when the API is not running', async () => {
    const saved = apiUrl;
    apiUrl = 'http://127.0.0.1:1';
    const r = await mlp('models');
    apiUrl = saved;
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the API at http:\/\/127\.0\.0\.1:1; start the platform with `npm start`/);
  });
});
