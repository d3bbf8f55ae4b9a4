// Benchmark: one minibatch step of the flights-shaped MLP (72 inputs, one hidden layer of 32, 2 classes)
// on tfjs-wasm, two ways in the same process:
//   baseline: tfjs's own optimizer.minimize over the layers model (autodiff, tfjs Adam), the step the
//             platform used before models/mlp-step.ts;
//   platform: MlpTrainer.step (plain matrix products only, loss and Adam in JS).
// Prints ms per step, samples/s, the ratio, and tf.profile's count of kernels per step and their summed
// time: what bounds a step (kernel time against per-op dispatch).
// Run: npx tsx bench/train-step.ts [--batches 64,256,1024] [--steps 300]
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../models/backend.js';
import { MlpTrainer } from '../models/mlp-step.js';
import { buildMlp, readWeights } from '../models/network.js';
import { ModelSpecSchema } from '../pipelines/model-spec.js';
import { intArg } from './options.js';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '64,256,1024' }, steps: { type: 'string', default: '300' } } });
const batches = values.batches.split(',').map((b) => intArg('batches', b, 1, 65536));
const steps = intArg('steps', values.steps, 10, 100_000);
const COLS = 72;
const HIDDEN = 32;

const backend = await initBackend();
console.log(`tfjs backend: ${backend}; network ${COLS} → ${HIDDEN} → 2, ${steps} steps per measurement`);
console.log('| batch | baseline ms/step | platform ms/step | baseline samples/s | platform samples/s | platform ÷ baseline | kernels per step (baseline → platform) | kernel ms per step (baseline → platform) |');
console.log('|---:|---:|---:|---:|---:|---:|---|---|');

for (const batch of batches) {
  const spec = ModelSpecSchema.parse({ hiddenLayers: [HIDDEN], learningRate: 0.003, seed: 1 });
  const mlp = buildMlp({ cols: COLS, task: 'classification', outputs: 2, spec });
  const optimizer = tf.train.adam(spec.learningRate);
  const x = Float32Array.from({ length: batch * COLS }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const xT = new Float32Array(x.length);
  for (let r = 0; r < batch; r++) for (let c = 0; c < COLS; c++) xT[c * batch + r] = x[r * COLS + c];
  const y = new Float32Array(batch * 2);
  for (let r = 0; r < batch; r++) y[r * 2 + (r % 2)] = 1;

  const baseline = () => {
    const cost = tf.tidy(() => {
      const xb = tf.tensor2d(x, [batch, COLS]);
      const yb = tf.tensor2d(y, [batch, 2]);
      return optimizer.minimize(() => {
        let h: tf.Tensor = xb;
        for (const layer of mlp.trainLayers) h = layer.apply(h) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(yb, h) as tf.Scalar;
      }, true, mlp.variables) as tf.Scalar;
    });
    cost.dataSync();
    cost.dispose();
  };
  const trainer = new MlpTrainer({ units: [COLS, HIDDEN, 2], activation: 'relu', task: 'classification' }, readWeights(mlp));
  const platform = () => {
    trainer.step(x, xT, y, batch, { learningRate: spec.learningRate, dropout: 0, l2: 0 }, () => 0);
  };

  const measure = (step: () => void) => {
    for (let i = 0; i < 20; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    return (performance.now() - t0) / steps;
  };
  const profileOf = async (step: () => void) => {
    const p = await tf.profile(step);
    return { kernels: p.kernels.length, ms: p.kernels.reduce((s, k) => s + Number(k.kernelTimeMs), 0) };
  };
  const [b, p] = [measure(baseline), measure(platform)];
  const [bp, pp] = [await profileOf(baseline), await profileOf(platform)];
  console.log(`| ${batch} | ${b.toFixed(3)} | ${p.toFixed(3)} | ${(batch / b * 1000).toFixed(0)} | ${(batch / p * 1000).toFixed(0)} | ${(b / p).toFixed(2)} | ${bp.kernels} → ${pp.kernels} | ${bp.ms.toFixed(3)} → ${pp.ms.toFixed(3)} |`);
  optimizer.dispose();
  mlp.model.dispose();
}
console.log('\nKernel ms is tf.profile\'s kernelTimeMs summed over the kernels of one step; on wasm it is wall time inside');
console.log('each kernel call, so step time minus kernel time is what the step spends outside kernels (op dispatch,');
console.log('tensor creation, reading results, and in the platform\'s step the loss and Adam in JS).');
