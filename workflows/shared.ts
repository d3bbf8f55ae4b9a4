// Workflow-safe contract between the API, the worker and the workflows: types, names, query and search
// attribute definitions. No Node built-ins, no I/O; only `import type` from the rest of the project.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PipelineSpec } from '../pipelines/spec.js';

export const STAGES = ['collect', 'clean', 'feature', 'train', 'evaluate', 'promote'] as const;
export type Stage = (typeof STAGES)[number];

/** Non-retryable failure types: each names a cause a person can fix. */
export const FAILURE_TYPES = ['InvalidSpec', 'InvalidSource', 'DataQuality', 'TrainingFailed', 'ChampionChanged'] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

export const SEARCH_ATTRIBUTES = {
  pipeline: { name: 'MlPipeline', cliType: 'Keyword', key: defineSearchAttributeKey('MlPipeline', SearchAttributeType.KEYWORD) },
  modelVersion: { name: 'MlModelVersion', cliType: 'Int', key: defineSearchAttributeKey('MlModelVersion', SearchAttributeType.INT) },
  asOf: { name: 'MlAsOf', cliType: 'Datetime', key: defineSearchAttributeKey('MlAsOf', SearchAttributeType.DATETIME) },
} as const;

export type Trigger = 'api' | 'cli' | 'schedule' | 'backfill' | 'test';

/** Set by Temporal on every workflow a schedule starts: the action's nominal time. */
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export interface TrainingPipelineInput {
  pipeline: string;
  /** Omitted (schedules): the latest version when the run starts. */
  pipelineVersion?: number;
  /**
   * Snapshot of the spec the run uses, so the run is reproducible even if the pipeline is edited later.
   * Omitted (schedules): read from the registry when the run starts.
   */
  spec?: PipelineSpec;
  /**
   * ISO timestamp: the run sees only data up to this instant. Omitted: the schedule's action time
   * (TemporalScheduledStartTime), so a late or backfilled scheduled run sees what it would have seen then.
   */
  asOf?: string;
  trigger: Trigger;
  /** Whether the promote stage may move the alias (backfills default to false). */
  allowPromotion: boolean;
  actor: string;
}

export interface StageProgress {
  stage: Stage | 'awaiting-approval' | 'done' | 'failed';
  completed: Stage[];
  /** Training progress, from the train activity's heartbeats. */
  training?: { epoch: number; epochs: number; loss: number; valLoss: number | null };
  modelVersion?: number;
  /** While awaiting approval: when the request lapses. */
  approvalExpiresAt?: string;
  approval?: ApprovalDecision | { decision: 'expired' };
  failure?: { stage: Stage; type: string; message: string };
}

export const progressQuery = defineQuery<StageProgress>('progress');

export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  by: string;
  reason: string;
}
export interface ApprovalOutcome {
  accepted: true;
  decision: ApprovalDecision['decision'];
  modelVersion: number;
}
/** A person's decision on a candidate waiting for approval; refused unless the run is waiting for one. */
export const approvalUpdate = defineUpdate<ApprovalOutcome, [ApprovalDecision]>('approval');

// ---- activity inputs / outputs (artifact URIs and small summaries only) ----

export interface RunRef {
  workflowId: string;
  pipeline: string;
  spec: PipelineSpec;
  asOf: string;
}

export interface DatasetRef {
  uri: string;
  rows: number;
  columns: { name: string; type: string }[];
  contentHash: string;
}

export interface CollectOutput { raw: DatasetRef }

export interface CleanReport {
  inputRows: number;
  outputRows: number;
  droppedMissingTarget: number;
  droppedDuplicates: number;
  droppedInvalid: number;
  clippedOutliers: number;
  missingByColumn: Record<string, number>;
  notes: string[];
}
export interface CleanOutput { clean: DatasetRef; report: CleanReport; task: 'classification' | 'regression' }

export interface FeatureOutput {
  /** Directory holding train/test matrices, labels and the fitted transform. */
  uri: string;
  transformUri: string;
  trainRows: number;
  testRows: number;
  cols: number;
  classes: string[] | null;
  task: 'classification' | 'regression';
  testPeriod: { from: string; to: string } | null;
}

export interface TrainOutput {
  modelUri: string;
  epochsRun: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  resumedFromEpoch: number;
  samplesPerSecond: number;
  trainSeconds: number;
  backend: string;
  finalLoss: number;
  finalValLoss: number | null;
}

export type MetricSet = Record<string, number>;

export interface EvaluateOutput {
  modelVersion: number;
  metrics: MetricSet;
  baselines: Record<string, MetricSet>;
  champion: { version: number; metrics: MetricSet } | null;
  reportUri: string;
}

export interface PromoteOutput {
  promoted: boolean;
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  reasons: string[];
}

export interface TrainingPipelineResult {
  workflowId: string;
  pipeline: string;
  asOf: string;
  modelVersion: number;
  metrics: MetricSet;
  baselines: Record<string, MetricSet>;
  champion: EvaluateOutput['champion'];
  promotion: PromoteOutput;
  clean: CleanReport;
  training: TrainOutput;
  stageSeconds: Partial<Record<Stage, number>>;
}

/** Business workflow ID: findable and sortable in the Web UI. */
export function trainingWorkflowId(pipeline: string, asOf: string, suffix: string): string {
  return `train:${pipeline}:${asOf.slice(0, 10)}:${suffix}`;
}

// ---- backfills ----

export interface BackfillInput {
  pipeline: string;
  pipelineVersion: number;
  spec: PipelineSpec;
  partitions: { asOf: string; workflowId: string }[];
  concurrency: number;
  allowPromotion: boolean;
}

export interface PartitionState {
  asOf: string;
  workflowId: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  modelVersion?: number;
  metrics?: MetricSet;
  failure?: string;
}

export interface BackfillProgress {
  backfillId: string;
  pipeline: string;
  total: number;
  done: number;
  running: number;
  failed: number;
  remaining: number;
  partitions: PartitionState[];
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

/** Deterministic IDs: the same backfill (pipeline, range, step) is one workflow, and its partitions too. */
export function backfillIds(pipeline: string, start: string, end: string, stepMonths: number, asOfs: string[]) {
  const backfillId = `backfill:${pipeline}:${start.slice(0, 10)}:${end.slice(0, 10)}:${stepMonths}m`;
  return {
    backfillId,
    partitions: asOfs.map((asOf) => ({ asOf, workflowId: `train:${pipeline}:${asOf.slice(0, 10)}:backfill-${start.slice(0, 10)}-${end.slice(0, 10)}-${stepMonths}m` })),
  };
}
