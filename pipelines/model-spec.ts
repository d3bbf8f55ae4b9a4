import { z } from 'zod';
import { int32 } from './storable.js';

/**
 * Hyper-parameters of the MLP trainer. Every field has a default so an empty
 * object is a valid spec; pipelines only override what they tune.
 */
export const ModelSpecSchema = z.object({
  /** Units of each hidden Dense layer, input side first. Empty = linear/logistic model. */
  hiddenLayers: z.array(z.number().int().min(1).max(4096)).max(16).default([32, 16]),
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
