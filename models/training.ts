import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { writeModelDir } from './artifacts.js';
import { CheckpointMismatchError, checkModelSize, TrainingDivergedError } from './training-errors.js';
import { type Task } from '../pipelines/contract.js';
import { initBackend, tf } from './backend.js';
import {
  readCheckpoint,
  removeStaleTempFiles,
  writeCheckpoint,
  type Checkpoint,
  type HistoryEntry,
} from './checkpoint.js';
import { buildMlp, forwardEval, readWeights, writeWeights, type Mlp } from './network.js';
import { MlpTrainer } from './mlp-step.js';
import { encodedSource, matrixSource, type EncodedRows, type RowSource } from './row-source.js';
import { deriveSeed, mulberry32, permutation } from '../data/prng.js';
import { MAX_MODEL_PARAMETERS, ModelSpecSchema, type ModelSpec } from '../pipelines/model-spec.js';


export interface TrainInput {
  /**
   * The rows, in order (time-ordered: the last ones become validation): a row-major rows × cols matrix, or
   * a table's columns with the transform that encodes them a minibatch at a time (models/row-source.ts).
   * Exactly one of the two.
   */
  features?: Float32Array;
  encoded?: EncodedRows;
  rows: number;
  cols: number;
  /** Class index (classification) or target value (regression), one per row. */
  labels: Float32Array;
  task: Task;
  /** Number of classes (>= 2); 1 for regression. */
  numClasses: number;
  spec: ModelSpec;
  /** Where the final model is written (created if missing). */
  modelDir: string;
  /** Per-epoch checkpoints; if it already holds one of this same run, training resumes from it. */
  checkpointDir: string;
  /** Most parameters (weights and biases) the model may have; default MAX_MODEL_PARAMETERS. */
  maxParameters?: number;
}

/**
 * Losses are in training units: mean cross-entropy for classification, MSE of
 * the *standardised* target for regression. `loss` is the optimised objective
 * (with dropout and the L2 penalty), averaged over the epoch's batches;
 * `valLoss` is the plain loss on the validation rows (null without validation).
 */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number | null;
  bestEpoch: number;
}

export interface TrainResult {
  /** Last completed epoch, counting epochs done before a resume. */
  epochsRun: number;
  /** Epoch whose weights were kept (lowest valLoss, or train loss without validation). */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Epoch the checkpoint held when this call started; 0 for a fresh run. */
  resumedFromEpoch: number;
  history: HistoryEntry[];
  /** Training rows processed per second by this call (epochs it ran × train rows / trainSeconds). */
  samplesPerSecond: number;
  backend: string;
  /** Wall time of this call's epoch loop, including validation and checkpoint writes. */
  trainSeconds: number;
}

/** Rows per forward pass when computing validation loss (bounds peak memory). */
const EVAL_CHUNK_ROWS = 8192;
/**
 * When trainMlp runs on a thread that also serves other work (tests, a
 * caller not using the worker runner), give the event loop a turn this often.
 */
const YIELD_EVERY_MS = 50;

/**
 * Trains the MLP described by `input.spec` on the calling thread. Deterministic
 * for a given seed and backend: initialisers, batch order and dropout masks
 * are all seeded, and a resumed run restores weights, Adam state and
 * early-stopping counters so it continues exactly where the checkpoint was.
 * After every epoch the checkpoint is written first, then `onEpoch` is awaited
 * (an error thrown by onEpoch aborts training; the checkpoint survives).
 */
