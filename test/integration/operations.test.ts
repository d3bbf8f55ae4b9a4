// What operators rely on: probes that follow the dependencies, Prometheus metrics that move, and a backup
// that restores into a fresh database and folder and serves the same predictions.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, restore, RestoreRefused } from '../../app/backup.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../app/embedded-postgres.js';
import { createLogger } from '../../runtime/logger.js';
import { freePort } from '../../app/free-port.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { shippedSpec } from '../support/specs.js';

const logger = createLogger('silent');
let root: string;
let pgPort: number;
let ownPg: EmbeddedPostgresHandle;
let p: TestPlatform;
const instances = [{ precipitation: 0, temp_min: 14, wind: 2.5, weather: 'sun' }, { precipitation: 8, temp_min: 4, wind: 5, weather: 'rain' }];

beforeAll(async () => {
  // This file stops and restarts its own PostgreSQL, so it does not share the suite's.
  root = await mkdtemp(join(tmpdir(), 'mlp-ops-'));
  await chmod(root, 0o755);
  pgPort = await freePort();
  ownPg = await startEmbeddedPostgres({ dir: join(root, 'pg'), port: pgPort, logger });
  p = await createTestPlatform({ pgAdminUrl: ownPg.adminUrl });
  await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), model: { ...shippedSpec('seattle-weather.json').model, epochs: 15 } });
  const run = await p.runPipeline('seattle-temp');
  if (run.error) throw run.error;
});
afterAll(async () => {
  await p?.stop();
  await ownPg?.stop();
  await rm(root, { recursive: true, force: true });
});

