// Model size quotas in the spec: the weights between hidden layers are capped (the input layer depends on
// the data and is checked by training, see test/unit/models/model-size.test.ts).
import { describe, expect, it } from 'vitest';
import { hiddenWeights, MAX_HIDDEN_WEIGHTS, ModelSpecSchema, parameterCount } from '../../../pipelines/model-spec.js';
import { PipelineSpecSchema } from '../../../pipelines/spec.js';

const issues = (model: Record<string, unknown>) => {
  const r = PipelineSpecSchema.safeParse({ name: 'p', source: { kind: 'file', path: 'x.csv' }, target: 'y', model });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('model size in the spec', () => {
  it('counts the weights between hidden layers and all parameters', () => {
    expect(hiddenWeights([])).toBe(0);
    expect(hiddenWeights([4096])).toBe(0);
    expect(hiddenWeights([32, 16, 8])).toBe(32 * 16 + 16 * 8);
    // 10 inputs → 32 → 16 → 3 outputs, weights and biases.
    expect(parameterCount(10, [32, 16], 3)).toBe(10 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3);
    expect(parameterCount(10, [], 1)).toBe(11);
  });

  it('refuses hidden layers with more than MAX_HIDDEN_WEIGHTS weights between them, naming model.hiddenLayers', () => {
    expect(issues({ hiddenLayers: Array(16).fill(4096) })).toEqual([
      `model.hiddenLayers: the hidden layers have ${15 * 4096 * 4096} weights between them (the sum of a*b over consecutive layers); at most ${MAX_HIDDEN_WEIGHTS}: use fewer or narrower layers`,
    ]);
    expect(issues({ hiddenLayers: [2048, 2048] })).toHaveLength(1);
    expect(ModelSpecSchema.safeParse({ hiddenLayers: [2000, 2000] }).success).toBe(true); // exactly 4M
    expect(ModelSpecSchema.safeParse({ hiddenLayers: [2000, 2001] }).success).toBe(false);
    // A single wide layer has no hidden-to-hidden weights: training checks it against the input width.
    expect(issues({ hiddenLayers: [4096] })).toEqual([]);
    expect(issues({})).toEqual([]);
  });

  it('keeps the other bounds: 16 layers of at most 4096 units, at most 1000 epochs', () => {
    expect(issues({ hiddenLayers: Array(17).fill(8) })).toEqual([expect.stringMatching(/^model\.hiddenLayers: Too big/)]);
    expect(issues({ hiddenLayers: [4097] })).toEqual([expect.stringMatching(/^model\.hiddenLayers\.0: Too big/)]);
    expect(issues({ epochs: 1001 })).toEqual([expect.stringMatching(/^model\.epochs: Too big/)]);
  });
});
