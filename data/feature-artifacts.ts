// The feature stage's artifact folder, written and read only here: the encoded splits as raw float32
// files (row-major, little-endian), the fitted features as JSON, and the split's row positions as raw
// int32 files (a JSON array of millions of positions would cost more to parse than the matrices to read).
// The fitted features also travel beside the model (see copyFittedFeatures), where serving reads them.
import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureSets } from './feature-pipeline.js';
import type { FittedFeatures } from '../pipelines/fitted-features.js';

const MATRICES = { xTrain: 'x_train.f32', yTrain: 'y_train.f32', xTest: 'x_test.f32', yTest: 'y_test.f32' } as const;
export type FeatureMatrix = keyof typeof MATRICES;

/** The fitted features' file name, in a feature folder and in a model folder alike. */
export const FITTED_FEATURES_FILE = 'fitted.json';
const SPLIT_FILES = { trainIndex: 'train_index.i32', testIndex: 'test_index.i32', notes: 'split_notes.json' } as const;

export interface SplitIndex {
  /** Positions of the training and held-out rows in the clean dataset. */
  trainIndex: Int32Array;
  testIndex: Int32Array;
  notes: string[];
}

/** Rows encoded and written per step: bounds the feature stage's memory whatever the table's size. */
const WRITE_CHUNK_ROWS = 65_536;

export async function writeFeatureArtifacts(dir: string, sets: FeatureSets): Promise<void> {
  await writeMatrix(join(dir, MATRICES.xTrain), sets, sets.train.index);
  await writeMatrix(join(dir, MATRICES.xTest), sets, sets.test.index);
  await Promise.all([
    writeFile(join(dir, MATRICES.yTrain), bytesOf(sets.train.labels)),
    writeFile(join(dir, MATRICES.yTest), bytesOf(sets.test.labels)),
    writeFile(join(dir, FITTED_FEATURES_FILE), JSON.stringify(sets.fitted)),
    writeFile(join(dir, SPLIT_FILES.trainIndex), bytesOf(sets.train.index)),
    writeFile(join(dir, SPLIT_FILES.testIndex), bytesOf(sets.test.index)),
    writeFile(join(dir, SPLIT_FILES.notes), JSON.stringify(sets.notes)),
  ]);
}

async function writeMatrix(path: string, sets: FeatureSets, index: Int32Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let from = 0; from < index.length; from += WRITE_CHUNK_ROWS) {
      const chunk = sets.encode(index.subarray(from, Math.min(index.length, from + WRITE_CHUNK_ROWS)));
      const bytes = bytesOf(chunk);
      // A write may take fewer bytes than offered; go on until the chunk is down.
      for (let at = 0; at < bytes.length;) at += (await file.write(bytes, at)).bytesWritten;
    }
  } finally {
    await file.close();
  }
}

/** The named matrices of a feature folder, in the order asked. */
export function readFeatureMatrices<const K extends readonly FeatureMatrix[]>(dir: string, names: K): Promise<{ [I in keyof K]: Float32Array }> {
  return Promise.all(names.map(async (n) => new Float32Array(await readWhole(join(dir, MATRICES[n]))))) as Promise<{ [I in keyof K]: Float32Array }>;
}

export async function readSplitIndex(dir: string): Promise<SplitIndex> {
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
