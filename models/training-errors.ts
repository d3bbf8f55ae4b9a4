// Training's own failures, in a module without tfjs so that the activity (on the worker's main thread)
// can recognise them without loading the training code.
import { parameterCount } from '../pipelines/model-spec.js';

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

/**
 * The model the spec describes, on the data's features, has more parameters than training accepts
 * (MAX_MODEL_PARAMETERS): a property of the spec and the data, so retrying fails the same way. Crosses the
 * training thread's boundary by its `name`, like TrainingDivergedError.
 */
export class ModelTooLargeError extends Error {
  static readonly NAME = 'ModelTooLargeError';
  override readonly name = ModelTooLargeError.NAME;
}

/** Whether `err` (possibly rebuilt from a training thread's message) is a model over the size limit. */
export const isModelTooLarge = (err: unknown): boolean => err instanceof Error && err.name === ModelTooLargeError.NAME;

/**
 * The checkpoint folder holds another training's state (other rows, shapes or spec, or rows fingerprinted
 * by an older version of the platform). Crosses the training thread's boundary by its `name`.
 */
export class CheckpointMismatchError extends Error {
  static readonly NAME = 'CheckpointMismatchError';
  override readonly name = CheckpointMismatchError.NAME;
}

/** Whether `err` (possibly rebuilt from a training thread's message) is a checkpoint of another training. */
export const isCheckpointMismatch = (err: unknown): boolean => err instanceof Error && err.name === CheckpointMismatchError.NAME;

/**
 * Refuses a model with more than `max` parameters before anything is built: a ModelTooLargeError (not
 * retried) that says what makes it large and what to change. Input, hidden and output layers all count.
 */
export function checkModelSize(cols: number, hiddenLayers: readonly number[], outputs: number, max: number): void {
  const parameters = parameterCount(cols, hiddenLayers, outputs);
  if (!(parameters > max)) return;
  const first = hiddenLayers.length ? `the first hidden layer alone has ${cols} * ${hiddenLayers[0]} = ${cols * hiddenLayers[0]} input weights; ` : '';
  throw new ModelTooLargeError(
    `the model would have ${parameters} parameters (${cols} features, hidden layers [${hiddenLayers.join(', ')}], ${outputs} outputs), ` +
      `more than the ${max} training accepts; ${first}use fewer or narrower model.hiddenLayers, or fewer features ` +
      '(features.exclude, a lower features.maxCategories)',
  );
}
