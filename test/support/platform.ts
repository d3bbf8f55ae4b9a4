// A per-file slice of the platform over the shared real services: a fresh database, a fresh artifact
// folder, and the platform's own assembly (app/assemble.ts) with a worker on its own task queue.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import pg from 'pg';
import { inject } from 'vitest';
import type { FaultInjector } from '../../activities/failures.js';
import { assemblePlatform } from '../../app/assemble.js';
import { installTemporalRuntime } from '../../app/worker.js';
import type { Db } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import type { ArtifactStore } from '../../runtime/artifacts.js';
import type { PredictionLog } from '../../serving/prediction-log.js';
import { loadConfig, type Config } from '../../runtime/config.js';
import { createLogger } from '../../runtime/logger.js';
import { createMetrics, type Metrics } from '../../runtime/metrics.js';
import type { TrainingPipelineResult } from '../../pipelines/contract.js';

export interface TestPlatform {
  config: Config;
  db: Db;
  temporal: Client;
  artifacts: ArtifactStore;
  predictionLog: PredictionLog;
  /** The API's registry (served at /metrics) and the worker's. */
  metrics: Metrics;
  workerMetrics: Metrics;
  taskQueue: string;
  databaseUrl: string;
  /** In-process HTTP: the real Hono app, without a socket. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Serves the app on a real loopback port (for HTTP clients such as the CLI); returns its base URL. */
  listen(): Promise<string>;
  /** Starts a run through the API and waits for its workflow to finish. */
  runPipeline(name: string, body?: Record<string, unknown>): Promise<{ workflowId: string; result?: TrainingPipelineResult; error?: WorkflowFailedError }>;
  stop(): Promise<void>;
}

export interface TestPlatformOptions {
  faults?: FaultInjector;
  /** Another cluster than the shared one (its `sql` sources have no login unless `env` gives one). */
  pgAdminUrl?: string;
  artifactDir?: string;
  /** More settings for loadConfig, over the test defaults (e.g. SOURCE_STATEMENT_TIMEOUT_MS). */
  env?: Record<string, string>;
}

export async function createTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const id = randomBytes(4).toString('hex');
  const dbName = `t_${id}`;
  const adminUrl = opts.pgAdminUrl ?? inject('pgAdminUrl');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = adminUrl.replace(/\/postgres$/, `/${dbName}`);
  await migrateDatabase(databaseUrl);

  const taskQueue = `test-${id}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'mlp-platform-'));
  // `sql` sources log in as the read-only source role, to this file's database (as on the platform).
  const sourceUrl = new URL(inject('pgSourceReaderUrl'));
  sourceUrl.pathname = `/${dbName}`;
  const config = loadConfig({
    DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue,
    DATA_DIR: dataDir, ...(opts.artifactDir ? { ARTIFACT_DIR: opts.artifactDir } : {}), LOG_LEVEL: 'warn', MODEL_REFRESH_MS: '200', NODE_ENV: 'test',
    ...(opts.pgAdminUrl ? {} : { SOURCE_DATABASE_URL: sourceUrl.toString() }),
    ...opts.env,
  });
  const logger = createLogger('error', { test: id });
  installTemporalRuntime(logger);
  // The platform's own assembly, with the shared services, this file's task queue and the fault seam.
  const workerMetrics = createMetrics({ defaultMetrics: false });
  const metrics = createMetrics({ defaultMetrics: false });
  const assembled = await assemblePlatform({
    config, logger, databaseUrl, temporalAddress: inject('temporalAddress'), roles: { api: true, worker: true },
    metrics: { api: metrics, worker: workerMetrics }, codeVersion: 'test', faults: opts.faults,
    workflowBundle: { code: inject('workflowBundleCode') },
  });
  const { db, temporal, artifacts } = assembled;
  const { app, models, predictionLog } = assembled.api!;
  models.start();

  const request: TestPlatform['request'] = async (method, path, body, headers = {}) => {
    const res = await app.request(path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  let server: ServerType | null = null;
  return {
    config, db, temporal, artifacts, predictionLog, metrics, workerMetrics, taskQueue, databaseUrl, request,
    listen() {
      return new Promise((resolve) => {
        server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(`http://127.0.0.1:${info.port}`));
      });
    },
    async runPipeline(name, body = {}) {
      const started = await request('POST', `/v1/pipelines/${name}/runs`, body);
      if (started.status !== 201) throw new Error(`starting ${name} answered ${started.status}: ${JSON.stringify(started.body)}`);
      const workflowId: string = started.body.run.workflowId;
      try {
        const result = await temporal.workflow.getHandle(workflowId).result();
        return { workflowId, result };
      } catch (err) {
        if (err instanceof WorkflowFailedError) return { workflowId, error: err };
        throw err;
      }
    },
    async stop() {
      if (server) await new Promise((r) => server!.close(() => r(null)));
      await assembled.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
