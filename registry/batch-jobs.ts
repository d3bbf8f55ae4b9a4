// Batch scoring jobs: the row is made by whoever starts the job (the API, before it starts the workflow),
// and brought up to date by the job's own activities: its plan, each chunk written, its end. Only a running
// job changes: a late or repeated write of an attempt that lost its lease cannot undo an ending.
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { batchJobs } from '../db/schema.js';
import type { BatchScoreInput, BatchScorePlan, BatchScoreResult, RunFailure } from '../pipelines/contract.js';

export type BatchJobRow = typeof batchJobs.$inferSelect;

const running = (id: string) => and(eq(batchJobs.id, id), eq(batchJobs.status, 'running'));

export async function createBatchJob(db: Db, id: string, job: BatchScoreInput): Promise<void> {
  await db.insert(batchJobs).values({
    id, model: job.model, modelVersion: job.version, alias: job.alias, source: job.source, startedBy: job.actor, status: 'running',
  }).onConflictDoNothing();
}

export async function recordBatchPlan(db: Db, id: string, plan: BatchScorePlan): Promise<void> {
  await db.update(batchJobs).set({ rows: plan.rows, chunks: plan.chunks, sourceHash: plan.sourceHash, warnings: plan.warnings }).where(running(id));
}

/** After each chunk is on disk; an older attempt still writing (its lease lost) never moves the count back. */
export async function recordChunksDone(db: Db, id: string, chunksDone: number): Promise<void> {
  await db.update(batchJobs).set({ chunksDone: sql`greatest(${batchJobs.chunksDone}, ${chunksDone})` }).where(running(id));
}

export async function finishBatchJob(db: Db, id: string, result: BatchScoreResult): Promise<void> {
  await db.update(batchJobs).set({
    status: 'succeeded', chunksDone: result.chunks, outputUri: result.outputUri, outputSha256: result.outputSha256, finishedAt: new Date(),
  }).where(running(id));
}

export async function failBatchJob(db: Db, id: string, failure: RunFailure): Promise<void> {
  await db.update(batchJobs).set({ status: 'failed', failure, finishedAt: new Date() }).where(running(id));
}

export async function getBatchJob(db: Db, id: string): Promise<BatchJobRow | null> {
  const [row] = await db.select().from(batchJobs).where(eq(batchJobs.id, id));
  return row ?? null;
}

export async function listBatchJobs(db: Db, f: { model?: string; limit: number }): Promise<BatchJobRow[]> {
  const conds: SQL[] = [];
  if (f.model) conds.push(eq(batchJobs.model, f.model));
  return db.select().from(batchJobs).where(conds.length ? and(...conds) : undefined).orderBy(desc(batchJobs.startedAt)).limit(f.limit);
}
