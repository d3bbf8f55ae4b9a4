// The feature stage's artifact folder, written and read only here: the fitted features as JSON, the split's
// row positions as raw int32 files and its labels as raw float32 files (little-endian). No encoded
// matrix: the clean dataset and the fitted transform make it again, deterministically and faster than a
// matrix of millions of rows could be written and read back (900 MB for the 3,000,000 flights), so
// training and evaluation encode the rows they need when they need them (./split-rows.ts). This module
// loads no dataframe library: the serving process reads the fitted features through it.
// The fitted features also travel beside the model (see copyFittedFeatures), where serving reads them.
import { existsSync } from 'node:fs';
import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineInputError } from './pipeline-error.js';
import type { FeatureSets } from './feature-pipeline.js';
import type { FittedFeatures } from '../pipelines/fitted-features.js';

const LABELS = { yTrain: 'y_train.f32', yTest: 'y_test.f32' } as const;
export type SplitLabels = keyof typeof LABELS;

/** The fitted features' file name, in a feature folder and in a model folder alike. */
export const FITTED_FEATURES_FILE = 'fitted.json';
const SPLIT_FILES = { trainIndex: 'train_index.i32', testIndex: 'test_index.i32', notes: 'split_notes.json' } as const;

export interface SplitIndex {
  /** Positions of the training and held-out rows in the clean dataset. */
  trainIndex: Int32Array;
  testIndex: Int32Array;
  notes: string[];
}

export async function writeFeatureArtifacts(dir: string, sets: FeatureSets): Promise<void> {
  await Promise.all([
    writeFile(join(dir, LABELS.yTrain), bytesOf(sets.train.labels)),
    writeFile(join(dir, LABELS.yTest), bytesOf(sets.test.labels)),
    writeFile(join(dir, FITTED_FEATURES_FILE), JSON.stringify(sets.fitted)),
    writeFile(join(dir, SPLIT_FILES.trainIndex), bytesOf(sets.train.index)),
    writeFile(join(dir, SPLIT_FILES.testIndex), bytesOf(sets.test.index)),
    writeFile(join(dir, SPLIT_FILES.notes), JSON.stringify(sets.notes)),
  ]);
}

/** The named label arrays of a feature folder, in the order asked. */
export function readSplitLabels<const K extends readonly SplitLabels[]>(dir: string, names: K): Promise<{ [I in keyof K]: Float32Array }> {
  return Promise.all(names.map(async (n) => new Float32Array(await readWhole(join(dir, LABELS[n]))))) as Promise<{ [I in keyof K]: Float32Array }>;
}

/** The clean dataset a feature stage split; runs recorded before FeatureOutput named it kept it beside. */
export function cleanUriOf(features: { uri: string; cleanUri?: string }): string {
  if (features.cleanUri) return features.cleanUri;
  throw new PipelineInputError('InvalidSpec', `the feature stage's output ${features.uri} names no clean dataset (an older version made it): start the run again`);
}

export async function readSplitIndex(dir: string): Promise<SplitIndex> {
  if (!existsSync(join(dir, SPLIT_FILES.trainIndex))) {
    throw new PipelineInputError('InvalidSpec', `the feature stage's output has no ${SPLIT_FILES.trainIndex} (an older version made it): start the run again`);
  }
  const [train, test, notes] = await Promise.all([
    readWhole(join(dir, SPLIT_FILES.trainIndex)), readWhole(join(dir, SPLIT_FILES.testIndex)), readFile(join(dir, SPLIT_FILES.notes), 'utf8'),
  ]);
  return { trainIndex: new Int32Array(train), testIndex: new Int32Array(test), notes: JSON.parse(notes) as string[] };
}

export async function readFittedFeatures(dir: string): Promise<FittedFeatures> {
  return JSON.parse(await readFile(join(dir, FITTED_FEATURES_FILE), 'utf8')) as FittedFeatures;
}

/** The fitted transform travels with the model: the serving path needs both, from one place. */
export async function copyFittedFeatures(featureDir: string, modelDir: string): Promise<void> {
  await copyFile(join(featureDir, FITTED_FEATURES_FILE), join(modelDir, FITTED_FEATURES_FILE));
}

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * A file's bytes in a fresh ArrayBuffer of exactly its size, read in place: no pooled Buffer at an odd
 * offset, and no second copy of a matrix that may be a gigabyte.
 */
async function readWhole(path: string): Promise<ArrayBuffer> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const out = new ArrayBuffer(size);
    const view = new Uint8Array(out);
    for (let at = 0; at < size;) {
      const { bytesRead } = await file.read(view, at, Math.min(size - at, 1 << 30), at);
      if (bytesRead === 0) throw new Error(`${path} ended at ${at} of ${size} bytes`);
      at += bytesRead;
    }
    return out;
  } finally {
    await file.close();
  }
}
