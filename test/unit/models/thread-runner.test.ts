import { describe, expect, it } from 'vitest';
import { trainInWorkerThread } from '../../../models/thread-runner.js';
import { isTrainingDiverged } from '../../../models/training-errors.js';
import { trainMlp, type EpochProgress } from '../../../models/training.js';
import { classificationInput } from './fixtures.js';

describe('trainInWorkerThread', () => {
  it('reports progress in order and returns the same result as training in-thread', async () => {
    const opts = { epochs: 4, earlyStoppingPatience: 0 };
    const local = await trainMlp(await classificationInput(opts), () => {});

    const input = await classificationInput(opts);
    const progress: EpochProgress[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5); // the main loop must stay free
    const result = await trainInWorkerThread(input, async (p) => {
      await new Promise((r) => setTimeout(r, 5)); // a slow async onEpoch keeps order
      progress.push(p);
    }).finally(() => clearInterval(timer));

    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
    expect(Object.keys(result).sort()).toEqual(Object.keys(local).sort());
    expect(result.history).toEqual(local.history);
    expect(result.backend).toBe(local.backend);
    expect(ticks).toBeGreaterThan(0);
    // The buffers were transferred to the thread, not copied.
    expect(input.features.length).toBe(0);
  });

  it('propagates an error thrown in the thread with its message', async () => {
    const input = await classificationInput({ epochs: 1 });
    const labels = Float32Array.from(input.labels);
    labels[0] = 7;
    const err = await trainInWorkerThread({ ...input, labels }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/label at row 0 is 7/);
  });

  it('reports a divergence as a TrainingDivergedError across the thread boundary', async () => {
    const input = await classificationInput({ epochs: 3, earlyStoppingPatience: 0 });
    // Finite features at the edge of float32's range: the first layer overflows and the loss is NaN.
    const features = input.features.map((x) => (x < 0 ? -3e38 : 3e38));
    const err = await trainInWorkerThread({ ...input, features }, () => {}).catch((e: unknown) => e);
    expect(isTrainingDiverged(err)).toBe(true);
    expect((err as Error).message).toMatch(/^training diverged at epoch 1 \(loss (NaN|-?Infinity)\); try a lower learningRate/);
    expect(isTrainingDiverged(new Error('training diverged at epoch 1'))).toBe(false);
  });

  it('rejects with the onEpoch error and stops the thread', async () => {
    const input = await classificationInput({ epochs: 5, earlyStoppingPatience: 0 });
    const epochs: number[] = [];
    await expect(
      trainInWorkerThread(input, (p) => {
        epochs.push(p.epoch);
        if (p.epoch === 2) throw new Error('heartbeat says cancelled');
      }),
    ).rejects.toThrow('heartbeat says cancelled');
    expect(epochs).toEqual([1, 2]);
  });

  it('aborts with an AbortError, and a rerun resumes from the checkpoint', async () => {
    const input = await classificationInput({ epochs: 6, earlyStoppingPatience: 0 });
    const { features, labels } = { features: input.features.slice(), labels: input.labels.slice() };
    const ac = new AbortController();
    const err = await trainInWorkerThread(input, (p) => {
      if (p.epoch === 2) ac.abort();
    }, ac.signal).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');

    const resumed = await trainInWorkerThread({ ...input, features, labels }, () => {});
    expect(resumed.resumedFromEpoch).toBeGreaterThanOrEqual(2);
    expect(resumed.epochsRun).toBe(6);

    const pre = new AbortController();
    pre.abort();
    await expect(trainInWorkerThread(input, () => {}, pre.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
