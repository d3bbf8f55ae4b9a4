// One minibatch step of the MLP, written out by hand: forward, loss, backward and Adam.
//
// Why not tfjs's own optimizer.minimize: measured on the wasm backend (2 cores, batch 1024, 75 inputs,
// one hidden layer of 32), a step took 3.2 ms, and 1.9 ms of it were matrix products with a transposed
// operand, which the wasm backend runs ~8× slower than plain ones (x^T·d 1.45 ms against 0.18 ms for
// x·w of the same size). Here every product is a plain one: the batch's transpose is built in JS while
// the batch is gathered, the other transposes are of small matrices, and Adam updates a few thousand
// weights in JS instead of dispatching a dozen tfjs ops per variable.
import type { Task } from '../pipelines/contract.js';
import type { AdamState } from './checkpoint.js';
import { tf } from './backend.js';

export interface MlpShape {
  /** Units per layer: inputs, hidden layers…, outputs (classes, or 1 for a regression). */
  units: number[];
  activation: 'relu' | 'tanh';
  task: Task;
}

export interface StepOptions {
  learningRate: number;
  dropout: number;
  l2: number;
}

/** Adam's constants, as tfjs's AdamOptimizer defaults them (epsilon: the float32 backend's). */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

/**
 * The trainer's weights and Adam state in JS memory: kernels row-major [in, out], biases [out], in the
 * order kernel_1, bias_1, kernel_2, … — the order of the layers model's variables (network.ts).
 */
