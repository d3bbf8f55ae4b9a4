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
import { assemblePlatform, type ApiApp } from '../../app/assemble.js';
import { installTemporalRuntime } from '../../app/worker.js';
import type { Db } from '../../db/client.js';
import { connectDb } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import { enableRoleLogin, RUNTIME_ROLE } from '../../app/role-logins.js';
import { createApiKey, type Role } from '../../registry/api-keys.js';
import type { KeyRing } from '../../api/auth/key-ring.js';
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
  /** The runtime role's login, which the API and worker use (no DDL, append-only audit). */
  databaseUrl: string;
  /** The owner's login (DDL for test fixtures, backup and restore). */
  ownerDatabaseUrl: string;
  /** A pool on the owner's login, for fixtures the runtime role may not make (tables in source_data, ...). */
  owner: Db;
  /** The admin key every request sends unless its headers set `authorization` ('' sends none). */
  adminKey: string;
  /** The API application itself (its routes, for tests that walk them). */
  app: ApiApp;
  /** The API keys the API accepts (refresh after changing api_keys behind its back). */
  keys: KeyRing;
  /** A key of `role` named `name` (default test-<role>; made on first use), for tests of who may do what. */
  keyFor(role: Role, name?: string): Promise<string>;
  /**
   * In-process HTTP: the real Hono app, without a socket. Authenticated as the admin unless `headers`
   * sets `authorization` (to another key, or '' for none).
   */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
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
  /** false: no worker in this process (the test runs `mlp worker` processes on `taskQueue` instead). */
  worker?: boolean;
}

export async function createTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const id = randomBytes(4).toString('hex');
  const dbName = `t_${id}`;
  const adminUrl = opts.pgAdminUrl ?? inject('pgAdminUrl');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const ownerDatabaseUrl = adminUrl.replace(/\/postgres$/, `/${dbName}`);
  await migrateDatabase(ownerDatabaseUrl);

  const taskQueue = `test-${id}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'mlp-platform-'));
  // `sql` sources log in as the read-only source role, to this file's database (as on the platform).
  const sourceUrl = new URL(inject('pgSourceReaderUrl'));
  sourceUrl.pathname = `/${dbName}`;
  // The API and the worker log in as the runtime role, as on the platform.
  const databaseUrl = opts.pgAdminUrl
    ? await enableRoleLogin({ databaseUrl: ownerDatabaseUrl, dataDir, role: RUNTIME_ROLE })
    : Object.assign(new URL(inject('pgRuntimeUrl')), { pathname: `/${dbName}` }).toString();
  const config = loadConfig({
    DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: ownerDatabaseUrl, API_KEY_REFRESH_MS: '200',
    // A test file makes more changes a minute than a person: the limits are tested where a test sets them.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000', RATE_LIMIT_MUTATIONS_BURST: '100000', TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue,
    DATA_DIR: dataDir, ...(opts.artifactDir ? { ARTIFACT_DIR: opts.artifactDir } : {}), LOG_LEVEL: 'warn', MODEL_REFRESH_MS: '200', NODE_ENV: 'test',
    // The API runs in this test process (assemblePlatform, no cluster); a test that wants several processes
    // starts `mlp api` with API_PROCESSES itself (test/integration/api-processes.test.ts).
    API_PROCESSES: '1',
    ...(opts.pgAdminUrl ? {} : { SOURCE_DATABASE_URL: sourceUrl.toString() }),
    ...opts.env,
  });
  const logger = createLogger('error', { test: id });
  installTemporalRuntime(logger);
  // The platform's own assembly, with the shared services, this file's task queue and the fault seam.
  const workerMetrics = createMetrics({ defaultMetrics: false });
  const metrics = createMetrics({ defaultMetrics: false });
  const assembled = await assemblePlatform({
    config, logger, databaseUrl, temporalAddress: inject('temporalAddress'), roles: { api: true, worker: opts.worker ?? true },
    metrics: { api: metrics, worker: workerMetrics }, codeVersion: 'test', faults: opts.faults,
    workflowBundle: { code: inject('workflowBundleCode') },
  });
  const { db, temporal, artifacts } = assembled;
  const { app, models, predictionLog, keys } = assembled.api!;
  models.start();
  const owner = connectDb(ownerDatabaseUrl, { max: 2 });
  const platformActor = { actor: 'platform:test', requestId: null };
  const adminKey = (await createApiKey(db, { name: 'test-admin', role: 'admin' }, platformActor)).token;
  const namedKeys = new Map<string, Promise<string>>([['test-admin', Promise.resolve(adminKey)]]);
  const keyFor = (role: Role, name = `test-${role}`) => {
    let key = namedKeys.get(name);
    if (!key) {
      key = createApiKey(db, { name, role }, platformActor).then(async (k) => {
        await keys.refresh();
        return k.token;
      });
      namedKeys.set(name, key);
    }
    return key;
  };
  await keys.refresh();

  const request: TestPlatform['request'] = async (method, path, body, headers = {}) => {
    const { authorization = `Bearer ${adminKey}`, ...rest } = headers;
    const sent = { ...(authorization === '' ? {} : { authorization }), ...rest };
    const res = await app.request(path, {
      method,
      headers: body === undefined ? sent : { 'content-type': 'application/json', ...sent },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    // Headers not enumerable: tests compare { status, body } with toEqual.
    return Object.defineProperty({ status: res.status, body: parsed }, 'headers', { value: res.headers, enumerable: false }) as { status: number; body: any; headers: Headers };
  };

  let server: ServerType | null = null;
  return {
    config, db, temporal, artifacts, predictionLog, metrics, workerMetrics, taskQueue, databaseUrl, ownerDatabaseUrl, owner, adminKey, app, keys, keyFor, request,
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
      await owner.$client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
