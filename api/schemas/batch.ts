// Batch predictions: a table scored by a model version in chunks, into a Parquet file.
import { z } from '@hono/zod-openapi';
import { SourceSchema } from '../../pipelines/spec.js';
import { named, Text, Timestamp, VersionNumber } from './common.js';

/** Columns the output has of its own; a kept source column may not take their names. */
const OUTPUT_COLUMN = /^(row|label|prediction|p_.*)$/;

export const CreateBatchJob = z.object({
  /** The rows to score: a file under the worker's source roots, a URL, a SQL query or a bundled dataset, as a pipeline's source. */
  source: named(SourceSchema, 'Source'),
  /** The version to score with; default: the version `alias` names. */
  version: VersionNumber.optional(),
  /** Used when no version is given. */
  alias: Text().min(1).max(63).regex(/^[a-z][a-z0-9-]*$/).default('production'),
  /** Source columns copied beside each prediction (an ID, say), after the row number. */
  keep: z.array(Text().min(1).max(200).refine((c) => !OUTPUT_COLUMN.test(c), 'a name the output uses for itself (row, label, prediction, p_*)'))
    .max(20).refine((k) => new Set(k).size === k.length, 'each column at most once').default([]),
  /** Rows scored and written per chunk: the unit a crashed job resumes from. */
  chunkRows: z.number().int().min(1000).max(1_000_000).default(100_000),
}).strict();

const BatchFailure = z.object({ stage: z.string(), type: z.string(), message: z.string() });

export const BatchJob = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  alias: z.string().nullable(),
  status: z.enum(['running', 'succeeded', 'failed']),
  source: named(SourceSchema, 'Source'),
  startedBy: z.string(),
  rows: z.number().int().nullable(),
  chunks: z.number().int().nullable(),
  chunksDone: z.number().int(),
  /** SHA-256 of the rows as read (the job's input artifact). */
  sourceHash: z.string().nullable(),
  /** SHA-256 of the predictions file, once written. */
  outputSha256: z.string().nullable(),
  /** Per column, rows holding a value the predict API would refuse, scored the way the transform imputes it (counts only). */
  warnings: z.array(z.object({ column: z.string(), issue: z.enum(['missing-required', 'unknown-category', 'not-a-number', 'not-a-date', 'not-a-boolean']), rows: z.number().int() })),
  failure: BatchFailure.nullable(),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  webUiUrl: z.string().nullable(),
}).openapi('BatchJob');
export type BatchJob = z.infer<typeof BatchJob>;

export const BatchJobOne = z.object({ job: BatchJob });
export const BatchJobList = z.object({ jobs: z.array(BatchJob) });
export const BatchJobParams = z.object({ id: Text().min(1).max(1000) });
export const ListBatchJobsQuery = z.object({
  model: Text().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
