// Callers start workflows by type name and signature (api/launcher.ts) without loading workflow code. The
// names must be the functions' own, or a start would wait forever for a workflow no worker registers; the
// signatures must be the functions' types (checked by the typecheck), or a start would send the wrong input.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { backfillPipeline } from '../../../workflows/backfill.js';
import { batchScore } from '../../../workflows/batch-score.js';
import {
  WORKFLOW_TYPES, type BackfillPipelineWorkflow, type BatchScoreWorkflow, type ModelMonitorWorkflow, type SourceInspectionWorkflow, type TrainingPipelineWorkflow,
} from '../../../workflows/definitions.js';
import { modelMonitor } from '../../../workflows/model-monitor.js';
import { sourceInspection } from '../../../workflows/source-inspection.js';
import * as registered from '../../../workflows/index.js';
import { trainingPipeline } from '../../../workflows/training-pipeline.js';

describe('workflow type names', () => {
  it('are the names of the functions the worker registers', () => {
    expect(WORKFLOW_TYPES).toEqual({ training: trainingPipeline.name, backfill: backfillPipeline.name, inspection: sourceInspection.name, batchScore: batchScore.name, monitor: modelMonitor.name });
    expect(Object.keys(registered).sort()).toEqual(Object.values(WORKFLOW_TYPES).sort());
  });

  it('come with the functions\' own signatures', () => {
    expectTypeOf(trainingPipeline).toEqualTypeOf<TrainingPipelineWorkflow>();
    expectTypeOf(backfillPipeline).toEqualTypeOf<BackfillPipelineWorkflow>();
    expectTypeOf(sourceInspection).toEqualTypeOf<SourceInspectionWorkflow>();
    expectTypeOf(batchScore).toEqualTypeOf<BatchScoreWorkflow>();
    expectTypeOf(modelMonitor).toEqualTypeOf<ModelMonitorWorkflow>();
  });
});
