import { Context } from '@temporalio/activity';
import { markStage } from '../registry/runs.js';
import { releaseUnusedMemory } from '../runtime/native-memory.js';
import type { RunRef, Stage } from '../pipelines/contract.js';
import { classifyFailures } from './failures.js';
import type { ActivityDeps } from './deps.js';

/**
 * One attempt of a pipeline stage: records the stage for listings, gives the fault seam its chance,
 * times the attempt for the stage-duration histogram, and classifies failures (bad data or spec:
 * non-retryable; anything else: retried).
 */
export async function stageAttempt<T>(deps: ActivityDeps, stage: Stage, run: RunRef, work: (attempt: number) => Promise<T>): Promise<T> {
  const { attempt } = Context.current().info;
  const started = performance.now();
  try {
    return await classifyFailures(async () => {
      await markStage(deps.db, run.workflowId, stage);
      await deps.faults?.(stage, attempt, { workflowId: run.workflowId });
      return work(attempt);
    });
  } finally {
    deps.metrics?.stageDuration.observe({ pipeline: run.pipeline, stage }, (performance.now() - started) / 1000);
    // The stage's dataframes are unreachable now: free their native memory before the next stage runs.
    releaseUnusedMemory();
  }
}

/** Artifact keys are run + stage, so a retried attempt overwrites its own output instead of adding more. */
export const artifactKey = (workflowId: string, part: string) => `runs/${workflowId}/${part}`;
