// Model versions (immutable once written), aliases, and the audited, exactly-once moves between them.
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { aliasEvents, aliases, metrics, models, modelVersions } from '../db/schema.js';
import { appendAudit } from './audit.js';
import type { EvaluateOutput, MetricSet, ModelLineage } from '../pipelines/contract.js';
import type { FittedFeatures, InputSchema } from '../pipelines/fitted-features.js';
import type { PipelineSpec } from '../pipelines/spec.js';

export type ModelVersionRow = typeof modelVersions.$inferSelect;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface NewVersion {
  model: string;
  task: string;
  runWorkflowId: string;
  artifactUri: string;
  artifactSha256: string;
  metrics: MetricSet;
  baselines: Record<string, MetricSet>;
  champion: EvaluateOutput['champion'];
  transform: FittedFeatures;
  inputSchema: InputSchema;
  lineage: ModelLineage;
}

/** Registers the run's model as the next version; a retried call returns the version already registered. */
export async function registerVersion(db: Db, v: NewVersion): Promise<number> {
  return db.transaction(async (tx) => {
    const modelId = await lockModel(tx, v.model, v.task);
    const [existing] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.runWorkflowId, v.runWorkflowId));
    if (existing) return existing.version;
    const [{ next }] = await tx.select({ next: sql<number>`coalesce(max(${modelVersions.version}), 0) + 1` }).from(modelVersions).where(eq(modelVersions.modelId, modelId));
    await tx.insert(modelVersions).values({
      modelId, version: Number(next), runWorkflowId: v.runWorkflowId, artifactUri: v.artifactUri, artifactSha256: v.artifactSha256,
      metrics: v.metrics, baselines: v.baselines, transform: v.transform, inputSchema: v.inputSchema, lineage: v.lineage,
    });
    const metricRows = [
      ...Object.entries(v.metrics).map(([name, value]) => ({ subject: 'candidate', name, value })),
      ...Object.entries(v.baselines).flatMap(([b, m]) => Object.entries(m).map(([name, value]) => ({ subject: `baseline:${b}`, name, value }))),
      ...Object.entries(v.champion?.metrics ?? {}).map(([name, value]) => ({ subject: `champion:v${v.champion!.version}`, name, value })),
    ].filter((r) => Number.isFinite(r.value)).map((r) => ({ ...r, runWorkflowId: v.runWorkflowId }));
    if (metricRows.length) await tx.insert(metrics).values(metricRows).onConflictDoNothing();
    return Number(next);
  });
}

/** Creates the model on first use and takes its row lock: every version or alias change of one model is serialised. */
async function lockModel(tx: Tx, name: string, task: string): Promise<number> {
  await tx.insert(models).values({ name, task }).onConflictDoNothing();
  const r = await tx.execute<{ id: number | string }>(sql`SELECT id FROM models WHERE name = ${name} FOR UPDATE`);
  return Number(r.rows[0].id);
}

export async function findModel(db: Db | Tx, name: string) {
  const [m] = await db.select().from(models).where(eq(models.name, name));
  return m ?? null;
}

export async function listModels(db: Db) {
  const rows = await db.execute<ModelSummary>(sql`
    SELECT m.name, m.task, to_json(m.created_at)#>>'{}' AS "createdAt",
      (SELECT max(version) FROM model_versions v WHERE v.model_id = m.id) AS "latestVersion",
      coalesce((SELECT jsonb_object_agg(a.alias, a.version) FROM aliases a WHERE a.model_id = m.id), '{}'::jsonb) AS aliases
    FROM models m ORDER BY m.name`);
  return rows.rows;
}

// Row types of raw queries are type aliases: db.execute wants a Record, which an interface is not.
export type ModelSummary = {
  name: string;
  task: string;
  /** ISO 8601, as JSON carries it (raw rows would give PostgreSQL's text form). */
  createdAt: string;
  latestVersion: number | null;
  aliases: Record<string, number>;
};

export async function listVersions(db: Db, model: string): Promise<ModelVersionRow[]> {
  const m = await findModel(db, model);
  if (!m) return [];
  return db.select().from(modelVersions).where(eq(modelVersions.modelId, m.id)).orderBy(desc(modelVersions.version));
}

export async function getVersion(db: Db | Tx, model: string, version: number): Promise<ModelVersionRow | null> {
  const [row] = await db.select({ v: modelVersions }).from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(models.name, model), eq(modelVersions.version, version)));
  return row?.v ?? null;
}

