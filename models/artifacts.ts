// Writing a model directory, which needs the tfjs model being saved (training only). The format itself and
// reading it, with no tfjs at run time (what the serving process uses), are in model-files.ts.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { tf } from './backend.js';
import { CHECKED_FILES, CHECKSUM_JSON, META_JSON, MODEL_JSON, ModelMetaSchema, sha256Hex, WEIGHTS_BIN, type CheckedFile, type ModelMeta } from './model-files.js';

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
  const contents: Record<CheckedFile, Uint8Array | string> = {
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
