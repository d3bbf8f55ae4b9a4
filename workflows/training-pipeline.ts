// The pipeline as one durable workflow: collect → clean → feature → train → evaluate → promote.
// Deterministic code only; all I/O happens in activities, which exchange artifact URIs and small summaries.
import {
  ApplicationFailure, CancellationScope, condition, isCancellation, patched, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import {
  FAILURE_TYPES, type ApprovalDecision, type PipelineActivities, type RunRef, type Stage, type StageProgress, type TrainingPipelineInput,
  type TrainingPipelineResult,
  type ValidationReport,
} from '../pipelines/contract.js';
import { promotionGateReasons } from '../pipelines/promotion-rule.js';
import { trainingTaskQueue } from '../pipelines/workflow-ids.js';
import { approvalUpdate, progressQuery, SCHEDULED_START_TIME, SEARCH_ATTRIBUTES } from './definitions.js';
import { describeFailure } from './failure-description.js';

const nonRetryableErrorTypes = [...FAILURE_TYPES];

// Registry bookkeeping: short, retried generously (a DB blip must not fail a run).
const registry = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes },
});

// Data stages: minutes of work at most on the shipped data sets; transient faults retried with backoff.
const dataStages = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Training: long, heartbeats every epoch; a lost worker is noticed within the heartbeat timeout and the
// retry resumes from the last checkpoint.
const TRAINING_OPTIONS = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes },
} as const;
const training = proxyActivities<PipelineActivities>(TRAINING_OPTIONS);

