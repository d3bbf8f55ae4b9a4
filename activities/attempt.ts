import { Context } from '@temporalio/activity';
import { markStage } from '../registry/runs.js';
import type { Stage } from '../workflows/shared.js';
import type { ActivityDeps } from './index.js';

/** Start of every stage attempt: record the stage for listings and give the fault seam its chance. */
export async function beginStageAttempt(deps: ActivityDeps, stage: Stage, workflowId: string): Promise<number> {
  const { attempt } = Context.current().info;
  await markStage(deps.db, workflowId, stage);
  await deps.faults?.(stage, attempt, { workflowId });
  return attempt;
}

/** Artifact keys are run + stage, so a retried attempt overwrites its own output instead of adding more. */
export const artifactKey = (workflowId: string, part: string) => `runs/${workflowId}/${part}`;
