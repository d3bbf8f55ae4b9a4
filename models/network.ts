import type { Task } from '../pipelines/contract.js';
import { tf } from './backend.js';
import { deriveSeed } from '../data/prng.js';
import type { ModelSpec } from '../pipelines/model-spec.js';

/**
 * The MLP as one tfjs Sequential model, so it saves/loads as a standard
 * layers-model:
 *
 *   hidden_1..hidden_n  Dense(units, activation)        trainable
 *   output              Dense(outputs, linear)          trainable — logits or standardised target
 *   head                classification: softmax         not trainable — turns the
 *                       regression: Dense(1) w=std,b=mean   output into what callers want
 *
 * Training (mlp-step.ts) runs the layers by hand up to `output` (never through
 * `head`) on a copy of the weights: the loss is computed on logits (stable
 * log-softmax + categorical cross-entropy) and on the standardised target for
 * MSE. Dropout is applied by hand too, so the saved model has no Dropout
 * layers. Predicting with the saved model yields
 * probabilities, or regression values in the original units.
 */
export interface Mlp {
  model: tf.Sequential;
  /** hidden layers then `output`, in order. */
  trainLayers: tf.layers.Layer[];
  /** Trainable variables in a fixed order: kernel, bias per trainable layer. */
  variables: tf.Variable[];
  /** The kernels among `variables`, for the L2 penalty. */
  kernels: tf.Variable[];
}

export interface BuildMlpOptions {
  cols: number;
  task: Task;
  /** numClasses, or 1 for regression. */
  outputs: number;
  spec: ModelSpec;
  /** Regression only: target standardisation folded into the head. */
  targetMean?: number;
  targetStd?: number;
}

export function buildMlp(opts: BuildMlpOptions): Mlp {
  const { cols, task, outputs, spec } = opts;
  const model = tf.sequential();
  const trainLayers: tf.layers.Layer[] = [];
  // Each layer gets its own initialiser seed: one seed for all would give
  // same-shaped layers identical initial weights.
  const kernelInit = (i: number) => tf.initializers.glorotUniform({ seed: deriveSeed(spec.seed, 1, i) });

  spec.hiddenLayers.forEach((units, i) => {
    const layer = tf.layers.dense({
      name: `hidden_${i + 1}`,
      units,
      activation: spec.activation,
      kernelInitializer: kernelInit(i),
      biasInitializer: 'zeros',
      ...(i === 0 ? { inputShape: [cols] } : {}),
    });
    model.add(layer);
    trainLayers.push(layer);
  });
  const output = tf.layers.dense({
    name: 'output',
    units: outputs,
    activation: 'linear',
    kernelInitializer: kernelInit(spec.hiddenLayers.length),
    biasInitializer: 'zeros',
    ...(spec.hiddenLayers.length === 0 ? { inputShape: [cols] } : {}),
  });
  model.add(output);
  trainLayers.push(output);

  if (task === 'classification') {
    model.add(tf.layers.activation({ name: 'head', activation: 'softmax' }));
  } else {
    const head = tf.layers.dense({ name: 'head', units: 1, trainable: false, useBias: true });
    model.add(head);
    const mean = opts.targetMean ?? 0;
    const std = opts.targetStd ?? 1;
    tf.tidy(() => head.setWeights([tf.tensor2d([[std]]), tf.tensor1d([mean])]));
  }

  const variables: tf.Variable[] = [];
  const kernels: tf.Variable[] = [];
  for (const layer of trainLayers) {
    // LayerVariable.read() returns the underlying tf.Variable (typed as Tensor).
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    variables.push(kernel, bias);
    kernels.push(kernel);
  }
  return { model, trainLayers, variables, kernels };
}

/** Inference-mode forward pass to the `output` layer (no dropout, no head). */
export function forwardEval(mlp: Mlp, x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor = x;
  for (const layer of mlp.trainLayers) h = layer.apply(h) as tf.Tensor;
  return h as tf.Tensor2D;
}

/** Copies of the trainable variables' values (order of `mlp.variables`). */
export function readWeights(mlp: Mlp): Float32Array[] {
  return mlp.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
}

export function writeWeights(mlp: Mlp, values: Float32Array[]): void {
  if (values.length !== mlp.variables.length) {
    throw new Error(`weight count mismatch: model has ${mlp.variables.length} variables, got ${values.length}`);
  }
  tf.tidy(() => {
    mlp.variables.forEach((v, i) => {
      if (values[i].length !== v.size) {
        throw new Error(`weight size mismatch for ${v.name}: expected ${v.size}, got ${values[i].length}`);
      }
      v.assign(tf.tensor(values[i], v.shape, 'float32'));
    });
  });
}