export async function resolveAlias(db: Db | Tx, model: string, alias: string): Promise<number | null> {
  const [row] = await db.select({ version: aliases.version }).from(aliases)
    .innerJoin(models, eq(models.id, aliases.modelId))
    .where(and(eq(models.name, model), eq(aliases.alias, alias)));
  return row?.version ?? null;
}

export async function aliasHistory(db: Db, model: string) {
  const m = await findModel(db, model);
  if (!m) return [];
  return db.select().from(aliasEvents).where(eq(aliasEvents.modelId, m.id)).orderBy(asc(aliasEvents.id));
}

export interface AliasMove {
  model: string;
  alias: string;
  toVersion: number;
  actor: string;
  /** The request that asked for the move (its audit row's), when a person asked through the API. */
  requestId?: string | null;
  reason: string;
  /** Same key, same move: a retry returns the first outcome instead of moving again. */
  idempotencyKey: string;
  /**
   * The version the caller decided against (the champion it evaluated). If the alias has moved since,
   * the move is refused so a stale comparison never wins a race.
   */
  expectedFrom?: number | null;
}

export type AliasMoveResult =
  | { moved: true; fromVersion: number | null; toVersion: number; replayed: boolean }
  | { moved: false; fromVersion: number | null; toVersion: number; reasons: string[]; replayed: boolean };

export async function moveAlias(db: Db, m: AliasMove): Promise<AliasMoveResult> {
  return db.transaction(async (tx) => {
    const existingModel = await findModel(tx, m.model);
    if (!existingModel) throw new RegistryError('not_found', `model "${m.model}" does not exist`);
    const modelId = await lockModel(tx, m.model, existingModel.task);
    const [done] = await tx.select().from(aliasEvents).where(eq(aliasEvents.idempotencyKey, m.idempotencyKey));
    if (done) {
      // The same key for another move is a caller's mistake, not a retry: refuse it rather than answer the first.
      if (done.modelId !== modelId || done.alias !== m.alias || done.toVersion !== m.toVersion) {
        throw new RegistryError('conflict', `the idempotency key "${m.idempotencyKey}" was already used for another alias move; send a new key for a new move`);
      }
      return { moved: true, fromVersion: done.fromVersion, toVersion: done.toVersion, replayed: true };
    }
    if (!(await getVersion(tx, m.model, m.toVersion))) {
      throw new RegistryError('not_found', `model "${m.model}" has no version ${m.toVersion}`);
    }
    const current = await resolveAlias(tx, m.model, m.alias);
    const reasons: string[] = [];
    if (m.expectedFrom !== undefined && current !== m.expectedFrom) {
      reasons.push(`${m.alias} moved from v${m.expectedFrom ?? 'none'} to v${current} while this candidate was evaluated against v${m.expectedFrom ?? 'none'}`);
    }
    if (reasons.length > 0) return { moved: false, fromVersion: current, toVersion: m.toVersion, reasons, replayed: false };
    await tx.insert(aliases).values({ modelId, alias: m.alias, version: m.toVersion })
      .onConflictDoUpdate({ target: [aliases.modelId, aliases.alias], set: { version: m.toVersion, updatedAt: new Date() } });
    await tx.insert(aliasEvents).values({
      modelId, alias: m.alias, fromVersion: current, toVersion: m.toVersion, actor: m.actor, reason: m.reason, idempotencyKey: m.idempotencyKey,
    });
    await appendAudit(tx, {
      actor: m.actor, requestId: m.requestId ?? null, action: 'alias.moved', subject: `model:${m.model}`,
      details: { alias: m.alias, before: current, after: m.toVersion, reason: m.reason },
    });
    return { moved: true, fromVersion: current, toVersion: m.toVersion, replayed: false };
  });
}

export class RegistryError extends Error {
  constructor(readonly code: 'not_found' | 'conflict', message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Every alias with the metrics of the version it points at, and its pipeline's promotion rule (for gauges). */
export async function aliasMetrics(db: Db) {
  const r = await db.execute<AliasMetrics>(sql`
    SELECT m.name AS model, a.alias, a.version, v.metrics,
      (SELECT p.spec->'promotion' FROM pipelines p WHERE p.name = m.name ORDER BY p.version DESC LIMIT 1) AS promotion
    FROM aliases a JOIN models m ON m.id = a.model_id
    JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version`);
  return r.rows;
}

export type AliasMetrics = {
  model: string;
  alias: string;
  version: number;
  metrics: MetricSet;
  /** From the promotion rule of the pipeline's latest version (null: no pipeline has the model's name). */
  promotion: Pick<PipelineSpec['promotion'], 'metric' | 'threshold'> | null;
};
