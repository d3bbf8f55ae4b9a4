// Benchmark: prediction throughput of a football-sized model (20 inputs, hidden [32, 16], 3 classes, softmax),
// served by loadModel's two engines in the same process, on the same saved model directory:
//   tfjs  the tfjs layers-model on the best tfjs backend that loads here (the baseline);
//   js    the plain-JS dense forward pass (serving/dense-forward.ts), what loadModel uses by default.
// The model is trained with the real trainer (trainMlp, a few epochs on synthetic data) and saved/loaded
// through the real model-directory code, checksums included.
// Run: npx tsx bench/inference.ts  [--batches 1,100,1000,10000] [--seconds 1] [--rounds 5]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../models/backend.js';
import { loadModel, type ServingModel } from '../serving/model-loader.js';
import { mulberry32 } from '../data/prng.js';
import { ModelSpecSchema } from '../pipelines/model-spec.js';
import { trainMlp } from '../models/training.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,100,1000,10000' },
    seconds: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
  },
});
const batches = values.batches.split(',').map(Number);
const secondsPerRound = Number(values.seconds);
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const COLS = 20;
const CLASSES = 3;
const HIDDEN = [32, 16];

/** Synthetic 3-class data with some signal so the trained weights are not degenerate. */
function syntheticData(rows: number, seed: number): { features: Float32Array; labels: Float32Array } {
  const rand = mulberry32(seed);
  const features = new Float32Array(rows * COLS).map(() => rand() * 2 - 1);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const s = features[i * COLS] + 0.5 * features[i * COLS + 1] - 0.3 * features[i * COLS + 2] + (rand() - 0.5);
    labels[i] = s > 0.4 ? 0 : s < -0.4 ? 2 : 1;
  }
  return { features, labels };
}

/** Predictions (rows) per second of `model` over about `ms` milliseconds of back-to-back calls. */
function rate(model: ServingModel, inputs: Float32Array[], rows: number, ms: number): number {
  let calls = 0;
  let sink = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    // Read the clock every 16 calls only: a 1-row JS call is about as short as performance.now() itself.
    for (let k = 0; k < 16; k++) sink += model.predict(inputs[(calls + k) % inputs.length], rows)[0];
    calls += 16;
    t = performance.now();
  }
  if (Number.isNaN(sink)) throw new Error('NaN prediction');
  return (calls * rows) / ((t - t0) / 1000);
}

/**
 * Median predictions/s of each engine. Rounds alternate between the engines so that load from anything
 * else on the machine hits both alike.
 */
function measure(models: ServingModel[], inputs: Float32Array[], rows: number): number[] {
  for (const m of models) rate(m, inputs, rows, 300); // warm-up: JIT, tfjs kernel caches
  const rates = models.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) models.forEach((m, i) => rates[i].push(rate(m, inputs, rows, secondsPerRound * 1000)));
  return rates.map(median);
}

const root = await mkdtemp(join(tmpdir(), 'mlp-bench-inference-'));
try {
  const backend = await initBackend();
  const train = syntheticData(3000, 1);
  const spec = ModelSpecSchema.parse({ hiddenLayers: HIDDEN, epochs: 5, earlyStoppingPatience: 0, seed: 7 });
  const modelDir = join(root, 'model');
  await trainMlp(
    { ...train, rows: 3000, cols: COLS, task: 'classification', numClasses: CLASSES, spec, modelDir, checkpointDir: join(root, 'ckpt') },
    () => undefined,
  );

  const tfjs = await loadModel(modelDir, { engine: 'tfjs' });
  const js = await loadModel(modelDir, { engine: 'js' });

  // Same answers first: the largest absolute difference between the engines on 10,000 random rows.
  const check = syntheticData(10_000, 2).features;
  const a = tfjs.predict(check, 10_000);
  const b = js.predict(check, 10_000);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));

  console.log(`model: ${COLS} inputs, hidden ${JSON.stringify(HIDDEN)}, ${CLASSES} classes (softmax); trained 5 epochs with trainMlp`);
  console.log(`node ${process.version}, tfjs backend ${backend}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`);
  console.log(`max |tfjs - js| over 10,000 rows: ${maxDiff.toExponential(2)}`);
  console.log(`median of ${rounds} rounds of ${secondsPerRound} s each, alternating engines, after a 0.3 s warm-up; inputs cycle through 64 random batches\n`);
  console.log('| rows/call | tfjs predictions/s | js predictions/s | ratio js/tfjs | tfjs µs/call | js µs/call |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const rows of batches) {
    const inputs = Array.from({ length: 64 }, (_, i) => syntheticData(rows, 100 + i).features);
    const [t, j] = measure([tfjs, js], inputs, rows);
    const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
    const us = (perSecond: number) => ((rows / perSecond) * 1e6).toFixed(2);
    console.log(`| ${rows} | ${fmt(t)} | ${fmt(j)} | ${(j / t).toFixed(2)} | ${us(t)} | ${us(j)} |`);
  }
  tfjs.dispose();
  js.dispose();
} finally {
  await rm(root, { recursive: true, force: true });
}
