import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { BackendReport } from './health/routes.js';
import type { PredictionLog } from '../serving/prediction-log.js';
import type { ModelCache } from '../serving/model-cache.js';

/** What the API needs, wired once by the process bootstrap (and by tests, with real services). */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  config: Config;
  logger: Logger;
  serving: ModelCache;
  predictionLog: PredictionLog;
  metrics: Metrics;
  /** What runs the models here (inference engines, tfjs backend if loaded), read by /health on each request. */
  backend: () => BackendReport;
}
