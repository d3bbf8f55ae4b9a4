// The registry's tables. Migrations in db/migrations are generated from this file by `npm run db:generate`
// and committed; they are applied at start by db/migrate.ts.
import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, customType, doublePrecision, index, integer, json, jsonb, pgTable, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
// Types only (erased at build): the shapes the json columns hold are the contract's. `$type` types reads
// and writes in TypeScript; the SQL and the migrations are the same as for an untyped column.
import type { AuditDetails, BatchScoreInput, CleanReport, DatasetRef, DatasetStatisticsSummary, MetricSet, ModelLineage, MonitorReport, RunFailure, RunSummary, ScoringWarning } from '../pipelines/contract.js';
import type { FittedFeatures, InputSchema } from '../pipelines/fitted-features.js';
import type { PipelineSpec } from '../pipelines/spec.js';

/** Pipeline specs, versioned: editing a pipeline adds a row, runs keep the version they ran. */
export const pipelines = pgTable('pipelines', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  version: integer('version').notNull(),
  spec: jsonb('spec').$type<PipelineSpec>().notNull(),
  specHash: text('spec_hash').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('pipelines_name_version').on(t.name, t.version)]);

/** One row per Temporal workflow execution of a pipeline. */
export const runs = pgTable('runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  workflowId: text('workflow_id').notNull(),
  temporalRunId: text('temporal_run_id'),
  pipeline: text('pipeline').notNull(),
  pipelineVersion: integer('pipeline_version').notNull(),
  asOf: timestamp('as_of', { withTimezone: true }).notNull(),
  trigger: text('trigger').notNull(),
  /** Who started the run (the authenticated principal, schedule:<id>); null on rows older than migration 0004. */
  startedBy: text('started_by'),
  status: text('status').notNull(), // running | succeeded | failed
  stage: text('stage'),
  failure: jsonb('failure').$type<RunFailure>(), // set when status = failed
  summary: jsonb('summary').$type<RunSummary>(), // set when status = succeeded
  modelVersion: integer('model_version'),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
}, (t) => [
  uniqueIndex('runs_workflow_id').on(t.workflowId),
  index('runs_pipeline_started').on(t.pipeline, t.startedAt),
]);

/** Batch scoring jobs (workflows/batch-score.ts): what scored what, and where the predictions are. */
export const batchJobs = pgTable('batch_jobs', {
  /** The job's workflow ID. */
  id: text('id').primaryKey(),
  model: text('model').notNull(),
  modelVersion: integer('model_version').notNull(),
  alias: text('alias'),
  source: jsonb('source').$type<BatchScoreInput['source']>().notNull(),
  startedBy: text('started_by').notNull(),
  status: text('status').notNull(), // running | succeeded | failed
  rows: integer('rows'),
  chunks: integer('chunks'),
  chunksDone: integer('chunks_done').notNull().default(0),
  sourceHash: text('source_hash'),
  outputUri: text('output_uri'),
  outputSha256: text('output_sha256'),
  /** Values the predict API would have refused, counted per column (see ScoringWarning). */
  warnings: jsonb('warnings').$type<ScoringWarning[]>().notNull().default([]),
  failure: jsonb('failure').$type<RunFailure>(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
}, (t) => [index('batch_jobs_model_started').on(t.model, t.startedAt)]);

/** Datasets a run wrote, one per stage (raw, clean). Keyed by run + stage so a retried activity never duplicates. */
export const datasets = pgTable('datasets', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  runWorkflowId: text('run_workflow_id').notNull(),
  stage: text('stage').notNull(),
  uri: text('uri').notNull(),
  rows: integer('rows').notNull(),
  schema: jsonb('schema').$type<DatasetRef['columns']>().notNull(),
  contentHash: text('content_hash').notNull(),
  report: jsonb('report').$type<CleanReport>(), // the clean stage's quality report (null for raw)
  /** Per column, the headline figures of its statistics (the whole document: the artifact statisticsUri names). */
  statistics: jsonb('statistics').$type<DatasetStatisticsSummary>(),
  statisticsUri: text('statistics_uri'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('datasets_run_stage').on(t.runWorkflowId, t.stage)]);

export const models = pgTable('models', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  task: text('task').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('models_name').on(t.name)]);

/** Immutable once written. */
export const modelVersions = pgTable('model_versions', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  modelId: integer('model_id').notNull().references(() => models.id),
  version: integer('version').notNull(),
  runWorkflowId: text('run_workflow_id').notNull(),
  artifactUri: text('artifact_uri').notNull(),
  artifactSha256: text('artifact_sha256').notNull(),
  metrics: jsonb('metrics').$type<MetricSet>().notNull(),
  baselines: jsonb('baselines').$type<Record<string, MetricSet>>().notNull(),
  transform: jsonb('transform').$type<FittedFeatures>().notNull(),
  inputSchema: jsonb('input_schema').$type<InputSchema>().notNull(),
  lineage: jsonb('lineage').$type<ModelLineage>().notNull(), // run, dataset hashes, pipeline name/version/spec hash, code version, asOf
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('model_versions_model_version').on(t.modelId, t.version),
  uniqueIndex('model_versions_run').on(t.runWorkflowId),
]);

export const aliases = pgTable('aliases', {
  modelId: integer('model_id').notNull().references(() => models.id),
  alias: text('alias').notNull(),
  version: integer('version').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('aliases_model_alias').on(t.modelId, t.alias)]);

/** Audit of every alias move. `idempotencyKey` makes a retried move a no-op instead of a second row. */
export const aliasEvents = pgTable('alias_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  modelId: integer('model_id').notNull().references(() => models.id),
  alias: text('alias').notNull(),
  fromVersion: integer('from_version'),
  toVersion: integer('to_version').notNull(),
  actor: text('actor').notNull(),
  reason: text('reason').notNull(),
  idempotencyKey: text('idempotency_key').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('alias_events_idempotency').on(t.idempotencyKey)]);

