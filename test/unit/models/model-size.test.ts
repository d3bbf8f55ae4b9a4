// Training refuses a model whose parameters (input layer included, which only the data decides) exceed
// the cap, before building anything, with an error the train activity reports as non-retryable
// (activities/train.ts: isModelTooLarge → PipelineInputError → ApplicationFailure with nonRetryable).
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { classifyFailures } from '../../../activities/failures.js';
import { PipelineInputError } from '../../../data/pipeline-error.js';
import { trainInWorkerThread } from '../../../models/thread-runner.js';
import { checkModelSize, isModelTooLarge, isTrainingDiverged, ModelTooLargeError } from '../../../models/training-errors.js';
import { trainMlp } from '../../../models/training.js';
import { MAX_MODEL_PARAMETERS, parameterCount } from '../../../pipelines/model-spec.js';
import { classificationInput } from './fixtures.js';

describe('checkModelSize', () => {
  it('passes a model within the cap and refuses one beyond it, saying what to change', () => {
    expect(() => checkModelSize(100, [64, 32], 3, MAX_MODEL_PARAMETERS)).not.toThrow();
    const cols = 10_000;
    const layers = [2048, 16];
    expect(parameterCount(cols, layers, 2)).toBeGreaterThan(MAX_MODEL_PARAMETERS);
    let err: unknown;
    try {
      checkModelSize(cols, layers, 2, MAX_MODEL_PARAMETERS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect(isModelTooLarge(err)).toBe(true);
    expect(isTrainingDiverged(err)).toBe(false);
    expect((err as Error).message).toBe(
      `the model would have ${parameterCount(cols, layers, 2)} parameters (10000 features, hidden layers [2048, 16], 2 outputs), more than the ${MAX_MODEL_PARAMETERS} ` +
        'training accepts; the first hidden layer alone has 10000 * 2048 = 20480000 input weights; use fewer or narrower model.hiddenLayers, ' +
        'or fewer features (features.exclude, a lower features.maxCategories)',
    );
    expect(isModelTooLarge(new Error('the model would have'))).toBe(false);
  });

  it('trainMlp refuses such a model before training (maxParameters overrides the cap)', async () => {
    const input = await classificationInput({ epochs: 1 });
    const allowed = parameterCount(input.cols, input.spec.hiddenLayers, input.numClasses);
    const progress: number[] = [];
    await expect(trainMlp({ ...input, maxParameters: allowed - 1 }, (p) => { progress.push(p.epoch); })).rejects.toSatisfy(isModelTooLarge);
    expect(progress).toEqual([]);
  });

  it('is recognised across the training thread boundary, and becomes a non-retryable failure', async () => {
    const input = await classificationInput({ epochs: 1 });
    const err = await trainInWorkerThread({ ...input, maxParameters: 10 }, () => {}).catch((e: unknown) => e);
    expect(isModelTooLarge(err)).toBe(true);
    // What activities/train.ts does with it.
    const failure = await classifyFailures(async () => {
      throw new PipelineInputError('InvalidSpec', (err as Error).message);
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
  });
});
