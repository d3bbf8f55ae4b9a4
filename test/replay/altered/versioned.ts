// The same edit as ./unversioned.ts, made the way a change to running workflows should be: behind
// patched(), so runs recorded before it take the old path on replay and new runs take the new one.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities, TrainingPipelineInput, TrainingPipelineResult } from '../../../pipelines/contract.js';
import { trainingPipeline as current } from '../../../workflows/training-pipeline.js';

const registry = proxyActivities<PipelineActivities>({ startToCloseTimeout: '30 seconds' });

export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  if (patched('resolve-pipeline-first')) {
    await registry.resolvePipeline({ pipeline: input.pipeline, version: input.pipelineVersion });
  }
  return current(input);
}
