// ARTIFACT_STORE=s3 against a real S3-compatible server (the Versity gateway over a temporary folder): two
// stores with their own working copies stand for two machines sharing one bucket.
import { mkdtemp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactNotFoundError, sha256Dir, type ArtifactStore } from '../../runtime/artifacts.js';
import { createS3ArtifactStore } from '../../runtime/s3-artifact-store.js';
import { startObjectStore, type ObjectStoreServer } from '../support/object-store.js';

let server: ObjectStoreServer;
let caches: string;
let machineA: ArtifactStore;
let machineB: ArtifactStore;
const prefix = 'platform-one';

const storeOn = (cacheDir: string, over: Partial<Parameters<typeof createS3ArtifactStore>[0]> = {}) => createS3ArtifactStore({
  bucket: server.bucket, prefix, endpoint: server.endpoint, region: 'us-east-1',
  credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, cacheDir, cacheMaxBytes: 0, ...over,
});
const objectKeys = async (under: string) => ((await server.client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${prefix}/${under}` }))).Contents ?? []).map((o) => o.Key!).sort();

beforeAll(async () => {
  server = await startObjectStore();
  caches = await mkdtemp(join(tmpdir(), 'mlp-s3-caches-'));
  machineA = storeOn(join(caches, 'a'));
  machineB = storeOn(join(caches, 'b'));
});
afterAll(async () => {
  await server?.stop();
  await rm(caches, { recursive: true, force: true });
});

describe('the S3 artifact store', () => {
  it('hands a folder published on one machine to another, byte for byte, under the same URI', async () => {
    const dir = await machineA.workDir('runs/train:x:2024-01-01:a/model', { fresh: true });
    await mkdir(join(dir, 'weights'), { recursive: true });
    await writeFile(join(dir, 'model.json'), JSON.stringify({ layers: [3, 2] }));
    await writeFile(join(dir, 'weights', 'w.bin'), Buffer.from(Float32Array.from({ length: 50_000 }, (_, i) => Math.sin(i)).buffer));
    await writeFile(join(dir, '.model.json.tmp-1-0-abcdef12'), 'a write in progress');
    const uri = await machineA.publish('runs/train:x:2024-01-01:a/model');
    // The URI is the local store's: the registry row reads the same whichever store serves it.
    expect(uri).toBe('artifact://runs/train_x_2024-01-01_a/model');
    expect(await objectKeys('runs/train_x_2024-01-01_a/')).toEqual([
      `${prefix}/runs/train_x_2024-01-01_a/model/model.json`, `${prefix}/runs/train_x_2024-01-01_a/model/weights/w.bin`,
    ]);

    const copy = await machineB.localPath(uri);
    expect(copy.startsWith(join(caches, 'b'))).toBe(true);
    expect(await sha256Dir(copy)).toBe(await sha256Dir(dir));
    expect(JSON.parse(await readFile(join(copy, 'model.json'), 'utf8'))).toEqual({ layers: [3, 2] });
    // One file of a folder, by its own URI.
    const file = await machineB.localPath(`${uri}/weights/w.bin`);
    expect(new Float32Array((await readFile(file)).buffer.slice(0)).length).toBe(50_000);
  });

  it('serves the new content after an artifact is rewritten, and drops the files it no longer has', async () => {
    const key = 'runs/r2/clean';
    let dir = await machineA.workDir(key, { fresh: true });
    await writeFile(join(dir, 'clean.parquet'), 'first');
    await writeFile(join(dir, 'report.json'), '{}');
    const uri = await machineA.publish(key);
    expect(await readFile(join(await machineB.localPath(uri), 'clean.parquet'), 'utf8')).toBe('first');

    dir = await machineA.workDir(key, { fresh: true });
    await writeFile(join(dir, 'clean.parquet'), 'second, longer');
    await machineA.publish(key);
    const copy = await machineB.localPath(uri);
    expect(await readFile(join(copy, 'clean.parquet'), 'utf8')).toBe('second, longer');
    expect(await readdir(copy)).toEqual(['clean.parquet']);
  });

  it('resumes a folder synced piece by piece on another machine (checkpoints, chunks), without hidden work files', async () => {
    const key = 'batch/job-1/parts';
    const a = await machineA.workDir(key, { fresh: true });
    await writeFile(join(a, 'part-00000.parquet'), 'chunk 0');
    await writeFile(join(a, '.part-00001.parquet.1.tmp'), 'half a chunk');
    await machineA.sync(key);

    const b = await machineB.workDir(key);
    expect(await readdir(b)).toEqual(['part-00000.parquet']);
    await writeFile(join(b, 'part-00001.parquet'), 'chunk 1');
    await machineB.sync(key);

    expect((await readdir(await machineA.workDir(key))).filter((f) => !f.startsWith('.')).sort()).toEqual(['part-00000.parquet', 'part-00001.parquet']);
    expect(await readFile(join(a, 'part-00001.parquet'), 'utf8')).toBe('chunk 1');

    // fresh empties it in the store too: a new attempt on any machine starts from nothing.
    await machineA.workDir(key, { fresh: true });
    expect(await objectKeys('batch/job-1/')).toEqual([]);
    expect(await readdir(await storeOn(join(caches, 'c')).workDir(key))).toEqual([]);
  });

  it('never empties the bucket from a folder missing here, and uploads whole the version of a file a writer replaces meanwhile', async () => {
    const key = 'runs/ckpt/train-checkpoint';
    const a = await machineA.workDir(key, { fresh: true });
    await writeFile(join(a, 'checkpoint.json'), 'epoch 1');
    await machineA.sync(key);
    await rm(a, { recursive: true, force: true });
    await machineA.sync(key);
    expect(await objectKeys('runs/ckpt/')).toEqual([`${prefix}/runs/ckpt/train-checkpoint/checkpoint.json`]);
    await expect(machineA.publish(key)).rejects.toThrow(/ENOENT/);

    // As the training thread does: a new, longer checkpoint renamed over the name every millisecond or so,
    // while the activity syncs. Each upload is one whole version.
    const b = await machineB.workDir(key);
    expect(await readFile(join(b, 'checkpoint.json'), 'utf8')).toBe('epoch 1');
    let writing = true;
    const writer = (async () => {
      for (let n = 2; writing; n++) {
        await writeFile(join(b, '.checkpoint.json.tmp'), `epoch ${n} `.repeat(n));
        await rename(join(b, '.checkpoint.json.tmp'), join(b, 'checkpoint.json'));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    for (let i = 0; i < 150; i++) await machineB.sync(key);
    writing = false;
    await writer;
    await machineB.sync(key);
    const fresh = await storeOn(join(caches, 'after-rewrites')).workDir(key);
    expect(await readFile(join(fresh, 'checkpoint.json'), 'utf8')).toBe(await readFile(join(b, 'checkpoint.json'), 'utf8'));
  });

  it('keeps artifacts whose keys share a beginning apart', async () => {
    for (const key of ['runs/s/model', 'runs/s/model2']) {
      const dir = await machineA.workDir(key, { fresh: true });
      await writeFile(join(dir, `${key.split('/').pop()}.txt`), key);
      await machineA.publish(key);
    }
    expect(await readdir(await machineB.localPath('artifact://runs/s/model'))).toEqual(['model.txt']);
  });

  it('keeps its working copy within its bound, letting go of the runs used longest ago, and fetches them again when asked', async () => {
    const bounded = storeOn(join(caches, 'bounded'), { cacheMaxBytes: 2_500, cacheKeepMs: 0 });
    const runs = join(caches, 'bounded', 'runs');
    const uris: string[] = [];
    for (const run of ['one', 'two', 'three']) {
      // Two artifacts of a run, as stages write them; a run leaves the copy as one.
      for (const stage of ['clean', 'model']) {
        const dir = await bounded.workDir(`runs/${run}/${stage}`, { fresh: true });
        await writeFile(join(dir, 'data.bin'), Buffer.alloc(500, run.length));
        uris.push(await bounded.publish(`runs/${run}/${stage}`));
      }
    }
    // 3,000 bytes written, 2,500 allowed: run `one`, used longest ago, left this copy (not the bucket).
    expect((await readdir(runs)).sort()).toEqual(['three', 'two']);
    expect(await objectKeys('runs/one/')).toHaveLength(2);
    // Asked for again (a file of one artifact, then the other whole), it comes back from the bucket; with
    // 3,000 bytes again, `two` is now the oldest and leaves.
    expect((await readFile(await bounded.localPath(`${uris[0]}/data.bin`)))[0]).toBe(3);
    expect((await readdir(runs)).sort()).toEqual(['one', 'three', 'two']);
    expect(await readdir(await bounded.localPath(uris[1]))).toEqual(['data.bin']);
    expect((await readdir(runs)).sort()).toEqual(['one', 'three']);
    // Within the keep time nothing leaves, however full.
    const keeping = storeOn(join(caches, 'keeping'), { cacheMaxBytes: 1, cacheKeepMs: 60_000 });
    for (const uri of uris) await keeping.localPath(uri);
    expect((await readdir(join(caches, 'keeping', 'runs'))).sort()).toEqual(['one', 'three', 'two']);
  });

  it('answers a missing artifact with ArtifactNotFoundError, and refuses keys outside the store', async () => {
    const missing = await machineB.localPath('artifact://runs/nothing/here').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ArtifactNotFoundError);
    expect(missing).toMatchObject({ code: 'ENOENT', message: 'no artifact at artifact://runs/nothing/here' });
    await expect(machineB.localPath('artifact://../../etc')).rejects.toThrow(/escapes the store/);
    await expect(machineB.localPath('file:///etc/passwd')).rejects.toThrow(/only artifact:\/\/ ones/);
    await expect(machineA.workDir('../outside', { fresh: true })).rejects.toThrow(/escapes the store/);
  });

  it('says why when the bucket cannot be used, without the secret', async () => {
    await expect(machineA.ping()).resolves.toBeUndefined();
    await expect(storeOn(join(caches, 'x'), { bucket: 'no-such-bucket' }).ping()).rejects.toThrow(/^the artifact bucket no-such-bucket at http:\/\/127\.0\.0\.1:\d+ cannot be reached: \w+ \(HTTP 404\)$/);
    const wrong = storeOn(join(caches, 'y'), { credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'not-the-secret-at-all' } });
    const err = await wrong.ping().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/cannot be reached: \w+ \(HTTP 403\)$/);
    expect((err as Error).message).not.toContain('not-the-secret-at-all');
  });
});
