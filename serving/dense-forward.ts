// Plain-JS forward pass for the dense MLPs the trainer saves (see network.ts): no tfjs op dispatch, no
// tensors, no per-call allocation besides the output. Two parts:
//
//   parseDenseNetwork(artifacts)  reads a tfjs layers-model (topology + weight specs + weight bytes, as
//                                 readModelDir returns them) into a DenseNetworkSpec, or says exactly why
//                                 it cannot (anything outside a strict whitelist) so the caller falls back
//                                 to tfjs instead of guessing;
//   compileDenseNetwork(spec)     turns that spec into a DenseForward with preallocated scratch buffers.
//
// Numerics: weights are float32 in the file and are widened exactly to float64; every sum, activation and
// softmax is computed in float64 and rounded to float32 once, when written to the output. tfjs computes in
// float32 throughout, so the two agree to float32 rounding of tfjs's own result (≈1e-7 relative), not
// bit for bit.
//
// This module has no runtime dependency (not even tfjs) so it can run anywhere a Float32Array can.

export type DenseActivation = 'linear' | 'relu' | 'tanh' | 'softmax';
export const DENSE_ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'tanh', 'softmax'];

/** `y = activation(x · kernel + bias)`, kernel in tfjs layout: [inputs, units], row-major. */
export interface DenseLayerSpec {
  kind: 'dense';
  name: string;
  inputs: number;
  units: number;
  kernel: Float32Array;
  /** null when the layer was saved with use_bias: false. */
  bias: Float32Array | null;
  activation: DenseActivation;
}

/** An element-wise (or, for softmax, per-row) activation with no weights. */
export interface ActivationLayerSpec {
  kind: 'activation';
  name: string;
  activation: DenseActivation;
}

export type ForwardLayerSpec = DenseLayerSpec | ActivationLayerSpec;

/** A sequential stack of layers, in the saved order, on rows of `inputs` values. */
export interface DenseNetworkSpec {
  inputs: number;
  layers: ForwardLayerSpec[];
}

/** The parts of tf.io.ModelArtifacts this module reads (tf.io.ModelArtifacts is assignable to it). */
export interface LayersModelArtifacts {
  modelTopology?: unknown;
  weightSpecs?: readonly { name: string; shape: number[]; dtype: string; quantization?: unknown; group?: unknown }[];
  weightData?: ArrayBuffer | ArrayBuffer[];
}

export type ParseResult = { ok: true; network: DenseNetworkSpec } | { ok: false; reason: string };

// Dense config keys that do not change what the layer computes at inference: initialisers, regularisers
// (loss terms) and constraints (applied after optimiser steps) only matter while training.
const DENSE_TRAINING_ONLY_KEYS = new Set([
  'kernel_initializer',
  'bias_initializer',
  'kernel_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'kernel_constraint',
  'bias_constraint',
]);
const COMMON_KEYS = new Set(['name', 'trainable', 'dtype', 'batch_input_shape']);

/**
 * Reads a tfjs layers-model into a DenseNetworkSpec. Supported, and nothing else:
 *   - a `Sequential` topology whose first layer declares `batch_input_shape: [null, n]`;
 *   - `Dense` layers (any units, with or without bias, activation linear|relu|tanh|softmax, float32);
 *   - `Activation` layers with one of those activations;
 *   - weights named `<layer>/kernel` and `<layer>/bias` (how tfjs matches them on load), float32,
 *     unquantised, with the shapes the topology implies, and no weight left unused.
 * Anything else (another layer class, another activation, an unknown config key, a functional model,
 * quantised or non-float32 weights, a shape mismatch) returns `{ok: false, reason}` naming it.
 */
export function parseDenseNetwork(artifacts: LayersModelArtifacts): ParseResult {
  try {
    return { ok: true, network: parseOrThrow(artifacts) };
  } catch (err) {
    if (err instanceof Unsupported) return { ok: false, reason: err.message };
    throw err;
  }
}

class Unsupported extends Error {}

