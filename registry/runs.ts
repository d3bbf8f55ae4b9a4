// Run records: one per workflow execution, written by the workflow's own activities so that runs started by
// schedules or by hand in Temporal are recorded too.
import { and, desc, eq, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { runs } from '../db/schema.js';
import type { RunFailure, RunSummary, Stage, Trigger } from '../pipelines/contract.js';

export type RunRow = typeof runs.$inferSelect;

export async function beginRun(db: Db, r: {
  workflowId: string; temporalRunId: string; pipeline: string; pipelineVersion: number; asOf: string; trigger: Trigger; startedBy?: string;
}): Promise<void> {
  await db.insert(runs).values({
    workflowId: r.workflowId, temporalRunId: r.temporalRunId, pipeline: r.pipeline, pipelineVersion: r.pipelineVersion,
    asOf: new Date(r.asOf), trigger: r.trigger, startedBy: r.startedBy ?? null, status: 'running', stage: 'collect',
  }).onConflictDoUpdate({
    // A retried begin, a reset workflow or a failed run started again under its ID refreshes the row
    // rather than adding one, and records the version that this execution runs.
    target: runs.workflowId,
    set: { temporalRunId: r.temporalRunId, pipelineVersion: r.pipelineVersion, status: 'running', failure: null, finishedAt: null },
  });
}

export async function markStage(db: Db, workflowId: string, stage: Stage): Promise<void> {
  await db.update(runs).set({ stage }).where(eq(runs.workflowId, workflowId));
}

export async function finishRun(db: Db, workflowId: string, outcome:
  | { status: 'succeeded'; summary: RunSummary; modelVersion: number }
  | { status: 'failed'; failure: RunFailure },
): Promise<void> {
  await db.update(runs).set(outcome.status === 'succeeded'
    ? { status: 'succeeded', stage: null, summary: outcome.summary, modelVersion: outcome.modelVersion, finishedAt: new Date() }
    : { status: 'failed', failure: outcome.failure, stage: outcome.failure.stage, finishedAt: new Date() },
  ).where(eq(runs.workflowId, workflowId));
}

export async function getRun(db: Db, workflowId: string): Promise<RunRow | null> {
  const [row] = await db.select().from(runs).where(eq(runs.workflowId, workflowId));
  return row ?? null;
}

export async function listRuns(db: Db, f: { pipeline?: string; status?: string; limit: number }): Promise<RunRow[]> {
  const conds: SQL[] = [];
  if (f.pipeline) conds.push(eq(runs.pipeline, f.pipeline));
  if (f.status) conds.push(eq(runs.status, f.status));
  return db.select().from(runs).where(conds.length ? and(...conds) : undefined).orderBy(desc(runs.startedAt)).limit(f.limit);
}
