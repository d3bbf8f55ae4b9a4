// The hand-written backward pass (models/mlp-step.ts) against tfjs's automatic differentiation of the same
// network, loss and batch: every gradient must agree, for each activation, task and depth.
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../models/backend.js';
import { MlpTrainer, type MlpShape } from '../../../models/mlp-step.js';

function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  };
}

/** The reference: tf.grads of the same loss over the same weights (and the same dropout masks, if any). */
function autodiff(shape: MlpShape, weights: Float32Array[], x: Float32Array, y: Float32Array, rows: number, dropout = 0, seed = 0): { loss: number; grads: Float32Array[] } {
  const { units, activation, task } = shape;
  const layers = units.length - 1;
  const vars = weights.map((w, i) => (i % 2 === 0 ? tf.tensor2d(w, [units[i / 2], units[i / 2 + 1]]) : tf.tensor1d(w)));
  const xb = tf.tensor2d(x, [rows, units[0]]);
  const yb = tf.tensor2d(y, [rows, units[layers]]);
  const f = (...ws: tf.Tensor[]) => {
    let h: tf.Tensor = xb;
    for (let l = 0; l < layers; l++) {
      h = tf.add(tf.matMul(h as tf.Tensor2D, ws[2 * l] as tf.Tensor2D), ws[2 * l + 1]);
      if (l < layers - 1) h = activation === 'relu' ? tf.relu(h) : tf.tanh(h);
      if (l < layers - 1 && dropout > 0) {
        const keep = tf.greaterEqual(tf.randomUniform([rows, units[l + 1]], 0, 1, 'float32', seed + l), dropout);
        h = tf.mul(h, tf.div(tf.cast(keep, 'float32'), 1 - dropout));
      }
    }
    return (task === 'classification' ? tf.losses.softmaxCrossEntropy(yb, h) : tf.losses.meanSquaredError(yb, h)) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)(vars);
  const out = { loss: value.dataSync()[0], grads: grads.map((g) => Float32Array.from(g.dataSync() as Float32Array)) };
  tf.dispose([...vars, xb, yb, value, ...grads]);
  return out;
}

const cases: { name: string; shape: MlpShape }[] = [
  { name: 'relu, one hidden layer, 3 classes', shape: { units: [7, 5, 3], activation: 'relu', task: 'classification' } },
  { name: 'tanh, two hidden layers (the middle one wider), 2 classes', shape: { units: [6, 4, 9, 2], activation: 'tanh', task: 'classification' } },
  { name: 'relu, two hidden layers (the middle one narrower), regression', shape: { units: [5, 8, 3, 1], activation: 'relu', task: 'regression' } },
  { name: 'no hidden layer, regression', shape: { units: [4, 1], activation: 'relu', task: 'regression' } },
];

describe('the hand-written MLP step', () => {
  for (const { name, shape } of cases) {
    it(`computes the gradients tfjs computes: ${name}`, async () => {
      await initBackend();
      const rand = random(7);
      const { units } = shape;
      const weights = units.slice(1).flatMap((out, l) => [Float32Array.from({ length: units[l] * out }, () => rand()), Float32Array.from({ length: out }, () => rand() * 0.1)]);
      const rows = 37;
      const x = Float32Array.from({ length: rows * units[0] }, () => rand() * 3);
      const xT = new Float32Array(x.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < units[0]; c++) xT[c * rows + r] = x[r * units[0] + c];
      const k = units[units.length - 1];
      const y = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++) {
        if (shape.task === 'classification') y[r * k + (r % k)] = 1;
        else y[r] = rand() * 4;
      }
      const ours = new MlpTrainer(shape, weights).gradients(x, xT, y, rows, 0, () => 0);
      const reference = autodiff(shape, weights, x, y, rows);
      expect(ours.loss).toBeCloseTo(reference.loss, 5);
      expect(ours.grads.map((g) => g.length)).toEqual(reference.grads.map((g) => g.length));
      ours.grads.forEach((g, i) => g.forEach((v, j) => expect(v, `gradient ${i}[${j}]`).toBeCloseTo(reference.grads[i][j], 5)));
      // Something to compare: the gradients are not all zero.
      expect(ours.grads.some((g) => g.some((v) => Math.abs(v) > 1e-3))).toBe(true);
    });
  }

  it('drops the same units in the forward and the backward pass, reproducibly per seed', async () => {
    await initBackend();
    const shape: MlpShape = { units: [3, 16, 8, 2], activation: 'relu', task: 'classification' };
    const rand = random(3);
    const weights = shape.units.slice(1).flatMap((out, l) => [Float32Array.from({ length: shape.units[l] * out }, () => rand()), new Float32Array(out).fill(0.2)]);
    const rows = 10;
    const x = Float32Array.from({ length: rows * 3 }, () => rand());
    const xT = new Float32Array(x.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < 3; c++) xT[c * rows + r] = x[r * 3 + c];
    const y = new Float32Array(rows * 2).map((_, i) => (i % 2 === 0 ? 1 : 0));
    const trainer = new MlpTrainer(shape, weights);
    const dropped = trainer.gradients(x, xT, y, rows, 0.5, (layer) => 42 + layer);
    const reference = autodiff(shape, weights, x, y, rows, 0.5, 42);
    dropped.grads.forEach((g, i) => g.forEach((v, j) => expect(v, `gradient ${i}[${j}]`).toBeCloseTo(reference.grads[i][j], 5)));
    expect(dropped.grads).not.toEqual(trainer.gradients(x, xT, y, rows, 0, () => 0).grads);
    expect(trainer.gradients(x, xT, y, rows, 0.5, (layer) => 42 + layer)).toEqual(dropped);
    expect(trainer.gradients(x, xT, y, rows, 0.5, (layer) => 43 + layer)).not.toEqual(dropped);
  });
});
