// The stage contract: what each stage of a run takes and returns (artifact URIs and small summaries), the
// stages, the failure types and the activity interface the workflows call. Types and constants only: no
// Node built-ins, no I/O, nothing from the rest of the project but the spec, so workflow code, activities,
// data code, the registry and the API can all depend on it.
import type { PipelineSpec } from './spec.js';
import type { TextRules } from './fitted-features.js';

export const STAGES = ['collect', 'clean', 'validate', 'feature', 'train', 'evaluate', 'promote'] as const;
export type Stage = (typeof STAGES)[number];

/** Non-retryable failure types: each names a cause a person can fix. */
export const FAILURE_TYPES = ['InvalidSpec', 'InvalidSource', 'DataQuality', 'DataValidation', 'TrainingFailed', 'MonitorUnavailable'] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

export type Task = 'classification' | 'regression';

export type Trigger = 'api' | 'cli' | 'schedule' | 'backfill' | 'test' | 'monitor';

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
  /**
   * The person behind a run started by a schedule or a backfill (who created it), held to four eyes like
   * the starter of a run started through the API. Absent: the actor is that person.
   */
  accountable?: string;
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
  /** The raw dataset's: how the source was read (absent on datasets of runs before it was recorded). */
  ingestion?: IngestionReport;
  /** Its statistics (data/dataset-statistics.ts), beside it in its artifact folder; absent on older runs. */
  statisticsUri?: string;
  statistics?: DatasetStatisticsSummary;
}

/** The registry's row of a dataset keeps these figures of each column; the artifact has the rest. */
export interface DatasetStatisticsSummary {
  rows: number;
  columns: { name: string; kind: ColumnStatistics['kind']; count: number; missing: number; distinct: number; min?: number | string | null; max?: number | string | null; mean?: number | null }[];
}

/** A dataset's statistics, column by column (data/dataset-statistics.ts). */
export interface DatasetStatistics {
  rows: number;
  columns: ColumnStatistics[];
}

interface ColumnStatisticsBase {
  name: string;
  /** The stored type (Float64, String, Datetime, …). */
  type: string;
  /** Rows with a value; missing: null, and in a float column NaN and ±Infinity (as the feature transform reads them). */
  count: number;
  missing: number;
  /** Distinct values present. */
  distinct: number;
}

export type ColumnStatistics =
  | (ColumnStatisticsBase & {
    kind: 'numeric';
    /** Over the values present; null when there are none (std: fewer than two). Sample std (n − 1). */
    min: number | null; max: number | null; mean: number | null; std: number | null;
    /** By quantile ("0.5" is the median), linear interpolation. */
    quantiles: Record<string, number> | null;
    /** Percentiles 0, 1, …, 100 (linear interpolation): the distribution drift tests compare against. Absent on older datasets. */
    percentiles?: number[] | null;
    /** Equal-width bins from min to max: counts[i] holds edges[i] ≤ x < edges[i+1] (the last bin includes max). */
    histogram: { edges: number[]; counts: number[] } | null;
  })
  | (ColumnStatisticsBase & { kind: 'categorical'; top: { value: string; count: number }[] })
  | (ColumnStatisticsBase & { kind: 'date'; min: string | null; max: string | null });

/** How a source was read: what each column became, and every value that was changed to get there. */
export interface IngestionReport {
  format: 'csv' | 'json' | 'parquet' | 'sql';
  /** Rows with no value at all (blank lines of a text file), left out. */
  blankRowsIgnored: number;
  /** number, text, date, boolean, or the stored type of a typed source. */
  columnTypes: Record<string, string>;
  /** Each kind of change to each column, with how many values and a few of them as written. */
  coercions: { column: string; change: string; count: number; examples: string[] }[];
  /** The rules the text was read with; serving reads request values with the same. */
  text: TextRules;
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
  /** How the source was read (types, coercions, blank rows), from the collect stage. */
  ingestion?: IngestionReport;
}
export interface CleanOutput { clean: DatasetRef; report: CleanReport; task: Task }

/** A check of the validate stage (pipelines/validation-config.ts). */
export type ValidationCheck = 'missingColumn' | 'newColumn' | 'kindChanged' | 'unseenCategories' | 'outOfRange' | 'missingRate' | 'psi' | 'ks' | 'chiSquare';

/** One check that fired: on which column, the statistic's value and the bound it crossed. */
export interface ValidationFinding {
  check: ValidationCheck;
  column: string;
  action: 'warn' | 'fail';
  /** The statistic (a share, PSI, a p-value, …); absent for schema checks. */
  value?: number;
  threshold?: number;
  message: string;
}

