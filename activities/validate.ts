// validate: the clean dataset's new rows against the statistics of the data the production model was
// trained on (data/drift-checks.ts), before anything is trained on them. A `fail` finding ends the run
// (non-retryable, naming the column, the statistic, its value and the bound); warnings go into the report.
import { Context } from '@temporalio/activity';
import pl from 'nodejs-polars';
import { columnSamples } from '../data/dataset-statistics.js';
import { checkDrift } from '../data/drift-checks.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { rowsAfter } from '../data/time-column.js';
import type { ValidateInput, ValidateOutput, ValidationReport } from '../pipelines/contract.js';
import { ValidationConfigSchema } from '../pipelines/validation-config.js';
import { stageAttempt } from './attempt.js';
import type { ActivityDeps } from './deps.js';
import { trainingBaseline } from './training-statistics.js';

export function createValidateActivity(deps: ActivityDeps) {
  const { db, artifacts } = deps;

  return {
    async validate({ run, clean }: ValidateInput): Promise<ValidateOutput> {
      return stageAttempt(deps, 'validate', run, async () => {
        const config = ValidationConfigSchema.parse(run.spec.validation ?? {});
        const alias = run.spec.promotion.alias;
        const base = await trainingBaseline(db, artifacts, run.pipeline, alias);
        if ('note' in base) {
          return { report: { baseline: null, compared: { scope: 'all-rows', rows: clean.rows, after: null }, columns: [], findings: [], notes: [base.note] } };
        }
        const notes: string[] = [];
        let df = pl.readParquet(await artifacts.localPath(clean.uri));
        let compared: ValidationReport['compared'] = { scope: 'all-rows', rows: df.height, after: null };
        // With a time column, what is new is what the production model never saw: those rows are compared,
        // unless there are too few of them to say anything (then all rows are).
        if (run.spec.timeColumn) {
          const newer = rowsAfter(df, run.spec.timeColumn, Date.parse(base.asOf));
          if (newer.height >= config.minNewRows) {
            df = newer;
            compared = { scope: 'new-rows', rows: newer.height, after: base.asOf };
          } else {
            notes.push(`${newer.height} rows are newer than ${base.asOf} (fewer than validation.minNewRows, ${config.minNewRows}): all rows were compared`);
          }
        }
        const baselineName = `the ${alias} model (${run.pipeline} v${base.version})`;
        const { columns, findings } = checkDrift({
          baseline: base.statistics, samples: columnSamples(df), config, schemaChecks: true, baselineName,
          ignore: run.spec.timeColumn ? [run.spec.timeColumn] : [],
        });
        Context.current().heartbeat({ compared: compared.rows, findings: findings.length });
        const failed = findings.filter((f) => f.action === 'fail');
        if (failed.length > 0) {
          throw new PipelineInputError('DataValidation',
            `${failed.slice(0, 20).map((f) => f.message).join('; ')}${failed.length > 20 ? `; … and ${failed.length - 20} more` : ''} (against ${baselineName}; checks set to "fail" in the pipeline's validation block, or by default: ${[...new Set(failed.map((f) => f.check))].join(', ')})`,
            { findings: failed.slice(0, 100) });
        }
        const report: ValidationReport = {
          baseline: { model: run.pipeline, alias, version: base.version, workflowId: base.workflowId, asOf: base.asOf },
          compared, columns, findings, notes,
        };
        return { report };
      });
    },
  };
}
