// Reading a model directory without tfjs (models/model-files.ts), and the one pass over its files that a
// serving load makes (runtime/artifacts.ts readDirHashed + dirDigest).
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '../../../models/backend.js';
import { MODEL_JSON, readModelDir, WEIGHTS_BIN } from '../../../models/model-files.js';
import { buildMlp } from '../../../models/network.js';
import { dirDigest, readDirHashed, sha256Dir } from '../../../runtime/artifacts.js';
import { loadModel } from '../../../serving/model-loader.js';
import { saveModelDir, spec, tempDir } from '../models/fixtures.js';

async function savedModel(): Promise<string> {
  const s = spec({ hiddenLayers: [5, 3], seed: 11 });
  const mlp = buildMlp({ cols: 4, task: 'classification', outputs: 3, spec: s });
  const dir = await saveModelDir(mlp.model, { task: 'classification', numClasses: 3, cols: 4, spec: s });
  mlp.model.dispose();
  return dir;
}

describe('readModelDir (no tfjs)', () => {
  it('builds the same ModelArtifacts as tf.io.getModelArtifactsForJSON', async () => {
    const dir = await savedModel();
    const { artifacts } = await readModelDir(dir);
    const modelJson = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
    const bin = await readFile(path.join(dir, WEIGHTS_BIN));
    const reference = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
      manifest.flatMap((g) => g.weights),
      bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    ]);
    const { weightData, ...rest } = artifacts;
    const { weightData: refData, ...refRest } = reference;
    expect(rest).toEqual(refRest);
    expect(new Uint8Array(weightData as ArrayBuffer)).toEqual(new Uint8Array(refData as ArrayBuffer));
  });
});

describe('one pass over a model directory', () => {
  it('the digest from the read files is sha256Dir\'s, sub-folders included', async () => {
    const dir = await savedModel();
    await writeFile(path.join(dir, 'fitted.json'), '{"a":1}');
    await mkdir(path.join(dir, 'extra', 'deeper'), { recursive: true });
    await writeFile(path.join(dir, 'extra', 'deeper', 'notes.txt'), 'x');
    await writeFile(path.join(dir, 'extra', 'a.bin'), Buffer.from([1, 2, 3]));
    // Names whose order differs between a per-segment sort and a plain string sort of the paths.
    await writeFile(path.join(dir, 'extra-1'), 'y');
    await writeFile(path.join(dir, 'Extra'), 'z');
    const files = await readDirHashed(dir);
    expect([...files.keys()].sort()).toEqual([
      'Extra', 'checksum.json', 'extra-1', 'extra/a.bin', 'extra/deeper/notes.txt', 'fitted.json', 'meta.json', 'model.json', 'weights.bin',
    ]);
    expect(dirDigest([...files.values()])).toBe(await sha256Dir(dir));
    // Order-independent: the digest sorts by path.
    expect(dirDigest([...files.values()].reverse())).toBe(await sha256Dir(dir));
    // And it is the digest registered before there was a one-pass reader: sorted absolute paths, each
    // relative path then its file's sha256 hex.
    const h = createHash('sha256');
    for (const f of [...files.keys()].map((k) => path.join(dir, k)).sort()) {
      h.update(path.relative(dir, f));
      h.update(createHash('sha256').update(await readFile(f)).digest('hex'));
    }
    expect(dirDigest([...files.values()])).toBe(h.digest('hex'));
  });

  it('reads the model from the files already read: no further file IO, checksum.json checked from their hashes', async () => {
    const dir = await savedModel();
    const files = await readDirHashed(dir);
    // A directory that does not exist: everything comes from `files`.
    const elsewhere = path.join(await tempDir(), 'gone');
    const fromFiles = await loadModel(elsewhere, { files });
    const fromDisk = await loadModel(dir);
    expect(fromFiles.engine).toBe('js');
    const x = new Float32Array([0.1, -0.2, 0.3, 0.4, 1, 2, -1, 0]);
    expect(Array.from(fromFiles.predict(x, 2))).toEqual(Array.from(fromDisk.predict(x, 2)));

    const tampered = new Map(files);
    const w = files.get(WEIGHTS_BIN)!;
    tampered.set(WEIGHTS_BIN, { ...w, sha256: '0'.repeat(64) });
    await expect(loadModel(elsewhere, { files: tampered })).rejects.toThrow(/checksum mismatch for weights\.bin \(expected sha256 [0-9a-f]{64}, got 0{64}\)/);

    const noChecksum = new Map(files);
    noChecksum.delete('checksum.json');
    await expect(loadModel(elsewhere, { files: noChecksum })).rejects.toThrow(/cannot read checksum\.json: ENOENT/);
  });
});
