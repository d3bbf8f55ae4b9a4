// Batch scoring as one durable workflow: plan (read the source once, pin the model's files) → score the
// chunks (one long activity that heartbeats after each chunk; a retry after a lost worker starts at the
// first chunk not on disk) → join the chunks into the predictions file. Deterministic code only.
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { FAILURE_TYPES, type BatchScoreActivities, type BatchScoreInput, type BatchScoreResult } from '../pipelines/contract.js';
import { describeFailure } from './failure-description.js';

const nonRetryableErrorTypes = [...FAILURE_TYPES];

const steps = proxyActivities<BatchScoreActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Scoring: a chunk takes well under a second, and the activity heartbeats after each, so a worker lost
// mid-job is noticed within 15 s and the retry goes on from its last chunk.
const scoring = proxyActivities<BatchScoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes },
});

export async function batchScore(job: BatchScoreInput): Promise<BatchScoreResult> {
  const jobId = workflowInfo().workflowId;
  let stage = 'plan';
  try {
    const plan = await steps.planBatchScore({ jobId, job });
    stage = 'score';
    const progress = await scoring.scoreBatch({ jobId, job, plan });
    stage = 'finish';
    return await steps.finishBatchScore({ jobId, job, plan, progress });
  } catch (err) {
    const failure = isCancellation(err) ? { stage, type: 'Cancelled', message: 'the batch job was cancelled' } : { stage, ...describeFailure(err) };
    await CancellationScope.nonCancellable(() => steps.failBatchScore({ jobId, failure }));
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({ type: failure.type, message: `${stage} failed: ${failure.message}`, nonRetryable: true, cause: err instanceof Error ? err : undefined });
  }
}
