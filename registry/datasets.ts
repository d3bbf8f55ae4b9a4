import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { datasets } from '../db/schema.js';
import type { CleanReport, DatasetRef } from '../pipelines/contract.js';

/** Keyed by run + stage: a retried activity overwrites its own row instead of adding one. */
export async function recordDataset(db: Db, runWorkflowId: string, stage: 'raw' | 'clean', ref: DatasetRef, report?: CleanReport): Promise<void> {
  const values = {
    runWorkflowId, stage, uri: ref.uri, rows: ref.rows, schema: ref.columns, contentHash: ref.contentHash, report: report ?? null,
    statistics: ref.statistics ?? null, statisticsUri: ref.statisticsUri ?? null,
  };
  await db.insert(datasets).values(values).onConflictDoUpdate({ target: [datasets.runWorkflowId, datasets.stage], set: values });
}

/** A run's dataset of one stage, as recorded; null when the run recorded none. */
export async function getDataset(db: Db, runWorkflowId: string, stage: 'raw' | 'clean') {
  const [row] = await db.select().from(datasets).where(and(eq(datasets.runWorkflowId, runWorkflowId), eq(datasets.stage, stage))).limit(1);
  return row ?? null;
}
