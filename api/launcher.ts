// The one place that starts workflows: runs (from the API and the benchmarks), backfills, retried backfill
// partitions and scheduled runs. Starts are typed by the workflows' signatures (workflows/definitions.ts,
// held equal to the functions by a type test), so a changed input fails to compile here instead of failing
// at run time; IDs come from pipelines/workflow-ids.ts.
import { randomBytes } from 'node:crypto';
import type { Client, ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy } from '@temporalio/common';
import type { BackfillInput, BatchScoreInput, ModelMonitorInput, SourceInspection, SourceInspectionInput, TrainingPipelineInput, Trigger } from '../pipelines/contract.js';
import { TASK_PRIORITY } from '../pipelines/task-priority.js';
import {
  batchScoreWorkflowId, monitorScheduledWorkflowId, monitorWindowWorkflowId, scheduledWorkflowId, trainingWorkflowId,
} from '../pipelines/workflow-ids.js';
import type { StoredPipeline } from '../registry/pipelines.js';
import type { Config } from '../runtime/config.js';
import {
  SEARCH_ATTRIBUTES, WORKFLOW_TYPES, type BackfillPipelineWorkflow, type BatchScoreWorkflow, type ModelMonitorWorkflow, type SourceInspectionWorkflow,
  type TrainingPipelineWorkflow,
} from '../workflows/definitions.js';

export interface LaunchDeps {
  temporal: Client;
  config: Config;
}

export interface LaunchedRun {
  workflowId: string;
  runId: string;
  asOf: string;
  webUiUrl: string | null;
}

export interface RunOptions {
  asOf?: string;
  trigger: Trigger;
  allowPromotion: boolean;
  actor: string;
  taskQueue?: string;
}

/** A new run of one pinned pipeline version (its spec travels in the input, so later edits do not change it). */
export async function startTrainingRun(deps: LaunchDeps, pipeline: StoredPipeline, opts: RunOptions): Promise<LaunchedRun> {
  const asOf = new Date(opts.asOf ?? Date.now()).toISOString();
  const workflowId = trainingWorkflowId(pipeline.name, asOf, randomBytes(4).toString('hex'));
  return launchTraining(deps, pipeline, { ...opts, asOf }, {
    workflowId,
    summary: `Train ${pipeline.name} v${pipeline.version} as of ${asOf.slice(0, 10)} (${opts.trigger})`,
  });
}

/**
 * One failed backfill partition again, alone, under its own workflow ID, with the backfill's pinned
 * pipeline version (so one walk-forward report never mixes spec versions).
 */
export async function retryBackfillPartition(
  deps: LaunchDeps,
  pipeline: StoredPipeline,
  partition: { asOf: string; workflowId: string },
  opts: { backfillId: string; actor: string },
): Promise<LaunchedRun> {
  return launchTraining(deps, pipeline, {
    asOf: partition.asOf, trigger: 'backfill', allowPromotion: false, actor: `${opts.actor} (retry of ${opts.backfillId})`,
  }, {
    workflowId: partition.workflowId,
    reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    summary: `Retry of backfill partition asOf ${partition.asOf.slice(0, 10)} of ${pipeline.name} v${pipeline.version}`,
  });
}

async function launchTraining(
  deps: LaunchDeps,
  pipeline: StoredPipeline,
  opts: RunOptions & { asOf: string },
  how: { workflowId: string; summary: string; reusePolicy?: WorkflowIdReusePolicy },
): Promise<LaunchedRun> {
  const input: TrainingPipelineInput = {
    pipeline: pipeline.name, pipelineVersion: pipeline.version, spec: pipeline.spec, asOf: opts.asOf,
    trigger: opts.trigger, allowPromotion: opts.allowPromotion, actor: opts.actor,
  };
  const handle = await deps.temporal.workflow.start<TrainingPipelineWorkflow>(WORKFLOW_TYPES.training, {
    taskQueue: opts.taskQueue ?? deps.config.temporal.taskQueue,
    workflowId: how.workflowId,
    args: [input],
    priority: { priorityKey: opts.trigger === 'backfill' ? TASK_PRIORITY.backfill : TASK_PRIORITY.run },
    ...(how.reusePolicy !== undefined ? { workflowIdReusePolicy: how.reusePolicy } : {}),
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SEARCH_ATTRIBUTES.pipeline.key, value: pipeline.name },
      { key: SEARCH_ATTRIBUTES.asOf.key, value: new Date(opts.asOf) },
    ]),
    staticSummary: how.summary,
    staticDetails: `Pipeline **${pipeline.name}** version ${pipeline.version}, spec ${pipeline.specHash}. Started by ${opts.actor}. Promotion ${opts.allowPromotion ? 'allowed' : 'disabled'}.`,
  });
  return { workflowId: how.workflowId, runId: handle.firstExecutionRunId, asOf: opts.asOf, webUiUrl: webUiLink(deps.config, how.workflowId, handle.firstExecutionRunId) };
}

/** Asks a worker for a sample's columns (workflows/source-inspection.ts); bounded by a 10 s execution timeout. */
export async function inspectSource(deps: LaunchDeps, input: SourceInspectionInput): Promise<SourceInspection> {
  return deps.temporal.workflow.execute<SourceInspectionWorkflow>(WORKFLOW_TYPES.inspection, {
    taskQueue: deps.config.temporal.taskQueue, workflowId: `inspect:${randomBytes(8).toString('hex')}`, args: [input],
    workflowExecutionTimeout: '10 seconds', priority: { priorityKey: TASK_PRIORITY.interactive },
  });
}