export class MlpTrainer {
  readonly weights: Float32Array[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private iterations = 0;
  private accBeta1 = BETA1;
  private accBeta2 = BETA2;

  constructor(private readonly shape: MlpShape, weights: Float32Array[]) {
    const layers = shape.units.length - 1;
    if (weights.length !== 2 * layers) throw new Error(`expected ${2 * layers} weight arrays, got ${weights.length}`);
    this.weights = weights.map((w) => Float32Array.from(w));
    this.m = this.weights.map((w) => new Float32Array(w.length));
    this.v = this.weights.map((w) => new Float32Array(w.length));
  }

  /** Adam's state, in the checkpoint's form (first moments then second moments). */
  adamState(): AdamState {
    return { iterations: this.iterations, accBeta1: this.accBeta1, accBeta2: this.accBeta2, moments: [...this.m, ...this.v].map((a) => Float32Array.from(a)) };
  }

  restoreAdam(state: AdamState): void {
    const n = this.weights.length;
    if (state.moments.length !== 2 * n) throw new Error(`checkpoint optimizer state has ${state.moments.length} moments, model needs ${2 * n}`);
    state.moments.forEach((moment, i) => {
      const into = i < n ? this.m[i] : this.v[i - n];
      if (moment.length !== into.length) throw new Error(`checkpoint moment ${i} has ${moment.length} values, model needs ${into.length}`);
      into.set(moment);
    });
    this.iterations = state.iterations;
    this.accBeta1 = state.accBeta1;
    this.accBeta2 = state.accBeta2;
  }

  /**
   * One step on a batch: `x` rows × inputs, `xT` the same transposed (inputs × rows), `y` one-hot rows ×
   * classes (classification) or rows × 1 targets. Returns the batch's objective (mean loss plus the L2
   * penalty). `dropoutSeed(layer)` seeds each hidden layer's mask, so a step is reproducible.
   */
  step(x: Float32Array, xT: Float32Array, y: Float32Array, rows: number, opts: StepOptions, dropoutSeed: (layer: number) => number): number {
    const { loss, grads } = this.gradients(x, xT, y, rows, opts.dropout, dropoutSeed);
    // The penalty of the weights the gradients were taken at (before this step's update).
    const objective = opts.l2 > 0 ? loss + opts.l2 * this.kernelSquares() : loss;
    this.applyAdam(grads, opts);
    return objective;
  }

  /** The batch's mean loss (without the L2 penalty) and its gradient for each weight array. */
  gradients(x: Float32Array, xT: Float32Array, y: Float32Array, rows: number, dropout: number, dropoutSeed: (layer: number) => number): { loss: number; grads: Float32Array[] } {
    const { units, activation } = this.shape;
    const layers = units.length - 1;
    const outputs = units[layers];
    const grads: Float32Array[] = new Array(2 * layers);
    const kept: tf.Tensor[] = [];
    try {
      // Forward on the device, keeping each layer's input (after dropout) and activation.
      const inputs: tf.Tensor2D[] = [track(kept, tf.tensor2d(x, [rows, units[0]]))];
      const activations: tf.Tensor2D[] = [];
      const masks: (tf.Tensor2D | null)[] = [];
      for (let l = 0; l < layers - 1; l++) {
        const a = track(kept, tf.tidy(() => {
          // One fused kernel for product, bias and relu (tfjs fuses no tanh).
          const z = tf.fused.matMul({
            a: inputs[l], b: tf.tensor2d(this.weights[2 * l], [units[l], units[l + 1]]), bias: tf.tensor1d(this.weights[2 * l + 1]), activation: activation === 'relu' ? 'relu' : 'linear',
          });
          return (activation === 'relu' ? z : tf.tanh(z)) as tf.Tensor2D;
        }));
        activations.push(a);
        let mask: tf.Tensor2D | null = null;
        if (dropout > 0) {
          // Inverted dropout: kept units scaled by 1/(1-rate), so inference needs no rescaling.
          mask = track(kept, tf.tidy(() => tf.div(tf.cast(tf.greaterEqual(tf.randomUniform([rows, units[l + 1]], 0, 1, 'float32', dropoutSeed(l)), dropout), 'float32'), 1 - dropout) as tf.Tensor2D));
        }
        masks.push(mask);
        inputs.push(mask ? track(kept, tf.mul(a, mask)) : a);
      }
      const last = layers - 1;
      const logits = tf.tidy(() => tf.fused.matMul({ a: inputs[last], b: tf.tensor2d(this.weights[2 * last], [units[last], outputs]), bias: tf.tensor1d(this.weights[2 * last + 1]) }));
      const out = logits.dataSync() as Float32Array;
      logits.dispose();

      // The loss and its gradient at the output, in JS: a rows × outputs matrix is small, and a dozen
      // tiny device ops (log-softmax, its gradient) cost more in dispatch than the arithmetic.
      const dOut = new Float32Array(rows * outputs);
      const dOutT = new Float32Array(rows * outputs);
      const loss = this.shape.task === 'classification' ? softmaxCrossEntropy(out, y, rows, outputs, dOut) : meanSquaredError(out, y, rows, dOut);
      for (let r = 0; r < rows; r++) for (let j = 0; j < outputs; j++) dOutT[j * rows + r] = dOut[r * outputs + j];

      // Backward, last layer first; every matrix product a plain one (see the header).
      let d = track(kept, tf.tensor2d(dOut, [rows, outputs]));
      let dT: tf.Tensor2D | null = track(kept, tf.tensor2d(dOutT, [outputs, rows]));
      const ones = track(kept, tf.ones([1, rows]) as tf.Tensor2D);
      for (let l = last; l >= 0; l--) {
        const fanIn = units[l];
        const fanOut = units[l + 1];
        if (l === 0) grads[0] = download(tf.tidy(() => tf.matMul(tf.tensor2d(xT, [fanIn, rows]), d)));
        else if (dT) grads[2 * l] = transposeOf(download(tf.matMul(dT, inputs[l])), fanOut, fanIn);
        else grads[2 * l] = download(tf.tidy(() => tf.matMul(tf.transpose(inputs[l]), d)));
        grads[2 * l + 1] = l === last ? columnSums(dOut, rows, outputs) : download(tf.matMul(ones, d));
        if (l === 0) break;
        const kernelT = tf.tensor2d(transposeOf(this.weights[2 * l], fanIn, fanOut), [fanOut, fanIn]);
        const mask = masks[l - 1];
        const a = activations[l - 1];
        d = track(kept, tf.tidy(() => {
          let dIn = tf.matMul(d, kernelT);
          if (mask) dIn = tf.mul(dIn, mask);
          return (activation === 'relu' ? tf.mul(dIn, tf.step(a)) : tf.mul(dIn, tf.sub(1, tf.square(a)))) as tf.Tensor2D;
        }));
        kernelT.dispose();
        dT = null; // deeper layers transpose their input instead
      }
      return { loss, grads };
    } finally {
      tf.dispose(kept);
    }
  }

  private kernelSquares(): number {
    let s = 0;
    for (let i = 0; i < this.weights.length; i += 2) for (const w of this.weights[i]) s += w * w;
    return s;
  }

  private applyAdam(grads: Float32Array[], opts: StepOptions): void {
    const lr = opts.learningRate;
    const c1 = 1 - this.accBeta1;
    const c2 = 1 - this.accBeta2;
    for (let i = 0; i < this.weights.length; i++) {
      const w = this.weights[i];
      const g = grads[i];
      const m = this.m[i];
      const v = this.v[i];
      // The L2 penalty l2·Σw² of a kernel adds 2·l2·w to its gradient; biases carry none.
      const decay = i % 2 === 0 ? 2 * opts.l2 : 0;
      for (let k = 0; k < w.length; k++) {
        const gk = g[k] + decay * w[k];
        const mk = BETA1 * m[k] + (1 - BETA1) * gk;
        const vk = BETA2 * v[k] + (1 - BETA2) * gk * gk;
        m[k] = mk;
        v[k] = vk;
        w[k] -= (lr * (mk / c1)) / (Math.sqrt(vk / c2) + EPSILON);
      }
    }
    this.iterations++;
    this.accBeta1 *= BETA1;
    this.accBeta2 *= BETA2;
  }
}

function track<T extends tf.Tensor>(kept: tf.Tensor[], t: T): T {
  kept.push(t);
  return t;
}

/** The tensor's values (a copy of the backend's), and the tensor disposed. */
function download(t: tf.Tensor): Float32Array {
  try {
    return Float32Array.from(t.dataSync() as Float32Array);
  } finally {
    t.dispose();
  }
}

/** The row-major rows × cols matrix `m` transposed (cols × rows). */
function transposeOf(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

function columnSums(m: Float32Array, rows: number, cols: number): Float32Array {
  const sums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sums[c] += m[r * cols + c];
  return Float32Array.from(sums);
}

/** Mean cross-entropy of softmax(logits) against one-hot `y`; its gradient (÷ rows) into `d`. */
function softmaxCrossEntropy(logits: Float32Array, y: Float32Array, rows: number, k: number, d: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[o + j] - max);
    const logSum = max + Math.log(sum);
    for (let j = 0; j < k; j++) {
      const logP = logits[o + j] - logSum;
      total -= y[o + j] * logP;
      d[o + j] = (Math.exp(logP) - y[o + j]) / rows;
    }
  }
  return total / rows;
}

/** Mean squared error of `out` against `y` (rows × 1); its gradient (÷ rows) into `d`. */
function meanSquaredError(out: Float32Array, y: Float32Array, rows: number, d: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const diff = out[r] - y[r];
    total += diff * diff;
    d[r] = (2 * diff) / rows;
  }
  return total / rows;
}
