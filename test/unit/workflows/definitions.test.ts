// Callers start workflows by type name (api/launcher.ts), typed by the functions; the names must be the
// functions' own, or a start would wait forever for a workflow no worker registers.
import { describe, expect, it } from 'vitest';
import { backfillPipeline } from '../../../workflows/backfill.js';
import { WORKFLOW_TYPES } from '../../../workflows/definitions.js';
import * as registered from '../../../workflows/index.js';
import { trainingPipeline } from '../../../workflows/training-pipeline.js';

describe('workflow type names', () => {
  it('are the names of the functions the worker registers', () => {
    expect(WORKFLOW_TYPES).toEqual({ training: trainingPipeline.name, backfill: backfillPipeline.name });
    expect(Object.keys(registered).sort()).toEqual(Object.values(WORKFLOW_TYPES).sort());
  });
});
