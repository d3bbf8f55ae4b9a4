import { describe, expect, it } from 'vitest';
import { tf } from '../../../models/backend.js';
import {
  compileDenseNetwork,
  parseDenseNetwork,
  type DenseActivation,
  type DenseNetworkSpec,
  type LayersModelArtifacts,
} from '../../../serving/dense-forward.js';
import { buildMlp } from '../../../models/network.js';
import { mulberry32 } from '../../../data/prng.js';
import { spec } from '../models/fixtures.js';

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rand = mulberry32(seed);
  return new Float32Array(n).map(() => (rand() * 2 - 1) * scale);
}

/** The obvious float64 forward pass, one row at a time, straight from the spec. */
function reference(net: DenseNetworkSpec, features: Float32Array, rows: number): number[] {
  const out: number[] = [];
  const act = (v: number[], a: DenseActivation): number[] => {
    if (a === 'relu') return v.map((x) => Math.max(0, x));
    if (a === 'tanh') return v.map(Math.tanh);
    if (a === 'softmax') {
      const m = Math.max(...v);
      const e = v.map((x) => Math.exp(x - m));
      const s = e.reduce((p, q) => p + q, 0);
      return e.map((x) => x / s);
    }
    return v;
  };
  for (let r = 0; r < rows; r++) {
    let h = Array.from(features.subarray(r * net.inputs, (r + 1) * net.inputs));
    for (const layer of net.layers) {
      if (layer.kind === 'dense') {
        const y: number[] = [];
        for (let j = 0; j < layer.units; j++) {
          let s = layer.bias ? layer.bias[j] : 0;
          for (let i = 0; i < layer.inputs; i++) s += h[i] * layer.kernel[i * layer.units + j];
          y.push(s);
        }
        h = y;
      }
      h = act(h, layer.activation);
    }
    out.push(...h);
  }
  return out;
}

/** Every activation, a layer without bias, widths that are and are not multiples of 4. */
function mixedNetwork(): DenseNetworkSpec {
  const dense = (name: string, inputs: number, units: number, activation: DenseActivation, bias = true, seed = 1) => ({
    kind: 'dense' as const,
    name,
    inputs,
    units,
    activation,
    kernel: randomArray(inputs * units, seed),
    bias: bias ? randomArray(units, seed + 100) : null,
  });
  return {
    inputs: 7,
    layers: [
      dense('a', 7, 9, 'relu', true, 1),
      dense('b', 9, 8, 'tanh', false, 2),
      { kind: 'activation', name: 'relu_after_tanh', activation: 'relu' },
      dense('c', 8, 5, 'linear', true, 3),
      { kind: 'activation', name: 'act_relu', activation: 'relu' },
      dense('d', 5, 6, 'linear', true, 4),
      { kind: 'activation', name: 'head', activation: 'softmax' },
      dense('e', 6, 4, 'softmax', true, 5),
    ],
  };
}

describe('compileDenseNetwork', () => {
  it('matches a plain float64 reference for every activation, layer kind and batch size', () => {
    const net = mixedNetwork();
    const forward = compileDenseNetwork(net);
    expect(forward.inputs).toBe(7);
    expect(forward.outputs).toBe(4);
    for (const rows of [1, 3, 4, 5, 17, 64, 65, 300]) {
      const x = randomArray(rows * 7, rows, 3);
      const got = forward.predict(x, rows);
      const want = reference(net, x, rows);
      expect(got.length).toBe(rows * 4);
      // The only difference is the final rounding to float32.
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(Math.abs(want[k]) * 2 ** -23);
    }
  });

  it('gives every row the same bits whatever the batch size, block size and position in the batch', () => {
    const net = mixedNetwork();
    const rows = 203;
    const x = randomArray(rows * 7, 11, 2);
    const oneByOne = new Float32Array(rows * 4);
    const single = compileDenseNetwork(net);
    for (let r = 0; r < rows; r++) oneByOne.set(single.predict(x.subarray(r * 7, (r + 1) * 7), 1), r * 4);
    for (const blockRows of [1, 3, 4, 8, 64, 1000]) {
      expect(Array.from(compileDenseNetwork(net, { blockRows }).predict(x, rows))).toEqual(Array.from(oneByOne));
    }
  });

  it('reuses its scratch buffers: repeated and interleaved calls give the same answers', () => {
    const forward = compileDenseNetwork(mixedNetwork(), { blockRows: 8 });
    const big = randomArray(100 * 7, 1);
    const small = randomArray(7, 2);
    const first = forward.predict(big, 100);
    const firstSmall = forward.predict(small, 1);
    expect(forward.predict(big, 100)).toEqual(first);
    expect(forward.predict(small, 1)).toEqual(firstSmall);
  });

  it('predictInto writes into the given array and returns it', () => {
    const forward = compileDenseNetwork(mixedNetwork());
    const x = randomArray(3 * 7, 5);
    const out = new Float32Array(3 * 4 + 2).fill(-1);
    expect(forward.predictInto(x, 3, out)).toBe(out);
    expect(Array.from(out.subarray(0, 12))).toEqual(Array.from(forward.predict(x, 3)));
    expect(Array.from(out.subarray(12))).toEqual([-1, -1]);
    expect(() => forward.predictInto(x, 3, new Float32Array(11))).toThrow(/needs rows\*outputs = 12/);
  });

  it('validates its arguments', () => {
    const forward = compileDenseNetwork(mixedNetwork());
    expect(forward.predict(new Float32Array(0), 0).length).toBe(0);
    expect(() => forward.predict(new Float32Array(14), 3)).toThrow(/expected rows\*cols = 3 \* 7/);
    expect(() => forward.predict(new Float32Array(7), 1.5)).toThrow(/non-negative integer/);
    expect(() => forward.predict(new Float32Array(0), -1)).toThrow(/non-negative integer/);
    const bad = mixedNetwork();
    bad.layers.splice(1, 2);
    expect(() => compileDenseNetwork(bad)).toThrow(/layer c: expects 8 inputs, previous layer gives 9/);
  });

  it('keeps NaN inputs NaN through relu and softmax', () => {
    const forward = compileDenseNetwork(mixedNetwork());
    const x = new Float32Array(7).fill(Number.NaN);
    expect(Array.from(forward.predict(x, 1)).every(Number.isNaN)).toBe(true);
  });
});

