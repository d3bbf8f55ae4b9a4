import { readModelDir, type ModelMeta, type Task } from './artifacts.js';
import { initBackend, tf } from './backend.js';

export interface LoadedModel {
  task: Task;
  /** Output width: number of classes, or 1 for regression. */
  numClasses: number;
  cols: number;
  meta: ModelMeta;
  /**
   * Synchronous batch prediction. `features` is row-major rows*cols.
   * Returns rows*numClasses class probabilities (row-major) for
   * classification, or rows values in the target's original units for regression.
   */
  predict(features: Float32Array, rows: number): Float32Array;
  dispose(): void;
}

/**
 * Loads a model directory written by trainMlp. Every file is checked against
 * checksum.json first (a mismatch throws an Error naming the file), then the
 * network is rebuilt from memory with tf.loadLayersModel — no tfjs-node file
 * IO needed.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  await initBackend();
  const { artifacts, meta } = await readModelDir(dir);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));

  const inShape = model.inputs[0]?.shape;
  const outShape = model.outputs[0]?.shape;
  if (inShape?.[1] !== meta.cols || outShape?.[1] !== meta.numClasses) {
    model.dispose();
    throw new Error(
      `model directory ${dir}: network shape [${inShape}] -> [${outShape}] does not match meta.json ` +
        `(cols ${meta.cols}, outputs ${meta.numClasses})`,
    );
  }

  const { cols, numClasses } = meta;
  let disposed = false;
  return {
    task: meta.task,
    numClasses,
    cols,
    meta,
    predict(features: Float32Array, rows: number): Float32Array {
      if (disposed) throw new Error('predict() called on a disposed model');
      if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
      if (features.length !== rows * cols) {
        throw new Error(`features has ${features.length} values, expected rows*cols = ${rows} * ${cols}`);
      }
      if (rows === 0) return new Float32Array(0);
      return tf.tidy(() => {
        // model.apply on a concrete tensor runs one forward pass; predict()
        // would split into batches of 32 and add per-call validation work.
        const out = model.apply(tf.tensor2d(features, [rows, cols])) as tf.Tensor;
        const values = out.dataSync();
        // The cpu backend may hand out its internal buffer; copy so the
        // caller's array is independent of tensor lifetimes.
        return values instanceof Float32Array && tf.getBackend() !== 'cpu' ? values : Float32Array.from(values);
      });
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