function unsupported(msg: string): never {
  throw new Unsupported(msg);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseActivation(v: unknown, where: string): DenseActivation {
  if (typeof v === 'string' && (DENSE_ACTIVATIONS as readonly string[]).includes(v)) return v as DenseActivation;
  return unsupported(`${where}: activation ${JSON.stringify(v)} (the JS path supports ${DENSE_ACTIVATIONS.join(', ')})`);
}

function parseOrThrow(artifacts: LayersModelArtifacts): DenseNetworkSpec {
  const topology = artifacts.modelTopology;
  if (!isRecord(topology)) unsupported('model topology is not a JSON object');
  // A Sequential saved by tfjs-layers (possibly nested under `model_config` in Keras-style files).
  const root = isRecord(topology.model_config) ? topology.model_config : topology;
  if (root.class_name !== 'Sequential') unsupported(`model class ${JSON.stringify(root.class_name)} (only Sequential)`);
  const config = root.config;
  if (!isRecord(config) || !Array.isArray(config.layers)) unsupported('Sequential config has no layers array');
  const rawLayers = config.layers as unknown[];
  if (rawLayers.length === 0) unsupported('model has no layers');

  const weights = decodeFloat32Weights(artifacts);
  const used = new Set<string>();
  const take = (name: string, shape: number[]): Float32Array => {
    const w = weights.get(name);
    if (!w) unsupported(`weight ${name} is missing from the weights manifest`);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      unsupported(`weight ${name} has shape [${w.shape}], expected [${shape}]`);
    }
    used.add(name);
    return w.values;
  };

  let inputs = 0;
  let width = 0;
  const layers: ForwardLayerSpec[] = [];
  rawLayers.forEach((raw, index) => {
    if (!isRecord(raw) || !isRecord(raw.config)) unsupported(`layer ${index} is not a {class_name, config} object`);
    const cls = raw.class_name;
    const cfg = raw.config;
    const name = typeof cfg.name === 'string' ? cfg.name : unsupported(`layer ${index} has no name`);
    const where = `layer ${name} (${String(cls)})`;

    if (cfg.dtype !== undefined && cfg.dtype !== 'float32') unsupported(`${where}: dtype ${JSON.stringify(cfg.dtype)}`);
    if (index === 0) {
      const shape = cfg.batch_input_shape;
      if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== null || !Number.isInteger(shape[1]) || shape[1] < 1) {
        unsupported(`${where}: batch_input_shape ${JSON.stringify(shape)} (expected [null, n])`);
      }
      inputs = shape[1] as number;
      width = inputs;
    } else if (cfg.batch_input_shape !== undefined) {
      unsupported(`${where}: batch_input_shape on a layer other than the first`);
    }

    if (cls === 'Dense') {
      for (const key of Object.keys(cfg)) {
        if (!COMMON_KEYS.has(key) && !DENSE_TRAINING_ONLY_KEYS.has(key) && !['units', 'activation', 'use_bias', 'input_dim'].includes(key)) {
          unsupported(`${where}: config key ${key}`);
        }
      }
      const units = cfg.units;
      if (!Number.isInteger(units) || (units as number) < 1) unsupported(`${where}: units ${JSON.stringify(units)}`);
      if (cfg.input_dim !== undefined && cfg.input_dim !== null && cfg.input_dim !== width) {
        unsupported(`${where}: input_dim ${JSON.stringify(cfg.input_dim)} but the previous layer gives ${width}`);
      }
      if (typeof cfg.use_bias !== 'boolean') unsupported(`${where}: use_bias ${JSON.stringify(cfg.use_bias)}`);
      const activation = parseActivation(cfg.activation, where);
      const u = units as number;
      layers.push({
        kind: 'dense',
        name,
        inputs: width,
        units: u,
        kernel: take(`${name}/kernel`, [width, u]),
        bias: cfg.use_bias ? take(`${name}/bias`, [u]) : null,
        activation,
      });
      width = u;
    } else if (cls === 'Activation') {
      for (const key of Object.keys(cfg)) {
        if (!COMMON_KEYS.has(key) && key !== 'activation') unsupported(`${where}: config key ${key}`);
      }
      layers.push({ kind: 'activation', name, activation: parseActivation(cfg.activation, where) });
    } else {
      unsupported(`${where}: layer class ${JSON.stringify(cls)} (the JS path supports Dense and Activation)`);
    }
  });

  const unused = [...weights.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) unsupported(`weights not used by any supported layer: ${unused.join(', ')}`);
  return { inputs, layers };
}

