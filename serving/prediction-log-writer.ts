// Worker-thread half of the prediction log: reads the fields of each queued request's instances into
// columns (serving/prediction-batch.ts), sends one INSERT per message with a blob per model version, and
// deletes what is past the retention; none of it runs on the event loop that serves predictions.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { BatchField } from './prediction-batch.js';
import { encodeQueuedEntries, predictionBatchInsert, predictionLogPrune, PRUNE_CHUNK, PRUNE_CHUNKS_PER_PASS } from './prediction-log-insert.js';
import type { QueuedEntry, WriterReply, WriterRequest } from './prediction-log.js';

const { databaseUrl, token } = workerData as { databaseUrl: string; token: string };
const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
// A lost connection is replaced on the next batch; it must not take the thread down.
pool.on('error', () => undefined);

const fieldLists = new Map<number, { fields: BatchField[]; outputs: number }>();

parentPort!.on('message', async (req: WriterRequest) => {
  if (req.kind === 'fields') {
    fieldLists.set(req.fieldsId, { fields: req.fields, outputs: req.outputs });
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: req.id, ok: true, n: req.kind === 'write' ? await write(req.batch) : await prune(req.retentionDays) };
  } catch (err) {
    reply = { id: req.id, ok: false, n: req.kind === 'write' ? req.batch.length : 0, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});

/** The entries as one blob per model version; returns how many entries were written. */
async function write(entries: QueuedEntry[]): Promise<number> {
  const { batches, written } = encodeQueuedEntries(entries, fieldLists, token);
  if (batches.length > 0) await pool.query(predictionBatchInsert(batches));
  return written;
}

/**
 * Deletes chunk after chunk until the oldest batch is within the retention, or PRUNE_CHUNKS_PER_PASS chunks
 * have gone (a backlog is worked off pass by pass, and log writes queued behind the pruning on this
 * thread's one connection wait one chunk at most).
 */
async function prune(retentionDays: number): Promise<number> {
  let total = 0;
  // The log, and what the log before 0007 still holds (request bodies: retention applies to them too).
  for (const table of ['prediction_batches', 'prediction_log'] as const) {
    for (let chunk = 0; chunk < PRUNE_CHUNKS_PER_PASS; chunk++) {
      const { rows } = await pool.query<{ seen: number; deleted: number }>(predictionLogPrune(retentionDays, table));
      total += rows[0].deleted;
      if (rows[0].deleted < rows[0].seen || rows[0].seen < PRUNE_CHUNK) break;
    }
  }
  return total;
}
