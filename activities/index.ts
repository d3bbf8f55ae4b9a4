// The activity factory: the worker is the one place that wires real dependencies into it.
import type { Db } from '../db/client.js';
import type { ArtifactStore } from '../runtime/artifacts.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { createDataStageActivities } from './data-stages.js';
import { createEvaluateActivity } from './evaluate.js';
import type { FaultInjector } from './failures.js';
import { createRegistryActivities } from './registry-activities.js';
import { createTrainActivity } from './train.js';

export interface ActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
  logger: Logger;
  /** Identifies the code that trained a model, for lineage. */
  codeVersion: string;
  faults?: FaultInjector;
  /** The worker's Prometheus metrics; omitted in unit tests of single activities. */
  metrics?: Metrics;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createRegistryActivities(deps),
    ...createDataStageActivities(deps),
    ...createTrainActivity(deps),
    ...createEvaluateActivity(deps),
  };
}

export type PipelineActivities = ReturnType<typeof createActivities>;
