// The prediction log's statements, apart from the writer thread that sends them (and for
// bench/prediction-log.ts, which measures what the INSERT costs PostgreSQL).
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

/** Rows one pruning statement deletes at most: each statement stays short, whatever the backlog. */
export const PRUNE_CHUNK = 10_000;
/** Chunks one pruning pass deletes at most; the next pass (10 minutes later) goes on. */
export const PRUNE_CHUNKS_PER_PASS = 20;

/**
 * Deletes the oldest rows older than `retentionDays`, at most PRUNE_CHUNK of them, oldest id first. Rows
 * are inserted in time order (ids follow `at`, give or take a batch), so the scan of the primary key
 * stops at the first chunk: a pass costs one chunk even when nothing is old, with no index on `at`.
 * Returns how many rows it looked at (`seen`) and deleted: a pass is complete when deleted < seen.
 */
export function predictionLogPrune(retentionDays: number): { text: string; values: unknown[] } {
  return {
    text: `WITH oldest AS (SELECT id, at FROM prediction_log ORDER BY id LIMIT $2::int),
                deleted AS (DELETE FROM prediction_log p USING oldest o
                            WHERE p.id = o.id AND o.at < now() - make_interval(secs => $1::float8 * 86400) RETURNING 1)
           SELECT (SELECT count(*) FROM oldest)::int AS seen, (SELECT count(*) FROM deleted)::int AS deleted`,
    values: [retentionDays, PRUNE_CHUNK],
  };
}
