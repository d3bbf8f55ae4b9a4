import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../models/backend.js';
import { loadedTfjsBackend, loadModel, type ServingModel } from '../../../serving/model-loader.js';
import { buildMlp } from '../../../models/network.js';
import { mulberry32 } from '../../../data/prng.js';
import { trainMlp, type TrainInput } from '../../../models/training.js';
import { blobs, classificationInput, regressionData, saveModelDir, spec, tempDir } from '../models/fixtures.js';

describe('loadModel', () => {
  it('round-trips: predictions after load equal the in-memory model before save', async () => {
    await initBackend();
    const s = spec({ hiddenLayers: [8, 4], seed: 5 });
    const cols = 3;
    const mlp = buildMlp({ cols, task: 'regression', outputs: 1, spec: s, targetMean: 100, targetStd: 20 });
    const { features } = blobs(50, cols);
    const before = tf.tidy(() => (mlp.model.predict(tf.tensor2d(features, [50, cols])) as tf.Tensor).dataSync());

    const dir = await saveModelDir(mlp.model, { task: 'regression', numClasses: 1, cols, targetMean: 100, targetStd: 20, spec: s, trainRows: 50 });
    mlp.model.dispose();

    // tfjs reproduces the in-memory model exactly; the JS path (the default) to float32 rounding.
    const viaTfjs = await loadModel(dir, { engine: 'tfjs' });
    expect(Array.from(viaTfjs.predict(features, 50))).toEqual(Array.from(before));
    viaTfjs.dispose();
    const loaded = await loadModel(dir);
    expect(loaded).toMatchObject({ task: 'regression', numClasses: 1, cols, engine: 'js', fallbackReason: null });
    const got = loaded.predict(features, 50);
    for (let i = 0; i < 50; i++) expect(Math.abs(got[i] - before[i])).toBeLessThanOrEqual(Math.abs(before[i]) * 2 ** -21);
    loaded.dispose();
  });

  it('predicts probabilities for 1 row and 1000 rows, consistently, without leaking tensors', async () => {
    const input = await classificationInput({ epochs: 3 });
    await trainMlp(input, () => {});
    const model = await loadModel(input.modelDir);
    const { features } = blobs(1000, 4, 9);
    const tensors = tf.memory().numTensors;

    const all = model.predict(features, 1000);
    expect(all.length).toBe(2000);
    for (let i = 0; i < 1000; i++) expect(all[2 * i] + all[2 * i + 1]).toBeCloseTo(1, 5);
    const one = model.predict(features.subarray(4 * 17, 4 * 18), 1);
    expect(one[0]).toBeCloseTo(all[34], 6);
    expect(one[1]).toBeCloseTo(all[35], 6);
    expect(model.predict(new Float32Array(0), 0).length).toBe(0);
    expect(() => model.predict(features, 999)).toThrow(/expected rows\*cols/);

    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
    expect(() => model.predict(features, 1000)).toThrow(/disposed/);
  });

  it('refuses a tampered file, naming it', async () => {
    const input = await classificationInput({ epochs: 1 });
    await trainMlp(input, () => {});
    const weights = path.join(input.modelDir, 'weights.bin');
    const bytes = await readFile(weights);
    bytes[10] ^= 0xff;
    await writeFile(weights, bytes);
    await expect(loadModel(input.modelDir)).rejects.toThrow(/checksum mismatch for weights\.bin/);

    const input2 = await classificationInput({ epochs: 1 });
    await trainMlp(input2, () => {});
    const meta = path.join(input2.modelDir, 'meta.json');
    await writeFile(meta, (await readFile(meta, 'utf8')).replace('"cols": 4', '"cols": 5'));
    await expect(loadModel(input2.modelDir)).rejects.toThrow(/checksum mismatch for meta\.json/);
  });

  it('a model dir not fully understood by the JS path falls back to tfjs, and says why', async () => {
    const backend = await initBackend();
    const s = spec({ hiddenLayers: [4] });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'hidden_1', units: 4, activation: 'sigmoid', inputShape: [3] }),
        tf.layers.dense({ name: 'output', units: 2, activation: 'softmax' }),
      ],
    });
    const { features } = blobs(20, 3);
    const before = tf.tidy(() => (model.predict(tf.tensor2d(features, [20, 3])) as tf.Tensor).dataSync());
    const dir = await saveModelDir(model, { task: 'classification', numClasses: 2, cols: 3, spec: s, trainRows: 20 });
    model.dispose();

    const loaded = await loadModel(dir);
    expect(loaded.engine).toBe('tfjs');
    expect(loaded.fallbackReason).toMatch(/layer hidden_1 \(Dense\): activation "sigmoid"/);
    // tfjs was imported for it (serving/model-loader.ts does so only when a model needs it); /health says which backend.
    expect(loadedTfjsBackend()).toBe(backend);
    expect(Array.from(loaded.predict(features, 20))).toEqual(Array.from(before));
    loaded.dispose();
    await expect(loadModel(dir, { engine: 'js' })).rejects.toThrow(/JS inference path cannot run it: .*sigmoid/);
  });

  it('refuses a network whose shape does not match meta.json, on either engine', async () => {
    const s = spec({ hiddenLayers: [4] });
    const mlp = buildMlp({ cols: 3, task: 'classification', outputs: 2, spec: s });
    // meta.json says 4 columns; the network takes 3.
    const dir = await saveModelDir(mlp.model, { task: 'classification', numClasses: 2, cols: 4, spec: s });
    mlp.model.dispose();
    for (const engine of ['auto', 'tfjs'] as const) {
      await expect(loadModel(dir, { engine })).rejects.toThrow(/network shape \[,3\] -> \[,2\] does not match meta\.json \(cols 4, outputs 2\)/);
    }
  });

  it('reports a missing checksum.json clearly', async () => {
    await expect(loadModel(path.join(await tempDir(), 'nope'))).rejects.toThrow(/cannot read checksum\.json/);
  });
});

