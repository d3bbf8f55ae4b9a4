// Composition root: starts (or connects to) Postgres and Temporal, applies migrations, then runs the worker
// and/or the API. `npm start`, the container entry points and the end-to-end tests all come through here.
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app.js';
import { PredictionLog } from '../api/models/prediction-log.js';
import { ModelServing } from '../api/models/serving.js';
import { connectDb, type Db } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { initBackend } from '../models/backend.js';
import { createLocalArtifactStore, type ArtifactStore } from './artifacts.js';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.js';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from './embedded-temporal.js';
import { redactUrl, type Logger } from './logger.js';
import { codeVersion } from './version.js';
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
      await pg.createDatabase('mlplatform');
      databaseUrl = pg.urlFor('mlplatform');
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
    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace });
    const version = codeVersion(config.gitCommit);

    let worker: WorkerHandle | null = null;
    if (roles.worker) {
      worker = await startWorker({
        address: temporalAddress, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue,
        deps: { db, artifacts, logger: logger.child({ role: 'worker' }), codeVersion: version },
      });
      const w = worker;
      stops.push(() => w.shutdown());
      logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
    }

    let apiUrl: string | null = null;
    if (roles.api) {
      const backend = await initBackend();
      const serving = new ModelServing({ db, artifacts, logger, refreshMs: config.serving.refreshMs });
      serving.start();
      stops.push(async () => serving.stop());
      const predictionLog = new PredictionLog({ db, logger, ...config.predictionLog });
      predictionLog.start();
      stops.push(() => predictionLog.stop());
      const app = createApp({ db, temporal, config, logger: logger.child({ role: 'api' }), serving, predictionLog, backend }, { version });
      const server: ServerType = await new Promise((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
        s.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.port} is in use; set PORT to another port`) : err));
      });
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      apiUrl = `http://localhost:${port}`;
      logger.info({ url: apiUrl, backend }, 'API listening');
    }

    return { config, databaseUrl, temporalAddress, db, temporal, artifacts, apiUrl, webUiUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
