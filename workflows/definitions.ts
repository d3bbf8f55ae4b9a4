// Temporal definitions shared by the workflows and their callers (the API, the CLI, tests): queries,
// updates, search attributes and workflow type names. Workflow-safe: only the SDK's definition helpers and
// the contract's types.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalOutcome, BackfillProgress, StageProgress } from '../pipelines/contract.js';

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
 * Workflow type names as registered by the worker (each equals its function's name; a unit test holds
 * them together). Callers start workflows through api/launcher.ts, typed by the functions themselves.
 */
export const WORKFLOW_TYPES = { training: 'trainingPipeline', backfill: 'backfillPipeline' } as const;
