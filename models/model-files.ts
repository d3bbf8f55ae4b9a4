// The model directory format, and reading it, without tfjs: the API process loads saved models through
// here and runs them on the plain-JS forward pass, so it never loads @tensorflow/* (a model that needs tfjs
// brings it in then; see serving/model-loader.ts). Writing a directory needs a tfjs model: models/artifacts.ts.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
// Types only (erased at compile time): the shapes of tfjs's own model JSON and in-memory artifacts.
import type { io } from '@tensorflow/tfjs';
import { z } from 'zod';
import { ModelSpecSchema } from '../pipelines/model-spec.js';
import type { HashedFile } from '../runtime/artifacts.js';

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


export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const META_JSON = 'meta.json';
export const CHECKSUM_JSON = 'checksum.json';
export const CHECKED_FILES = [MODEL_JSON, WEIGHTS_BIN, META_JSON] as const;
export type CheckedFile = (typeof CHECKED_FILES)[number];

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

export const ChecksumSchema = z.object({
  algorithm: z.literal('sha256'),
  files: z.record(z.string(), z.string()),
});

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** tfjs's in-memory model artifacts (what tf.io.fromMemory takes), and the topology the JS path reads. */
export type ModelArtifacts = io.ModelArtifacts;

export interface ModelDirContents {
  artifacts: ModelArtifacts;
  meta: ModelMeta;
}

export interface ReadModelDirOptions {
  /**
   * The directory's files, already read and hashed (runtime/artifacts.ts readDirHashed, keyed by path
   * relative to `dir`): checked against checksum.json from their hashes, with no further file IO. Without
   * them, the four files of the format are read from `dir` here.
   */
  files?: ReadonlyMap<string, HashedFile>;
}

/**
 * Reads a model directory, verifying every file against checksum.json first;
 * throws an Error naming the offending file on any mismatch or omission.
 * Builds tfjs's ModelArtifacts by hand (what tf.io.getModelArtifactsForJSON does for a one-shard
 * layers-model), so no tfjs code runs.
 */
export async function readModelDir(dir: string, options: ReadModelDirOptions = {}): Promise<ModelDirContents> {
  const read = async (name: string): Promise<{ data: Buffer; sha256: string }> => {
    if (!options.files) {
      const data = await readFile(path.join(dir, name));
      return { data, sha256: sha256Hex(data) };
    }
    const file = options.files.get(name);
    if (!file) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path.join(dir, name)}'`), { code: 'ENOENT' });
    return file;
  };

  let checksums: z.infer<typeof ChecksumSchema>;
  try {
    checksums = ChecksumSchema.parse(JSON.parse((await read(CHECKSUM_JSON)).data.toString('utf8')));
  } catch (err) {
    throw new Error(`model directory ${dir}: cannot read ${CHECKSUM_JSON}: ${(err as Error).message}`, { cause: err });
  }

  const raw = {} as Record<CheckedFile, Buffer>;
  for (const name of CHECKED_FILES) {
    const expected = checksums.files[name];
    if (!expected) throw new Error(`model directory ${dir}: ${CHECKSUM_JSON} has no entry for ${name}`);
    const { data, sha256: actual } = await read(name);
    if (actual !== expected) {
      throw new Error(
        `model directory ${dir}: checksum mismatch for ${name} (expected sha256 ${expected}, got ${actual}); ` +
          'the file is corrupt or was modified after training',
      );
    }
    raw[name] = data;
  }

  const meta = ModelMetaSchema.parse(JSON.parse(raw[META_JSON].toString('utf8')));
  const modelJson = JSON.parse(raw[MODEL_JSON].toString('utf8')) as io.ModelJSON;
  const bin = raw[WEIGHTS_BIN];
  // Copy into a standalone ArrayBuffer: Buffers from readFile may be views
  // into a larger pooled allocation.
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return { artifacts: artifactsOf(modelJson, weightData), meta };
}

/**
 * The ModelArtifacts tf.io.getModelArtifactsForJSON builds from a model.json whose manifest names the one
 * weights shard: the manifest's weight specs in order, over the shard's bytes.
 */
function artifactsOf(modelJson: io.ModelJSON, weightData: ArrayBuffer): ModelArtifacts {
  const artifacts: ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
  };
  if (modelJson.trainingConfig != null) artifacts.trainingConfig = modelJson.trainingConfig;
  if (modelJson.weightsManifest != null) {
    artifacts.weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
    artifacts.weightData = weightData;
  }
  if (modelJson.signature != null) artifacts.signature = modelJson.signature;
  if (modelJson.userDefinedMetadata != null) artifacts.userDefinedMetadata = modelJson.userDefinedMetadata;
  if (modelJson.modelInitializer != null) artifacts.modelInitializer = modelJson.modelInitializer;
  if (modelJson.initializerSignature != null) artifacts.initializerSignature = modelJson.initializerSignature;
  return artifacts;
}
