// The one assembly of the platform over reachable services: registry database, artifact store, Temporal
// client, and the roles asked for (worker, API). `npm start` and the container roles reach it through
// startPlatform (which first starts any embedded service); the tests and the benchmarks call it directly
// with their own services, task queue and fault seam. Nothing here listens on a port.
import { mkdir } from 'node:fs/promises';
import { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps.js';
import type { FaultInjector } from '../activities/failures.js';
import { createApp } from '../api/app.js';
import { AccessControl } from '../api/auth/access-control.js';
import { KeyRing } from '../api/auth/key-ring.js';
import { OidcVerifier } from '../api/auth/oidc.js';
import { RateLimiter } from '../api/rate-limit.js';
import type { BackendReport } from '../api/health/routes.js';
import { connectDb, connectSourcePool, type Db } from '../db/client.js';
import { createLocalArtifactStore, type ArtifactStore } from '../runtime/artifacts.js';
import { createS3ArtifactStore } from '../runtime/s3-artifact-store.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { connectTemporal } from '../runtime/temporal-connection.js';
import { ModelCache } from '../serving/model-cache.js';
import { loadedTfjsBackend } from '../serving/model-loader.js';
import { PredictionLog } from '../serving/prediction-log.js';
import type { WorkerHandle } from './worker.js';

export interface AssembleOptions {
  config: Config;
  logger: Logger;
  /** Where the registry and Temporal are (embedded ones already started by the caller). */
  databaseUrl: string;
  /**
   * The read-only login of `sql` sources (the worker's source pool); default SOURCE_DATABASE_URL. Unset: the
   * worker refuses `sql` sources, naming the setting.
   */
  sourceDatabaseUrl?: string;
  temporalAddress: string;
  roles: { api: boolean; worker: boolean };
  /** The API's registry (served at /metrics) and the worker's; one shared registry when both roles share a process. */
  metrics: { api: Metrics; worker: Metrics };
  codeVersion: string;
  /** Test seam for faults outside the product (see activities/failures.ts). */
  faults?: FaultInjector;
  /** A pre-built workflow bundle (tests build one per process instead of one per worker). */
  workflowBundle?: WorkflowBundleOption;
  /** Connections of the registry pool (default 10); an API of several processes shares the 10 among them. */
  dbPoolMax?: number;
  /** Reported by the API's /health; the process's started flag. */
  started?: () => boolean;
}

export type ApiApp = ReturnType<typeof createApp>;

export interface AssembledPlatform {
  db: Db;
  temporal: Client;
  artifacts: ArtifactStore;
  worker: WorkerHandle | null;
  /** The tfjs backend the worker role initialised (it trains); null without that role. */
  trainingBackend: string | null;
  /** `backend`: what runs models in this process, read on each call (see BackendReport). */
  api: { app: ApiApp; models: ModelCache; predictionLog: PredictionLog; backend: () => BackendReport; keys: KeyRing } | null;
  /** Stops what was assembled, last started first. */
  stop(): Promise<void>;
}

export async function assemblePlatform(opts: AssembleOptions): Promise<AssembledPlatform> {
  const { config, logger } = opts;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => logger.warn({ err }, 'error while stopping'));
  };
  try {
    const db = connectDb(opts.databaseUrl, { max: opts.dbPoolMax });
    stops.push(() => db.$client.end());
    const artifacts = config.artifactStore.kind === 's3' ? createS3ArtifactStore(config.artifactStore) : createLocalArtifactStore(config.artifactDir);
    // A bucket that does not exist or refuses these credentials is a deployment error: say so at start,
    // not at the first stage.
    await artifacts.ping();
    logger.info({ artifactStore: artifacts.kind, location: artifacts.location }, 'artifact store reachable');
    const connection = await connectTemporal(opts.temporalAddress, config.temporal.namespace, config.temporal.connection);
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace });

    // The worker role's modules (activities: nodejs-polars, tfjs) are imported only for that role: an API
    // process loads neither (test/integration/api-process-modules.test.ts).
    let worker: WorkerHandle | null = null;
    let trainingBackend: string | null = null;
    if (opts.roles.worker) {
      const [{ startWorker }, { initBackend }] = await Promise.all([import('./worker.js'), import('../models/backend.js')]);
      trainingBackend = await initBackend();
      const sourceUrl = opts.sourceDatabaseUrl ?? config.sources.databaseUrl;
      const sourcePool = sourceUrl ? connectSourcePool(sourceUrl, { statementTimeoutMs: config.sources.statementTimeoutMs }) : null;
      if (sourcePool) stops.push(() => sourcePool.end());
      const sources = sourceAccess(config, sourcePool);
      // The default file root is made here, so a newcomer has a folder to drop files into.
      if (config.sources.files.createRoot) await mkdir(config.sources.files.createRoot, { recursive: true });
      worker = await startWorker({
        address: opts.temporalAddress, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, connection: config.temporal.connection,
        queues: config.temporal.worker.queues, slots: config.temporal.worker.slots, identity: config.temporal.worker.identity,
        deps: { db, sources, artifacts, logger: logger.child({ role: 'worker' }), codeVersion: opts.codeVersion, faults: opts.faults, metrics: opts.metrics.worker, monitorWebhook: config.monitor.webhook },
        workflowBundle: opts.workflowBundle,
      });
      const w = worker;
      stops.push(() => w.shutdown());
    }

    let api: AssembledPlatform['api'] = null;
    if (opts.roles.api) {
      const models = new ModelCache({ db, artifacts, logger, refreshMs: config.serving.refreshMs, maxVersions: config.serving.cacheMaxVersions, metrics: opts.metrics.api });
      stops.push(async () => models.stop());
      const predictionLog = new PredictionLog({
        databaseUrl: opts.databaseUrl, logger, ...config.predictionLog, onDrop: (n) => opts.metrics.api.predictionLogDropped.inc(n),
      });
      predictionLog.start();
      stops.push(() => predictionLog.stop());
      // Models run on the plain-JS forward pass; tfjs is loaded only by a model that needs it (or by the
      // worker role, when this process has it too).
      const backend = (): BackendReport => ({ tfjsBackend: loadedTfjsBackend() ?? trainingBackend, inference: models.inference() });
      const keys = new KeyRing({ db, logger, refreshMs: config.auth.keyRefreshMs });
      await keys.refresh();
      keys.start();
      stops.push(async () => keys.stop());
      const access = new AccessControl({
        db, logger, keys, oidc: config.auth.oidc ? new OidcVerifier(config.auth.oidc) : null, gatewaySecret: config.auth.gatewaySecret,
        limits: { predict: new RateLimiter(config.rateLimits.predict), mutations: new RateLimiter(config.rateLimits.mutations) },
      });
      const app = createApp(
        { db, temporal, config, logger: logger.child({ role: 'api' }), artifacts, serving: models, predictionLog, metrics: opts.metrics.api, backend, access, keys },
        { version: opts.codeVersion, started: opts.started },
      );
      api = { app, models, predictionLog, backend, keys };
    }
    return { db, temporal, artifacts, worker, trainingBackend, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What pipelines' sources may reach on this worker, from the settings (SOURCE_*). */
function sourceAccess(config: Config, sqlPool: Pool | null): ActivityDeps['sources'] {
  const s = config.sources;
  // The artifacts' folder on this machine is never a source: the local store's, or the S3 store's working copy.
  const platform = { artifactDir: config.artifactStore.kind === 's3' ? config.artifactStore.cacheDir : config.artifactDir, dataDir: config.dataDir };
  return {
    sql: { pool: sqlPool, statementTimeoutMs: s.statementTimeoutMs, maxRows: s.maxRows },
    files: { roots: s.files.roots, ...platform },
    urls: { ...s.urls, secrets: s.headers.secrets, headerFileRoots: s.headers.fileRoots, headerOrigins: s.headers.origins, ...platform },
  };
}
