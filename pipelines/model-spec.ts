import { z } from 'zod';
import { int32 } from './storable.js';

/**
 * Most weights between hidden layers (the sum of a*b over consecutive hidden layers a, b): 4M float32 weights
 * are 16 MB, and each is trained, checkpointed with its Adam moments and held by every serving replica.
 * The input layer's weights depend on the data's width; training checks the whole model against
 * MAX_MODEL_PARAMETERS.
 */
export const MAX_HIDDEN_WEIGHTS = 4_000_000;

/**
 * Most parameters (weights and biases, input and output layers included) of a model training accepts: the
 * input width is known only once the features are built, so the trainer checks this, not the spec schema.
 */
export const MAX_MODEL_PARAMETERS = 20_000_000;

/** Weights between consecutive hidden layers (the input and output layers excluded). */
export function hiddenWeights(hiddenLayers: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < hiddenLayers.length; i++) n += hiddenLayers[i - 1] * hiddenLayers[i];
  return n;
}

/** Weights and biases of the MLP: `inputs` features → hidden layers → `outputs` units. */
export function parameterCount(inputs: number, hiddenLayers: readonly number[], outputs: number): number {
  let n = 0;
  let width = inputs;
  for (const units of [...hiddenLayers, outputs]) {
    n += width * units + units;
    width = units;
  }
  return n;
}

/**
 * Hyper-parameters of the MLP trainer. Every field has a default so an empty
 * object is a valid spec; pipelines only override what they tune.
 */
export const ModelSpecSchema = z.object({
  /** Units of each hidden Dense layer, input side first. Empty = linear/logistic model. */
  hiddenLayers: z.array(z.number().int().min(1).max(4096)).max(16).superRefine((layers, ctx) => {
    const weights = hiddenWeights(layers);
    if (weights > MAX_HIDDEN_WEIGHTS) {
      ctx.addIssue({
        code: 'custom',
        message: `the hidden layers have ${weights} weights between them (the sum of a*b over consecutive layers); at most ${MAX_HIDDEN_WEIGHTS}: use fewer or narrower layers`,
      });
    }
  }).default([32, 16]),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  /** Dropout rate applied after every hidden layer while training. */
  dropout: z.number().min(0).max(0.9).default(0),
  /** L2 penalty on hidden/output kernels (Keras convention: l2 * sum(w^2), biases excluded). */
  l2: z.number().min(0).default(0),
  epochs: z.number().int().min(1).max(1000).default(50),
  batchSize: z.number().int().min(1).max(65536).default(64),
  learningRate: z.number().positive().max(10).default(0.001),
  /** Epochs without val-loss improvement before stopping; 0 disables early stopping. */
  earlyStoppingPatience: z.number().int().min(0).max(1000).default(5),
  /**
   * Fraction of rows held out for validation. The LAST rows (in the given
   * order) are used, not a random sample, because rows are time-ordered and a
   * random split would leak the future into training.
   */
  validationFraction: z.number().min(0).max(0.5).default(0.15),
  /** Seeds the weight initialisers, batch shuffling and dropout masks. */
  seed: int32().default(42),
});

export type ModelSpec = z.infer<typeof ModelSpecSchema>;
/** What callers may pass in (every field optional). */
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;