/** Each compared column's figures against the baseline (absent: not applicable to its kind). */
export interface ColumnComparison {
  column: string;
  kind: ColumnStatistics['kind'];
  rows: number;
  missingShare: number;
  baselineMissingShare: number;
  psi?: number;
  /** Numeric: KS statistic and p-value, Wasserstein distance in baseline standard deviations, share outside the baseline's range. */
  ks?: { statistic: number; pValue: number };
  wasserstein?: number;
  outOfRange?: number;
  /** Categorical: chi-square and its p-value, Jensen–Shannon distance, share of values the baseline never had (null: its vocabulary is not all known). */
  chiSquare?: { statistic: number; df: number; pValue: number };
  jensenShannon?: number;
  unseen?: number | null;
}

export interface ValidationReport {
  /** What the data was compared with: the production model's version and the run that trained it; null when there is none. */
  baseline: { model: string; alias: string; version: number; workflowId: string; asOf: string } | null;
  /** The rows compared: the new ones (after the baseline's asOf) or all of them. */
  compared: { scope: 'new-rows' | 'all-rows'; rows: number; after: string | null };
  columns: ColumnComparison[];
  findings: ValidationFinding[];
  notes: string[];
}
export interface ValidateOutput { report: ValidationReport }
export interface FeatureOutput {
  /** Directory holding the fitted transform, the split's row positions and its labels. */
  uri: string;
  /** The clean dataset the split's positions point into (absent in runs recorded before it was added). */
  cleanUri?: string;
  transformUri: string;
  trainRows: number;
  testRows: number;
  cols: number;
  classes: string[] | null;
  task: Task;
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
  /** The validate stage's report (absent on runs recorded before it). */
  validation?: ValidationReport;
  training: TrainOutput;
  stageSeconds: Partial<Record<Stage, number>>;
}

// ---- backfills ----

export interface BackfillInput {
  pipeline: string;
  pipelineVersion: number;
  spec: PipelineSpec;
  partitions: { asOf: string; workflowId: string }[];
  concurrency: number;
  allowPromotion: boolean;
  /** Who started the backfill: its runs' accountable person (four eyes on their approvals). */
  accountable?: string;
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
  /** The pipeline version every partition runs (pinned when the backfill started). */
  pipelineVersion: number;
  total: number;
  done: number;
  running: number;
  failed: number;
  remaining: number;
  partitions: PartitionState[];
}

// ---- the activities a run calls (implemented in activities/, called through proxies in workflows/) ----

export interface StageInput { run: RunRef }
export interface CleanInput extends StageInput { raw: DatasetRef }
export interface ValidateInput extends StageInput { clean: DatasetRef }
export interface FeatureInput extends StageInput { clean: DatasetRef; task: Task }
export interface TrainStageInput extends StageInput { features: FeatureOutput }
export interface EvaluateInput extends StageInput { features: FeatureOutput; trained: TrainOutput; clean: DatasetRef; pipelineVersion: number }
export interface PromoteInput extends StageInput {
  evaluated: EvaluateOutput;
  allowPromotion: boolean;
  actor: string;
  /** Set when the pipeline required a person's approval and got it. */
  approval?: { by: string; reason: string };
}

export interface ResolvePipelineInput { pipeline: string; version?: number }
export interface ResolvedPipeline { spec: PipelineSpec; version: number }
export interface BeginRunInput {
  workflowId: string; temporalRunId: string; pipeline: string; pipelineVersion: number; asOf: string; trigger: Trigger;
  /** The input's actor (absent in histories recorded before runs carried it). */
  startedBy?: string;
}
export type FinishRunInput =
  | { workflowId: string; pipeline: string; status: 'succeeded'; modelVersion: number; summary: RunSummary }
  | { workflowId: string; pipeline: string; status: 'failed'; failure: { stage: string; type: string; message: string } };

/** A source checked before a pipeline is saved: its columns, or null when it cannot be read before a run (a URL). */
export interface SourceInspectionInput { source: PipelineSpec['source'] }
export interface SourceInspection { columns: string[] | null }

