// The activity factory: the worker is the one place that wires real dependencies into it.
import type { BatchScoreActivities, MonitorActivities, PipelineActivities } from '../pipelines/contract.js';
import { createBatchScoreActivities } from './batch-score.js';
import type { ActivityDeps } from './deps.js';
import { createDataStageActivities } from './data-stages.js';
import { createEvaluateActivity } from './evaluate.js';
import { createMonitorActivities } from './monitor.js';
import { createRegistryActivities } from './registry-activities.js';
import { createTrainActivity } from './train.js';
import { createValidateActivity } from './validate.js';

export function createActivities(deps: ActivityDeps): PipelineActivities & BatchScoreActivities & MonitorActivities {
  return {
    ...createRegistryActivities(deps),
    ...createDataStageActivities(deps),
    ...createValidateActivity(deps),
    ...createTrainActivity(deps),
    ...createEvaluateActivity(deps),
    ...createBatchScoreActivities(deps),
    ...createMonitorActivities(deps),
  };
}

export type { ActivityDeps } from './deps.js';
