// Which local files a source may read: only files whose real path (symbolic links and `..` followed) lies
// under an allowed root, never the platform's own data (the artifact store, DATA_DIR's service state), and
// only regular files. The file is opened once its path is checked, the open file's path is checked again,
// and readers get a path to the open file, so a link swapped in between cannot redirect the read.
import { constants, existsSync } from 'node:fs';
import { mkdtemp, open, readlink, realpath, rm, symlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PipelineInputError } from './pipeline-error.js';

export interface FilePolicy {
  /** Folders that may be read (as configured; their real paths are taken at each check). */
  roots: string[];
  /** Never read, even inside a root: the artifact store ... */
  artifactDir: string;
  /** ... and DATA_DIR's own files (its postgres and temporal state, the source role's password, the log). */
  dataDir: string;
  /** How the file is named in messages: 'source file' or 'header file'. */
  what: string;
  /** The setting that widens `roots`, named in refusals. */
  setting: string;
}

/** DATA_DIR's service folders: never readable, even through a root that is inside DATA_DIR. */
const SERVICE_DIRS = ['postgres', 'temporal'];

export const isInside = (path: string, dir: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

async function realOrResolved(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** The roots that exist, as configured and as real paths. */
async function realRoots(roots: string[]): Promise<{ given: string; real: string }[]> {
  const out: { given: string; real: string }[] = [];
  for (const given of roots) {
    try {
      out.push({ given: resolve(given), real: await realpath(given) });
    } catch {
      // A missing root holds nothing to read.
    }
  }
  return out;
}

function refusal(path: string, policy: FilePolicy, why: string): PipelineInputError {
  const roots = policy.roots.length ? policy.roots.join(', ') : '(none configured)';
  return new PipelineInputError('InvalidSource',
    `${policy.what} ${path} ${why}; it may be read only from under: ${roots} (${policy.setting} on the worker adds folders)`,
    { path, roots: policy.roots });
}

/** Why a real path may not be read, or null when it may. */
async function realPathProblem(real: string, roots: { real: string }[], policy: FilePolicy): Promise<string | null> {
  const containing = roots.filter((r) => isInside(real, r.real));
  if (containing.length === 0) return 'resolves (through a symbolic link or "..") to a place outside those folders';
  const dataDir = await realOrResolved(policy.dataDir);
  const platform = [await realOrResolved(policy.artifactDir), ...(await Promise.all(SERVICE_DIRS.map((d) => realOrResolved(join(dataDir, d)))))];
  // A root that contains DATA_DIR (say `/`) does not open DATA_DIR's own files; a root inside it (the
  // default DATA_DIR/sources) opens its own files only.
  const platformFile = platform.some((d) => isInside(real, d))
    || (isInside(real, dataDir) && !containing.some((r) => r.real !== dataDir && isInside(r.real, dataDir)));
  return platformFile ? 'is part of the platform\'s own data (the artifact store or DATA_DIR\'s state), which sources never read' : null;
}

/** A checked file, open for reading; `path` names the open file itself (Linux), with the extension readers expect. */
export interface OpenedFile {
  path: string;
  handle: FileHandle;
  close(): Promise<void>;
}

/**
 * Opens `path` (relative: from the first root) if it may be read, for a reader that needs a path ending in
 * `.${extension}`. Refusals and missing files are InvalidSource naming the path and the roots, never what the
 * file holds; other file-system faults stay plain errors (retried).
 */
export async function openAllowedFile(path: string, policy: FilePolicy, extension: string): Promise<OpenedFile> {
  if (path.includes('\0')) throw refusal(path.replaceAll('\0', '\\0'), policy, 'holds a NUL character');
  const roots = await realRoots(policy.roots);
  const absolute = resolve(policy.roots[0] ?? '/', path);
  // Judged on the path as written first, so nothing outside the roots is even looked at (no probing which
  // files exist elsewhere).
  if (!roots.some((r) => isInside(absolute, r.given) || isInside(absolute, r.real))) throw refusal(path, policy, 'is outside the folders sources may read');
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (err) {
    throw fsProblem(err, path, policy);
  }
  const problem = await realPathProblem(real, roots, policy);
  if (problem) throw refusal(path, policy, problem);

  let handle: FileHandle;
  try {
    // No symbolic link at the end (one swapped in since realpath fails), and a FIFO does not block the open.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ELOOP' ? refusal(path, policy, 'changed into a symbolic link while being opened') : fsProblem(err, path, policy);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mlp-src-file-')).catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  const close = async () => {
    await handle.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refusal(path, policy, 'is not a regular file');
    // What was opened, whatever a directory swapped in since realpath pointed at: checked again.
    const fdPath = `/proc/self/fd/${handle.fd}`;
    const procFs = existsSync(fdPath);
    if (procFs) {
      const problemNow = await realPathProblem(await readlink(fdPath), roots, policy);
      if (problemNow) throw refusal(path, policy, problemNow);
    }
    const named = join(dir, `source.${extension}`);
    await symlink(procFs ? fdPath : real, named);
    return { path: named, handle, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function fsProblem(err: unknown, path: string, policy: FilePolicy): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return refusal(path, policy, 'does not exist on the worker');
  if (code === 'EACCES' || code === 'EPERM') return refusal(path, policy, 'cannot be read by the worker (permission denied)');
  if (code === 'ELOOP') return refusal(path, policy, 'has a loop of symbolic links');
  return err;
}
