// Training's own failure, in a module without tfjs so that the activity (on the worker's main thread)
// can recognise it without loading the training code.

/**
 * The loss became NaN or infinite: a property of the spec and the data, so retrying the same numbers
 * diverges again. Crosses the training thread's boundary by its `name` (see thread-runner.ts).
 */
export class TrainingDivergedError extends Error {
  static readonly NAME = 'TrainingDivergedError';
  override readonly name = TrainingDivergedError.NAME;
}

/** Whether `err` (possibly rebuilt from a training thread's message) is a divergence. */
export const isTrainingDiverged = (err: unknown): boolean => err instanceof Error && err.name === TrainingDivergedError.NAME;
