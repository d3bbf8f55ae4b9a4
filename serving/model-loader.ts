import { readModelDir, type ModelArtifacts, type ModelMeta } from '../models/model-files.js';
import type { TfjsNetwork } from '../models/tfjs-network.js';
import { type Task } from '../pipelines/contract.js';
import type { HashedFile } from '../runtime/artifacts.js';
import { compileDenseNetwork, parseDenseNetwork, type DenseForward } from './dense-forward.js';

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
  /** Same, into `out` (at least rows*numClasses long); returns `out`. */
  predictInto(features: Float32Array, rows: number, out: Float32Array): Float32Array;
  dispose(): void;
}

/**
 * What runs `predict`:
 *   js    the plain-JS dense forward pass (serving/dense-forward.ts) over the saved weights;
 *   tfjs  the tfjs layers-model on the active tfjs backend.
 */
export type InferenceEngine = 'js' | 'tfjs';

export interface LoadModelOptions {
  /**
   * `auto` (default): `js` when the saved network only uses what dense-forward.ts supports, else `tfjs`.
   * `js`: throw if the network is not supported. `tfjs`: always tfjs (the reference, and the benchmark
   * baseline).
   */
  engine?: 'auto' | InferenceEngine;
  /**
   * The model directory's files, already read and hashed by the caller (runtime/artifacts.ts
   * readDirHashed): checked against checksum.json from those hashes instead of being read again.
   */
  files?: ReadonlyMap<string, HashedFile>;
}

/** A LoadedModel that also says which engine answers and, after a fallback, why. */
export interface ServingModel extends LoadedModel {
  readonly engine: InferenceEngine;
  /** Why the JS path was not used when `engine` is `tfjs` under `auto`; null otherwise. */
  readonly fallbackReason: string | null;
}

/**
 * Loads a model directory written by trainMlp. Every file is checked against
 * checksum.json first (a mismatch throws an Error naming the file).
 *
 * The network then runs on the plain-JS dense forward pass (no tfjs op
 * dispatch: a 1-row call costs microseconds and allocates only its output).
 * If the saved model contains anything that path does not support — another
 * layer class or activation, quantised or non-float32 weights, a functional
 * topology, an unknown config key — it is not guessed at: the model falls back
 * to tfjs (tf.loadLayersModel from memory, no tfjs-node file IO needed) and
 * `fallbackReason` names what was unsupported. tfjs itself is only imported,
 * and its backend initialised, when a model actually runs on it: a process
 * serving JS-path models never loads @tensorflow/* (see loadedTfjsBackend).
 *
 * The JS path computes in float64 and rounds once to float32, tfjs in float32
 * throughout: outputs agree to float32 rounding (about 1e-7 relative), not bit
 * for bit. A row's JS result does not depend on the batch it is in. On wide
 * batches (roughly 100+ rows) tfjs-wasm's SIMD kernels out-run scalar JS; see
 * bench/inference.ts.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<ServingModel> {
  const engine = options.engine ?? 'auto';
  const { artifacts, meta } = await readModelDir(dir, { files: options.files });

  if (engine !== 'tfjs') {
    const parsed = parseDenseNetwork(artifacts);
    if (parsed.ok) {
      const forward = compileDenseNetwork(parsed.network);
      checkShape(dir, meta, [null, forward.inputs], [null, forward.outputs]);
      return jsModel(meta, forward);
    }
    if (engine === 'js') throw new Error(`model directory ${dir}: the JS inference path cannot run it: ${parsed.reason}`);
    return tfjsModel(dir, meta, artifacts, parsed.reason);
  }
  return tfjsModel(dir, meta, artifacts, null);
}

function checkShape(dir: string, meta: ModelMeta, inShape: readonly (number | null)[] | undefined, outShape: readonly (number | null)[] | undefined): void {
  if (inShape?.[1] !== meta.cols || outShape?.[1] !== meta.numClasses) {
    throw new Error(
      `model directory ${dir}: network shape [${inShape}] -> [${outShape}] does not match meta.json ` +
        `(cols ${meta.cols}, outputs ${meta.numClasses})`,
    );
  }
}

function checkArgs(disposed: boolean, features: Float32Array, rows: number, cols: number): void {
  if (disposed) throw new Error('predict() called on a disposed model');
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
  if (features.length !== rows * cols) {
    throw new Error(`features has ${features.length} values, expected rows*cols = ${rows} * ${cols}`);
  }
}

function jsModel(meta: ModelMeta, compiled: DenseForward): ServingModel {
  const { cols, numClasses } = meta;
  let forward: DenseForward | null = compiled;
  return {
    task: meta.task,
    numClasses,
    cols,
    meta,
    engine: 'js',
    fallbackReason: null,
    predict(features: Float32Array, rows: number): Float32Array {
      // DenseForward.predict validates rows and features.length with the same messages as checkArgs.
      if (forward === null) throw new Error('predict() called on a disposed model');
      return forward.predict(features, rows);
    },
    predictInto(features: Float32Array, rows: number, out: Float32Array): Float32Array {
      if (forward === null) throw new Error('predict() called on a disposed model');
      return forward.predictInto(features, rows, out);
    },
    dispose(): void {
      forward = null; // drops the weights and scratch buffers
    },
  };
}

let tfjsBackend: string | null = null;

/**
 * The tfjs backend a model loaded here runs on, or null while no model has needed tfjs (then this
 * process has not loaded it, through serving at least). Reported by the API's /health.
 */
export function loadedTfjsBackend(): string | null {
  return tfjsBackend;
}

async function tfjsModel(dir: string, meta: ModelMeta, artifacts: ModelArtifacts, fallbackReason: string | null): Promise<ServingModel> {
  // A models/ module, imported on first use: tfjs stays out of a process whose models all run on JS.
  const { loadTfjsNetwork } = await import('../models/tfjs-network.js');
  const network: TfjsNetwork = await loadTfjsNetwork(artifacts);
  tfjsBackend = network.backend;
  try {
    checkShape(dir, meta, network.inputShape, network.outputShape);
  } catch (err) {
    network.dispose();
    throw err;
  }

  const { cols, numClasses } = meta;
  let disposed = false;
  const predict = (features: Float32Array, rows: number): Float32Array => {
    checkArgs(disposed, features, rows, cols);
    if (rows === 0) return new Float32Array(0);
    return network.predict(features, rows, cols);
  };
  return {
    task: meta.task,
    numClasses,
    cols,
    meta,
    engine: 'tfjs',
    fallbackReason,
    predict,
    predictInto(features: Float32Array, rows: number, out: Float32Array): Float32Array {
      const values = predict(features, rows);
      if (out.length < values.length) throw new Error(`out has ${out.length} values, needs rows*outputs = ${values.length}`);
      out.set(values);
      return out;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      network.dispose();
    },
  };
}