export async function trainMlp(
  input: TrainInput,
  onEpoch: (p: EpochProgress) => void | Promise<void>,
): Promise<TrainResult> {
  const spec = ModelSpecSchema.parse(input.spec);
  const source = checkedSource(input);
  checkModelSize(input.cols, spec.hiddenLayers, input.numClasses, input.maxParameters ?? MAX_MODEL_PARAMETERS);
  const backend = await initBackend();

  const nVal = Math.floor(input.rows * spec.validationFraction);
  const nTrain = input.rows - nVal;
  if (nTrain < 1) throw new Error(`no training rows left after holding out ${nVal} validation rows`);
  const target = input.task === 'regression' ? targetStats(input.labels, nTrain) : null;
  const fingerprint = fingerprintOf(input, source, spec);

  await mkdir(input.checkpointDir, { recursive: true });
  await removeStaleTempFiles(input.checkpointDir);
  const resumed = await readCheckpoint(input.checkpointDir);
  if (resumed && resumed.fingerprint !== fingerprint) {
    throw new CheckpointMismatchError(
      `checkpoint in ${input.checkpointDir} belongs to a different training run ` +
        '(data, shapes or spec differ); use a fresh checkpointDir per run',
    );
  }

  const mlp = buildMlp({
    cols: input.cols,
    task: input.task,
    outputs: input.numClasses,
    spec,
    targetMean: target?.mean,
    targetStd: target?.std,
  });
  let data: TrainData | null = null;

  try {
    data = prepareData(input, source, nTrain, target);
    const state: Omit<Checkpoint, 'weights' | 'optimizer'> = resumed
      ? { ...withoutTrainingState(resumed), history: [...resumed.history] }
      : { fingerprint, epoch: 0, history: [], bestEpoch: 0, bestMonitored: null, wait: 0, stoppedEarly: false, bestWeights: [] };
    if (resumed) writeWeights(mlp, resumed.weights);
    const trainer = new MlpTrainer({ units: [input.cols, ...spec.hiddenLayers, input.numClasses], activation: spec.activation, task: input.task }, readWeights(mlp));
    if (resumed?.optimizer) trainer.restoreAdam(resumed.optimizer);
    const resumedFromEpoch = state.epoch;

    const started = performance.now();
    let epochsThisCall = 0;
    while (!state.stoppedEarly && state.epoch < spec.epochs) {
      const epoch = state.epoch + 1;
      const loss = await runEpoch(trainer, data, spec, epoch);
      // Evaluation, checkpoints and the saved model read the weights from the layers model.
      writeWeights(mlp, trainer.weights);
      if (!Number.isFinite(loss)) {
        throw new TrainingDivergedError(`training diverged at epoch ${epoch} (loss ${loss}); try a lower learningRate or scale the features`);
      }
      const valLoss = evalLoss(mlp, data);
      epochsThisCall++;

      const weights = readWeights(mlp);
      const monitored = valLoss ?? loss;
      if (Number.isFinite(monitored) && (state.bestMonitored === null || monitored < state.bestMonitored)) {
        state.bestMonitored = monitored;
        state.bestEpoch = epoch;
        state.bestWeights = weights;
        state.wait = 0;
      } else {
        state.wait++;
      }
      state.stoppedEarly = spec.earlyStoppingPatience > 0 && state.wait >= spec.earlyStoppingPatience;
      state.epoch = epoch;
      state.history.push({ epoch, loss, valLoss });

      await writeCheckpoint(input.checkpointDir, { ...state, weights, optimizer: trainer.adamState() });
      await onEpoch({ epoch, epochs: spec.epochs, loss, valLoss, bestEpoch: state.bestEpoch });
    }
    const trainSeconds = (performance.now() - started) / 1000;

    // Keep the best epoch's weights (Keras' restore_best_weights), also when
    // early stopping is disabled: validation picks the epoch either way.
    if (state.bestWeights.length > 0) writeWeights(mlp, state.bestWeights);
    await writeModelDir(input.modelDir, mlp.model, {
      formatVersion: 1,
      task: input.task,
      numClasses: input.numClasses,
      cols: input.cols,
      targetMean: target?.mean ?? null,
      targetStd: target?.std ?? null,
      backend,
      spec,
      trainRows: nTrain,
      valRows: nVal,
      epochsRun: state.epoch,
      bestEpoch: state.bestEpoch,
    });

    return {
      epochsRun: state.epoch,
      bestEpoch: state.bestEpoch,
      stoppedEarly: state.stoppedEarly,
      resumedFromEpoch,
      history: state.history,
      samplesPerSecond: trainSeconds > 0 ? (epochsThisCall * nTrain) / trainSeconds : 0,
      backend,
      trainSeconds,
    };
  } finally {
    if (data) tf.dispose(data.val.flatMap((c) => [c.x, c.y]));
    mlp.model.dispose();
  }
}

/** The checkpoint minus the parts that are loaded into the model/optimizer. */
function withoutTrainingState(cp: Checkpoint): Omit<Checkpoint, 'weights' | 'optimizer'> {
  const { weights: _weights, optimizer: _optimizer, ...rest } = cp;
  return rest;
}

