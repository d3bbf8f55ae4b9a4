// Composition root: starts (or connects to) Postgres and Temporal, applies migrations, then runs the worker
// and/or the API. `npm start`, the container entry points and the end-to-end tests all come through here.
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { createApp } from '../api/app.js';
import { healthRoutes } from '../api/health/routes.js';
import { PredictionLog } from '../api/models/prediction-log.js';
import { ModelServing } from '../api/models/serving.js';
import { connectDb, type Db } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { initBackend } from '../models/backend.js';
import { createLocalArtifactStore, type ArtifactStore } from './artifacts.js';
import type { Config } from './config.js';
import { REGISTRY_DATABASE, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.js';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from './embedded-temporal.js';
import { redactUrl, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { codeVersion } from './version.js';
import { connectTemporal } from './temporal-connection.js';
import { startWorker, type WorkerHandle } from './worker.js';

export interface Platform {
  config: Config;
  databaseUrl: string;
  temporalAddress: string;
  db: Db;
  temporal: Client;
  artifacts: ArtifactStore;
  apiUrl: string | null;
  webUiUrl: string | null;
  stop(): Promise<void>;
}

export async function startPlatform(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }): Promise<Platform> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => logger.warn({ err }, 'error while stopping'));
  };
  try {
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dir: join(config.dataDir, 'postgres'), port: config.database.embeddedPort, logger });
      stops.push(() => pg.stop());
      await pg.createDatabase(REGISTRY_DATABASE);
      databaseUrl = pg.urlFor(REGISTRY_DATABASE);
    }
    let temporalAddress = config.temporal.address;
    let webUiUrl = config.temporal.uiUrl ?? null;
    if (!temporalAddress) {
      const t: EmbeddedTemporalHandle = await startEmbeddedTemporal({
        cliPath: config.temporal.cliPath, dbFile: join(config.dataDir, 'temporal', 'temporal.db'),
        port: config.temporal.devPort, uiPort: config.temporal.uiPort, logger,
      });
      stops.push(() => t.stop());
      temporalAddress = t.address;
      webUiUrl = t.uiUrl;
    }
    logger.info({ database: redactUrl(databaseUrl), temporal: temporalAddress }, 'services reachable; applying migrations');
    await migrateDatabase(databaseUrl);
    const db = connectDb(databaseUrl);
    stops.push(() => db.$client.end());
    const artifacts = createLocalArtifactStore(config.artifactDir);
    const connection = await connectTemporal(temporalAddress, config.temporal.namespace);
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace });
    const version = codeVersion(config.gitCommit);

    const metrics = createMetrics();
    let worker: WorkerHandle | null = null;
    if (roles.worker) {
      worker = await startWorker({
        address: temporalAddress, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue,
        deps: { db, artifacts, logger: logger.child({ role: 'worker' }), codeVersion: version, metrics },
      });
      const w = worker;
      stops.push(() => w.shutdown());
      logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
    }

    let apiUrl: string | null = null;
    if (roles.api) {
      const backend = await initBackend();
      const serving = new ModelServing({ db, artifacts, logger, refreshMs: config.serving.refreshMs, metrics });
      stops.push(async () => serving.stop());
      const predictionLog = new PredictionLog({ databaseUrl, logger, ...config.predictionLog, onDrop: (n) => metrics.predictionLogDropped.inc(n) });
      predictionLog.start();
      stops.push(() => predictionLog.stop());
      let started = false;
      const app = createApp({ db, temporal, config, logger: logger.child({ role: 'api' }), serving, predictionLog, metrics, backend }, { version, started: () => started });
      const server = await listen(app.fetch, config.port, config.host, 'PORT');
      stops.push(() => closeServer(server));
      apiUrl = `http://localhost:${boundPort(server, config.port)}`;
      // Load every production model before reporting started, so the first predictions are not slow.
      const failed = await serving.ensureLoaded();
      for (const f of failed) logger.error(f, 'production model could not be loaded');
      await serving.updateGauges().catch(() => undefined);
      serving.start();
      started = true;
      logger.info({ url: apiUrl, backend }, 'API listening');
    } else if (worker) {
      // A worker on its own still answers probes and scrapes on WORKER_PORT.
      const w = worker;
      const app = new Hono();
      app.route('/health', healthRoutes({
        version, backend: await initBackend(), started: () => w.worker.getState() === 'RUNNING',
        checks: {
          postgres: () => db.execute(sql`select 1`),
          temporal: () => temporal.connection.workflowService.getSystemInfo({}),
          worker: async () => {
            if (w.worker.getState() !== 'RUNNING') throw new Error(`worker is ${w.worker.getState()}`);
          },
        },
      }));
      app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
      const server = await listen(app.fetch, config.workerPort, config.host, 'WORKER_PORT');
      stops.push(() => closeServer(server));
      logger.info({ port: boundPort(server, config.workerPort) }, 'worker probes and metrics listening');
    }

    return { config, databaseUrl, temporalAddress, db, temporal, artifacts, apiUrl, webUiUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, host: string, setting: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const s = serve({ fetch, port, hostname: host }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} is in use; set ${setting} to another port`) : err));
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function boundPort(server: ServerType, fallback: number): number {
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : fallback;
}
