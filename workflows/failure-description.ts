// What a failed workflow records about the error that ended it: the failure type an activity raised
// (InvalidSource, DataQuality, …) and its message, whatever wrapping Temporal added on the way.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

export function describeFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}