export interface PipelineActivities {
  /** Reads a bounded sample of a source (on the worker, within its source rules) to name its columns. */
  inspectSource(input: SourceInspectionInput): Promise<SourceInspection>;
  /** For runs started without a spec snapshot (schedules): the pipeline as it is now. */
  resolvePipeline(input: ResolvePipelineInput): Promise<ResolvedPipeline>;
  beginRun(input: BeginRunInput): Promise<void>;
  finishRun(input: FinishRunInput): Promise<void>;
  collect(input: StageInput): Promise<CollectOutput>;
  clean(input: CleanInput): Promise<CleanOutput>;
  validate(input: ValidateInput): Promise<ValidateOutput>;
  feature(input: FeatureInput): Promise<FeatureOutput>;
  train(input: TrainStageInput): Promise<TrainOutput>;
  evaluate(input: EvaluateInput): Promise<EvaluateOutput>;
  promote(input: PromoteInput): Promise<PromoteOutput>;
}

// ---- batch scoring ----

export interface BatchScoreInput {
  model: string;
  /** The version that scores every chunk, pinned when the job started (an alias is resolved then). */
  version: number;
  /** The alias the caller named, if any (lineage only). */
  alias: string | null;
  source: PipelineSpec['source'];
  /** Source columns copied beside each prediction (e.g. an ID), after its row number. */
  keep: string[];
  chunkRows: number;
  /** Who started the job. */
  actor: string;
}

/**
 * Values of a column the predict API would refuse (422), which a batch job scores anyway, the way the
 * transform imputes them: a missing required value as missing, an unknown category as `__other__`, text
 * that is no number, date or boolean as missing. Counts only: the values themselves are not repeated.
 */
export interface ScoringWarning {
  column: string;
  issue: 'missing-required' | 'unknown-category' | 'not-a-number' | 'not-a-date' | 'not-a-boolean';
  rows: number;
}

/** The job's frozen input: the source read once into an artifact, and the model version's files. */
export interface BatchScorePlan {
  warnings: ScoringWarning[];
  inputUri: string;
  /** SHA-256 of the input artifact: the lineage of every prediction. */
  sourceHash: string;
  rows: number;
  chunks: number;
  modelUri: string;
  modelSha256: string;
}

export interface BatchScoreProgress {
  chunks: number;
  /** Chunks written, counting those of earlier attempts. */
  chunksDone: number;
  /** The chunk this attempt started at (0 for the first attempt; more after a crash). */
  resumedFromChunk: number;
  /** Wall seconds of this attempt's scoring. */
  seconds: number;
}

export interface BatchScoreResult {
  jobId: string;
  model: string;
  version: number;
  rows: number;
  chunks: number;
  outputUri: string;
  outputSha256: string;
  sourceHash: string;
  resumedFromChunk: number;
  scoreSeconds: number;
  warnings: ScoringWarning[];
}

/** Every batch activity names its job: the workflow ID, which keys the job's artifacts and registry row. */
export interface BatchJobRef { jobId: string; job: BatchScoreInput }

export interface BatchScoreActivities {
  planBatchScore(input: BatchJobRef): Promise<BatchScorePlan>;
  scoreBatch(input: BatchJobRef & { plan: BatchScorePlan }): Promise<BatchScoreProgress>;
  finishBatchScore(input: BatchJobRef & { plan: BatchScorePlan; progress: BatchScoreProgress }): Promise<BatchScoreResult>;
  failBatchScore(input: { jobId: string; failure: RunFailure }): Promise<void>;
}

// ---- what the registry keeps: the shapes of its json columns (db/schema.ts types the columns with these) ----

/** How a failed run ended (runs.failure). */
export interface RunFailure {
  stage: string;
  type: string;
  message: string;
}

/** What a succeeded run keeps in its row (runs.summary): its result without what the row's own columns hold. */
export type RunSummary = Pick<TrainingPipelineResult, 'metrics' | 'baselines' | 'champion' | 'promotion' | 'clean' | 'validation' | 'stageSeconds' | 'training'>;

/** Where a model version came from (model_versions.lineage), written once by the evaluate stage. */
export interface ModelLineage {
  /** The workflow ID of the run that trained it. */
  run: string;
  pipeline: string;
  pipelineVersion: number;
  specHash: string;
  spec: PipelineSpec;
  asOf: string;
  cleanDataset: Pick<DatasetRef, 'uri' | 'contentHash' | 'rows'>;
  trainRows: number;
  testRows: number;
  testPeriod: FeatureOutput['testPeriod'];
  /** The tfjs backend that trained it. */
  backend: string;
  codeVersion: string;
  /** Statistics of what it predicted on its held-out rows (the class it ranked first, or the value): the monitor's baseline for the predicted distribution. Absent on versions evaluated before. */
  predictionStatisticsUri?: string;
}

