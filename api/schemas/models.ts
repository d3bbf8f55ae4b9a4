// Models: versions, their signatures and lineage, aliases, and the prediction request and response.
import { z } from '@hono/zod-openapi';
import { ROW_WARNING_KINDS } from '../../serving/instance-validation.js';
import { PipelineSpec } from './pipelines.js';
import { MetricSet, NameParams, Text, Timestamp, VersionNumber, VersionText } from './common.js';

export const ALIAS_PATTERN = /^[a-z][a-z0-9-]*$/;

const Alias = Text().max(63).regex(ALIAS_PATTERN);

export const PredictQuery = z.object({
  alias: Alias.optional(),
  version: VersionText.optional(),
  /** What to do with a value outside a closed category vocabulary: 422 (default) or map it to __other__. */
  unknownCategories: z.enum(['reject', 'other']).default('reject'),
}).strict();

export const MoveAliasBody = z.object({
  version: VersionNumber,
  reason: Text().min(3).max(1000),
}).strict();

/** Header `Idempotency-Key`: a move retried with the same key is a no-op. */
export const MoveAliasHeaders = z.object({ 'idempotency-key': Text().min(1).max(200).optional() });

export const VersionParams = NameParams.extend({ version: VersionText });
export const AliasParams = NameParams.extend({ alias: Alias });

export const ModelSummary = z.object({
  name: z.string(),
  task: z.string(),
  createdAt: Timestamp,
  latestVersion: z.number().int().nullable(),
  /** Alias → version, e.g. {"production": 3}. */
  aliases: z.record(z.string(), z.number().int()),
}).openapi('Model');
export type ModelSummary = z.infer<typeof ModelSummary>;

export const ModelList = z.object({ models: z.array(ModelSummary) });
export type ModelList = z.infer<typeof ModelList>;

/** One field of a model's signature: what a predict instance may carry. */
export const InputField = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical', 'date', 'boolean']),
  /** True when training data never had it missing; optional fields are imputed. */
  required: z.boolean(),
  /** Known categories (categorical). */
  categories: z.array(z.string()).optional(),
  /** The categories are the whole training vocabulary: another value is refused unless unknownCategories=other. */
  closed: z.boolean().optional(),
  /** A head-to-head team: one the model's ratings do not know is rated as a newcomer (and the prediction says so). */
  team: z.boolean().optional(),
  /** Training range (numeric). */
  min: z.number().optional(),
  max: z.number().optional(),
  /** Training range (date, YYYY-MM-DD). */
  minDate: z.string().optional(),
  maxDate: z.string().optional(),
}).openapi('InputField');

const Task = z.enum(['classification', 'regression']);

/** The fitted feature pipeline saved beside the model: prediction runs the same transform training fitted. */
const FittedFeatures = z.object({
  version: z.literal(1),
  task: Task,
  target: z.string(),
  /** Class labels in model-output order (classification), else null. */
  classes: z.array(z.string()).nullable(),
  /** Column statistics, vocabularies and (for match data) the rating state after the last training match. */
  transform: z.record(z.string(), z.unknown()),
  inputSchema: z.array(InputField),
});

/** Where a version came from: its run, data, pipeline version and code. */
export const ModelLineage = z.object({
  /** The workflow ID of the run that trained it. */
  run: z.string(),
  pipeline: z.string(),
  pipelineVersion: z.number().int(),
  specHash: z.string(),
  spec: PipelineSpec,
  asOf: Timestamp,
  cleanDataset: z.object({ uri: z.string(), contentHash: z.string(), rows: z.number().int() }),
  trainRows: z.number().int(),
  testRows: z.number().int(),
  testPeriod: z.object({ from: z.string(), to: z.string() }).nullable(),
  /** The tfjs backend that trained it. */
  backend: z.string(),
  codeVersion: z.string(),
  /** Statistics of what the version predicted on its held-out rows (the monitor's baseline for its predicted distribution). */
  predictionStatisticsUri: z.string().optional(),
});

