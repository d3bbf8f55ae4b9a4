// A deliberately non-deterministic edit of trainingPipeline, only for the replay suite's own test: one
// activity call added in front of the current workflow, not versioned. Every recorded run's first command
// was beginRun; this code now schedules resolvePipeline first, so its replay must fail.
import { proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities, TrainingPipelineInput, TrainingPipelineResult } from '../../../pipelines/contract.js';
import { trainingPipeline as current } from '../../../workflows/training-pipeline.js';

const registry = proxyActivities<PipelineActivities>({ startToCloseTimeout: '30 seconds' });

export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  // The edit: look the pipeline up again even when the input carries its spec.
  await registry.resolvePipeline({ pipeline: input.pipeline, version: input.pipelineVersion });
  return current(input);
}