/**
 * Starts a backfill's parent workflow. Its ID is deterministic, and re-submitting the same backfill, even
 * after it finished, starts nothing new: the caller gets WorkflowExecutionAlreadyStartedError.
 */
export async function startBackfill(deps: LaunchDeps, backfillId: string, input: BackfillInput, how: { summary: string; details: string }): Promise<void> {
  await deps.temporal.workflow.start<BackfillPipelineWorkflow>(WORKFLOW_TYPES.backfill, {
    taskQueue: deps.config.temporal.taskQueue, workflowId: backfillId, args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    // Inherited by its partitions and their stages.
    priority: { priorityKey: TASK_PRIORITY.backfill },
    staticSummary: how.summary,
    staticDetails: how.details,
  });
}

/** A new batch scoring job's ID (the caller records the job under it before starting it). */
export function newBatchScoreId(model: string): string {
  return batchScoreWorkflowId(model, new Date().toISOString(), randomBytes(4).toString('hex'));
}

/** Starts a batch scoring job (workflows/batch-score.ts) under `jobId`. */
export async function startBatchScore(deps: LaunchDeps, jobId: string, input: BatchScoreInput): Promise<LaunchedRun> {
  const handle = await deps.temporal.workflow.start<BatchScoreWorkflow>(WORKFLOW_TYPES.batchScore, {
    taskQueue: deps.config.temporal.taskQueue, workflowId: jobId, args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE, priority: { priorityKey: TASK_PRIORITY.batchScore },
    staticSummary: `Score ${input.source.kind} source with ${input.model} v${input.version}`,
    staticDetails: `Model **${input.model}** version ${input.version}${input.alias ? ` (alias ${input.alias})` : ''}, ${input.chunkRows} rows per chunk. Started by ${input.actor}.`,
  });
  return { workflowId: jobId, runId: handle.firstExecutionRunId, asOf: new Date().toISOString(), webUiUrl: webUiLink(deps.config, jobId, handle.firstExecutionRunId) };
}

/**
 * What a retraining schedule starts: trainingPipeline with no asOf and no spec, so each run trains on the
 * data as of its nominal time with the pipeline as it is then.
 */
export function scheduledTrainingAction(
  config: Config,
  opts: { pipeline: string; scheduleId: string; allowPromotion: boolean; accountable: string },
): ScheduleOptionsStartWorkflowAction<TrainingPipelineWorkflow> {
  const input: TrainingPipelineInput = {
    pipeline: opts.pipeline, trigger: 'schedule', allowPromotion: opts.allowPromotion, actor: `schedule:${opts.scheduleId}`, accountable: opts.accountable,
  };
  return {
    type: 'startWorkflow', workflowType: WORKFLOW_TYPES.training, taskQueue: config.temporal.taskQueue,
    // Temporal appends the action time: train:<pipeline>:scheduled-2026-01-05T03:00:00Z.
    workflowId: scheduledWorkflowId(opts.pipeline),
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([{ key: SEARCH_ATTRIBUTES.pipeline.key, value: opts.pipeline }]),
    staticSummary: `Scheduled retraining of ${opts.pipeline} (${opts.scheduleId})`,
  };
}

/**
 * One window of a model's served predictions judged on request. Its workflow ID is the window's: the same
 * window asked for while it is judged joins that workflow; asked again later, it is judged again and finds
 * the report (and the retraining run) the window already has.
 */
export async function startMonitorWindow(deps: LaunchDeps, input: ModelMonitorInput & { window: { from: string; to: string } }) {
  const workflowId = monitorWindowWorkflowId(input.model, input.window.from, input.window.to);
  const handle = await deps.temporal.workflow.start<ModelMonitorWorkflow>(WORKFLOW_TYPES.monitor, {
    taskQueue: deps.config.temporal.taskQueue, workflowId, args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE, workflowIdConflictPolicy: 'USE_EXISTING',
    priority: { priorityKey: TASK_PRIORITY.interactive },
    typedSearchAttributes: new TypedSearchAttributes([{ key: SEARCH_ATTRIBUTES.pipeline.key, value: input.model }]),
    staticSummary: `Monitor ${input.model}: window ${input.window.from} to ${input.window.to}`,
  });
  return { workflowId, handle, webUiUrl: webUiLink(deps.config, workflowId, handle.firstExecutionRunId) };
}

/** What a monitor schedule starts: modelMonitor for the window ending at the action's nominal time. */
export function monitorScheduleAction(
  config: Config,
  opts: { model: string; scheduleId: string; accountable: string; windowMinutes: number },
): ScheduleOptionsStartWorkflowAction<ModelMonitorWorkflow> {
  const input: ModelMonitorInput = { model: opts.model, actor: `schedule:${opts.scheduleId}`, accountable: opts.accountable, windowMinutes: opts.windowMinutes };
  return {
    type: 'startWorkflow', workflowType: WORKFLOW_TYPES.monitor, taskQueue: config.temporal.taskQueue,
    workflowId: monitorScheduledWorkflowId(opts.model),
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([{ key: SEARCH_ATTRIBUTES.pipeline.key, value: opts.model }]),
    staticSummary: `Monitor of ${opts.model} (${opts.scheduleId})`,
  };
}

export function webUiLink(config: Config, workflowId: string, runId?: string | null): string | null {
  const base = config.temporal.uiUrl;
  if (!base) return null;
  const path = `${base}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${path}/${runId}/history` : path;
}
