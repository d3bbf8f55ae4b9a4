// What a failed run says about itself: its non-retryable cause, the stage the registry recorded, and the
// highest attempt any of its activities reached (1: it was not retried).
import { ApplicationFailure } from '@temporalio/client';
import { expect } from 'vitest';
import type { TestPlatform } from './platform.js';

export async function failureOf(p: TestPlatform, run: { workflowId: string; error?: unknown }) {
  expect(run.error, 'the run should have failed').toBeDefined();
  const cause = (run.error as { cause?: unknown }).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const history = await p.temporal.workflow.getHandle(run.workflowId).fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => Number(e.activityTaskStartedEventAttributes!.attempt));
  const record = await p.request('GET', `/v1/runs/${encodeURIComponent(run.workflowId)}`);
  return { failure: cause as ApplicationFailure, maxAttempt: Math.max(...attempts), stage: record.body.run.failure?.stage as string | undefined };
}
