// Worker-thread half of the prediction log: turns queued entries into one INSERT and sends it, so that
// assembling and sending tens of kilobytes of JSON per batch never runs on the event loop that serves
// predictions.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { QueuedEntry, WriterReply, WriterRequest } from './prediction-log.js';

const pool = new pg.Pool({ connectionString: (workerData as { databaseUrl: string }).databaseUrl, max: 1 });
// A lost connection is replaced on the next batch; it must not take the thread down.
pool.on('error', () => undefined);

/**
 * One multi-row VALUES statement with the request and response JSON texts as parameters, as received and
 * as sent: PostgreSQL only validates them into the json columns. (Passing them as arrays costs more in
 * `pg`'s array escaping than the whole insert; one JSON document parsed by jsonb_to_recordset costs
 * PostgreSQL a full jsonb parse.)
 */
function insertOf(batch: QueuedEntry[]): { text: string; values: unknown[] } {
  const tuples: string[] = [];
  const values: unknown[] = [];
  for (const { entry: e, at } of batch) {
    const p = values.length;
    tuples.push(`($${p + 1},$${p + 2},$${p + 3},$${p + 4},$${p + 5},$${p + 6},$${p + 7},$${p + 8})`);
    values.push(e.model, e.version, e.alias, e.rows, e.latencyMs, new Date(at).toISOString(), e.requestJson, e.responseJson);
  }
  return { text: `INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response) VALUES ${tuples.join(',')}`, values };
}

parentPort!.on('message', async ({ id, batch }: WriterRequest) => {
  let reply: WriterReply;
  try {
    await pool.query(insertOf(batch));
    reply = { id, ok: true, n: batch.length };
  } catch (err) {
    reply = { id, ok: false, n: batch.length, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
