// The prediction log's statements and the blobs they carry, apart from the writer thread that sends them
// (and for bench/prediction-log.ts, which measures what they cost).
import { PredictionBatchBuilder, type BatchField } from './prediction-batch.js';
import type { QueuedEntry } from './prediction-log.js';

/** One model version's rows of one flush, encoded (serving/prediction-batch.ts). */
export interface EncodedBatch {
  model: string;
  version: number;
  token: string;
  firstSeq: number;
  lastSeq: number;
  rows: number;
  fromAt: number;
  toAt: number;
  data: Uint8Array;
}

/**
 * A message's entries as one blob per model version (and field list). Entries naming a field list the
 * thread was never told are left out (`written` counts the rest): every list is announced before the
 * entries naming it, so that would be a bug, and it costs only those entries.
 */
export function encodeQueuedEntries(entries: readonly QueuedEntry[], fieldLists: ReadonlyMap<number, { fields: BatchField[]; outputs: number }>, token: string): { batches: EncodedBatch[]; written: number } {
  const groups = new Map<string, { model: string; version: number; builder: PredictionBatchBuilder; from: number; to: number; first: number; last: number }>();
  let written = 0;
  for (const e of entries) {
    const list = fieldLists.get(e.fieldsId);
    if (!list) continue;
    written++;
    const key = `${e.fieldsId}\u0000${e.model}\u0000${e.version}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { model: e.model, version: e.version, builder: new PredictionBatchBuilder(list.fields, list.outputs), from: e.at, to: e.at, first: e.firstSeq, last: e.firstSeq }));
    // The body was answered, so it parses and holds `instances`, an array of objects.
    const instances = (JSON.parse(e.requestJson) as { instances: unknown[] }).instances;
    g.builder.add(e.at, e.firstSeq, instances, e.output, e.warnings);
    g.from = Math.min(g.from, e.at);
    g.to = Math.max(g.to, e.at);
    g.first = Math.min(g.first, e.firstSeq);
    g.last = Math.max(g.last, e.firstSeq + instances.length - 1);
  }
  const batches = [...groups.values()].map((g) => ({
    model: g.model, version: g.version, token, firstSeq: g.first, lastSeq: g.last, rows: g.builder.rows, fromAt: g.from, toAt: g.to, data: g.builder.encode(),
  }));
  return { batches, written };
}

/** One multi-row INSERT of the flush's blobs (a handful: one per model version served in 250 ms). */
export function predictionBatchInsert(batches: readonly EncodedBatch[]): { text: string; values: unknown[] } {
  const tuples: string[] = [];
  const values: unknown[] = [];
  for (const b of batches) {
    const p = values.length;
    tuples.push(`(${Array.from({ length: 9 }, (_, k) => `$${p + k + 1}`).join(',')})`);
    values.push(b.model, b.version, b.token, b.firstSeq, b.lastSeq, b.rows, new Date(b.fromAt).toISOString(), new Date(b.toAt).toISOString(),
      Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
  }
  return { text: `INSERT INTO prediction_batches (model, version, token, first_seq, last_seq, rows, from_at, to_at, data) VALUES ${tuples.join(',')}`, values };
}

/** Rows one pruning statement deletes at most: each statement stays short, whatever the backlog. */
export const PRUNE_CHUNK = 10_000;
/** Chunks one pruning pass deletes at most, per table; the next pass (10 minutes later) goes on. */
export const PRUNE_CHUNKS_PER_PASS = 20;

/**
 * Deletes the oldest rows older than `retentionDays` from `table` (prediction_batches, by its last row's
 * time; or prediction_log, the log before 0007, by its time), at most PRUNE_CHUNK of them, oldest id
 * first. Rows are inserted in time order (ids follow time, give or take a flush), so the scan of the
 * primary key stops at the first chunk: a pass costs one chunk even when nothing is old, with no index on
 * time. Returns how many rows it looked at (`seen`) and deleted: a pass is complete when deleted < seen.
 */
export function predictionLogPrune(retentionDays: number, table: 'prediction_batches' | 'prediction_log' = 'prediction_log'): { text: string; values: unknown[] } {
  const at = table === 'prediction_batches' ? 'to_at' : 'at';
  return {
    text: `WITH oldest AS (SELECT id, ${at} AS at FROM ${table} ORDER BY id LIMIT $2::int),
                deleted AS (DELETE FROM ${table} p USING oldest o
                            WHERE p.id = o.id AND o.at < now() - make_interval(secs => $1::float8 * 86400) RETURNING 1)
           SELECT (SELECT count(*) FROM oldest)::int AS seen, (SELECT count(*) FROM deleted)::int AS deleted`,
    values: [retentionDays, PRUNE_CHUNK],
  };
}
