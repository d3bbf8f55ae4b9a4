// A platform process: starts any embedded service that is not configured (Postgres, Temporal), applies the
// migrations, assembles the roles asked for (app/assemble.ts) and serves them on their ports. `npm start`
// and the container roles come through here. With API_PROCESSES > 1 the API role runs in that many child
// processes sharing PORT (app/api-processes.ts) while this one keeps the embedded services and the worker.
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { healthRoutes } from '../api/health/routes.js';
import type { Db } from '../db/client.js';
import { loginMayChangeSchema, migrateDatabase, pendingMigrations } from '../db/migrate.js';
import type { ArtifactStore } from '../runtime/artifacts.js';
import type { Config } from '../runtime/config.js';
import { REGISTRY_DATABASE, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.js';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from './embedded-temporal.js';
import { redactUrl, type Logger } from '../runtime/logger.js';
import { createMetrics } from '../runtime/metrics.js';
import { codeVersion } from '../runtime/version.js';
import { assemblePlatform } from './assemble.js';
import { startApiProcesses, type ApiProcesses } from './api-processes.js';
import { boundPort, closeServer, listen } from './http-server.js';
import { enableRoleLogin, RUNTIME_ROLE, SOURCE_READER_ROLE } from './role-logins.js';

export interface Platform {
  config: Config;
  /** The runtime role's login (the API's and the worker's). */
  databaseUrl: string;
  /** The owner's login, which applied the migrations (backup, restore, key bootstrap). */
  ownerDatabaseUrl: string;
  temporalAddress: string;
  db: Db;
  temporal: Client;
  artifacts: ArtifactStore;
  apiUrl: string | null;
  webUiUrl: string | null;
  /** Makes the API (each of its processes) accept keys written to the registry just now (e.g. the first admin key). */
  refreshKeys(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPlatform(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }): Promise<Platform> {
  const stops: (() => Promise<void>)[] = [];
  // Last started, first stopped; once: a second signal during a stop waits for the same one instead of
  // running the stops again (and, as reverse() mutated the list, in starting order).
  let stopping: Promise<void> | null = null;
  const stopAll = () => (stopping ??= (async () => {
    for (const stop of [...stops].reverse()) await stop().catch((err) => logger.warn({ err }, 'error while stopping'));
  })());
  try {
    // Migrations run as the owner; the API and the worker as the runtime role (no DDL, append-only audit).
    let databaseUrl = config.database.url;
    let ownerDatabaseUrl = config.database.migrationUrl ?? databaseUrl;
    const embeddedPostgres = !databaseUrl;
    if (!databaseUrl) {
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dir: join(config.dataDir, 'postgres'), port: config.database.embeddedPort, logger });
      stops.push(() => pg.stop());
      await pg.createDatabase(REGISTRY_DATABASE);
      ownerDatabaseUrl = pg.urlFor(REGISTRY_DATABASE);
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
    if (embeddedPostgres || config.database.migrationUrl) {
      logger.info({ database: redactUrl(ownerDatabaseUrl!), temporal: temporalAddress }, 'services reachable; applying migrations');
      await migrateDatabase(ownerDatabaseUrl!);
    } else {
      // DATABASE_URL alone: the runtime role of a deployment whose migrations run elsewhere (`mlp migrate`,
      // the k8s Job), or a single owner login that applies them itself.
      await requireMigrated(databaseUrl!, logger);
    }
    if (embeddedPostgres) databaseUrl = await enableRoleLogin({ databaseUrl: ownerDatabaseUrl!, dataDir: config.dataDir, role: RUNTIME_ROLE });
    // `sql` sources log in as the read-only source role. The embedded cluster is ours, so the platform gives
    // that role its login; an external database needs SOURCE_DATABASE_URL, else `sql` sources are refused.
    let sourceDatabaseUrl = config.sources.databaseUrl;
    if (roles.worker) {
      if (!sourceDatabaseUrl && embeddedPostgres) sourceDatabaseUrl = await enableRoleLogin({ databaseUrl: ownerDatabaseUrl!, dataDir: config.dataDir, role: SOURCE_READER_ROLE });
      if (sourceDatabaseUrl) logger.info({ sourceDatabase: redactUrl(sourceDatabaseUrl) }, 'sql sources read as the source role');
      else logger.warn('SOURCE_DATABASE_URL is not set: pipelines with a sql source will fail (set it to a login of the read-only role mlp_source_reader)');
    }
    const version = codeVersion(config.gitCommit);
    const apiProcessCount = roles.api ? config.apiProcesses : 0;
    // One registry for both roles: a process that runs both serves the worker's metrics at the API's /metrics.
    // With the API in child processes, this process's registry (the worker's) is merged into theirs, its
    // process-level metrics labelled as the primary's.
    const metrics = createMetrics(apiProcessCount > 1 ? { processLabels: { process: 'primary' } } : {});
    let started = false;
    const assembled = await assemblePlatform({
      config, logger, databaseUrl: databaseUrl!, sourceDatabaseUrl, temporalAddress, roles: apiProcessCount > 1 ? { api: false, worker: roles.worker } : roles,
      metrics: { api: metrics, worker: metrics }, codeVersion: version, started: () => started,
    });
    stops.push(() => assembled.stop());
    const { db, temporal, artifacts, worker, trainingBackend, api } = assembled;
    if (worker) logger.info({ taskQueues: worker.workers.map((w) => w.queue), slots: config.temporal.worker.slots }, 'worker polling');

    let apiUrl: string | null = null;
    let apiProcesses: ApiProcesses | null = null;
    if (apiProcessCount > 1) {
      const processes = await startApiProcesses({ config, logger, databaseUrl: databaseUrl!, temporalAddress, codeVersion: version, primaryMetrics: metrics, count: apiProcessCount });
      apiProcesses = processes;
      stops.push(() => processes.stop());
      apiUrl = `http://localhost:${processes.port}`;
      logger.info({ url: apiUrl, processes: apiProcessCount }, 'API listening');
    } else if (api) {
      const server = await listen(api.app.fetch, config.port, config.host, 'PORT');
      stops.push(() => closeServer(server));
      apiUrl = `http://localhost:${boundPort(server, config.port)}`;
      // Load every production model before reporting started, so the first predictions are not slow.
      const failed = await api.models.ensureLoaded();
      for (const f of failed) logger.error(f, 'production model could not be loaded');
      await api.models.updateGauges().catch(() => undefined);
      api.models.start();
      started = true;
      logger.info({ url: apiUrl, ...api.backend() }, 'API listening');
    } else if (worker) {
      // A worker on its own still answers probes and scrapes on WORKER_PORT.
      const w = worker;
      const app = new Hono();
      app.route('/health', healthRoutes({
        version, backend: () => ({ tfjsBackend: trainingBackend }), started: () => w.state() === 'RUNNING',
        checks: {
          postgres: () => db.execute(sql`select 1`),
          temporal: () => temporal.connection.workflowService.getSystemInfo({}),
          artifacts: () => artifacts.ping(),
          worker: async () => {
            if (w.state() !== 'RUNNING') throw new Error(`worker is ${w.state()}`);
          },
        },
      }));
      app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
      const server = await listen(app.fetch, config.workerPort, config.host, 'WORKER_PORT');
      stops.push(() => closeServer(server));
      logger.info({ port: boundPort(server, config.workerPort) }, 'worker probes and metrics listening');
    }

    const refreshKeys = async () => {
      await (apiProcesses ? apiProcesses.refreshKeys() : api?.keys.refresh());
    };
    return { config, databaseUrl: databaseUrl!, ownerDatabaseUrl: ownerDatabaseUrl!, temporalAddress, db, temporal, artifacts, apiUrl, webUiUrl, refreshKeys, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Applies pending migrations if this login may; else starts only on a database that has them all. */
async function requireMigrated(url: string, logger: Logger): Promise<void> {
  if (await loginMayChangeSchema(url)) {
    logger.warn('DATABASE_URL may change the schema: the API and worker run with DDL rights and can rewrite the audit log\'s grants; give them the runtime role mlp_runtime and set MIGRATION_DATABASE_URL to the owner');
  }
  const pending = await pendingMigrations(url);
  if (pending === 0) return;
  try {
    logger.info({ pending }, 'applying migrations with DATABASE_URL (set MIGRATION_DATABASE_URL to apply them as the owner and run as mlp_runtime)');
    await migrateDatabase(url);
  } catch (err) {
    const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (code !== '42501') throw err;
    throw new Error(`the database lacks ${pending} migration(s) and DATABASE_URL may not apply them; run \`mlp migrate\` with MIGRATION_DATABASE_URL (the owner's login) first`);
  }
}
