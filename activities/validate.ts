// validate: the clean dataset's new rows against the statistics of the data the production model was
// trained on (data/drift-checks.ts), before anything is trained on them. A `fail` finding ends the run
// (non-retryable, naming the column, the statistic, its value and the bound); warnings go into the report.
import { readFile } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import pl from 'nodejs-polars';
import { columnSamples } from '../data/dataset-statistics.js';
import { checkDrift } from '../data/drift-checks.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { rowsAfter } from '../data/time-column.js';
import { getDataset } from '../registry/datasets.js';
import { getVersion, resolveAlias } from '../registry/models.js';
import type { DatasetStatistics, ValidateInput, ValidateOutput, ValidationReport } from '../pipelines/contract.js';
import { ValidationConfigSchema } from '../pipelines/validation-config.js';
import { ArtifactNotFoundError } from '../runtime/artifacts.js';
import { stageAttempt } from './attempt.js';
import type { ActivityDeps } from './deps.js';

export function createValidateActivity(deps: ActivityDeps) {
  const { db, artifacts } = deps;

  /** The production model's training statistics, or why there are none to compare with. */
  type Baseline = { version: number; workflowId: string; asOf: string; statistics: DatasetStatistics } | { note: string };
  async function baselineOf(pipeline: string, alias: string): Promise<Baseline> {
    const version = await resolveAlias(db, pipeline, alias);
    if (version === null) return { note: `no ${alias} model of ${pipeline} yet: nothing to compare with` };
    const row = await getVersion(db, pipeline, version);
    if (!row) return { note: `the ${alias} alias points at version ${version}, which is not recorded` };
    const dataset = await getDataset(db, row.runWorkflowId, 'clean');
    if (!dataset?.statisticsUri) return { note: `${pipeline} v${version} was trained before dataset statistics were kept: nothing to compare with` };
    let statistics: DatasetStatistics;
    try {
      statistics = JSON.parse(await readFile(await artifacts.localPath(dataset.statisticsUri), 'utf8')) as DatasetStatistics;
    } catch (err) {
      // A corrupt file is no more a reason to retry (or fail) the run than a missing one.
      if (err instanceof SyntaxError) return { note: `the training statistics of ${pipeline} v${version} are not readable JSON: nothing to compare with` };
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof ArtifactNotFoundError)) throw err;
      return { note: `the training statistics of ${pipeline} v${version} are no longer in the artifact store: nothing to compare with` };
    }
    return { version, workflowId: row.runWorkflowId, asOf: row.lineage.asOf, statistics };
  }

  return {
    async validate({ run, clean }: ValidateInput): Promise<ValidateOutput> {
      return stageAttempt(deps, 'validate', run, async () => {
        const config = ValidationConfigSchema.parse(run.spec.validation ?? {});
        const alias = run.spec.promotion.alias;
        const base = await baselineOf(run.pipeline, alias);
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
