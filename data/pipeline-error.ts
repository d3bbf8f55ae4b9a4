import type { FailureType } from '../pipelines/contract.js';

/**
 * A fault in the data or the spec that retrying cannot fix. Activities turn it into a non-retryable
 * ApplicationFailure with this `type`, so the run fails at once with a message a person can act on.
 */
export class PipelineInputError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PipelineInputError';
  }
}