export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  const info = workflowInfo();
  const progress: StageProgress = { stage: 'collect', completed: [] };
  setHandler(progressQuery, () => progress);
  let pendingDecision: ((d: ApprovalDecision) => void) | null = null;
  // Four eyes: unless the pipeline allows it, whoever started the run may not decide on its candidate.
  let selfApprovalAllowed = false;
  setHandler(approvalUpdate, (d) => {
    pendingDecision!(d);
    return { accepted: true, decision: d.decision, modelVersion: progress.modelVersion! };
  }, {
    validator: (d) => {
      if (progress.stage !== 'awaiting-approval' || !pendingDecision) throw new Error(`run is not awaiting approval (stage: ${progress.stage})`);
      if (d.decision !== 'approve' && d.decision !== 'reject') throw new Error('decision must be "approve" or "reject"');
      if (!selfApprovalAllowed && (d.by === input.actor || d.by === input.accountable)) {
        throw ApplicationFailure.create({
          type: 'SelfApproval', nonRetryable: true,
          message: `${d.by} started this run${d.by === input.actor ? '' : ' (through its schedule or backfill)'} and may not decide on it; another approver must (or set promotion.approval.allowSelfApproval in the pipeline)`,
        });
      }
    },
  });

  // Point in time: an explicit asOf, else the schedule's nominal action time, else when the run started.
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  const asOf = input.asOf ?? (scheduledAt ?? info.startTime).toISOString();
  const pipeline = input.spec && input.pipelineVersion !== undefined
    ? { spec: input.spec, version: input.pipelineVersion }
    : await registry.resolvePipeline({ pipeline: input.pipeline, version: input.pipelineVersion });
  if (!input.asOf) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.asOf.key, value: new Date(asOf) }]);
  const run: RunRef = { workflowId: info.workflowId, pipeline: input.pipeline, spec: pipeline.spec, asOf };

  // Once the promotion starts, a cancel waits for it and for the record of the run: an alias moved under a
  // record that says "cancelled" would be a lie. patched: histories from before this change ran them plain.
  const shielded = <T>(fn: () => Promise<T>): Promise<T> => (patched('promote-shielded') ? CancellationScope.nonCancellable(fn) : fn());

  const stageSeconds: Partial<Record<Stage, number>> = {};
  const stage = async <T>(name: Stage, call: () => Promise<T>): Promise<T> => {
    progress.stage = name;
    const started = Date.now();
    const out = await call();
    stageSeconds[name] = (Date.now() - started) / 1000;
    progress.completed.push(name);
    return out;
  };

  try {
    // Inside the try: a run cancelled while its record is written still ends with the record saying so.
    await registry.beginRun({
      workflowId: info.workflowId, temporalRunId: info.runId, pipeline: input.pipeline,
      pipelineVersion: pipeline.version, asOf, trigger: input.trigger, startedBy: input.actor,
    });
    const { raw } = await stage('collect', () => dataStages.collect({ run }));
    const cleaned = await stage('clean', () => dataStages.clean({ run, raw }));
    // The new data against the production model's training data, before anything is trained on it: a
    // `fail` finding ends the run here (non-retryable), warnings travel with the result and show in the Web
    // UI. patched: runs recorded before the stage existed went from clean to feature.
    let validation: ValidationReport | undefined;
    let validationDetails = '';
    if (patched('validate-stage')) {
      validation = (await stage('validate', () => dataStages.validate({ run, clean: cleaned.clean }))).report;
      const warnings = validation.findings.filter((f) => f.action === 'warn');
      if (warnings.length > 0) {
        validationDetails = `**${warnings.length} validation warning${warnings.length === 1 ? '' : 's'}**\n\n${warnings.slice(0, 20).map((f) => `- ${f.message}`).join('\n')}`;
        setCurrentDetails(validationDetails);
      }
    }
    const features = await stage('feature', () => dataStages.feature({ run, clean: cleaned.clean, task: cleaned.task }));
    // On training's own queue (pipelines/workflow-ids.ts), so machines with cores to spare take it; runs
    // recorded before that schedule it on the run's queue, as they did.
    const trainer = patched('training-task-queue') ? proxyActivities<PipelineActivities>({ ...TRAINING_OPTIONS, taskQueue: trainingTaskQueue(info.taskQueue) }) : training;
    const trained = await stage('train', () => trainer.train({ run, features }));
    const evaluated = await stage('evaluate', () => dataStages.evaluate({ run, features, trained, clean: cleaned.clean, pipelineVersion: pipeline.version }));
    progress.modelVersion = evaluated.modelVersion;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.modelVersion.key, value: evaluated.modelVersion }]);

    // Optional human gate: only a candidate that passes the rule is put in front of a person.
    let approval: ApprovalDecision | undefined;
    let expired = false;
    pendingDecision = (d) => (approval = d);
    const approvalRule = run.spec.promotion.approval;
    if (approvalRule && input.allowPromotion && promotionGateReasons(run.spec.promotion, evaluated).length === 0) {
      selfApprovalAllowed = approvalRule.allowSelfApproval === true;
      progress.stage = 'awaiting-approval';
      progress.approvalExpiresAt = new Date(Date.now() + approvalRule.expiresAfterSeconds * 1000).toISOString();
      setCurrentDetails(`Waiting for approval of **${input.pipeline} v${evaluated.modelVersion}** until ${progress.approvalExpiresAt}: POST /v1/runs/${info.workflowId}/approval`);
      const decided = await condition(() => approval !== undefined, approvalRule.expiresAfterSeconds * 1000);
      expired = !decided;
      progress.approval = approval ?? { decision: 'expired' };
      setCurrentDetails(validationDetails);
    }
    const promotion = approval?.decision === 'reject' || expired
      ? await stage('promote', async () => ({
          promoted: false, alias: run.spec.promotion.alias, fromVersion: evaluated.champion?.version ?? null, toVersion: evaluated.modelVersion,
          reasons: [expired ? `approval expired after ${approvalRule!.expiresAfterSeconds} s without a decision` : `rejected by ${approval!.by}: ${approval!.reason}`],
        }))
      : await stage('promote', () => shielded(() => registry.promote({
          run, evaluated, allowPromotion: input.allowPromotion, actor: `workflow:${info.workflowId}`,
          approval: approval ? { by: approval.by, reason: approval.reason } : undefined,
        })));

    const result: TrainingPipelineResult = {
      workflowId: info.workflowId, pipeline: input.pipeline, asOf, modelVersion: evaluated.modelVersion,
      metrics: evaluated.metrics, baselines: evaluated.baselines, champion: evaluated.champion, promotion,
      clean: cleaned.report, ...(validation ? { validation } : {}), training: trained, stageSeconds,
    };
    await shielded(() => registry.finishRun({
      workflowId: info.workflowId, pipeline: input.pipeline, status: 'succeeded', modelVersion: evaluated.modelVersion,
      summary: { metrics: result.metrics, baselines: result.baselines, champion: result.champion, promotion, clean: cleaned.report, ...(validation ? { validation } : {}), stageSeconds, training: trained },
    }));
    progress.stage = 'done';
    return result;
  } catch (err) {
    const failedStage = progress.stage as Stage;
    // patched: histories of runs cancelled before this change ended without recording it.
    if (isCancellation(err) && patched('record-cancellation')) {
      // Cancelled through the API: the record says so (written outside the cancelled scope), and the
      // workflow ends as cancelled.
      const failure = { stage: failedStage, type: 'Cancelled', message: 'the run was cancelled' };
      progress.failure = failure;
      progress.stage = 'failed';
      await CancellationScope.nonCancellable(() => registry.finishRun({ workflowId: info.workflowId, pipeline: input.pipeline, status: 'failed', failure }));
      throw err;
    }
    const failure = describeFailure(err);
    progress.failure = { stage: failedStage, ...failure };
    progress.stage = 'failed';
    // A cancel that came while a shielded step failed must not leave the record saying "running".
    const recordFailure = () => registry.finishRun({ workflowId: info.workflowId, pipeline: input.pipeline, status: 'failed', failure: { stage: failedStage, ...failure } });
    await (patched('record-failure-shielded') ? CancellationScope.nonCancellable(recordFailure) : recordFailure());
    throw ApplicationFailure.create({
      type: failure.type,
      message: `${failedStage} failed: ${failure.message}`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
}
