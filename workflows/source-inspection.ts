// Checking a source before a pipeline is saved: the API cannot read sources (it loads no data libraries and
// may run where the files are not), so it asks a worker, through this short workflow, for the columns of a
// bounded sample. Nothing is recorded; a refusal is the source's own failure (non-retryable).
import { proxyActivities } from '@temporalio/workflow';
import { FAILURE_TYPES, type PipelineActivities, type SourceInspection, type SourceInspectionInput } from '../pipelines/contract.js';

const { inspectSource } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 2, nonRetryableErrorTypes: [...FAILURE_TYPES] },
});

export async function sourceInspection(input: SourceInspectionInput): Promise<SourceInspection> {
  return inspectSource(input);
}
