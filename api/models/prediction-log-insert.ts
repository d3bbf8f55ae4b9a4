// The prediction log's INSERT, apart from the writer thread that sends it (and from bench/prediction-log.ts,
// which measures what it costs PostgreSQL).
import type { QueuedEntry } from './prediction-log.js';

/**
 * One multi-row VALUES statement with the request and response JSON texts as parameters, as received and
 * as sent: PostgreSQL only validates them into the json columns. (Passing them as arrays costs more in
 * `pg`'s array escaping than the whole insert; one JSON document parsed by jsonb_to_recordset costs
 * PostgreSQL a full jsonb parse.)
 */
export function predictionLogInsert(batch: readonly QueuedEntry[]): { text: string; values: unknown[] } {
  const tuples: string[] = [];
  const values: unknown[] = [];
  for (const { entry: e, at } of batch) {
    const p = values.length;
    tuples.push(`($${p + 1},$${p + 2},$${p + 3},$${p + 4},$${p + 5},$${p + 6},$${p + 7},$${p + 8})`);
    values.push(e.model, e.version, e.alias, e.rows, e.latencyMs, new Date(at).toISOString(), e.requestJson, e.responseJson);
  }
  return { text: `INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response) VALUES ${tuples.join(',')}`, values };
}
