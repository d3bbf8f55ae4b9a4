import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * Writes `file` so that readers see either the old or the new content, never
 * a torn one: the data goes to a unique temp file in the same directory
 * (rename is only atomic within one filesystem), is fsynced, then renamed
 * over the target. A training thread can be terminated mid-write (abort,
 * worker crash) and the last good checkpoint must survive that. The temp file's
 * name starts with a dot: an artifact store never uploads hidden files
 * (runtime/artifacts.ts), so a remote copy of the folder never holds a torn one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** True for temp files left behind by a writer killed before its rename (older versions named them without the dot). */
export function isAtomicTempFile(name: string): boolean {
  return /\.tmp-\d+-\d+-[0-9a-f]{8}$/.test(name);
}