/**
 * Training rows stay in JS memory and each batch is copied into a fresh small
 * tensor. Slicing batches out of one big tensor looks cheaper but is not: the
 * wasm backend's slice costs O(whole tensor) (≈6 ms per batch for 16k×200),
 * which dominated the epoch time.
 */
interface TrainData {
  source: RowSource;
  cols: number;
  nTrain: number;
  /** Label targets for rows 0..nTrain: class indices, or the standardised target. */
  targets: Float32Array;
  task: Task;
  numClasses: number;
  /** Validation rows as tensors in chunks of EVAL_CHUNK_ROWS, built once. */
  val: { x: tf.Tensor2D; y: tf.Tensor2D; rows: number }[];
}

function prepareData(input: TrainInput, source: RowSource, nTrain: number, target: { mean: number; std: number } | null): TrainData {
  const { labels, rows, cols } = input;
  const targets = new Float32Array(rows);
  for (let i = 0; i < rows; i++) targets[i] = target ? (labels[i] - target.mean) / target.std : labels[i];
  const data: TrainData = { source, cols, nTrain, targets, task: input.task, numClasses: input.numClasses, val: [] };
  for (let start = nTrain; start < rows; start += EVAL_CHUNK_ROWS) {
    const end = Math.min(rows, start + EVAL_CHUNK_ROWS);
    const chunk = new Float32Array((end - start) * cols);
    source.fill(Int32Array.from({ length: end - start }, (_, i) => start + i), end - start, chunk);
    const x = tf.tensor2d(chunk, [end - start, cols]);
    data.val.push({ x, y: targetTensor(data, (i) => start + i, end - start), rows: end - start });
  }
  return data;
}

/** Target tensor for `size` rows, row r being data row rowAt(r): one-hot [size, K] or [size, 1]. */
function targetTensor(data: TrainData, rowAt: (r: number) => number, size: number): tf.Tensor2D {
  if (data.task === 'classification') {
    const k = data.numClasses;
    const y = new Float32Array(size * k);
    for (let r = 0; r < size; r++) y[r * k + data.targets[rowAt(r)]] = 1;
    return tf.tensor2d(y, [size, k]);
  }
  const y = new Float32Array(size);
  for (let r = 0; r < size; r++) y[r] = data.targets[rowAt(r)];
  return tf.tensor2d(y, [size, 1]);
}

/**
 * The batch's transpose (cols × rows), for the weight gradient's plain matrix product (see mlp-step.ts), a
 * block of rows at a time: each column's writes for the block are contiguous and the block's rows stay in
 * cache. Row by row, every write strides a whole column apart: 0.41 ms against 0.12 ms for 1,024 rows of 72.
 */
function transposeInto(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const BLOCK = 16;
  for (let start = 0; start < rows; start += BLOCK) {
    const end = Math.min(rows, start + BLOCK);
    for (let c = 0; c < cols; c++) {
      const o = c * rows;
      for (let r = start; r < end; r++) out[o + r] = x[r * cols + c];
    }
  }
}

