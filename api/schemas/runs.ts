// Runs: starting one, listing them, following one live, and a person's approval of its candidate.
import { z } from '@hono/zod-openapi';
import { STAGES } from '../../pipelines/contract.js';
import { DayOrInstantInput, MetricSet, Text, Timestamp, VersionNumber } from './common.js';

export const StartRunBody = z.object({
  /** The run sees only data up to this instant; default now. */
  asOf: DayOrInstantInput.optional(),
  allowPromotion: z.boolean().default(true),
  pipelineVersion: VersionNumber.optional(),
}).strict();

export const ApprovalBody = z.object({
  decision: z.enum(['approve', 'reject']),
  reason: Text().min(3).max(1000),
}).strict();

export const ListRunsQuery = z.object({
  pipeline: Text().max(200).optional(),
  status: z.enum(['running', 'succeeded', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const WorkflowIdParams = z.object({ workflowId: Text().min(1).max(1000) });

export const CancelledRun = z.object({ cancelled: z.string() }).openapi('CancelledRun');

const Stage = z.enum(STAGES);

export const RunFailure = z.object({ stage: z.string(), type: z.string(), message: z.string() });

const CleanReport = z.object({
  inputRows: z.number().int(),
  outputRows: z.number().int(),
  droppedMissingTarget: z.number().int(),
  droppedDuplicates: z.number().int(),
  droppedInvalid: z.number().int(),
  clippedOutliers: z.number().int(),
  missingByColumn: z.record(z.string(), z.number()),
  notes: z.array(z.string()),
});

const TrainingReport = z.object({
  modelUri: z.string(),
  epochsRun: z.number().int(),
  bestEpoch: z.number().int(),
  stoppedEarly: z.boolean(),
  resumedFromEpoch: z.number().int(),
  samplesPerSecond: z.number(),
  trainSeconds: z.number(),
  backend: z.string(),
  finalLoss: z.number(),
  finalValLoss: z.number().nullable(),
});

export const PromotionOutcome = z.object({
  promoted: z.boolean(),
  alias: z.string(),
  fromVersion: z.number().int().nullable(),
  toVersion: z.number().int(),
  /** Why the candidate was not promoted (empty when it was). */
  reasons: z.array(z.string()),
});

const ValidationReport = z.object({
  baseline: z.object({ model: z.string(), alias: z.string(), version: z.number().int(), workflowId: z.string(), asOf: z.string() }).nullable()
    .openapi({ description: 'The production model the data was compared with, and the run that trained it; null: there was none' }),
  compared: z.object({ scope: z.enum(['new-rows', 'all-rows']), rows: z.number().int(), after: z.string().nullable() }),
  columns: z.array(z.object({
    column: z.string(), kind: z.enum(['numeric', 'categorical', 'date']), rows: z.number().int(), missingShare: z.number(), baselineMissingShare: z.number(),
    psi: z.number().optional(),
    ks: z.object({ statistic: z.number(), pValue: z.number() }).optional(),
    wasserstein: z.number().optional().openapi({ description: 'In training standard deviations' }),
    outOfRange: z.number().optional(),
    chiSquare: z.object({ statistic: z.number(), df: z.number().int(), pValue: z.number() }).optional(),
    jensenShannon: z.number().optional(),
    unseen: z.number().nullable().optional(),
  })),
  findings: z.array(z.object({
    check: z.string(), column: z.string(), action: z.enum(['warn', 'fail']), value: z.number().optional(), threshold: z.number().optional(), message: z.string(),
  })),
  notes: z.array(z.string()),
}).openapi('ValidationReport');

/** What a succeeded run keeps: held-out metrics, baselines, the champion it was compared with, the promotion decision. */
export const RunSummary = z.object({
  metrics: MetricSet,
  baselines: z.record(z.string(), MetricSet),
  champion: z.object({ version: z.number().int(), metrics: MetricSet }).nullable(),
  promotion: PromotionOutcome,
  clean: CleanReport,
  validation: ValidationReport.optional().openapi({ description: 'The validate stage\'s comparison with the production model\'s training data (absent on runs before the stage)' }),
  training: TrainingReport,
  stageSeconds: z.partialRecord(Stage, z.number()),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** A run's registry row. */
export const RunRecord = z.object({
  id: z.number().int(),
  workflowId: z.string(),
  temporalRunId: z.string().nullable(),
  pipeline: z.string(),
  pipelineVersion: z.number().int(),
  asOf: Timestamp,
  trigger: z.string(),
  /** Who started it: the caller's principal (key:…, oidc:…), schedule:<id>, or null for runs older than the record. */
  startedBy: z.string().nullable(),
  /** running, succeeded or failed. */
  status: z.string(),
  /** The stage running (or the one that failed); null once succeeded. */
  stage: z.string().nullable(),
  failure: RunFailure.nullable(),
  summary: RunSummary.nullable(),
  modelVersion: z.number().int().nullable(),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});

export const RunListItem = RunRecord.extend({ webUiUrl: z.string().nullable() }).openapi('Run');
export type RunListItem = z.infer<typeof RunListItem>;

export const RunList = z.object({ runs: z.array(RunListItem) });
export type RunList = z.infer<typeof RunList>;

export const StartedRun = z.object({
  run: z.object({
    workflowId: z.string(),
    runId: z.string(),
    asOf: Timestamp,
    webUiUrl: z.string().nullable(),
    pipeline: z.string(),
    pipelineVersion: z.number().int(),
  }),
});
export type StartedRun = z.infer<typeof StartedRun>;

const ApprovalDecision = z.object({ decision: z.enum(['approve', 'reject']), by: z.string(), reason: z.string() });

/** The workflow's own account of where it is (its `progress` query). */
export const StageProgress = z.object({
  stage: z.union([Stage, z.enum(['awaiting-approval', 'done', 'failed'])]),
  completed: z.array(Stage),
  training: z.object({ epoch: z.number().int(), epochs: z.number().int(), loss: z.number(), valLoss: z.number().nullable() }).optional(),
  modelVersion: z.number().int().optional(),
  /** While awaiting approval: when the request lapses. */
  approvalExpiresAt: Timestamp.optional(),
  approval: z.union([ApprovalDecision, z.object({ decision: z.literal('expired') })]).optional(),
  failure: z.object({ stage: Stage, type: z.string(), message: z.string() }).optional(),
});

/** The details of the running activity's last heartbeat: training epochs, or rows read by a data stage. */
export const Heartbeat = z.union([
  z.object({ epoch: z.number().int(), epochs: z.number().int(), loss: z.number(), valLoss: z.number().nullable(), attempt: z.number().int() }),
  z.object({ rows: z.number().int() }),
]);
export type Heartbeat = z.infer<typeof Heartbeat>;

/** A run as the registry and, while its workflow is known to Temporal, the workflow itself see it. */
export const RunDetail = z.object({
  /** The registry row's fields, absent until the run's first activity has written it. */
  run: RunRecord.partial().extend({
    workflowId: z.string(),
    live: z.object({
      /** Temporal's execution status, e.g. RUNNING, COMPLETED, FAILED. */
      status: z.string(),
      progress: StageProgress.nullable(),
      heartbeat: Heartbeat.nullable(),
      attempt: z.number().int().nullable(),
    }).nullable(),
    webUiUrl: z.string().nullable(),
  }),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const ApprovalResult = z.object({
  approval: z.object({ accepted: z.literal(true), decision: z.enum(['approve', 'reject']), modelVersion: z.number().int() }),
});
export type ApprovalResult = z.infer<typeof ApprovalResult>;

export const DatasetParams = WorkflowIdParams.extend({
  stage: z.enum(['raw', 'clean']).openapi({ description: 'raw: as collected; clean: after the clean stage' }),
});

const Counts = { name: z.string(), type: z.string(), count: z.number().int(), missing: z.number().int(), distinct: z.number().int() };
const ColumnStatistics = z.discriminatedUnion('kind', [
  z.object({
    ...Counts, kind: z.literal('numeric'),
    min: z.number().nullable(), max: z.number().nullable(), mean: z.number().nullable(), std: z.number().nullable(),
    quantiles: z.record(z.string(), z.number()).nullable().openapi({ description: 'By quantile ("0.5": the median), linear interpolation' }),
    percentiles: z.array(z.number()).nullable().optional().openapi({ description: 'Percentiles 0, 1, …, 100: the distribution drift tests compare against (absent on datasets recorded before them)' }),
    histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int()) }).nullable()
      .openapi({ description: 'Equal-width bins from min to max: counts[i] holds edges[i] ≤ x < edges[i+1] (the last bin includes max)' }),
  }),
  z.object({ ...Counts, kind: z.literal('categorical'), top: z.array(z.object({ value: z.string(), count: z.number().int() })).openapi({ description: 'The most frequent values, most frequent first' }) }),
  z.object({ ...Counts, kind: z.literal('date'), min: z.string().nullable(), max: z.string().nullable() }),
]);

const DatasetStatisticsFields = {
  statistics: z.object({ rows: z.number().int(), columns: z.array(ColumnStatistics) }).openapi({ description: 'Missing: null, and NaN or ±Infinity in a float column; the figures are of the values present' }),
  dataset: z.object({ workflowId: z.string(), stage: z.enum(['raw', 'clean']), uri: z.string(), rows: z.number().int(), contentHash: z.string() }),
};

export const DatasetStatisticsResponse = z.object(DatasetStatisticsFields).openapi('DatasetStatistics');

/** A model version's training statistics: its run's clean dataset. */
export const VersionStatistics = z.object({ model: z.string(), version: z.number().int(), ...DatasetStatisticsFields }).openapi('VersionStatistics');
