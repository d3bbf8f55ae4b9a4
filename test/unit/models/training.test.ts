import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../models/backend.js';
import { loadModel } from '../../../serving/model-loader.js';
import { classificationMetrics } from '../../../models/metrics.js';
import { trainMlp, type EpochProgress } from '../../../models/training.js';
import { isCheckpointMismatch } from '../../../models/training-errors.js';
import { classificationInput, regressionData, spec, tempDir } from './fixtures.js';

describe('initBackend', () => {
  it('picks a working backend once and reports it', async () => {
    const name = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
    expect(await initBackend()).toBe(name);
    expect(tf.getBackend()).toBe(name);
  });
});

describe('trainMlp', () => {
  it('separates two Gaussian blobs and writes a complete model directory', async () => {
    const input = await classificationInput({ epochs: 10 });
    const progress: EpochProgress[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const result = await trainMlp(input, (p) => {
      progress.push(p);
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing leaked

    expect(result.epochsRun).toBe(progress.length);
    expect(progress.map((p) => p.epoch)).toEqual(result.history.map((h) => h.epoch));
    expect(progress.every((p) => p.epochs === 10 && p.valLoss !== null)).toBe(true);
    expect(result.resumedFromEpoch).toBe(0);
    expect(result.samplesPerSecond).toBeGreaterThan(0);
    expect(result.backend).toBe(await initBackend());
    expect(result.history[0].loss).toBeGreaterThan(result.history.at(-1)!.loss);

    expect((await readdir(input.modelDir)).sort()).toEqual(['checksum.json', 'meta.json', 'model.json', 'weights.bin']);
    const meta = JSON.parse(await readFile(path.join(input.modelDir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ task: 'classification', numClasses: 2, cols: 4, trainRows: 510, valRows: 90 });

    // Validation rows are the LAST 15%: score the model on exactly those.
    const model = await loadModel(input.modelDir);
    const valStart = 510;
    const probs = model.predict(input.features.subarray(valStart * 4), input.rows - valStart);
    const m = classificationMetrics(probs, input.labels.subarray(valStart), 2);
    expect(m.accuracy).toBeGreaterThan(0.95);
    model.dispose();
  });

  it('is deterministic for a seed (dropout and L2 included) and differs across seeds', async () => {
    const opts = { epochs: 4, dropout: 0.2, l2: 1e-3, earlyStoppingPatience: 0 };
    const a = await trainMlp(await classificationInput(opts), () => {});
    const b = await trainMlp(await classificationInput(opts), () => {});
    const c = await trainMlp(await classificationInput({ ...opts, seed: 7 }), () => {});
    expect(b.history).toEqual(a.history);
    expect(c.history).not.toEqual(a.history);
  });

  it('resumes from the checkpoint after a crash and ends exactly like an uninterrupted run', async () => {
    const opts = { epochs: 6, dropout: 0.1, earlyStoppingPatience: 0 };
    const uninterrupted = await trainMlp(await classificationInput(opts), () => {});

    const input = await classificationInput(opts);
    await expect(
      trainMlp({ ...input }, (p) => {
        if (p.epoch === 3) throw new Error('simulated crash at epoch 3');
      }),
    ).rejects.toThrow('simulated crash at epoch 3');
    expect(await readdir(input.modelDir).catch(() => [])).toEqual([]); // no model yet

    const seen: number[] = [];
    const resumed = await trainMlp(input, (p) => {
      seen.push(p.epoch);
    });
    expect(resumed.resumedFromEpoch).toBe(3);
    expect(seen).toEqual([4, 5, 6]);
    expect(resumed.epochsRun).toBe(6);
    expect(resumed.history).toEqual(uninterrupted.history);
    expect(resumed.bestEpoch).toBe(uninterrupted.bestEpoch);
  });

  it('re-running a finished run re-saves the model without training again', async () => {
    const input = await classificationInput({ epochs: 3, earlyStoppingPatience: 0 });
    const first = await trainMlp(input, () => {});
    const calls: number[] = [];
    const again = await trainMlp(input, (p) => {
      calls.push(p.epoch);
    });
    expect(calls).toEqual([]);
    expect(again.resumedFromEpoch).toBe(3);
    expect(again.history).toEqual(first.history);
    const model = await loadModel(input.modelDir);
    model.dispose();
  });

  it('refuses a checkpoint from a different run', async () => {
    const input = await classificationInput({ epochs: 1 });
    await trainMlp(input, () => {});
    const refused = await trainMlp({ ...input, spec: { ...input.spec, seed: 99 } }, () => {}).catch((err: unknown) => err);
    expect((refused as Error).message).toMatch(/different training run/);
    // Recognisable by name, as the train activity needs it across the thread boundary (it then removes the folder).
    expect(isCheckpointMismatch(refused)).toBe(true);
  });

  it('stops early when validation loss stops improving and keeps the best epoch', async () => {
    // A large learning rate on a tiny problem overfits/oscillates quickly.
    const input = await classificationInput({ epochs: 60, earlyStoppingPatience: 2, learningRate: 0.05 }, 300);
    const result = await trainMlp(input, () => {});
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochsRun).toBeLessThan(60);
    expect(result.epochsRun - result.bestEpoch).toBe(2);
    const best = result.history.find((h) => h.epoch === result.bestEpoch)!;
    expect(Math.min(...result.history.map((h) => h.valLoss!))).toBe(best.valLoss);
  });

  it('regression predictions come out in original units', async () => {
    const rows = 800;
    const cols = 3;
    const { features, labels } = regressionData(rows, cols);
    const root = await tempDir();
    const result = await trainMlp(
      {
        features,
        labels,
        rows,
        cols,
        task: 'regression',
        numClasses: 1,
        spec: spec({ epochs: 15, learningRate: 0.02 }),
        modelDir: path.join(root, 'model'),
        checkpointDir: path.join(root, 'ckpt'),
      },
      () => {},
    );
    expect(result.history.at(-1)!.valLoss).toBeLessThan(0.1); // standardised MSE
    const model = await loadModel(path.join(root, 'model'));
    expect(model.task).toBe('regression');
    const pred = model.predict(features, rows);
    expect(pred.length).toBe(rows);
    let absErr = 0;
    for (let i = 0; i < rows; i++) absErr += Math.abs(pred[i] - labels[i]);
    expect(absErr / rows).toBeLessThan(5); // target spans ~ 435..540
    model.dispose();
  });

  it('rejects malformed input with a clear message', async () => {
    const input = await classificationInput({ epochs: 1 });
    await expect(trainMlp({ ...input, rows: 10 }, () => {})).rejects.toThrow(/expected rows\*cols/);
    const bad = Float32Array.from(input.labels);
    bad[5] = 3;
    await expect(trainMlp({ ...input, labels: bad }, () => {})).rejects.toThrow(/label at row 5 is 3/);
  });
});
