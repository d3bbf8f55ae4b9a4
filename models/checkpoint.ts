import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isAtomicTempFile, writeFileAtomic } from './atomic-file.js';

/**
 * Per-epoch training checkpoint: everything needed to continue a run as if it
 * had never stopped — current and best weights, the Adam moments, history and
 * early-stopping counters. A single JSON file (weights base64-encoded; an MLP
 * is small) so one atomic rename publishes a consistent state.
 */

export const CHECKPOINT_FILE = 'checkpoint.json';

export interface HistoryEntry {
  epoch: number;
  loss: number;
  valLoss: number | null;
}

export interface AdamState {
  iterations: number;
  /** Adam's running beta1^t / beta2^t, restored exactly (not recomputed by pow). */
  accBeta1: number;
  accBeta2: number;
  /** First moments then second moments, in the order of the model's variables. */
  moments: Float32Array[];
}

export interface Checkpoint {
  /** Identifies the data + spec + shapes; a checkpoint of another run is refused. */
  fingerprint: string;
  /** Last completed epoch (1-based). */
  epoch: number;
  history: HistoryEntry[];
  bestEpoch: number;
  /** Best monitored loss so far (val loss, or train loss when there is no validation). */
  bestMonitored: number | null;
  /** Epochs since the last improvement. */
  wait: number;
  stoppedEarly: boolean;
  weights: Float32Array[];
  bestWeights: Float32Array[];
  optimizer: AdamState | null;
}

const f32 = z.string().transform((b64) => {
  const buf = Buffer.from(b64, 'base64');
  // Copy: the decoded Buffer may not be 4-byte aligned for a Float32Array view.
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
});

const CheckpointFileSchema = z.object({
  version: z.literal(1),
  fingerprint: z.string(),
  epoch: z.number().int().min(1),
  history: z.array(z.object({ epoch: z.number().int(), loss: z.number(), valLoss: z.number().nullable() })),
  bestEpoch: z.number().int(),
  bestMonitored: z.number().nullable(),
  wait: z.number().int().min(0),
  stoppedEarly: z.boolean(),
  weights: z.array(f32),
  bestWeights: z.array(f32),
  optimizer: z
    .object({ iterations: z.number().int(), accBeta1: z.number(), accBeta2: z.number(), moments: z.array(f32) })
    .nullable(),
});

function encode(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export async function writeCheckpoint(dir: string, cp: Checkpoint): Promise<void> {
  const body = {
    version: 1,
    ...cp,
    weights: cp.weights.map(encode),
    bestWeights: cp.bestWeights.map(encode),
    optimizer: cp.optimizer && { ...cp.optimizer, moments: cp.optimizer.moments.map(encode) },
  };
  await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), JSON.stringify(body));
}

/** The checkpoint in `dir`, or null if there is none. Throws if it is unreadable. */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = CheckpointFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`checkpoint ${path.join(dir, CHECKPOINT_FILE)} is invalid: ${parsed.error.message}`);
  }
  const { version: _version, ...cp } = parsed.data;
  return cp;
}

/**
 * Removes temp files of checkpoint writes that were killed before their
 * rename. Only old ones: a zombie attempt of the same activity (Temporal may
 * start a retry while a timed-out attempt still runs) could be mid-write.
 */
export async function removeStaleTempFiles(dir: string, olderThanMs = 10 * 60_000): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(isAtomicTempFile);
  const cutoff = Date.now() - olderThanMs;
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(file, { force: true });
  }
}
