// The API role on several processes (API_PROCESSES=2), as a container runs it (`mlp api`), over this file's
// real PostgreSQL and Temporal: both processes serve the one port; /metrics, whichever process answers it,
// counts every process's predictions once; every prediction is logged once; an alias move and a key change
// reach both processes; a process that dies is replaced without /metrics going back; SIGTERM to the primary
// stops them all cleanly; and no API process loads nodejs-polars or tfjs.
// Which process answered is told by the x-request-id of its response: each process's IDs start with a
// random prefix of its own. Every request goes over a new connection, which the primary hands to the
// processes in turn.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';
import { FORBIDDEN_IN_API, MODULE_PROBE_ARGS } from '../support/api-modules.js';
import { startRole, type RoleProcess } from '../support/role-process.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { shippedSpec } from '../support/specs.js';
import { waitFor } from '../support/wait.js';
import { forEachLoggedBatch } from '../../serving/prediction-log-reader.js';

const root = join(import.meta.dirname, '..', '..');

let p: TestPlatform;
let api: RoleProcess;
let port: number;
let probeDir: string;
/** Rows predicted (answered 200) by the clustered API so far: each must be in the prediction log once. */
let predicted = 0;
const day = (i: number) => ({ precipitation: (i % 7) * 1.5, temp_min: 2 + (i % 15), wind: 1 + (i % 6), weather: ['sun', 'rain', 'drizzle', 'fog', 'snow'][i % 5] });

beforeAll(async () => {
  // Two versions of a model: v1 in production, v2 registered beside it.
  p = await createTestPlatform();
  const spec = shippedSpec('seattle-weather.json');
  expect((await p.request('POST', '/v1/pipelines', spec)).status).toBe(201);
  const first = await p.runPipeline('seattle-temp');
  await p.request('POST', '/v1/pipelines', { ...spec, model: { ...spec.model, seed: 2 } });
  const second = await p.runPipeline('seattle-temp', { allowPromotion: false });
  if (first.error || second.error) throw first.error ?? second.error;

  probeDir = await mkdtemp(join(tmpdir(), 'mlp-api-processes-'));
  port = await freePort();
  api = await startRole('api', {
    // The module probe (test/support/module-probe.mjs) is passed on to the API processes with the other Node flags.
    nodeArgs: MODULE_PROBE_ARGS,
    env: {
      API_PROCESSES: '2', DATABASE_URL: p.databaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: p.taskQueue,
      ARTIFACT_DIR: p.config.artifactDir, DATA_DIR: probeDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info',
      MODEL_REFRESH_MS: '200',
      // A minute: a key change can reach the other process in time only through the primary, not by the periodic re-read.
      API_KEY_REFRESH_MS: '60000',
      MODULE_PROBE_FILE: join(probeDir, 'modules.txt'),
    },
    startupUrl: `http://127.0.0.1:${port}/health/startup`,
  });
  // The startup probe answers as soon as one process listens; the primary says when every one does.
  await waitFor(async () => (api.output().includes('"msg":"API listening"') ? true : undefined), 'every API process listening');
});
afterAll(async () => {
  await api?.stop();
  await p?.stop();
  if (probeDir) await rm(probeDir, { recursive: true, force: true });
});

interface Answer { status: number; body: any; text: string; process: string }

/** One request over a new connection (no keep-alive), so consecutive requests reach the processes in turn. */
function call(method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, agent: false,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${opts.token ?? p.adminKey}` },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch { /* Prometheus text */ }
        resolve({ status: res.statusCode!, body, text, process: String(res.headers['x-request-id']).split('-')[0] });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function predict(rows: number, token?: string): Promise<Answer> {
  const r = await call('POST', '/v1/models/seattle-temp/predict', { body: { instances: Array.from({ length: rows }, (_, i) => day(i)) }, token });
  if (r.status === 200) predicted += rows;
  return r;
}

/** The value of the one series `name{labels}` in a scrape (0 when absent); fails if the series is there twice. */
function series(text: string, name: string, labels: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{${labels}} `));
  expect(lines.length, `${name}{${labels}} in\n${text.slice(0, 3000)}`).toBeLessThanOrEqual(1);
  return lines.length ? Number(lines[0].split(' ').pop()) : 0;
}

/** The API processes the primary runs now (their pids, from /proc). */
function apiProcessPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === api.child.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('api-process') ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** Rows in the prediction log, each one once: as many rows as distinct prediction IDs. */
const loggedPredictions = async () => {
  let rows = 0;
  const ids = new Set<string>();
  await forEachLoggedBatch(p.db, 'seattle-temp', { from: new Date(0), to: new Date(Date.now() + 60_000) }, (b) => {
    rows += b.rows;
    for (let i = 0; i < b.rows; i++) ids.add(`${b.token}.${b.seq[i]}`);
  });
  if (ids.size !== rows) throw new Error(`the log holds ${rows} rows but ${ids.size} distinct prediction IDs`);
  return rows;
};

