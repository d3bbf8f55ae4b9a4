// Ground truth fed back for served predictions: stored once per key (a prediction ID, or a business key:
// some input fields' values). A repeat of the same outcome is a no-op; a different outcome for a key
// already stored is refused and reported, and the stored one stands. The audit row is written in the same
// transaction as the outcomes.
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { predictionOutcomes } from '../db/schema.js';
import { appendAudit, type Attribution } from './audit.js';

/** An outcome as the feedback route stores it: exactly one key (a canonical prediction ID or a business key) and one observation. */
export interface OutcomeInput {
  predictionId?: string;
  /** Field → value; stored as its sorted field names and their values (businessKey). */
  key?: Record<string, string | number | boolean>;
  label?: string;
  value?: number;
  /** The result's source columns (a match's scores), for models whose serving features walk forward over results. */
  observed?: Record<string, number>;
}

export interface StoredOutcome {
  predictionId: string | null;
  keyFields: string | null;
  key: string | null;
  label: string | null;
  value: number | null;
}

/**
 * A business key's canonical form: its field names sorted, as a JSON array, and their values as a JSON
 * array of strings in that order (a name may hold any character, so nothing is split on a separator).
 */
export function businessKey(key: Record<string, string | number | boolean>): { fields: string; key: string } {
  const names = Object.keys(key).sort();
  return { fields: JSON.stringify(names), key: JSON.stringify(names.map((n) => String(key[n]))) };
}

export interface RecordedOutcomes {
  stored: number;
  /** The same outcome was already stored for the key. */
  duplicates: number;
  /** A different outcome was already stored for the key: it stands. */
  conflicts: { index: number; stored: string | number }[];
}

/** Rows per INSERT: 7 parameters each stays well under PostgreSQL's 65,535. */
const CHUNK = 2000;

export async function recordOutcomes(db: Db, model: string, outcomes: readonly OutcomeInput[], by: Attribution): Promise<RecordedOutcomes> {
  const rows = outcomes.map((o, index) => {
    const k = o.key ? businessKey(o.key) : null;
    const row = { model, predictionId: o.predictionId ?? null, keyFields: k?.fields ?? null, key: k?.key ?? null, label: o.label ?? null, value: o.value ?? null, observed: o.observed ?? null, reportedBy: by.actor };
    return { row, index, id: row.predictionId !== null ? `i${row.predictionId}` : `k${row.keyFields}\u0000${row.key}` };
  });
  // One order for every request: two requests inserting overlapping keys take their index locks in the
  // same order, so they wait for each other instead of deadlocking.
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index));
  const result: RecordedOutcomes = { stored: 0, duplicates: 0, conflicts: [] };
  await db.transaction(async (tx) => {
    const inserted = new Set<string>();
    const byId = sorted.filter((x) => x.row.predictionId !== null);
    const byKey = sorted.filter((x) => x.row.key !== null);
    for (let at = 0; at < byId.length; at += CHUNK) {
      const got = await tx.insert(predictionOutcomes).values(byId.slice(at, at + CHUNK).map((x) => x.row))
        .onConflictDoNothing({ target: [predictionOutcomes.model, predictionOutcomes.predictionId], where: sql`prediction_id is not null` })
        .returning({ predictionId: predictionOutcomes.predictionId });
      for (const r of got) inserted.add(`i${r.predictionId}`);
    }
    for (let at = 0; at < byKey.length; at += CHUNK) {
      const got = await tx.insert(predictionOutcomes).values(byKey.slice(at, at + CHUNK).map((x) => x.row))
        .onConflictDoNothing({ target: [predictionOutcomes.model, predictionOutcomes.keyFields, predictionOutcomes.key], where: sql`key is not null` })
        .returning({ keyFields: predictionOutcomes.keyFields, key: predictionOutcomes.key });
      for (const r of got) inserted.add(`k${r.keyFields}\u0000${r.key}`);
    }
    result.stored = inserted.size;
    // The first of each key this request inserted is stored; every other item meets a stored outcome: the
    // same (a duplicate) or another (a conflict). Those are read back in a few queries, not one per item.
    const counted = new Set<string>();
    const rest = sorted.filter((x) => {
      if (inserted.has(x.id) && !counted.has(x.id)) {
        counted.add(x.id);
        return false;
      }
      return true;
    });
    const stored = new Map<string, { label: string | null; value: number | null }>();
    const ids = [...new Set(rest.filter((x) => x.row.predictionId !== null).map((x) => x.row.predictionId!))];
    const keys = [...new Set(rest.filter((x) => x.row.key !== null).map((x) => x.row.key!))];
    for (let at = 0; at < ids.length; at += CHUNK) {
      const got = await tx.select({ predictionId: predictionOutcomes.predictionId, label: predictionOutcomes.label, value: predictionOutcomes.value }).from(predictionOutcomes)
        .where(and(eq(predictionOutcomes.model, model), inArray(predictionOutcomes.predictionId, ids.slice(at, at + CHUNK))));
      for (const r of got) stored.set(`i${r.predictionId}`, r);
    }
    for (let at = 0; at < keys.length; at += CHUNK) {
      const got = await tx.select({ keyFields: predictionOutcomes.keyFields, key: predictionOutcomes.key, label: predictionOutcomes.label, value: predictionOutcomes.value }).from(predictionOutcomes)
        .where(and(eq(predictionOutcomes.model, model), inArray(predictionOutcomes.key, keys.slice(at, at + CHUNK))));
      for (const r of got) stored.set(`k${r.keyFields}\u0000${r.key}`, r);
    }
    for (const x of rest) {
      const s = stored.get(x.id);
      if (s && s.label === x.row.label && s.value === x.row.value) result.duplicates++;
      else result.conflicts.push({ index: x.index, stored: s?.label ?? s?.value ?? '' });
    }
    result.conflicts.sort((a, b) => a.index - b.index);
    await appendAudit(tx, {
      ...by, action: 'feedback.recorded', subject: `model:${model}`,
      details: { outcomes: outcomes.length, stored: result.stored, duplicates: result.duplicates, conflicts: result.conflicts.length },
    });
  });
  return result;
}

/** A model's outcomes received since `since` (a window's predictions can only have been answered after it began). */
export async function outcomesSince(db: Db, model: string, since: Date): Promise<StoredOutcome[]> {
  return db.select({
    predictionId: predictionOutcomes.predictionId, keyFields: predictionOutcomes.keyFields, key: predictionOutcomes.key,
    label: predictionOutcomes.label, value: predictionOutcomes.value,
  }).from(predictionOutcomes).where(and(eq(predictionOutcomes.model, model), gte(predictionOutcomes.receivedAt, since)));
}
