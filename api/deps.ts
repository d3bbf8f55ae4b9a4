import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { ArtifactStore } from '../runtime/artifacts.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { AccessControl } from './auth/access-control.js';
import type { KeyRing } from './auth/key-ring.js';
import type { BackendReport } from './health/routes.js';
import type { PredictionLog } from '../serving/prediction-log.js';
import type { ModelCache } from '../serving/model-cache.js';

/** What the API needs, wired once by the process bootstrap (and by tests, with real services). */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  config: Config;
  logger: Logger;
  /** Where models and job outputs are (the API reads batch predictions from here to hand them out). */
  artifacts: ArtifactStore;
  serving: ModelCache;
  predictionLog: PredictionLog;
  metrics: Metrics;
  /** The trust boundary every route passes (api/auth/access-control.ts). */
  access: AccessControl;
  /** The API keys this replica accepts; re-read at once after a key route changes one. */
  keys: KeyRing;
  /** What runs the models here (inference engines, tfjs backend if loaded), read by /health on each request. */
  backend: () => BackendReport;
}
