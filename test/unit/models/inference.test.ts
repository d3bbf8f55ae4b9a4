import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeModelDir } from '../../../models/artifacts.js';
import { initBackend, tf } from '../../../models/backend.js';
import { loadModel } from '../../../models/inference.js';
import { buildMlp } from '../../../models/network.js';
import { trainMlp } from '../../../models/training.js';
import { blobs, classificationInput, spec, tempDir } from './fixtures.js';

describe('loadModel', () => {
  it('round-trips: predictions after load equal the in-memory model before save', async () => {
    const backend = await initBackend();
    const s = spec({ hiddenLayers: [8, 4], seed: 5 });
    const cols = 3;
    const mlp = buildMlp({ cols, task: 'regression', outputs: 1, spec: s, targetMean: 100, targetStd: 20 });
    const { features } = blobs(50, cols);
    const before = tf.tidy(() => (mlp.model.predict(tf.tensor2d(features, [50, cols])) as tf.Tensor).dataSync());

    const dir = path.join(await tempDir(), 'model');
    await writeModelDir(dir, mlp.model, {
      formatVersion: 1, task: 'regression', numClasses: 1, cols, targetMean: 100, targetStd: 20,
      backend, spec: s, trainRows: 50, valRows: 0, epochsRun: 0, bestEpoch: 0,
    });
    mlp.model.dispose();

    const loaded = await loadModel(dir);
    expect(loaded).toMatchObject({ task: 'regression', numClasses: 1, cols });
    expect(Array.from(loaded.predict(features, 50))).toEqual(Array.from(before));
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

  it('reports a missing checksum.json clearly', async () => {
    await expect(loadModel(path.join(await tempDir(), 'nope'))).rejects.toThrow(/cannot read checksum\.json/);
  });
});
