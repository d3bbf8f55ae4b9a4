// The API process as it runs in a container (`mlp api`, no worker role) serves a registered model without
// loading nodejs-polars or tfjs: the model runs on the plain-JS forward pass, and the worker's modules
// (activities, training, dataframes) stay out. The process is started with test/support/module-probe.mjs,
// which records every module it loads: each URL the ESM loader resolves (a node:module resolve hook, with
// its importer) and, on SIGUSR2, the CommonJS module cache (every require()d file, native addons included).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';
import { FORBIDDEN_IN_API, MODULE_PROBE_ARGS } from '../support/api-modules.js';
import { startRole, type RoleProcess } from '../support/role-process.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

const root = join(import.meta.dirname, '..', '..');

let p: TestPlatform;
let api: RoleProcess;
let base: string;
let probeDir: string;
let probeFile: string;

beforeAll(async () => {
  // A registered production model: the quick football pipeline, trained by this file's own worker.
  p = await createTestPlatform();
  expect((await p.request('POST', '/v1/pipelines', quickFootballSpec())).status).toBe(201);
  const run = await p.runPipeline('football');
  if (run.error) throw run.error;

  // A fresh API-only process over the same registry and artifact folder.
  probeDir = await mkdtemp(join(tmpdir(), 'mlp-module-probe-'));
  probeFile = join(probeDir, 'modules.txt');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = await startRole('api', {
    nodeArgs: MODULE_PROBE_ARGS,
    env: {
      DATABASE_URL: p.databaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: p.taskQueue,
      ARTIFACT_DIR: p.config.artifactDir, DATA_DIR: probeDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info',
      MODULE_PROBE_FILE: probeFile,
      // One process, whose loads the probe records whole: every process started with the probe begins its file
      // anew. test/integration/api-processes.test.ts checks the processes of a clustered API.
      API_PROCESSES: '1',
    },
    startupUrl: `${base}/health/startup`,
  });
});
afterAll(async () => {
  await api?.stop();
  await p?.stop();
  if (probeDir) await rm(probeDir, { recursive: true, force: true });
});

/** What the process has loaded so far: ESM URLs with the module that imported each, and CommonJS files. */
async function loadedModules(): Promise<{ esm: Map<string, string>; cjs: string[] }> {
  const cjsFile = `${probeFile}.cjs`;
  await rm(cjsFile, { force: true });
  api.child.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (!existsSync(cjsFile)) {
    if (Date.now() > deadline) throw new Error(`the module probe wrote no ${cjsFile}:\n${api.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const esm = new Map<string, string>();
  for (const line of readFileSync(probeFile, 'utf8').split('\n').filter(Boolean)) {
    const [url, parent] = line.split(' ');
    if (!esm.has(url)) esm.set(url, parent);
  }
  return { esm, cjs: readFileSync(cjsFile, 'utf8').split('\n').filter(Boolean) };
}

/** `url ← importer ← … ← entry point`, from the resolve hook's records, project paths shortened. */
function importChain(url: string, esm: Map<string, string>): string {
  const chain = [url];
  for (let at = esm.get(url); at && at !== '-' && !chain.includes(at) && chain.length < 40; at = esm.get(at)) chain.push(at);
  return chain.map((u) => u.replace(pathToFileURL(root).href + '/', '')).join(' ← ');
}

describe('mlp api', () => {
  it('serves a prediction from the registered model, on the JS engine, with no tfjs backend', async () => {
    const res = await fetch(`${base}/v1/models/football/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}` },
      body: JSON.stringify({ instances: [{ home_team: 'Arsenal', away_team: 'Chelsea', date: '2017-08-12' }, { home_team: 'Juventus', away_team: 'Inter' }] }),
    });
    expect(res.status, api.output()).toBe(200);
    const body = (await res.json()) as { version: number; predictions: { label: string; probabilities: Record<string, number> }[] };
    expect(body.version).toBe(1);
    expect(body.predictions).toHaveLength(2);
    for (const pr of body.predictions) expect(Object.values(pr.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);

    const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: 'ok', tfjsBackend: null, inference: { js: 1, tfjs: 0 },
      serving: [{ model: 'football', alias: 'production', version: 1, engine: 'js' }],
    });
  });

  it('has loaded neither nodejs-polars nor @tensorflow/*', async () => {
    const { esm, cjs } = await loadedModules();
    // The probe saw this process load the serving path (ESM, through tsx) and a CommonJS package (pg):
    // an empty record cannot pass for a clean one.
    const project = (path: string) => pathToFileURL(join(root, path)).href;
    for (const m of ['cli/main.ts', 'app/platform.ts', 'api/app.ts', 'serving/model-cache.ts', 'serving/model-loader.ts', 'serving/dense-forward.ts', 'models/model-files.ts']) {
      expect(esm.has(project(m)), `${m} not among the ${esm.size} ESM modules recorded`).toBe(true);
    }
    expect(cjs.some((u) => u.includes('/node_modules/pg/lib/')), `pg not among the ${cjs.length} CommonJS modules recorded`).toBe(true);

    const loaded = [...new Set([...esm.keys(), ...cjs])].filter((u) => FORBIDDEN_IN_API.test(u));
    // Per package, how the first module of it that an `import` reached was reached.
    const how = [...new Set(loaded.map((u) => FORBIDDEN_IN_API.exec(u)![1]))].map((pkg) => {
      const first = [...esm.keys()].find((u) => FORBIDDEN_IN_API.exec(u)?.[1] === pkg);
      return first ? importChain(first, esm) : `${pkg} (required from CommonJS only)`;
    });
    expect(how, `the API process loaded ${loaded.length} modules of nodejs-polars / @tensorflow:\n${how.join('\n')}`).toEqual([]);
  });
});