/** Uniform in [-3, 3): wider than the training data, so saturated and negative units are exercised. */
function randomRows(rows: number, cols: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return new Float32Array(rows * cols).map(() => rand() * 6 - 3);
}

async function trainAndLoadBoth(input: TrainInput): Promise<{ js: ServingModel; ref: ServingModel }> {
  await trainMlp(input, () => {});
  const js = await loadModel(input.modelDir);
  const ref = await loadModel(input.modelDir, { engine: 'tfjs' });
  expect(js.engine).toBe('js');
  expect(js.fallbackReason).toBeNull();
  expect(ref.engine).toBe('tfjs');
  return { js, ref };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('JS inference path agrees with tfjs', () => {
  it('classification (3 classes, relu): within 1e-5 on 1 and 1000 random rows; probabilities sum to 1', async () => {
    const rows = 600;
    const cols = 6;
    const features = randomRows(rows, cols, 1).map((v) => v / 3);
    const labels = new Float32Array(rows).map((_, i) => {
      const s = features[i * cols] - features[i * cols + 1] + 0.5 * features[i * cols + 2];
      return s > 0.3 ? 0 : s < -0.3 ? 2 : 1;
    });
    const root = await tempDir();
    const { js, ref } = await trainAndLoadBoth({
      features, labels, rows, cols, task: 'classification', numClasses: 3,
      spec: spec({ hiddenLayers: [16, 8], epochs: 5 }),
      modelDir: path.join(root, 'model'), checkpointDir: path.join(root, 'ckpt'),
    });

    for (const n of [1, 1000]) {
      const x = randomRows(n, cols, 100 + n);
      const got = js.predict(x, n);
      expect(got.length).toBe(n * 3);
      expect(maxAbsDiff(got, ref.predict(x, n))).toBeLessThanOrEqual(1e-5);
      for (let r = 0; r < n; r++) {
        expect(Math.abs(got[3 * r] + got[3 * r + 1] + got[3 * r + 2] - 1)).toBeLessThanOrEqual(1e-6);
        for (let k = 0; k < 3; k++) expect(got[3 * r + k]).toBeGreaterThanOrEqual(0);
      }
    }
    // A row gets the same answer alone as inside a batch.
    const x = randomRows(1000, cols, 7);
    const all = js.predict(x, 1000);
    expect(Array.from(js.predict(x.subarray(cols * 517, cols * 518), 1))).toEqual(Array.from(all.subarray(3 * 517, 3 * 518)));
    js.dispose();
    ref.dispose();
  });

  it('classification with no hidden layer (logistic): within 1e-5', async () => {
    const input = await classificationInput({ hiddenLayers: [], epochs: 3 });
    const { js, ref } = await trainAndLoadBoth(input);
    const x = randomRows(1000, 4, 3);
    expect(maxAbsDiff(js.predict(x, 1000), ref.predict(x, 1000))).toBeLessThanOrEqual(1e-5);
    js.dispose();
    ref.dispose();
  });

  it('regression (tanh, de-standardised head): within 1e-5 on 1 and 1000 random rows', async () => {
    // Target of a few units, so that 1e-5 is well above float32 spacing (4.8e-7 at 4..8).
    const rows = 800;
    const cols = 3;
    const data = regressionData(rows, cols);
    const root = await tempDir();
    const { js, ref } = await trainAndLoadBoth({
      features: data.features, labels: data.labels.map((v) => v / 100), rows, cols, task: 'regression', numClasses: 1,
      spec: spec({ hiddenLayers: [16, 8], activation: 'tanh', epochs: 10, learningRate: 0.02 }),
      modelDir: path.join(root, 'model'), checkpointDir: path.join(root, 'ckpt'),
    });
    for (const n of [1, 1000]) {
      const x = randomRows(n, cols, 200 + n);
      const got = js.predict(x, n);
      expect(got.length).toBe(n);
      expect(maxAbsDiff(got, ref.predict(x, n))).toBeLessThanOrEqual(1e-5);
    }
    js.dispose();
    ref.dispose();
  });

  it('regression on a target near 500: within a few float32 ulps (1e-5 absolute is below float32 spacing there)', async () => {
    // Float32 values in [256, 512) are 3.05e-5 apart and in [512, 1024) 6.1e-5 apart, so two float32
    // results can only be compared relatively here: both engines must agree to 4 ulps (2^-21 relative).
    const rows = 800;
    const cols = 3;
    const data = regressionData(rows, cols);
    const root = await tempDir();
    const { js, ref } = await trainAndLoadBoth({
      ...data, rows, cols, task: 'regression', numClasses: 1,
      spec: spec({ epochs: 10, learningRate: 0.02 }),
      modelDir: path.join(root, 'model'), checkpointDir: path.join(root, 'ckpt'),
    });
    const x = randomRows(1000, cols, 5);
    const got = js.predict(x, 1000);
    const want = ref.predict(x, 1000);
    for (let i = 0; i < 1000; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(Math.abs(want[i]) * 2 ** -21);
    js.dispose();
    ref.dispose();
  });
});
