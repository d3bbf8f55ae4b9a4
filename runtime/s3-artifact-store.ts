// The artifact store on an S3-compatible bucket (AWS S3, MinIO, Versity, Ceph, SeaweedFS…), so workers and
// API replicas on several machines share datasets, models and checkpoints without a shared volume.
//
// Each machine keeps a working copy under its cache folder (ARTIFACT_CACHE_DIR): a stage writes the
// artifact `key` into cacheDir/key, and `publish` uploads the folder to <prefix>/<key>/…; a reader's
// `localPath` mirrors the objects into the same place and returns it. Objects are compared by ETag, so a
// folder this machine wrote or already fetched costs one LIST, not a download. Uploads and downloads carry
// the SDK's payload checksums (CRC32 by default), which the store and the SDK verify.
//
// The URIs are the local store's (`artifact://<key>`): a registry row means the same artifact whichever
// store and machine reads it.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { ARTIFACT_SCHEME, ArtifactNotFoundError, artifactFiles, safeKey, type ArtifactStore } from './artifacts.js';

export interface S3StoreSettings {
  bucket: string;
  /** Key prefix of this platform's artifacts in the bucket ('' for the bucket's root). */
  prefix: string;
  /** A store other than AWS: its origin, addressed path-style. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** This machine's working copy of the artifacts it writes and reads. */
  cacheDir: string;
  /**
   * Bytes the working copy may hold before the runs and jobs used longest ago leave it (their artifacts stay
   * in the bucket); 0: no bound.
   */
  cacheMaxBytes: number;
  /** A run or job used more recently than this never leaves the copy (default: KEEP_IN_COPY_MS). */
  cacheKeepMs?: number;
}

/**
 * Longer than any stage may run (batch scoring's 6 hours): an artifact a stage may still be reading is never
 * removed from the working copy.
 */
const KEEP_IN_COPY_MS = 8 * 3_600_000;

/**
 * What the working copy keeps or lets go of as one, and what one operation at a time works on: a run
 * (`runs/<workflow>`, all its stages' artifacts) or a batch job (`batch/<job>`), the first two parts of a key.
 */
const unitOf = (key: string) => key.split('/').slice(0, 2).join('/');

/** What this process knows a local file to hold: the object with `etag`, as long as size and mtime are unchanged. */
interface LocalCopy {
  etag: string;
  size: number;
  mtimeMs: number;
  /** The file's inode: a new version renamed over the name is another file, whatever its size and time. */
  ino: number;
}

interface RemoteObject {
  /** Path relative to the artifact's folder ('' for an artifact that is one file). */
  path: string;
  etag: string;
}

