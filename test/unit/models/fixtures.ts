// Shared test data for the models tests: small, seeded, time-ordered-looking
// problems so every test is deterministic and fast.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { mulberry32 } from '../../../data/prng.js';
import { ModelSpecSchema, type ModelSpec, type ModelSpecInput } from '../../../pipelines/model-spec.js';
import { writeModelDir } from '../../../models/artifacts.js';
import { initBackend, type tf } from '../../../models/backend.js';
import type { ModelMeta } from '../../../models/model-files.js';
import type { TrainInput } from '../../../models/training.js';

/** Two Gaussian blobs in `cols` dims, separated along the first two features. */
export function blobs(rows: number, cols: number, seed = 1): { features: Float32Array; labels: Float32Array } {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const features = new Float32Array(rows * cols);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = rand() < 0.5 ? 0 : 1;
    labels[i] = c;
    for (let j = 0; j < cols; j++) features[i * cols + j] = gauss() + (j < 2 ? (c ? 1.5 : -1.5) : 0);
  }
  return { features, labels };
}

/** y = 500 + 40*x0 - 25*x1^2 + small noise, far from zero mean/unit scale on purpose. */
export function regressionData(rows: number, cols: number, seed = 3): { features: Float32Array; labels: Float32Array } {
  const rand = mulberry32(seed);
  const features = new Float32Array(rows * cols).map(() => rand() * 2 - 1);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    labels[i] = 500 + 40 * features[i * cols] - 25 * features[i * cols + 1] ** 2 + (rand() - 0.5);
  }
  return { features, labels };
}

export function spec(overrides: ModelSpecInput = {}): ModelSpec {
  return ModelSpecSchema.parse({ hiddenLayers: [16, 8], batchSize: 32, epochs: 8, ...overrides });
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temp directory, removed after the test file. */
export async function tempDir(prefix = 'models-test-'): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export async function classificationInput(overrides: ModelSpecInput = {}, rows = 600, cols = 4): Promise<TrainInput & { features: Float32Array }> {
  const { features, labels } = blobs(rows, cols);
  const root = await tempDir();
  return {
    features,
    labels,
    rows,
    cols,
    task: 'classification',
    numClasses: 2,
    spec: spec(overrides),
    modelDir: path.join(root, 'model'),
    checkpointDir: path.join(root, 'checkpoints'),
  };
}

/** Saves `model` as a model directory (in a fresh temp folder) with the meta a test names; the rest is filler. */
export async function saveModelDir(model: tf.LayersModel, meta: Pick<ModelMeta, 'task' | 'numClasses' | 'cols' | 'spec'> & Partial<ModelMeta>): Promise<string> {
  const dir = path.join(await tempDir(), 'model');
  await writeModelDir(dir, model, {
    formatVersion: 1, targetMean: null, targetStd: null, backend: await initBackend(), trainRows: 1, valRows: 0, epochsRun: 0, bestEpoch: 0, ...meta,
  });
  return dir;
}
