// Pipeline specs, versioned by content: saving an unchanged spec returns the existing version.
import { createHash } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { pipelines } from '../db/schema.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import { appendAudit, type Attribution } from './audit.js';

export interface StoredPipeline {
  name: string;
  version: number;
  spec: PipelineSpec;
  specHash: string;
  createdBy: string;
  createdAt: Date;
}

export function specHash(spec: PipelineSpec): string {
  return createHash('sha256').update(stableJson(spec)).digest('hex').slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Saves a spec, and its audit row in the same transaction (an unchanged spec's too, saying so). */
export async function savePipeline(db: Db, spec: PipelineSpec, by: Attribution): Promise<{ pipeline: StoredPipeline; created: boolean }> {
  const hash = specHash(spec);
  return db.transaction(async (tx) => {
    // Serialise writers of one pipeline name so two saves cannot take the same version number.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${'pipeline:' + spec.name}))`);
    const [latest] = await tx.select().from(pipelines).where(eq(pipelines.name, spec.name)).orderBy(desc(pipelines.version)).limit(1);
    const audit = (version: number, created: boolean) =>
      appendAudit(tx, { ...by, action: 'pipeline.saved', subject: `pipeline:${spec.name}`, details: { version, specHash: hash, created } });
    if (latest && latest.specHash === hash) {
      await audit(latest.version, false);
      return { pipeline: toStored(latest), created: false };
    }
    const [row] = await tx.insert(pipelines).values({
      name: spec.name, version: (latest?.version ?? 0) + 1, spec, specHash: hash, createdBy: by.actor,
    }).returning();
    await audit(row.version, true);
    return { pipeline: toStored(row), created: true };
  });
}

export async function getPipeline(db: Db, name: string, version?: number): Promise<StoredPipeline | null> {
  const where = version === undefined ? eq(pipelines.name, name) : and(eq(pipelines.name, name), eq(pipelines.version, version));
  const [row] = await db.select().from(pipelines).where(where).orderBy(desc(pipelines.version)).limit(1);
  return row ? toStored(row) : null;
}

/** Latest version of every pipeline. */
export async function listPipelines(db: Db): Promise<StoredPipeline[]> {
  const rows = await db.selectDistinctOn([pipelines.name]).from(pipelines).orderBy(pipelines.name, desc(pipelines.version));
  return rows.map(toStored);
}

function toStored(row: typeof pipelines.$inferSelect): StoredPipeline {
  return { name: row.name, version: row.version, spec: row.spec, specHash: row.specHash, createdBy: row.createdBy, createdAt: row.createdAt };
}
