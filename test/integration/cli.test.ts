// The `mlp` command as a user runs it, against the API served over real HTTP.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
