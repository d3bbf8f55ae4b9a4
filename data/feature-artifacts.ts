// The feature stage's artifact folder, written and read only here: the encoded splits as raw float32
// files (row-major, little-endian), the fitted features as JSON, and the split's row positions.
// The fitted features also travel beside the model (see copyFittedFeatures), where serving reads them.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureSets } from './feature-pipeline.js';
import type { FittedFeatures } from '../pipelines/fitted-features.js';

const MATRICES = { xTrain: 'x_train.f32', yTrain: 'y_train.f32', xTest: 'x_test.f32', yTest: 'y_test.f32' } as const;
export type FeatureMatrix = keyof typeof MATRICES;

/** The fitted features' file name, in a feature folder and in a model folder alike. */
export const FITTED_FEATURES_FILE = 'fitted.json';
const SPLIT_FILE = 'split.json';

export interface SplitIndex {
  /** Positions of the training and held-out rows in the clean dataset. */
  trainIndex: number[];
  testIndex: number[];
  notes: string[];
}

export async function writeFeatureArtifacts(dir: string, sets: FeatureSets): Promise<void> {
  const split: SplitIndex = { trainIndex: sets.train.index, testIndex: sets.test.index, notes: sets.notes };
  await Promise.all([
    writeFile(join(dir, MATRICES.xTrain), f32Bytes(sets.train.matrix)),
    writeFile(join(dir, MATRICES.yTrain), f32Bytes(sets.train.labels)),
    writeFile(join(dir, MATRICES.xTest), f32Bytes(sets.test.matrix)),
    writeFile(join(dir, MATRICES.yTest), f32Bytes(sets.test.labels)),
    writeFile(join(dir, FITTED_FEATURES_FILE), JSON.stringify(sets.fitted)),
    writeFile(join(dir, SPLIT_FILE), JSON.stringify(split)),
  ]);
}

/** The named matrices of a feature folder, in the order asked. */
export function readFeatureMatrices<const K extends readonly FeatureMatrix[]>(dir: string, names: K): Promise<{ [I in keyof K]: Float32Array }> {
  return Promise.all(names.map((n) => readF32(join(dir, MATRICES[n])))) as Promise<{ [I in keyof K]: Float32Array }>;
}

export async function readSplitIndex(dir: string): Promise<SplitIndex> {
  return JSON.parse(await readFile(join(dir, SPLIT_FILE), 'utf8')) as SplitIndex;
}

export async function readFittedFeatures(dir: string): Promise<FittedFeatures> {
  return JSON.parse(await readFile(join(dir, FITTED_FEATURES_FILE), 'utf8')) as FittedFeatures;
}

/** The fitted transform travels with the model: the serving path needs both, from one place. */
export async function copyFittedFeatures(featureDir: string, modelDir: string): Promise<void> {
  await copyFile(join(featureDir, FITTED_FEATURES_FILE), join(modelDir, FITTED_FEATURES_FILE));
}

const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function readF32(path: string): Promise<Float32Array> {
  const b = await readFile(path);
  // Copy into a fresh, aligned buffer: a Buffer from the pool may start at an odd offset.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
