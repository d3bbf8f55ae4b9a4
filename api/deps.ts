import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
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
  /** Backend that serves predictions, reported by /health. */
  backend: string;
}