export const ModelVersion = z.object({
  id: z.number().int(),
  modelId: z.number().int(),
  version: z.number().int(),
  runWorkflowId: z.string(),
  artifactUri: z.string(),
  artifactSha256: z.string(),
  metrics: MetricSet,
  baselines: z.record(z.string(), MetricSet),
  transform: FittedFeatures,
  inputSchema: z.array(InputField),
  lineage: ModelLineage,
  createdAt: Timestamp,
}).openapi('ModelVersion');

export const VersionList = z.object({
  /** Newest first; without the fitted transform, which the single-version endpoint serves. */
  versions: z.array(ModelVersion.omit({ transform: true })),
});
export type VersionList = z.infer<typeof VersionList>;

export const VersionOne = z.object({ version: ModelVersion });
export type VersionOne = z.infer<typeof VersionOne>;

/** What a predict request must send, and what comes back. */
export const ModelSignature = z.object({
  model: z.string(),
  version: z.number().int(),
  task: Task,
  target: z.string(),
  classes: z.array(z.string()).nullable(),
  inputs: z.array(InputField),
});
export type ModelSignature = z.infer<typeof ModelSignature>;

export const VersionLineage = z.object({
  model: z.string(),
  version: z.number().int(),
  artifactUri: z.string(),
  artifactSha256: z.string(),
  lineage: ModelLineage,
  metrics: MetricSet,
  baselines: z.record(z.string(), MetricSet),
});
export type VersionLineage = z.infer<typeof VersionLineage>;

export const AliasEvent = z.object({
  id: z.number().int(),
  modelId: z.number().int(),
  alias: z.string(),
  fromVersion: z.number().int().nullable(),
  toVersion: z.number().int(),
  actor: z.string(),
  reason: z.string(),
  idempotencyKey: z.string(),
  at: Timestamp,
});

export const AliasHistory = z.object({ events: z.array(AliasEvent) });
export type AliasHistory = z.infer<typeof AliasHistory>;

const aliasMove = { alias: z.string(), model: z.string(), fromVersion: z.number().int().nullable(), toVersion: z.number().int(), replayed: z.boolean() };
/** The alias moved (or had already moved, for a replayed Idempotency-Key), or was refused with reasons. */
export const AliasMoved = z.discriminatedUnion('moved', [
  z.object({ ...aliasMove, moved: z.literal(true) }),
  z.object({ ...aliasMove, moved: z.literal(false), reasons: z.array(z.string()) }),
]);
export type AliasMoved = z.infer<typeof AliasMoved>;

export const PredictBody = z.object({
  /** Rows to score: column → value, as the model's signature (GET …/schema) describes. */
  instances: z.array(z.record(Text(), z.unknown())).min(1),
});

/** What a row's answer assumed (a fallback or a reading of text); present only on rows that have any. */
export const RowWarning = z.object({
  field: z.string(),
  kind: z.enum(ROW_WARNING_KINDS),
  message: z.string(),
}).openapi('PredictionWarning');

const RowMeta = {
  /** The row's prediction ID: ground truth for it is fed back with POST /v1/models/{name}/feedback. */
  id: z.string().openapi({ example: 'k3x9q2m0ab.1f' }),
  warnings: z.array(RowWarning).optional(),
};

export const Prediction = z.union([
  /** Classification: the most likely class and every class's probability. */
  z.object({ ...RowMeta, label: z.string(), probabilities: z.record(z.string(), z.number()) }),
  /** Regression: the predicted value. */
  z.object({ ...RowMeta, value: z.number() }),
]);

export const PredictResponse = z.object({
  model: z.string(),
  version: z.number().int(),
  /** The alias that chose the version; null when the request named a version. */
  alias: z.string().nullable(),
  /** One per instance, in order. */
  predictions: z.array(Prediction),
});
export type PredictResponse = z.infer<typeof PredictResponse>;