async function artifactsOf(model: tf.LayersModel): Promise<LayersModelArtifacts & tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return captured!;
}

/** A deep copy whose topology can be edited. */
function cloneArtifacts(a: tf.io.ModelArtifacts): tf.io.ModelArtifacts & { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } } {
  return { ...a, modelTopology: JSON.parse(JSON.stringify(a.modelTopology)), weightSpecs: a.weightSpecs!.map((w) => ({ ...w })) } as never;
}

describe('parseDenseNetwork', () => {
  it('reads the networks buildMlp makes, layer by layer, with the saved weights', async () => {
    const cls = buildMlp({ cols: 5, task: 'classification', outputs: 3, spec: spec({ hiddenLayers: [6, 4], activation: 'tanh' }) });
    const parsed = parseDenseNetwork(await artifactsOf(cls.model));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.network.inputs).toBe(5);
    expect(parsed.network.layers.map((l) => [l.kind, l.name, l.activation, l.kind === 'dense' ? [l.inputs, l.units] : null])).toEqual([
      ['dense', 'hidden_1', 'tanh', [5, 6]],
      ['dense', 'hidden_2', 'tanh', [6, 4]],
      ['dense', 'output', 'linear', [4, 3]],
      ['activation', 'head', 'softmax', null],
    ]);
    const first = parsed.network.layers[0];
    expect(first.kind === 'dense' && Array.from(first.kernel)).toEqual(Array.from(cls.model.layers[0].getWeights()[0].dataSync()));
    cls.model.dispose();

    const reg = buildMlp({ cols: 2, task: 'regression', outputs: 1, spec: spec({ hiddenLayers: [] }), targetMean: 7, targetStd: 3 });
    const parsedReg = parseDenseNetwork(await artifactsOf(reg.model));
    if (!parsedReg.ok) throw new Error(parsedReg.reason);
    const head = parsedReg.network.layers[1];
    expect(head.kind === 'dense' && [head.name, Array.from(head.kernel), Array.from(head.bias!)]).toEqual(['head', [3], [7]]);
    reg.model.dispose();
  });

  it('refuses, naming the reason, anything outside what it supports', async () => {
    const mlp = buildMlp({ cols: 3, task: 'classification', outputs: 2, spec: spec({ hiddenLayers: [4] }) });
    const base = await artifactsOf(mlp.model);
    mlp.model.dispose();
    const reason = (a: LayersModelArtifacts) => {
      const r = parseDenseNetwork(a);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason(base)).toBe('ok');

    const sigmoid = cloneArtifacts(base);
    sigmoid.modelTopology.config.layers[0].config.activation = 'sigmoid';
    expect(reason(sigmoid)).toMatch(/layer hidden_1 \(Dense\): activation "sigmoid"/);

    const unknownKey = cloneArtifacts(base);
    unknownKey.modelTopology.config.layers[1].config.some_new_option = true;
    expect(reason(unknownKey)).toMatch(/layer output \(Dense\): config key some_new_option/);

    const dropout = cloneArtifacts(base);
    dropout.modelTopology.config.layers.splice(1, 0, { class_name: 'Dropout', config: { name: 'drop', rate: 0.5 } });
    expect(reason(dropout)).toMatch(/layer drop \(Dropout\): layer class "Dropout"/);

    const quantised = cloneArtifacts(base);
    quantised.weightSpecs![0].quantization = { dtype: 'uint8', min: 0, scale: 1 };
    expect(reason(quantised)).toMatch(/weight hidden_1\/kernel is quantised/);

    const extra = cloneArtifacts(base);
    extra.weightSpecs!.push({ name: 'stray/kernel', shape: [1], dtype: 'float32' });
    extra.weightData = [base.weightData as ArrayBuffer, new ArrayBuffer(4)];
    expect(reason(extra)).toMatch(/weights not used by any supported layer: stray\/kernel/);

    const short = cloneArtifacts(base);
    short.weightData = (base.weightData as ArrayBuffer).slice(0, 8);
    expect(reason(short)).toMatch(/too short/);

    const wrongShape = cloneArtifacts(base);
    wrongShape.weightSpecs![0].shape = [4, 3];
    expect(reason(wrongShape)).toMatch(/weight hidden_1\/kernel has shape \[4,3\], expected \[3,4\]/);

    const input = tf.input({ shape: [3] });
    const functional = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    expect(reason(await artifactsOf(functional))).toMatch(/model class "Model"/);
    functional.dispose();
  });
});
