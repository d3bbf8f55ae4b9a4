// A backfill: the training pipeline for each asOf of a past range, as child workflows with a concurrency
// bound. Child IDs are derived from the backfill, so the same backfill never starts a partition twice.
import { ChildWorkflowFailure, ApplicationFailure, executeChild, setHandler, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { BackfillInput, BackfillProgress, PartitionState, TrainingPipelineResult } from '../pipelines/contract.js';
import { backfillProgressQuery } from './definitions.js';
import { trainingPipeline } from './training-pipeline.js';

export async function backfillPipeline(input: BackfillInput): Promise<BackfillProgress> {
  const partitions: PartitionState[] = input.partitions.map((p) => ({ ...p, status: 'pending' }));
  const progress = (): BackfillProgress => ({
    backfillId: workflowInfo().workflowId,
    pipeline: input.pipeline,
    pipelineVersion: input.pipelineVersion,
    total: partitions.length,
    done: partitions.filter((p) => p.status === 'succeeded').length,
    running: partitions.filter((p) => p.status === 'running').length,
    failed: partitions.filter((p) => p.status === 'failed').length,
    remaining: partitions.filter((p) => p.status === 'pending').length,
    partitions,
  });
  setHandler(backfillProgressQuery, progress);

  const queue = [...partitions];
  const runOne = async (p: PartitionState) => {
    p.status = 'running';
    try {
      const r: TrainingPipelineResult = await executeChild(trainingPipeline, {
        workflowId: p.workflowId,
        args: [{
          pipeline: input.pipeline, pipelineVersion: input.pipelineVersion, spec: input.spec, asOf: p.asOf,
          trigger: 'backfill', allowPromotion: input.allowPromotion, actor: `backfill:${workflowInfo().workflowId}`,
          ...(input.accountable ? { accountable: input.accountable } : {}),
        }],
        // A failed partition may be run again under the same ID; a succeeded one never.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Backfill partition asOf ${p.asOf.slice(0, 10)} of ${input.pipeline}`,
      });
      p.status = 'succeeded';
      p.modelVersion = r.modelVersion;
      p.metrics = r.metrics;
    } catch (err) {
      p.status = 'failed';
      const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
      p.failure = cause instanceof ApplicationFailure ? `[${cause.type}] ${cause.message}` : cause instanceof Error ? cause.message : String(cause);
    }
  };
  const lane = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await runOne(p);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.concurrency, partitions.length)) }, lane));
  return progress();
}