export function createS3ArtifactStore(settings: S3StoreSettings): ArtifactStore {
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Our own bounded retries would only repeat the SDK's (3 attempts with backoff); Temporal retries the
    // activity on top of that.
    maxAttempts: 3,
    // A store that stops answering fails the call (and the stage's attempt, which Temporal retries) instead
    // of hanging it, and the heartbeats queued behind it, for good.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
  const { bucket } = settings;
  const base = resolve(settings.cacheDir);
  const prefix = settings.prefix ? `${settings.prefix}/` : '';
  const copies = new Map<string, LocalCopy>();
  // One operation per run or job at a time in this process: two activities reading the same model must not
  // download it into the same files at once, and the copy never lets go of a run while it is being fetched.
  const busy = new Map<string, Promise<unknown>>();
  const exclusive = <T>(rawKey: string, work: () => Promise<T>): Promise<T> => {
    const key = unitOf(rawKey);
    const before = busy.get(key) ?? Promise.resolve();
    const next = before.then(work, work);
    // The caller handles `next`'s failure; this chain only frees the slot.
    const settled: Promise<unknown> = next.then(free, free);
    function free() {
      if (busy.get(key) === settled) busy.delete(key);
    }
    busy.set(key, settled);
    return next;
  };

  // When each run or job was last asked for, oldest first; a unit this process has not touched counts from
  // its folder's time (a copy left by an earlier process).
  const lastUsed = new Map<string, number>();
  const keepMs = settings.cacheKeepMs ?? KEEP_IN_COPY_MS;
  const used = (key: string) => {
    const unit = unitOf(key);
    lastUsed.delete(unit);
    lastUsed.set(unit, Date.now());
  };
  let trimming: Promise<void> | null = null;
  /** Lets go of whole runs and jobs, least recently used first, until the copy fits (never one used within keepMs). */
  const trim = (): Promise<void> => {
    if (settings.cacheMaxBytes <= 0) return Promise.resolve();
    trimming ??= (async () => {
      try {
        let total = await bytesUnder(base);
        if (total <= settings.cacheMaxBytes) return;
        const units: { unit: string; at: number }[] = [];
        for (const top of await readdir(base).catch(() => [] as string[])) {
          for (const name of await readdir(join(base, top)).catch(() => [] as string[])) {
            const unit = `${top}/${name}`;
            units.push({ unit, at: lastUsed.get(unit) ?? (await stat(join(base, unit)).catch(() => null))?.mtimeMs ?? 0 });
          }
        }
        units.sort((a, b) => a.at - b.at);
        for (const { unit } of units) {
          if (total <= settings.cacheMaxBytes) break;
          await exclusive(unit, async () => {
            // Read again here: a stage may have asked for it while this waited its turn.
            const at = lastUsed.get(unit) ?? units.find((u) => u.unit === unit)!.at;
            if (Date.now() - at < keepMs) return;
            const dir = join(base, unit);
            total -= await bytesUnder(dir);
            await rm(dir, { recursive: true, force: true });
            for (const file of copies.keys()) if (file.startsWith(dir + sep)) copies.delete(file);
          });
        }
      } catch {
        // A copy that cannot be trimmed now is trimmed after the next operation; no stage fails for it.
      } finally {
        trimming = null;
      }
    })();
    return trimming;
  };

  const localDir = (key: string) => {
    const p = resolve(base, key);
    if (!p.startsWith(base + sep)) throw new Error(`artifact key escapes the store: ${key}`);
    return p;
  };
  /** The key as stored, refused before any request when it would name a place outside the store. */
  const checkedKey = (raw: string) => {
    const key = safeKey(raw);
    if (key.split('/').some((part) => part === '..' || part === '.' || part === '')) throw new Error(`artifact key escapes the store: ${raw}`);
    localDir(key);
    return key;
  };
  const objectKey = (key: string, path: string) => (path ? `${prefix}${key}/${path}` : `${prefix}${key}`);

  /** Every object of the artifact `key`: the object named `key` itself, or the ones under `key/`. */
  async function listRemote(key: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = [];
    let token: string | undefined;
    const exact = `${prefix}${key}`;
    do {
      // The key without its slash lists both forms in one call; siblings such as `key2/…` are dropped.
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: exact, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        // Folder markers (keys ending in '/', made by consoles and some tools) hold nothing of an artifact.
        if (!o.Key || !o.ETag || o.Key.endsWith('/')) continue;
        if (o.Key === exact) out.push({ path: '', etag: o.ETag });
        else if (o.Key.startsWith(`${exact}/`)) out.push({ path: o.Key.slice(exact.length + 1), etag: o.ETag });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async function deleteRemote(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const r = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      if (r.Errors?.length) throw new Error(`the object store refused to delete ${r.Errors.length} object(s) under ${batch[0]}: ${r.Errors[0].Code ?? 'error'}`);
    }
  }

  async function download(key: string, path: string, target: string, etag: string): Promise<void> {
    await mkdir(dirname(target), { recursive: true });
    // Into a hidden temp file, then renamed: a reader never sees half an object.
    const tmp = join(dirname(target), `.download-${randomBytes(6).toString('hex')}`);
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key, path), IfMatch: etag, ChecksumMode: 'ENABLED' }));
      await pipeline(r.Body as Readable, createWriteStream(tmp));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const info = await stat(target);
    copies.set(target, { etag, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
  }

  /** Makes the local folder of `key` hold the artifact's objects; `exact`: also removes files the store lacks. */
  async function mirrorDown(key: string, remote: RemoteObject[], exact: boolean): Promise<void> {
    const dir = localDir(key);
    for (const o of remote) {
      const target = o.path ? resolve(dir, o.path) : dir;
      if (target !== dir && !target.startsWith(dir + sep)) throw new Error(`an object under ${key} names a path outside it: ${o.path}`);
      if (await isCopyOf(target, o.etag)) continue;
      await download(key, o.path, target, o.etag);
    }
    if (exact && remote.length && remote[0].path !== '') {
      const wanted = new Set(remote.map((o) => resolve(dir, o.path)));
      for (const f of await listLocal(dir)) if (!wanted.has(f)) await rm(f, { force: true });
    }
  }

  async function isCopyOf(file: string, etag: string): Promise<boolean> {
    const known = copies.get(file);
    if (!known || known.etag !== etag) return false;
    const info = await stat(file).catch(() => null);
    return info !== null && info.size === known.size && info.mtimeMs === known.mtimeMs && info.ino === known.ino;
  }

  /**
   * Uploads the folder's files that changed since this process last uploaded or fetched them. `exact`
   * (publish): the folder must exist, and objects it no longer has are removed. A sync only adds: a
   * folder missing here must never empty the store's copy of checkpoints or chunks.
   */
  async function mirrorUp(key: string, exact: boolean): Promise<void> {
    const dir = localDir(key);
    const local = await listLocal(dir);
    if (exact && local.length === 0) await stat(dir); // a missing folder is an error, not an empty artifact
    const remote = await listRemote(key);
    const remoteEtag = new Map(remote.map((o) => [o.path, o.etag]));
    for (const file of local) {
      const path = relative(dir, file).split(sep).join('/');
      // Read through one open handle: a writer may rename a new version over the name meanwhile (a
      // checkpoint written by the training thread), and the handle keeps the version whose size was taken.
      const fh = await open(file, 'r');
      try {
        const info = await fh.stat();
        const known = copies.get(file);
        if (known && known.size === info.size && known.mtimeMs === info.mtimeMs && known.ino === info.ino && remoteEtag.get(path) === known.etag) continue;
        const body = fh.createReadStream({ start: 0, autoClose: false });
        const r = await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey(key, path), Body: body, ContentLength: info.size }));
        if (!r.ETag) throw new Error(`the object store returned no ETag for ${objectKey(key, path)}`);
        copies.set(file, { etag: r.ETag, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
      } finally {
        await fh.close();
      }
    }
    if (!exact) return;
    const kept = new Set(local.map((f) => relative(dir, f).split(sep).join('/')));
    await deleteRemote(remote.filter((o) => !kept.has(o.path)).map((o) => objectKey(key, o.path)));
  }

  return {
    kind: 's3',
    location: `s3://${bucket}/${prefix}`,
    async workDir(rawKey, opts = {}) {
      const key = checkedKey(rawKey);
      used(key);
      return exclusive(key, async () => {
        const dir = localDir(key);
        if (opts.fresh) {
          await rm(dir, { recursive: true, force: true });
          await deleteRemote((await listRemote(key)).map((o) => objectKey(key, o.path)));
        } else {
          // What an earlier attempt (maybe on another machine) kept, so this one resumes from it; files of
          // this machine's own that never reached the store stay.
          await mirrorDown(key, (await listRemote(key)).filter((o) => o.path !== ''), false);
        }
        await mkdir(dir, { recursive: true });
        return dir;
      });
    },
    async sync(rawKey) {
      const key = checkedKey(rawKey);
      used(key);
      await exclusive(key, () => mirrorUp(key, false));
    },
    async publish(rawKey) {
      const key = checkedKey(rawKey);
      used(key);
      await exclusive(key, () => mirrorUp(key, true));
      await trim();
      return `${ARTIFACT_SCHEME}${key}`;
    },
    async localPath(uri) {
      if (!uri.startsWith(ARTIFACT_SCHEME)) throw new Error(`the object store cannot read ${uri.split(':')[0]}: URIs; only ${ARTIFACT_SCHEME} ones`);
      const key = checkedKey(uri.slice(ARTIFACT_SCHEME.length));
      used(key);
      const path = await exclusive(key, async () => {
        const remote = await listRemote(key);
        if (remote.length === 0) throw new ArtifactNotFoundError(uri);
        await mirrorDown(key, remote, true);
        return localDir(key);
      });
      await trim();
      return path;
    },
    async ping() {
      try {
        // A listing under the prefix, not HeadBucket: a key allowed only this prefix may not read the bucket.
        await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
      } catch (err) {
        throw new Error(`the artifact bucket ${bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ''} cannot be reached: ${describeS3Error(err)}`);
      }
    },
  };
}

/** artifactFiles, or none when the folder is missing. */
async function listLocal(dir: string): Promise<string[]> {
  return artifactFiles(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
}

/** The bytes of every file under `path` (hidden work files included: they take room too); 0 if it is missing. */
async function bytesUnder(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await bytesUnder(join(path, name));
  return total;
}

/** The store's own words for a failure (NoSuchBucket, AccessDenied, a refused connection), never a response body. */
function describeS3Error(err: unknown): string {
  if (err instanceof S3ServiceException) return `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})`;
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.name ?? 'error';
}
