// Reading the prediction log back: a model's logged rows over a time window (for live quality and the
// monitor), and the one row a prediction ID names (for feedback).
import { and, asc, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { predictionBatches } from '../db/schema.js';
import { decodePredictionBatch, type PredictionBatch } from './prediction-batch.js';
import { parsePredictionId } from './prediction-ids.js';

export interface LoggedBatch extends PredictionBatch {
  model: string;
  version: number;
  token: string;
}

/**
 * Every batch of `model` with a row in [from, to), oldest first, decoded; `visit` sees them one at a time
 * (a window of a million rows is a few hundred batches, never all in memory at once as objects).
 */
export async function forEachLoggedBatch(db: Db, model: string, window: { from: Date; to: Date }, visit: (batch: LoggedBatch) => void | Promise<void>): Promise<void> {
  // Pages of batches by id: a long window is read in pieces, each a bounded query.
  let after = 0;
  for (;;) {
    const page = await db.select().from(predictionBatches)
      .where(and(eq(predictionBatches.model, model), gte(predictionBatches.toAt, window.from), lt(predictionBatches.fromAt, window.to), sql`${predictionBatches.id} > ${after}`))
      .orderBy(asc(predictionBatches.id)).limit(50);
    for (const row of page) await visit({ ...decodePredictionBatch(row.data), model: row.model, version: row.version, token: row.token });
    if (page.length < 50) return;
    after = page[page.length - 1].id;
  }
}

/** The logged row a prediction ID names: its batch and its index there; null when it was not logged (sampled out, past retention, or not this model's). */
export async function findLoggedPrediction(db: Db, model: string, id: string): Promise<{ batch: LoggedBatch; row: number } | null> {
  const parts = parsePredictionId(id);
  if (!parts) return null;
  const candidates = await db.select().from(predictionBatches)
    .where(and(eq(predictionBatches.token, parts.token), lte(predictionBatches.firstSeq, parts.seq), gte(predictionBatches.lastSeq, parts.seq), eq(predictionBatches.model, model)));
  for (const c of candidates) {
    const batch = decodePredictionBatch(c.data);
    const row = batch.seq.indexOf(parts.seq);
    if (row >= 0) return { batch: { ...batch, model: c.model, version: c.version, token: c.token }, row };
  }
  return null;
}
