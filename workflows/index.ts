// Every workflow the worker registers.
export { trainingPipeline } from './training-pipeline.js';
export { backfillPipeline } from './backfill.js';
export { sourceInspection } from './source-inspection.js';
export { batchScore } from './batch-score.js';
export { modelMonitor } from './model-monitor.js';