/**
 * Every action the audit log records: one row per accepted mutation (audit_log.action). A route that
 * changes anything names its action here; the audit-completeness test walks the routes.
 */
export const AUDIT_ACTIONS = [
  'pipeline.saved',
  'run.started', 'run.cancelled', 'run.decided',
  'backfill.started', 'backfill.partition-retried',
  'schedule.created', 'schedule.updated', 'schedule.paused', 'schedule.unpaused', 'schedule.triggered', 'schedule.backfilled', 'schedule.deleted',
  'alias.moved',
  'key.created', 'key.revoked',
  'backup.restored',
  'batch.started',
  'feedback.recorded',
  'monitor.scheduled', 'monitor.unscheduled', 'monitor.window-requested',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * An audit row's details (audit_log.details): what the request asked and, where the change has a state,
 * the state before and after. JSON only; never a secret (a key's token is not recorded, only its ID).
 */
export type AuditDetails = { [member: string]: unknown };

// ---- monitoring ----

/** What the monitor checks besides the validation block's checks: the share of fallback answers, and live quality against offline. */
export type MonitorCheck = ValidationCheck | 'fallbackRate' | 'liveQuality';

export interface MonitorFinding extends Omit<ValidationFinding, 'check'> { check: MonitorCheck }

/**
 * One window of a production model's served predictions, judged (workflows/model-monitor.ts). Its `id` is
 * the window, so a window monitored again (a retried activity, a backfill) finds the report it already has.
 */
export interface MonitorReport {
  id: string;
  model: string;
  window: { from: string; to: string };
  alias: string;
  /** The version the alias pointed at when the window was judged: the baseline of the drift checks; null when there was none. */
  version: number | null;
  /** Served predictions in the window, of every version, and per version. */
  predictions: number;
  versions: { version: number; predictions: number }[];
  /**
   * The served inputs of the alias's version against its training data, and its predictions against what it
   * predicted on its held-out rows (the column `(prediction)`); `judged` false: too few predictions, or no baseline.
   */
  drift: { judged: boolean; columns: ColumnComparison[] };
  /** Share of the window's predictions with each kind of warning (an unknown team, a value out of range, …). */
  warningRates: Record<string, number>;
  /** Share answered by a fallback: an unknown team or category. */
  fallbackRate: number;
  /** Live quality of the alias's version over the window, beside its offline figure; null without a version. */
  quality: {
    version: number; metric: string; withOutcome: number; live: MetricSet | null; offline: MetricSet;
    /** How much worse live is than offline on `metric` (positive: worse); null until enough outcomes. */
    degradation: number | null;
  } | null;
  findings: MonitorFinding[];
  /** Whether a finding at or above the monitoring block's `breachOn` fired. */
  breach: boolean;
  notes: string[];
}

export interface ModelMonitorInput {
  model: string;
  /** A window to judge; absent (schedules): the window ending at the action's nominal time. */
  window?: { from: string; to: string };
  /** Who asked: `schedule:<id>` or the caller, and the person behind a schedule (for four eyes on a retraining). */
  actor: string;
  accountable?: string;
  /** A schedule's window length, fixed when the schedule was set (absent: the pipeline's monitoring block now). */
  windowMinutes?: number;
}

export interface MonitorWindowInput { model: string; window?: { from: string; to: string }; end: string; windowMinutes?: number }
export interface MonitorWindowOutput {
  report: Pick<MonitorReport, 'id' | 'window' | 'breach' | 'version' | 'predictions'> & { findings: number };
  /** Whether this call stored the report (false: the window already had one, which is returned). */
  created: boolean;
  retrain: boolean;
  /**
   * The window's retraining run as the registry records it, when it has one already: a window judged again
   * after Temporal has forgotten the run's workflow ID (past the namespace's retention) still starts no second.
   */
  retrainingRecorded: string | null;
  webhook: boolean;
}

export interface ModelMonitorResult {
  report: MonitorWindowOutput['report'];
  webhook: 'sent' | 'not-configured' | 'no-breach';
  /** The window's retraining run: started now, or found already started for this window. */
  retraining: { workflowId: string; started: boolean } | null;
}

export interface MonitorActivities {
  monitorWindow(input: MonitorWindowInput): Promise<MonitorWindowOutput>;
  /** POSTs a breached window's report to MONITOR_WEBHOOK_URL, signed; retried with backoff. */
  notifyBreach(input: { model: string; reportId: string }): Promise<{ status: number }>;
}