/** Evaluation metrics as rows so runs and versions can be compared with SQL. */
export const metrics = pgTable('metrics', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  runWorkflowId: text('run_workflow_id').notNull(),
  subject: text('subject').notNull(), // candidate | baseline:prior | baseline:home | champion
  name: text('name').notNull(),
  value: doublePrecision('value').notNull(),
}, (t) => [uniqueIndex('metrics_run_subject_name').on(t.runWorkflowId, t.subject, t.name)]);

/**
 * One row per accepted mutation: who (the authenticated principal), what, on which subject, with what
 * before/after, under which request. Append-only: the runtime role may only INSERT and SELECT, and a
 * trigger refuses UPDATE and DELETE from anyone (migration 0004).
 */
export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  subject: text('subject').notNull(),
  details: jsonb('details').$type<AuditDetails>().notNull().default(sql`'{}'::jsonb`),
  requestId: text('request_id'),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('audit_log_at').on(t.at), index('audit_log_subject_at').on(t.subject, t.at)]);

/**
 * API keys: the token is shown once at creation; only the SHA-256 of its secret part is kept (the secret
 * is 256 random bits, so a slow password hash would add nothing but latency). A name is unique among keys
 * not revoked, so a key can be rotated under the same name.
 */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  secretSha256: text('secret_sha256').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  revokedBy: text('revoked_by'),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
}, (t) => [uniqueIndex('api_keys_live_name').on(t.name).where(sql`revoked_at is null`)]);

/**
 * The prediction log: each flush of a process's logged predictions of one model version as one row, the
 * rows column by column in `data` (serving/prediction-batch.ts). `token` and each row's counter make its
 * prediction ID; `first_seq`..`last_seq` bound the counters a batch holds (they interleave across models).
 */
export const predictionBatches = pgTable('prediction_batches', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  model: text('model').notNull(),
  version: integer('version').notNull(),
  token: text('token').notNull(),
  firstSeq: bigint('first_seq', { mode: 'number' }).notNull(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
  rows: integer('rows').notNull(),
  fromAt: timestamp('from_at', { withTimezone: true }).notNull(),
  toAt: timestamp('to_at', { withTimezone: true }).notNull(),
  data: bytea('data').notNull(),
}, (t) => [index('prediction_batches_model_time').on(t.model, t.toAt), index('prediction_batches_token_seq').on(t.token, t.firstSeq)]);

/**
 * Ground truth fed back for served predictions (POST /v1/models/:name/feedback): keyed by the prediction's
 * ID, or by a business key (some of its input fields' values), once per key: a repeat is a no-op.
 */
export const predictionOutcomes = pgTable('prediction_outcomes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  model: text('model').notNull(),
  predictionId: text('prediction_id'),
  /** The key's field names, sorted and comma-joined; `key` holds their values as a JSON array in that order. */
  keyFields: text('key_fields'),
  key: text('key'),
  /** The observed class (classification) or value (regression). */
  label: text('label'),
  value: doublePrecision('value'),
  /**
   * What happened beyond the label, as source columns (a match's scores): what updates the serving feature
   * state of models with point-in-time features (serving/feature-state.ts).
   */
  observed: jsonb('observed').$type<Record<string, number>>(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  reportedBy: text('reported_by').notNull(),
}, (t) => [
  uniqueIndex('prediction_outcomes_by_id').on(t.model, t.predictionId).where(sql`prediction_id is not null`),
  uniqueIndex('prediction_outcomes_by_key').on(t.model, t.keyFields, t.key).where(sql`key is not null`),
  index('prediction_outcomes_model_received').on(t.model, t.receivedAt),
]);

/**
 * One judged window of a production model's served predictions (workflows/model-monitor.ts): written once
 * per (model, window), so a retried or backfilled window finds the report it already has.
 */
export const monitorReports = pgTable('monitor_reports', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  model: text('model').notNull(),
  windowFrom: timestamp('window_from', { withTimezone: true }).notNull(),
  windowTo: timestamp('window_to', { withTimezone: true }).notNull(),
  version: integer('version'),
  breach: boolean('breach').notNull(),
  report: jsonb('report').$type<MonitorReport>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('monitor_reports_window').on(t.model, t.windowFrom, t.windowTo),
  index('monitor_reports_model_to').on(t.model, t.windowTo),
]);

/** The prediction log before 0007 (request and response bodies as sent): kept for what it holds, no longer written. */
export const predictionLog = pgTable('prediction_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  model: text('model').notNull(),
  version: integer('version').notNull(),
  alias: text('alias'),
  rows: integer('rows').notNull(),
  latencyMs: doublePrecision('latency_ms').notNull(),
  // json, not jsonb, stored uncompressed (migration 0002): the bodies are kept exactly as sent, and neither
  // building jsonb nor pglz-compressing number-heavy text is paid on every logged request (537 → 158 µs of
  // PostgreSQL CPU per logged 100-row request, bench/prediction-log.ts). `::jsonb` gives jsonb operators.
  request: json('request').$type<LoggedPredictRequest>().notNull(),
  response: json('response').$type<LoggedPredictResponse>().notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('prediction_log_model_at').on(t.model, t.at)]);

/** A logged request body, as sent: it carried `instances` (the log keeps only answered requests), and any other member it had. */
export interface LoggedPredictRequest {
  instances: Record<string, unknown>[];
  [member: string]: unknown;
}

/** A logged response body, as answered (serving/predictor.ts's predictions). */
export interface LoggedPredictResponse {
  model: string;
  version: number;
  alias: string | null;
  predictions: ({ label: string; probabilities: Record<string, number> } | { value: number })[];
}
