// Where datasets, models and reports live. Activities exchange the URIs this returns, never the bytes.
// The local store keeps files under ARTIFACT_DIR; the S3 store (./s3-artifact-store.ts) keeps them in a
// bucket, with a working copy on each machine. Hidden files (a leading dot: temp files of a write in
// progress) are never part of an artifact.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  /** Where the artifacts are, for logs (a folder, or s3://bucket/prefix/). */
  readonly location: string;
  /**
   * A local folder to write the artifact `key` into. `fresh`: emptied, here and in the store. Otherwise it
   * holds what the last `sync` or `publish` of `key` left in the store (an earlier attempt's checkpoints or
   * chunks, maybe written on another machine), so the caller resumes from it.
   */
  workDir(key: string, opts?: { fresh?: boolean }): Promise<string>;
  /** Makes the folder's current files durable without finishing it (checkpoints, finished chunks). */
  sync(key: string): Promise<void>;
  /** Makes the folder written under `key` durable and returns its URI (`artifact://<key>`). */
  publish(key: string): Promise<string>;
  /** A local path holding the artifact at `uri` (fetched first for remote stores); ArtifactNotFoundError if there is none. */
  localPath(uri: string): Promise<string>;
  /** Throws, saying why, when the store cannot be used (health checks, startup). */
  ping(): Promise<void>;
}

/** No artifact at the URI (a registry row whose files were removed, or a job that has not written it yet). */
export class ArtifactNotFoundError extends Error {
  /** As fs reports a missing file, so callers treat both stores alike. */
  readonly code = 'ENOENT';
  constructor(readonly uri: string) {
    super(`no artifact at ${uri}`);
    this.name = 'ArtifactNotFoundError';
  }
}

/** A file that is not (yet) part of an artifact: hidden, such as the temp file of an atomic write. */
export const isWorkFile = (name: string) => name.startsWith('.');

/**
 * URIs name artifacts relative to the store (`artifact://runs/<run>/model`), not by absolute path, so a
 * registry restored next to a copied artifact folder, or served by another machine, still resolves them.
 */
export const ARTIFACT_SCHEME = 'artifact://';

export function createLocalArtifactStore(root: string): ArtifactStore {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const p = resolve(base, safeKey(key));
    if (!p.startsWith(base + sep)) throw new Error(`artifact key escapes the store: ${key}`);
    return p;
  };
  return {
    kind: 'local',
    location: base,
    async workDir(key, opts = {}) {
      const dir = pathOf(key);
      if (opts.fresh) await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    },
    // The folder is the store: written files are already where readers look.
    async sync() {},
    async publish(key) {
      return `${ARTIFACT_SCHEME}${safeKey(key)}`;
    },
    async localPath(uri) {
      let p: string;
      if (uri.startsWith(ARTIFACT_SCHEME)) p = pathOf(uri.slice(ARTIFACT_SCHEME.length));
      else if (uri.startsWith('file://')) p = fileURLToPath(uri);
      else throw new Error(`the local artifact store cannot read ${uri}; configure an object store`);
      await stat(p).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new ArtifactNotFoundError(uri) : err;
      });
      return p;
    },
    async ping() {
      // Only readable: the API mounts the folder read-only; the worker finds out about writing at its first stage.
      await mkdir(base, { recursive: true }).catch(() => undefined);
      await access(base, constants.R_OK).catch(() => {
        throw new Error(`the artifact folder ${base} cannot be read by this process; check ARTIFACT_DIR and its owner`);
      });
    },
  };
}

/** Workflow IDs carry ':' and may carry '/', which are not portable in paths. */
export function safeKey(key: string): string {
  return key.split('/').map((part) => part.replace(/[^A-Za-z0-9._=-]/g, '_')).join('/');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Hash of every file in a folder (names and bytes), so a model directory has one checksum. */
export async function sha256Dir(dir: string): Promise<string> {
  const files: FileDigest[] = [];
  for (const f of await artifactFiles(dir)) files.push({ path: relative(dir, f), sha256: await sha256File(f) });
  return dirDigest(files);
}

/** A file of a folder: its path relative to the folder and the sha256 (hex) of its bytes. */
export interface FileDigest {
  path: string;
  sha256: string;
}

/**
 * The folder digest sha256Dir computes, from its files' own digests: sha256 over each relative path and
 * its file's sha256 hex, in path order. A reader that has already hashed the files checks a registered
 * digest with this, without a second pass over the bytes.
 */
export function dirDigest(files: readonly FileDigest[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(f.path);
    h.update(f.sha256);
  }
  return h.digest('hex');
}

/** A file read into memory: FileDigest plus its bytes. */
export interface HashedFile extends FileDigest {
  data: Buffer;
}

/**
 * Every file of a folder (sub-folders included, as sha256Dir walks them), read into memory once and
 * hashed from those bytes; keyed by path relative to the folder. `dirDigest([...files.values()])` is
 * the folder's sha256Dir, and what the caller goes on to use is exactly the bytes that were hashed.
 */
export async function readDirHashed(dir: string): Promise<Map<string, HashedFile>> {
  const files = new Map<string, HashedFile>();
  for (const f of await artifactFiles(dir)) {
    const data = await readFile(f);
    const path = relative(dir, f);
    files.set(path, { path, data, sha256: createHash('sha256').update(data).digest('hex') });
  }
  return files;
}

/** The files of an artifact's folder and its sub-folders (absolute paths), without hidden work files. */
export async function artifactFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (isWorkFile(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await artifactFiles(p)));
    else out.push(p);
  }
  return out;
}
