// One boundary, one rule: faults in the data or the spec become non-retryable ApplicationFailures with a
// typed reason; everything else (DB, file system, network) stays a plain error and is retried with backoff.
import { ApplicationFailure } from '@temporalio/activity';
import { PipelineInputError } from '../data/pipeline-error.js';

export async function classifyFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PipelineInputError) {
      throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true, details: [err.details] });
    }
    throw err;
  }
}

/**
 * Test seam for faults outside the product (a disk or network hiccup): called at the start of every
 * activity attempt; throwing from it makes that attempt fail like a real transient fault would.
 */
export type FaultInjector = (point: string, attempt: number, run: { workflowId: string }) => void | Promise<void>;
