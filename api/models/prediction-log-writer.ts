// Worker-thread half of the prediction log: turns queued entries into one INSERT and sends it, so that
// assembling and sending tens of kilobytes of JSON per batch never runs on the event loop that serves
// predictions.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { predictionLogInsert } from './prediction-log-insert.js';
import type { WriterReply, WriterRequest } from './prediction-log.js';

const pool = new pg.Pool({ connectionString: (workerData as { databaseUrl: string }).databaseUrl, max: 1 });
// A lost connection is replaced on the next batch; it must not take the thread down.
pool.on('error', () => undefined);

parentPort!.on('message', async ({ id, batch }: WriterRequest) => {
  let reply: WriterReply;
  try {
    await pool.query(predictionLogInsert(batch));
    reply = { id, ok: true, n: batch.length };
  } catch (err) {
    reply = { id, ok: false, n: batch.length, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
