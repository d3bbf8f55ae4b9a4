// Temporal definitions shared by the workflows and their callers (the API, the CLI, tests): queries,
// updates, search attributes and workflow type names. Workflow-safe: only the SDK's definition helpers and
// the contract's types.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  ApprovalDecision, ApprovalOutcome, BackfillInput, ModelMonitorInput, ModelMonitorResult, BatchScoreInput, BatchScoreResult, BackfillProgress, SourceInspection, SourceInspectionInput, StageProgress, TrainingPipelineInput,
  TrainingPipelineResult,
} from '../pipelines/contract.js';

export const SEARCH_ATTRIBUTES = {
  pipeline: { name: 'MlPipeline', cliType: 'Keyword', key: defineSearchAttributeKey('MlPipeline', SearchAttributeType.KEYWORD) },
  modelVersion: { name: 'MlModelVersion', cliType: 'Int', key: defineSearchAttributeKey('MlModelVersion', SearchAttributeType.INT) },
  asOf: { name: 'MlAsOf', cliType: 'Datetime', key: defineSearchAttributeKey('MlAsOf', SearchAttributeType.DATETIME) },
} as const;

/** Set by Temporal on every workflow a schedule starts: the action's nominal time. */
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const progressQuery = defineQuery<StageProgress>('progress');

/** A person's decision on a candidate waiting for approval; refused unless the run is waiting for one. */
export const approvalUpdate = defineUpdate<ApprovalOutcome, [ApprovalDecision]>('approval');

export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

/**
 * Workflow type names as registered by the worker, and the workflows' signatures. Callers start workflows
 * through api/launcher.ts with these, without loading workflow code; test/unit/workflows/definitions.test.ts
 * holds each name equal to its function's name and each signature equal to its function's type.
 */
export const WORKFLOW_TYPES = { training: 'trainingPipeline', backfill: 'backfillPipeline', inspection: 'sourceInspection', batchScore: 'batchScore', monitor: 'modelMonitor' } as const;
export type TrainingPipelineWorkflow = (input: TrainingPipelineInput) => Promise<TrainingPipelineResult>;
export type BackfillPipelineWorkflow = (input: BackfillInput) => Promise<BackfillProgress>;
export type SourceInspectionWorkflow = (input: SourceInspectionInput) => Promise<SourceInspection>;
export type BatchScoreWorkflow = (input: BatchScoreInput) => Promise<BatchScoreResult>;
export type ModelMonitorWorkflow = (input: ModelMonitorInput) => Promise<ModelMonitorResult>;
