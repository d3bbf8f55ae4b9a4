import { trainMlp } from './models/training.js';
import { rmSync } from 'node:fs';
const rows = 200000, cols = 75;
const x = new Float32Array(rows * cols); let s = 1; for (let i = 0; i < x.length; i++) { s = (s * 16807) % 2147483647; x[i] = s / 2147483647 - 0.5; }
const y = new Float32Array(rows); for (let i = 0; i < rows; i++) y[i] = (x[i * cols] + x[i * cols + 1] > 0) ? 1 : 0;
for (const bs of [64, 256, 1024]) {
  rmSync('/tmp/fl/ckpt', { recursive: true, force: true });
  const r = await trainMlp({ features: x.slice(), rows, cols, labels: y.slice(), task: 'classification', numClasses: 2,
    spec: { hiddenLayers: [32], epochs: 3, batchSize: bs, learningRate: 0.003, earlyStoppingPatience: 0, validationFraction: 0, seed: 1 } as never,
    modelDir: '/tmp/fl/model', checkpointDir: '/tmp/fl/ckpt' }, () => {});
  console.log(bs, Math.round(r.samplesPerSecond), 'samples/s', r.history.map((h) => h.loss.toFixed(4)).join(' '));
}