/** Weight values by name, in manifest order, each copied into its own Float32Array. */
function decodeFloat32Weights(artifacts: LayersModelArtifacts): Map<string, { shape: number[]; values: Float32Array }> {
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const parts = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p), at);
    at += p.byteLength;
  }

  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization !== undefined) unsupported(`weight ${spec.name} is quantised`);
    if (spec.dtype !== 'float32') unsupported(`weight ${spec.name} has dtype ${spec.dtype}`);
    if (spec.group !== undefined) unsupported(`weight ${spec.name} declares a weight group`);
    if (out.has(spec.name)) unsupported(`weight ${spec.name} appears twice in the manifest`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const byteLength = size * 4;
    if (offset + byteLength > total) unsupported(`weight data is ${total} bytes, too short for ${spec.name}`);
    // slice() copies, so the values are 4-byte aligned whatever the offset and independent of `bytes`.
    const values = new Float32Array(bytes.buffer.slice(offset, offset + byteLength));
    out.set(spec.name, { shape: spec.shape, values });
    offset += byteLength;
  }
  if (offset !== total) unsupported(`weight data is ${total} bytes but the manifest describes ${offset}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Compiled forward pass

const ACT_LINEAR = 0;
const ACT_RELU = 1;
const ACT_TANH = 2;
const ACT_SOFTMAX = 3;
const ACT_CODE: Record<DenseActivation, number> = { linear: ACT_LINEAR, relu: ACT_RELU, tanh: ACT_TANH, softmax: ACT_SOFTMAX };

/** One step of the compiled pass. Every step has the same shape so the hot loop stays monomorphic. */
interface Step {
  /** 0 for an activation-only step (no matmul). */
  units: number;
  inputs: number;
  /** Kernel transposed to [units, inputs] so each output is a contiguous dot product. */
  weights: Float64Array;
  /** Zeros when the layer has no bias. */
  bias: Float64Array;
  act: number;
  /** Width of the values the activation applies to. */
  width: number;
}

export interface CompileOptions {
  /**
   * Rows pushed through all layers together. Default: as many (a multiple of 4, 4..256) as keep the two
   * activation buffers within ~32 KiB, i.e. in L1/L2 cache, whatever the batch size.
   */
  blockRows?: number;
}

/**
 * A compiled network. It owns its scratch buffers, so calls must not overlap — which they cannot: a call
 * is synchronous and never yields, and a worker thread has to load its own copy anyway.
 */
export interface DenseForward {
  readonly inputs: number;
  readonly outputs: number;
  readonly blockRows: number;
  /** rows*inputs row-major features -> a new rows*outputs Float32Array. Allocates only that array. */
  predict(features: Float32Array, rows: number): Float32Array;
  /** Same, into `out` (length >= rows*outputs); allocates nothing. Returns `out`. */
  predictInto(features: Float32Array, rows: number, out: Float32Array): Float32Array;
}

/**
 * Compiles `spec` (validated here: shapes must chain) into a DenseForward. The layer order and shapes are
 * kept exactly; the only rewrite is running an Activation layer that follows a linear Dense inside that
 * Dense step, which computes the same values.
 */
export function compileDenseNetwork(spec: DenseNetworkSpec, options: CompileOptions = {}): DenseForward {
  if (!Number.isInteger(spec.inputs) || spec.inputs < 1) throw new Error(`inputs must be a positive integer, got ${spec.inputs}`);
  const steps: Step[] = [];
  let width = spec.inputs;
  let maxWidth = width;
  for (const layer of spec.layers) {
    const act = ACT_CODE[layer.activation];
    if (act === undefined) throw new Error(`layer ${layer.name}: unsupported activation ${String(layer.activation)}`);
    if (layer.kind === 'dense') {
      const { inputs, units, kernel, bias } = layer;
      if (inputs !== width) throw new Error(`layer ${layer.name}: expects ${inputs} inputs, previous layer gives ${width}`);
      if (!Number.isInteger(units) || units < 1) throw new Error(`layer ${layer.name}: units must be a positive integer`);
      if (kernel.length !== inputs * units) throw new Error(`layer ${layer.name}: kernel has ${kernel.length} values, expected ${inputs}*${units}`);
      if (bias && bias.length !== units) throw new Error(`layer ${layer.name}: bias has ${bias.length} values, expected ${units}`);
      const weights = new Float64Array(units * inputs);
      for (let i = 0; i < inputs; i++) for (let j = 0; j < units; j++) weights[j * inputs + i] = kernel[i * units + j];
      const b = new Float64Array(units);
      if (bias) b.set(bias);
      steps.push({ units, inputs, weights, bias: b, act, width: units });
      width = units;
      maxWidth = Math.max(maxWidth, units);
    } else if (act !== ACT_LINEAR) {
      const prev = steps[steps.length - 1];
      if (prev && prev.units > 0 && prev.act === ACT_LINEAR) prev.act = act;
      else steps.push({ units: 0, inputs: width, weights: new Float64Array(0), bias: new Float64Array(0), act, width });
    }
  }
  return new CompiledDense(spec.inputs, width, maxWidth, steps, options.blockRows);
}

class CompiledDense implements DenseForward {
  readonly blockRows: number;
  private readonly steps: Step[];
  private readonly bufA: Float64Array;
  private readonly bufB: Float64Array;

  constructor(
    readonly inputs: number,
    readonly outputs: number,
    maxWidth: number,
    steps: Step[],
    blockRows?: number,
  ) {
    if (blockRows !== undefined && (!Number.isInteger(blockRows) || blockRows < 1)) {
      throw new Error(`blockRows must be a positive integer, got ${blockRows}`);
    }
    this.blockRows = blockRows ?? Math.max(4, Math.min(256, Math.floor(2048 / maxWidth / 4) * 4));
    this.steps = steps;
    this.bufA = new Float64Array(this.blockRows * maxWidth);
    this.bufB = new Float64Array(this.blockRows * maxWidth);
  }

  predict(features: Float32Array, rows: number): Float32Array {
    this.check(features, rows);
    return this.run(features, rows, new Float32Array(rows * this.outputs));
  }

  predictInto(features: Float32Array, rows: number, out: Float32Array): Float32Array {
    this.check(features, rows);
    if (out.length < rows * this.outputs) throw new Error(`out has ${out.length} values, needs rows*outputs = ${rows * this.outputs}`);
    return this.run(features, rows, out);
  }

  private check(features: Float32Array, rows: number): void {
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
    if (features.length !== rows * this.inputs) {
      throw new Error(`features has ${features.length} values, expected rows*cols = ${rows} * ${this.inputs}`);
    }
  }

  private run(features: Float32Array, rows: number, out: Float32Array): Float32Array {
    const cols = this.inputs;
    const outputs = this.outputs;

    const steps = this.steps;
    const nSteps = steps.length;
    const block = this.blockRows;
    for (let r0 = 0; r0 < rows; r0 += block) {
      const nb = rows - r0 < block ? rows - r0 : block;
      let src = this.bufA;
      let dst = this.bufB;
      // Widen the block's features to float64 once, so every step reads and writes Float64Arrays only.
      const base = r0 * cols;
      const n = nb * cols;
      for (let k = 0; k < n; k++) src[k] = features[base + k];
      for (let s = 0; s < nSteps; s++) {
        const step = steps[s];
        if (step.units > 0) {
          dense(src, dst, nb, step.inputs, step.units, step.weights, step.bias);
          const t = src;
          src = dst;
          dst = t;
        }
        if (step.act !== ACT_LINEAR) activate(src, nb, step.width, step.act);
      }
      const ob = r0 * outputs;
      const m = nb * outputs;
      for (let k = 0; k < m; k++) out[ob + k] = src[k];
    }
    return out;
  }
}

/**
 * dst[r, j] = (Σ_i src[r, i] * w[j, i]) + bias[j] for nb rows, w being the kernel transposed to [units,
 * inputs]. Register tiles: 4 rows × 4 units (16 independent sums; each loaded input feeds 4 sums and
 * each loaded weight 4 rows), then 4 rows × 1 unit for leftover units, then 1 row × 4 units and 1 × 1
 * for leftover rows. Every tile sums i = 0, 1, … in the same order and adds the bias last, so a row's
 * result is bit-identical whichever tile (hence whatever batch size or position) computed it.
 */
function dense(src: Float64Array, dst: Float64Array, nb: number, inputs: number, units: number, w: Float64Array, bias: Float64Array): void {
  let r = 0;
  for (; r + 4 <= nb; r += 4) {
    const x0 = r * inputs;
    const x1 = x0 + inputs;
    const x2 = x1 + inputs;
    const x3 = x2 + inputs;
    const y0 = r * units;
    const y1 = y0 + units;
    const y2 = y1 + units;
    const y3 = y2 + units;
    let j = 0;
    for (; j + 4 <= units; j += 4) {
      const wa = j * inputs;
      const wb = wa + inputs;
      const wc = wb + inputs;
      const wd = wc + inputs;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      for (let i = 0; i < inputs; i++) {
        const p0 = src[x0 + i];
        const p1 = src[x1 + i];
        const p2 = src[x2 + i];
        const p3 = src[x3 + i];
        let q = w[wa + i];
        a0 += p0 * q; a1 += p1 * q; a2 += p2 * q; a3 += p3 * q;
        q = w[wb + i];
        b0 += p0 * q; b1 += p1 * q; b2 += p2 * q; b3 += p3 * q;
        q = w[wc + i];
        c0 += p0 * q; c1 += p1 * q; c2 += p2 * q; c3 += p3 * q;
        q = w[wd + i];
        d0 += p0 * q; d1 += p1 * q; d2 += p2 * q; d3 += p3 * q;
      }
      let q = bias[j];
      dst[y0 + j] = a0 + q; dst[y1 + j] = a1 + q; dst[y2 + j] = a2 + q; dst[y3 + j] = a3 + q;
      q = bias[j + 1];
      dst[y0 + j + 1] = b0 + q; dst[y1 + j + 1] = b1 + q; dst[y2 + j + 1] = b2 + q; dst[y3 + j + 1] = b3 + q;
      q = bias[j + 2];
      dst[y0 + j + 2] = c0 + q; dst[y1 + j + 2] = c1 + q; dst[y2 + j + 2] = c2 + q; dst[y3 + j + 2] = c3 + q;
      q = bias[j + 3];
      dst[y0 + j + 3] = d0 + q; dst[y1 + j + 3] = d1 + q; dst[y2 + j + 3] = d2 + q; dst[y3 + j + 3] = d3 + q;
    }
    for (; j < units; j++) {
      const wo = j * inputs;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < inputs; i++) {
        const q = w[wo + i];
        s0 += src[x0 + i] * q; s1 += src[x1 + i] * q; s2 += src[x2 + i] * q; s3 += src[x3 + i] * q;
      }
      const q = bias[j];
      dst[y0 + j] = s0 + q; dst[y1 + j] = s1 + q; dst[y2 + j] = s2 + q; dst[y3 + j] = s3 + q;
    }
  }
  for (; r < nb; r++) {
    const x0 = r * inputs;
    const y0 = r * units;
    let j = 0;
    for (; j + 4 <= units; j += 4) {
      const wa = j * inputs;
      const wb = wa + inputs;
      const wc = wb + inputs;
      const wd = wc + inputs;
      let a = 0, b = 0, c = 0, d = 0;
      for (let i = 0; i < inputs; i++) {
        const p = src[x0 + i];
        a += p * w[wa + i]; b += p * w[wb + i]; c += p * w[wc + i]; d += p * w[wd + i];
      }
      dst[y0 + j] = a + bias[j]; dst[y0 + j + 1] = b + bias[j + 1]; dst[y0 + j + 2] = c + bias[j + 2]; dst[y0 + j + 3] = d + bias[j + 3];
    }
    for (; j < units; j++) {
      const wo = j * inputs;
      let s = 0;
      for (let i = 0; i < inputs; i++) s += src[x0 + i] * w[wo + i];
      dst[y0 + j] = s + bias[j];
    }
  }
}

function activate(buf: Float64Array, nb: number, width: number, act: number): void {
  const n = nb * width;
  if (act === ACT_RELU) {
    // `v < 0 ? 0 : v` keeps NaN as NaN, like tfjs.
    for (let k = 0; k < n; k++) {
      const v = buf[k];
      if (v < 0) buf[k] = 0;
    }
  } else if (act === ACT_TANH) {
    for (let k = 0; k < n; k++) buf[k] = Math.tanh(buf[k]);
  } else if (act === ACT_SOFTMAX) {
    for (let r = 0; r < n; r += width) {
      let max = buf[r];
      for (let j = 1; j < width; j++) if (buf[r + j] > max) max = buf[r + j];
      let sum = 0;
      for (let j = 0; j < width; j++) {
        const e = Math.exp(buf[r + j] - max);
        buf[r + j] = e;
        sum += e;
      }
      for (let j = 0; j < width; j++) buf[r + j] /= sum;
    }
  }
}