describe('mlp api with API_PROCESSES=2', () => {
  it('serves from both processes on one port, each answering the probes for itself', async () => {
    expect(apiProcessPids()).toHaveLength(2);
    const answers = await sequentially(8, () => call('GET', '/health/ready'));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.process)).size).toBe(2);
    for (const health of await sequentially(2, () => call('GET', '/health'))) {
      expect(health.body).toMatchObject({ status: 'ok', tfjsBackend: null, serving: [{ model: 'seattle-temp', alias: 'production', version: 1, engine: 'js' }] });
    }
  });

  it('counts in /metrics every prediction once, whichever process served it and whichever answers the scrape', async () => {
    const before = await call('GET', '/metrics');
    const answers = await sequentially(20, () => predict(3));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.process)).size).toBe(2);
    // Two scrapes, one per process: the same sums.
    const after = await sequentially(2, () => call('GET', '/metrics'));
    expect(new Set(after.map((a) => a.process)).size).toBe(2);
    for (const scrape of after) {
      expect(series(scrape.text, 'predictions_total', 'model="seattle-temp",version="1"') - series(before.text, 'predictions_total', 'model="seattle-temp",version="1"')).toBe(20);
      expect(series(scrape.text, 'prediction_rows_total', 'model="seattle-temp",version="1"') - series(before.text, 'prediction_rows_total', 'model="seattle-temp",version="1"')).toBe(60);
      expect(series(scrape.text, 'prediction_duration_seconds_count', 'model="seattle-temp"') - series(before.text, 'prediction_duration_seconds_count', 'model="seattle-temp"')).toBe(20);
      // Registry mirrors once, not once per process; process-level metrics per process.
      expect(series(scrape.text, 'model_alias_version', 'model="seattle-temp",alias="production"')).toBe(1);
      for (const proc of ['primary', 'api-1', 'api-2']) expect(series(scrape.text, 'process_resident_memory_bytes', `process="${proc}"`)).toBeGreaterThan(0);
    }
  });

  it('logs every prediction once', async () => {
    await waitFor(async () => ((await loggedPredictions()) >= predicted ? true : undefined), `${predicted} rows in the prediction log`, 10_000);
    await new Promise((r) => setTimeout(r, 600));
    expect(await loggedPredictions()).toBe(predicted);
  });

  it('an alias move is served by both processes', async () => {
    const moved = await call('POST', '/v1/models/seattle-temp/aliases/production', { body: { version: 2, reason: 'both processes must follow' } });
    expect(moved.status, moved.text).toBe(200);
    const onV2 = new Set<string>();
    await waitFor(async () => {
      const r = await predict(1);
      expect(r.status).toBe(200);
      if (r.body.version === 2) onV2.add(r.process);
      return onV2.size === 2 ? true : undefined;
    }, 'both processes answering with v2', 15_000);
    for (const r of await sequentially(4, () => predict(1))) expect(r.body.version).toBe(2);
  });

  it('a key created, then revoked, through one process is accepted, then refused, by both at once', async () => {
    const created = await call('POST', '/v1/keys', { body: { name: 'both-processes', role: 'predictor' } });
    expect(created.status, created.text).toBe(201);
    const accepted = await sequentially(6, () => predict(1, created.body.token));
    expect(accepted.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(new Set(accepted.map((a) => a.process)).size).toBe(2);

    const revoked = await call('DELETE', `/v1/keys/${created.body.key.id}`);
    expect(revoked.status, revoked.text).toBe(200);
    const refused = await sequentially(6, () => predict(1, created.body.token));
    expect(refused.map((a) => a.status)).toEqual(Array(6).fill(401));
    expect(new Set(refused.map((a) => a.process)).size).toBe(2);
  });

  it('loads neither nodejs-polars nor tfjs in an API process', () => {
    // Each process the probe is loaded into starts the record anew, so it holds at least the whole of the
    // API process started last (and what any process loaded later).
    const esm = readFileSync(join(probeDir, 'modules.txt'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
    const project = (path: string) => pathToFileURL(join(root, path)).href;
    for (const m of ['app/api-process.ts', 'app/assemble.ts', 'api/app.ts', 'serving/model-cache.ts', 'serving/dense-forward.ts']) {
      expect(esm, `${m} among the ${esm.length} modules recorded`).toContain(project(m));
    }
    expect(esm.filter((u) => FORBIDDEN_IN_API.test(u))).toEqual([]);
  });

  it('replaces a process that dies, and its counts stay in /metrics', async () => {
    // Everything predicted so far is logged, so the killed process takes no queued entry with it.
    await waitFor(async () => ((await loggedPredictions()) === predicted ? true : undefined), 'the prediction log to catch up', 10_000);
    const before = await call('GET', '/metrics');
    const total = series(before.text, 'predictions_total', 'model="seattle-temp",version="2"');
    expect(total).toBeGreaterThan(0);
    const [victim, survivor] = apiProcessPids();
    process.kill(victim, 'SIGKILL');
    const replacement = await waitFor(async () => {
      const pids = apiProcessPids();
      return pids.length === 2 && !pids.includes(victim) ? pids.find((pid) => pid !== survivor) : undefined;
    }, 'a process in place of the killed one', 30_000);
    await waitFor(async () => {
      const ready = await sequentially(4, () => call('GET', '/health/ready'));
      return ready.every((r) => r.status === 200) && new Set(ready.map((r) => r.process)).size === 2 ? true : undefined;
    }, 'the replacement to serve', 30_000);
    expect(api.output()).toContain('API process exited; starting another in its place');
    expect(api.output()).toContain(`"processPid":${replacement}`);
    for (const scrape of await sequentially(2, () => call('GET', '/metrics'))) {
      expect(series(scrape.text, 'predictions_total', 'model="seattle-temp",version="2"')).toBe(total);
    }
  });

  it('stops every process on SIGTERM to the primary, each flushing its prediction log first', async () => {
    const answers = await sequentially(10, () => predict(2));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const pids = apiProcessPids();
    expect(await api.stop()).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0), `API process ${pid} still runs`).toThrow();
    expect(await loggedPredictions()).toBe(predicted);
  });
});

/** `n` calls one after another (each on its own connection, so they alternate between the processes). */
async function sequentially<T>(n: number, make: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await make());
  return out;
}