/** One pass over the training rows in a seeded order; returns the mean batch objective. */
async function runEpoch(trainer: MlpTrainer, data: TrainData, spec: ModelSpec, epoch: number): Promise<number> {
  const { source, cols, nTrain: n } = data;
  // Shuffle with our PRNG, derived from seed+epoch so a resume needs no PRNG state.
  const order = permutation(n, mulberry32(deriveSeed(spec.seed, 2, epoch)));
  const k = data.task === 'classification' ? data.numClasses : 1;
  // One set of batch buffers for the epoch (the last batch may use a prefix).
  const xBuf = new Float32Array(spec.batchSize * cols);
  const xtBuf = new Float32Array(spec.batchSize * cols);
  const yBuf = new Float32Array(spec.batchSize * k);
  const step = { learningRate: spec.learningRate, dropout: spec.dropout, l2: spec.l2 };

  let lossSum = 0;
  let lastYield = performance.now();
  for (let batch = 0, start = 0; start < n; batch++, start += spec.batchSize) {
    const size = Math.min(spec.batchSize, n - start);
    const x = xBuf.subarray(0, size * cols);
    const xt = xtBuf.subarray(0, size * cols);
    const y = yBuf.subarray(0, size * k);
    y.fill(0);
    const rows = order.subarray(start, start + size);
    source.fill(rows, size, x);
    transposeInto(x, size, cols, xt);
    for (let r = 0; r < size; r++) {
      const row = rows[r];
      if (k > 1) y[r * k + data.targets[row]] = 1;
      else y[r] = data.targets[row];
    }
    lossSum += trainer.step(x, xt, y, size, step, (layer) => deriveSeed(spec.seed, 3, epoch, batch, layer)) * size;

    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  return lossSum / n;
}

function dataLoss(task: Task, y: tf.Tensor2D, out: tf.Tensor2D): tf.Scalar {
  return task === 'classification'
    ? (tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar)
    : (tf.losses.meanSquaredError(y, out) as tf.Scalar);
}

/** Mean plain loss over the validation rows; null when there are none. */
function evalLoss(mlp: Mlp, data: TrainData): number | null {
  if (data.val.length === 0) return null;
  let sum = 0;
  let rows = 0;
  for (const chunk of data.val) {
    sum += tf.tidy(() => dataLoss(data.task, chunk.y, forwardEval(mlp, chunk.x)).dataSync()[0] * chunk.rows);
    rows += chunk.rows;
  }
  return sum / rows;
}

function targetStats(labels: Float32Array, nTrain: number): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < nTrain; i++) sum += labels[i];
  const mean = sum / nTrain;
  let sq = 0;
  for (let i = 0; i < nTrain; i++) sq += (labels[i] - mean) ** 2;
  const std = Math.sqrt(sq / nTrain);
  // A constant target would divide by zero; std 1 keeps it a no-op scale.
  return { mean, std: std > 1e-12 ? std : 1 };
}

/** Hash of everything that must match for a checkpoint to be resumable. */
function fingerprintOf(input: TrainInput, source: RowSource, spec: ModelSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, task: input.task, numClasses: input.numClasses, rows: input.rows, cols: input.cols, spec }));
  source.digest(h);
  h.update(new Uint8Array(input.labels.buffer, input.labels.byteOffset, input.labels.byteLength));
  return h.digest('hex');
}

/** The input checked, and its rows as a RowSource. */
function checkedSource(input: TrainInput): RowSource {
  const { rows, cols, features, encoded, labels, task, numClasses } = input;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`cols must be a positive integer, got ${cols}`);
  if ((features === undefined) === (encoded === undefined)) throw new Error('give the rows as features or as encoded, one of the two');
  let source: RowSource;
  if (features) {
    if (features.length !== rows * cols) {
      throw new Error(`features has ${features.length} values, expected rows*cols = ${rows * cols}`);
    }
    for (let i = 0; i < features.length; i++) {
      if (!Number.isFinite(features[i])) {
        throw new Error(`features contain a non-finite value at row ${Math.floor(i / cols)}, col ${i % cols}`);
      }
    }
    source = matrixSource(features, rows, cols);
  } else {
    // The transform's outputs are finite by construction (missing values are imputed).
    if (encoded!.index.length !== rows) throw new Error(`encoded.index has ${encoded!.index.length} rows, expected ${rows}`);
    const width = encoded!.transform.outputNames.length;
    if (width !== cols) throw new Error(`the transform encodes ${width} columns, expected cols = ${cols}`);
    source = encodedSource(encoded!);
  }
  if (labels.length !== rows) throw new Error(`labels has ${labels.length} values, expected ${rows}`);
  if (task === 'classification') {
    if (!Number.isInteger(numClasses) || numClasses < 2) {
      throw new Error(`classification needs numClasses >= 2, got ${numClasses}`);
    }
    for (let i = 0; i < rows; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
        throw new Error(`label at row ${i} is ${c}; expected a class index in [0, ${numClasses})`);
      }
    }
  } else if (task === 'regression') {
    if (numClasses !== 1) throw new Error(`regression needs numClasses = 1, got ${numClasses}`);
    for (let i = 0; i < rows; i++) {
      if (!Number.isFinite(labels[i])) throw new Error(`label at row ${i} is not finite`);
    }
  } else {
    throw new Error(`unknown task ${String(task)}`);
  }
  return source;
}
