// Worker-thread half of the prediction log: turns queued entries into one INSERT and sends it, so that
// assembling and sending tens of kilobytes of JSON per batch never runs on the event loop that serves
// predictions; and deletes entries past the retention.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { predictionLogInsert, predictionLogPrune, PRUNE_CHUNK, PRUNE_CHUNKS_PER_PASS } from './prediction-log-insert.js';
import type { QueuedEntry, WriterReply, WriterRequest } from './prediction-log.js';

const pool = new pg.Pool({ connectionString: (workerData as { databaseUrl: string }).databaseUrl, max: 1 });
// A lost connection is replaced on the next batch; it must not take the thread down.
pool.on('error', () => undefined);

parentPort!.on('message', async (req: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = { id: req.id, ok: true, n: req.kind === 'write' ? await write(req.batch) : await prune(req.retentionDays) };
  } catch (err) {
    reply = { id: req.id, ok: false, n: req.kind === 'write' ? req.batch.length : 0, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});

async function write(batch: QueuedEntry[]): Promise<number> {
  await pool.query(predictionLogInsert(batch));
  return batch.length;
}

/**
 * Deletes chunk after chunk until the oldest row is within the retention, or PRUNE_CHUNKS_PER_PASS chunks
 * have gone (a backlog, e.g. retention switched on over a large table, is worked off pass by pass, and log
 * writes queued behind the pruning on this thread's one connection wait one chunk at most).
 */
async function prune(retentionDays: number): Promise<number> {
  let total = 0;
  for (let chunk = 0; chunk < PRUNE_CHUNKS_PER_PASS; chunk++) {
    const { rows } = await pool.query<{ seen: number; deleted: number }>(predictionLogPrune(retentionDays));
    total += rows[0].deleted;
    if (rows[0].deleted < rows[0].seen || rows[0].seen < PRUNE_CHUNK) break;
  }
  return total;
}