/** Minimal Prometheus text-format parser: every sample line must parse, or the test fails. */
function parseProm(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) {
      if (line.startsWith('# ')) expect(line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /);
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))$/);
    expect(m, `not Prometheus text: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m![1], labels, value: Number(m![3]) });
  }
  return samples;
}
const sum = (samples: ReturnType<typeof parseProm>, name: string, match: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

describe('probes', () => {
  it('answer live, startup, ready and a detailed report', async () => {
    expect((await p.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await p.request('GET', '/health/startup')).status).toBe(200);
    const ready = await p.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', failing: [], components: { postgres: { ok: true }, temporal: { ok: true }, models: { ok: true } } });
    const health = await p.request('GET', '/health');
    expect(health.body).toMatchObject({ status: 'ok', version: 'test', tfjsBackend: expect.stringMatching(/^(wasm|cpu|tensorflow)$/) });
    expect(health.body.components.postgres.ms).toBeGreaterThanOrEqual(0);
  });

  it('ready turns 503 naming postgres while it is down, and 200 when it is back', async () => {
    await ownPg.stop();
    const down = await p.request('GET', '/health/ready');
    expect(down.status).toBe(503);
    expect(down.body.failing).toContain('postgres');
    expect(down.body.components.temporal.ok).toBe(true);
    expect((await p.request('GET', '/health/live')).status).toBe(200);
    ownPg = await startEmbeddedPostgres({ dir: join(root, 'pg'), port: pgPort, logger });
    const deadline = Date.now() + 15_000;
    let up = await p.request('GET', '/health/ready');
    while (up.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      up = await p.request('GET', '/health/ready');
    }
    expect(up.status).toBe(200);
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text, labels routes by template, and moves with predictions and runs', async () => {
    const before = parseProm((await fetchText('/metrics')));
    for (let i = 0; i < 3; i++) await p.request('POST', '/v1/models/seattle-temp/predict', { instances });
    await p.request('GET', '/v1/models/seattle-temp/versions/987654');
    await new Promise((r) => setTimeout(r, 500)); // one MODEL_REFRESH_MS (200 ms here) updates the alias gauges
    const after = parseProm(await fetchText('/metrics'));
    const route = { route: '/v1/models/:name/predict', method: 'POST', status: '200' };
    expect(sum(after, 'http_requests_total', route) - sum(before, 'http_requests_total', route)).toBe(3);
    expect(sum(after, 'predictions_total', { model: 'seattle-temp', version: '1' }) - sum(before, 'predictions_total', { model: 'seattle-temp', version: '1' })).toBe(3);
    expect(sum(after, 'prediction_rows_total', { model: 'seattle-temp' }) - sum(before, 'prediction_rows_total', { model: 'seattle-temp' })).toBe(6);
    expect(sum(after, 'http_request_duration_seconds_count', { route: '/v1/models/:name/predict' })).toBeGreaterThanOrEqual(3);
    // No raw path or ID becomes a label value.
    expect(after.some((s) => Object.values(s.labels).some((v) => v.includes('987654')))).toBe(false);
    expect(sum(after, 'http_requests_total', { route: '/v1/models/:name/versions/:version', status: '404' })).toBe(1);
    // The production model's held-out metrics and alias are gauges.
    expect(sum(after, 'model_alias_version', { model: 'seattle-temp', alias: 'production' })).toBe(1);
    expect(sum(after, 'model_evaluation_metric', { model: 'seattle-temp', alias: 'production', metric: 'rmse' })).toBeGreaterThan(0);

    const worker = parseProm(await p.workerMetrics.registry.metrics());
    expect(sum(worker, 'pipeline_runs_started_total', { pipeline: 'seattle-temp' })).toBe(1);
    expect(sum(worker, 'pipeline_runs_finished_total', { pipeline: 'seattle-temp', outcome: 'succeeded', stage: 'none' })).toBe(1);
    for (const stage of ['collect', 'clean', 'validate', 'feature', 'train', 'evaluate', 'promote']) {
      expect(sum(worker, 'pipeline_stage_duration_seconds_count', { pipeline: 'seattle-temp', stage })).toBe(1);
    }
  });
});

/**
 * A forced restore into `q`, then q's test keys again (the restore replaced them with the backup's), so
 * the test can go on calling q's API.
 */
async function restoreKeepingTestKeys(q: TestPlatform, archive = join(root, 'backup.tar.gz')) {
  const keys = await q.owner.execute(sql`select * from api_keys`);
  await restore({ databaseUrl: q.ownerDatabaseUrl, artifacts: { dir: q.config.artifactDir }, archive, force: true });
  await q.owner.execute(sql`delete from api_keys where name like 'test-%'`);
  await q.owner.execute(sql`insert into api_keys select * from json_populate_recordset(null::api_keys, ${JSON.stringify(keys.rows)}::json)`);
  await q.keys.refresh();
}

describe('backup and restore', () => {
  it('restores into a fresh PostgreSQL and folder that serve the same prediction', async () => {
    const served = await p.request('POST', '/v1/models/seattle-temp/predict', { instances });
    const archive = join(root, 'backup.tar.gz');
    const manifest = await backup({ databaseUrl: p.databaseUrl, artifacts: { dir: p.config.artifactDir }, archive, codeVersion: 'test' });
    expect(manifest.tables).toMatchObject({ pipelines: 1, runs: 1, models: 1, model_versions: 1, aliases: 1, alias_events: 1 });
    expect(manifest.artifactFiles).toBeGreaterThan(5);

    const freshPort = await freePort();
    const fresh = await startEmbeddedPostgres({ dir: join(root, 'fresh-pg'), port: freshPort, logger });
    const freshArtifacts = join(root, 'fresh-artifacts');
    const q = await createTestPlatform({ pgAdminUrl: fresh.adminUrl, artifactDir: freshArtifacts });
    try {
      // The target's own keys and audit rows make it not empty: a restore replaces them only when forced.
      await expect(restore({ databaseUrl: q.ownerDatabaseUrl, artifacts: { dir: freshArtifacts }, archive })).rejects.toThrow(/tables with rows: audit_log, api_keys;/);
      await restoreKeepingTestKeys(q);
      const again = await q.request('POST', '/v1/models/seattle-temp/predict', { instances });
      expect(again.status).toBe(200);
      // The same answer (each row's ID is new: another process answered).
      const withoutIds = (body: { predictions: { id: string }[] }) => ({ ...body, predictions: body.predictions.map(({ id: _id, ...rest }) => rest) });
      expect(withoutIds(again.body)).toEqual(withoutIds(served.body));
      const runs = await q.request('GET', '/v1/runs');
      expect(runs.body.runs).toHaveLength(1);
      // Sequences continue after the restored rows: a new pipeline version gets the next id.
      const v2 = await q.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), description: 'after restore' });
      expect(v2.body.pipeline.version).toBe(2);

      await expect(restore({ databaseUrl: q.ownerDatabaseUrl, artifacts: { dir: freshArtifacts }, archive })).rejects.toThrow(RestoreRefused);
      await expect(restore({ databaseUrl: q.ownerDatabaseUrl, artifacts: { dir: freshArtifacts }, archive })).rejects.toThrow(/not empty .* pass --force/);
      await restoreKeepingTestKeys(q);
      expect((await q.request('GET', '/v1/pipelines')).body.pipelines[0].version).toBe(1);
      // The backup's audit log came with it, with the first platform's actors.
      const audit = await q.request('GET', '/v1/audit?action=pipeline.saved');
      expect(audit.body.entries.map((e: { actor: string }) => e.actor)).toContain('key:test-admin');
    } finally {
      await q.stop();
      await fresh.stop();
    }
  });
});

describe('backup and restore with ARTIFACT_STORE=s3', () => {
  it('archives the registry only, says where the artifacts stay, and refuses to drop an archive\'s artifact files', async () => {
    const store = 's3://mlp-artifacts/team-a/';
    const registryOnly = join(root, 'registry-only.tar.gz');
    const manifest = await backup({ databaseUrl: p.databaseUrl, artifacts: { store }, archive: registryOnly, codeVersion: 'test' });
    expect(manifest).toMatchObject({ artifactFiles: 0, artifactsIn: store, tables: { model_versions: 1 } });
    const { stdout } = await promisify(execFile)('tar', ['-tzf', registryOnly]);
    expect(stdout.split('\n').filter(Boolean).every((f) => f === 'manifest.json' || f.startsWith('registry'))).toBe(true);

    const withFiles = join(root, 'with-files.tar.gz');
    await backup({ databaseUrl: p.databaseUrl, artifacts: { dir: p.config.artifactDir }, archive: withFiles, codeVersion: 'test' });
    await expect(restore({ databaseUrl: p.ownerDatabaseUrl, artifacts: { store }, archive: withFiles, force: true }))
      .rejects.toThrow(/holds \d+ artifact files, and the artifacts of this configuration are in s3:\/\/mlp-artifacts\/team-a\/: restore it with ARTIFACT_STORE=local/);
    // The other way round: a registry-only archive into a configuration with a local folder.
    await expect(restore({ databaseUrl: p.ownerDatabaseUrl, artifacts: { dir: p.config.artifactDir }, archive: registryOnly, force: true }))
      .rejects.toThrow(/holds no artifact files: they stayed in s3:\/\/mlp-artifacts\/team-a\/, where its registry rows point/);
    // Or into another bucket or prefix than its own, unless forced.
    await expect(restore({ databaseUrl: p.ownerDatabaseUrl, artifacts: { store: 's3://other/' }, archive: registryOnly }))
      .rejects.toThrow(/artifacts are in s3:\/\/mlp-artifacts\/team-a\/, and this configuration's in s3:\/\/other\//);
    // Refused before touching anything: the model still answers.
    expect((await p.request('POST', '/v1/models/seattle-temp/predict', { instances })).status).toBe(200);
  });
});

async function fetchText(path: string): Promise<string> {
  const res = await p.request('GET', path).catch(() => null);
  if (res && typeof res.body !== 'object') return String(res.body);
  const base = await listenOnce();
  return (await fetch(base + path)).text();
}

let baseUrl: string | null = null;
async function listenOnce(): Promise<string> {
  baseUrl ??= await p.listen();
  return baseUrl;
}
