// Ground truth fed back for served predictions: stored once per key (a prediction ID, or a business key:
// some input fields' values). A repeat of the same outcome is a no-op; a different outcome for a key
// already stored is refused and reported, and the stored one stands.
import { and, eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { predictionOutcomes } from '../db/schema.js';

/** An outcome as the feedback route stores it: exactly one key (prediction ID or business key) and one observation. */
export interface OutcomeInput {
  predictionId?: string;
  /** Field → value; stored as its sorted field names and their values (businessKey). */
  key?: Record<string, string | number | boolean>;
  label?: string;
  value?: number;
}

export interface StoredOutcome {
  predictionId: string | null;
  keyFields: string | null;
  key: string | null;
  label: string | null;
  value: number | null;
}

/** A business key's canonical form: its field names sorted and comma-joined, and their values as a JSON array of strings in that order. */
export function businessKey(key: Record<string, string | number | boolean>): { fields: string; key: string } {
  const names = Object.keys(key).sort();
  return { fields: names.join(','), key: JSON.stringify(names.map((n) => String(key[n]))) };
}

export interface RecordedOutcomes {
  stored: number;
  /** The same outcome was already stored for the key. */
  duplicates: number;
  /** A different outcome was already stored for the key: it stands. */
  conflicts: { index: number; stored: string | number }[];
}

export async function recordOutcomes(db: Db, model: string, outcomes: readonly OutcomeInput[], reportedBy: string): Promise<RecordedOutcomes> {
  const rows = outcomes.map((o) => {
    const k = o.key ? businessKey(o.key) : null;
    return { model, predictionId: o.predictionId ?? null, keyFields: k?.fields ?? null, key: k?.key ?? null, label: o.label ?? null, value: o.value ?? null, reportedBy };
  });
  const result: RecordedOutcomes = { stored: 0, duplicates: 0, conflicts: [] };
  await db.transaction(async (tx) => {
    const byId = rows.map((r, index) => ({ r, index })).filter((x) => x.r.predictionId !== null);
    const byKey = rows.map((r, index) => ({ r, index })).filter((x) => x.r.key !== null);
    const insertedIds = byId.length === 0 ? [] : await tx.insert(predictionOutcomes).values(byId.map((x) => x.r))
      .onConflictDoNothing({ target: [predictionOutcomes.model, predictionOutcomes.predictionId], where: sql`prediction_id is not null` })
      .returning({ predictionId: predictionOutcomes.predictionId });
    const insertedKeys = byKey.length === 0 ? [] : await tx.insert(predictionOutcomes).values(byKey.map((x) => x.r))
      .onConflictDoNothing({ target: [predictionOutcomes.model, predictionOutcomes.keyFields, predictionOutcomes.key], where: sql`key is not null` })
      .returning({ keyFields: predictionOutcomes.keyFields, key: predictionOutcomes.key });
    result.stored = insertedIds.length + insertedKeys.length;
    // What was not inserted was there already (or twice in this request): the same outcome, or another.
    const newIds = new Set(insertedIds.map((r) => r.predictionId));
    const newKeys = new Set(insertedKeys.map((r) => `${r.keyFields}\u0000${r.key}`));
    const seen = new Set<string>();
    const existing = async (x: { r: (typeof rows)[number] }) => {
      const where = x.r.predictionId !== null
        ? and(eq(predictionOutcomes.model, model), eq(predictionOutcomes.predictionId, x.r.predictionId))
        : and(eq(predictionOutcomes.model, model), eq(predictionOutcomes.keyFields, x.r.keyFields!), eq(predictionOutcomes.key, x.r.key!));
      const [row] = await tx.select({ label: predictionOutcomes.label, value: predictionOutcomes.value }).from(predictionOutcomes).where(where).limit(1);
      return row;
    };
    for (const x of [...byId, ...byKey]) {
      const id = x.r.predictionId !== null ? `id\u0000${x.r.predictionId}` : `key\u0000${x.r.keyFields}\u0000${x.r.key}`;
      const fresh = x.r.predictionId !== null ? newIds.has(x.r.predictionId) : newKeys.has(`${x.r.keyFields}\u0000${x.r.key}`);
      // The first of a key inserted by this very request is counted as stored; the rest are compared.
      if (fresh && !seen.has(id)) {
        seen.add(id);
        continue;
      }
      seen.add(id);
      const row = await existing(x);
      if (row && row.label === x.r.label && row.value === x.r.value) result.duplicates++;
      else result.conflicts.push({ index: x.index, stored: row?.label ?? row?.value ?? '' });
    }
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

