import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';
import { tf } from './backend.js';
import { ModelSpecSchema } from '../pipelines/model-spec.js';

/**
 * On-disk format of a trained model directory:
 *   model.json    tfjs "layers-model" JSON (topology + weights manifest)
 *   weights.bin   the single weights shard referenced by model.json
 *   meta.json     what a caller needs besides the network (task, shapes, …)
 *   checksum.json sha256 of the three files above, written last
 * model.json + weights.bin are the standard tfjs layout, so the directory also
 * loads with tfjs-node's `file://` handler; everything here uses plain fs
 * because tfjs-node (and its file IO) is optional.
 */

export type Task = 'classification' | 'regression';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const META_JSON = 'meta.json';
export const CHECKSUM_JSON = 'checksum.json';
const CHECKED_FILES = [MODEL_JSON, WEIGHTS_BIN, META_JSON] as const;

export const ModelMetaSchema = z.object({
  formatVersion: z.literal(1),
  task: z.enum(['classification', 'regression']),
  /** Output width: number of classes, or 1 for regression. */
  numClasses: z.number().int().min(1),
  cols: z.number().int().min(1),
  /**
   * Regression target standardisation used while training. Informational:
   * the saved network already maps back to original units (see network.ts).
   */
  targetMean: z.number().nullable(),
  targetStd: z.number().nullable(),
  backend: z.string(),
  spec: ModelSpecSchema,
  trainRows: z.number().int(),
  valRows: z.number().int(),
  epochsRun: z.number().int(),
  bestEpoch: z.number().int(),
});
export type ModelMeta = z.infer<typeof ModelMetaSchema>;

const ChecksumSchema = z.object({
  algorithm: z.literal('sha256'),
  files: z.record(z.string(), z.string()),
});

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Saves `model` + `meta` into `dir` (created if missing). Each file is written
 * atomically and checksum.json goes last, so a reader racing a rewrite sees a
 * checksum mismatch rather than silently mixing two models.
 * No timestamps are written, so identical training yields identical files.
 */
export async function writeModelDir(dir: string, model: tf.LayersModel, meta: ModelMeta): Promise<void> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured?.weightSpecs || !captured.weightData) throw new Error('tfjs save produced no weights');

  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(captured.weightData));
  const modelJson: tf.io.ModelJSON = {
    format: 'layers-model',
    generatedBy: captured.generatedBy,
    convertedBy: null,
    modelTopology: captured.modelTopology as object,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: captured.weightSpecs }],
  };
  const contents: Record<(typeof CHECKED_FILES)[number], Uint8Array | string> = {
    [MODEL_JSON]: JSON.stringify(modelJson),
    [WEIGHTS_BIN]: weights,
    [META_JSON]: JSON.stringify(ModelMetaSchema.parse(meta), null, 2),
  };

  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const name of CHECKED_FILES) {
    await writeFileAtomic(path.join(dir, name), contents[name]);
    files[name] = sha256Hex(contents[name]);
  }
  await writeFileAtomic(path.join(dir, CHECKSUM_JSON), JSON.stringify({ algorithm: 'sha256', files }, null, 2));
}

export interface ModelDirContents {
  artifacts: tf.io.ModelArtifacts;
  meta: ModelMeta;
}

/**
 * Reads a model directory, verifying every file against checksum.json first;
 * throws an Error naming the offending file on any mismatch or omission.
 */
export async function readModelDir(dir: string): Promise<ModelDirContents> {
  const checksumPath = path.join(dir, CHECKSUM_JSON);
  let checksums: z.infer<typeof ChecksumSchema>;
  try {
    checksums = ChecksumSchema.parse(JSON.parse(await readFile(checksumPath, 'utf8')));
  } catch (err) {
    throw new Error(`model directory ${dir}: cannot read ${CHECKSUM_JSON}: ${(err as Error).message}`, { cause: err });
  }

  const raw = {} as Record<(typeof CHECKED_FILES)[number], Buffer>;
  for (const name of CHECKED_FILES) {
    const expected = checksums.files[name];
    if (!expected) throw new Error(`model directory ${dir}: ${CHECKSUM_JSON} has no entry for ${name}`);
    const data = await readFile(path.join(dir, name));
    const actual = sha256Hex(data);
    if (actual !== expected) {
      throw new Error(
        `model directory ${dir}: checksum mismatch for ${name} (expected sha256 ${expected}, got ${actual}); ` +
          'the file is corrupt or was modified after training',
      );
    }
    raw[name] = data;
  }

  const meta = ModelMetaSchema.parse(JSON.parse(raw[META_JSON].toString('utf8')));
  const modelJson = JSON.parse(raw[MODEL_JSON].toString('utf8')) as tf.io.ModelJSON;
  const bin = raw[WEIGHTS_BIN];
  // Copy into a standalone ArrayBuffer: Buffers from readFile may be views
  // into a larger pooled allocation.
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
    manifest.flatMap((group) => group.weights),
    weightData,
  ]);
  return { artifacts, meta };
}
