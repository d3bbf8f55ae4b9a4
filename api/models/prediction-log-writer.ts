// Worker-thread half of the prediction log: turns queued entries into one INSERT and sends it, so that
// assembling and sending tens of kilobytes of JSON per batch never runs on the event loop that serves
// predictions.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import type { QueuedEntry, WriterReply, WriterRequest } from './prediction-log.js';

const pool = new pg.Pool({ connectionString: (workerData as { databaseUrl: string }).databaseUrl, max: 1 });
// A lost connection is replaced on the next batch; it must not take the thread down.
pool.on('error', () => undefined);

function rowsJson(batch: QueuedEntry[]): string {
  // The rows travel as one JSON array assembled from the stored JSON texts, and Postgres types them.
  return `[${batch.map(({ entry: e, at }) => `{"model":${JSON.stringify(e.model)},"version":${e.version},"alias":${JSON.stringify(e.alias)},"rows":${e.rows},"latency_ms":${e.latencyMs},"at":"${new Date(at).toISOString()}","request":${e.requestJson},"response":${e.responseJson}}`).join(',')}]`;
}

parentPort!.on('message', async ({ id, batch }: WriterRequest) => {
  let reply: WriterReply;
  try {
    await pool.query(
      `INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response)
       SELECT model, version, alias, rows, latency_ms, at, request, response
       FROM jsonb_to_recordset($1::jsonb)
         AS x(model text, version int, alias text, rows int, latency_ms float8, at timestamptz, request jsonb, response jsonb)`,
      [rowsJson(batch)],
    );
    reply = { id, ok: true, n: batch.length };
  } catch (err) {
    reply = { id, ok: false, n: batch.length, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
