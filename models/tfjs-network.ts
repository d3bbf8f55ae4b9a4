// A saved network run by tfjs, for models the plain-JS forward pass does not support (and as the reference
// it is benchmarked and tested against). serving/model-loader.ts imports this module only when a model
// needs it, so a process that serves only JS-path models never loads tfjs.
import { initBackend, tf, type BackendName } from './backend.js';
import type { ModelArtifacts } from './model-files.js';

export interface TfjsNetwork {
  /** The tfjs backend it runs on (chosen once per thread by initBackend). */
  backend: BackendName;
  inputShape: readonly (number | null)[] | undefined;
  outputShape: readonly (number | null)[] | undefined;
  /** One forward pass over `rows` rows of `cols` features (row-major); a fresh array, rows*outputs long. */
  predict(features: Float32Array, rows: number, cols: number): Float32Array;
  dispose(): void;
}

/** Builds the layers-model from in-memory artifacts (tf.io.fromMemory: no tfjs-node file IO needed). */
export async function loadTfjsNetwork(artifacts: ModelArtifacts): Promise<TfjsNetwork> {
  const backend = await initBackend();
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return {
    backend,
    inputShape: model.inputs[0]?.shape,
    outputShape: model.outputs[0]?.shape,
    predict(features, rows, cols) {
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
    dispose() {
      model.dispose();
    },
  };
}
