// collect, clean and feature: Temporal adapters over data/. Each reads the previous stage's artifact by URI
// and writes its own under the run's key.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import pl from 'nodejs-polars';
import { cleanFrame } from '../data/cleaning.js';
import { datasetStatistics, statisticsSummary } from '../data/dataset-statistics.js';
import { dtypeName } from '../data/frame-columns.js';
import { FITTED_FEATURES_FILE, writeFeatureArtifacts } from '../data/feature-artifacts.js';
import { buildFeatureSets } from '../data/feature-pipeline.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { loadSource, sourceColumns, type LoadedSource } from '../data/sources.js';
import { cutAtAsOf } from '../data/time-column.js';
import { recordDataset } from '../registry/datasets.js';
import { sha256File } from '../runtime/artifacts.js';
import type {
  DatasetStatistics,
  CleanInput, CleanOutput, CollectOutput, DatasetRef, FeatureInput, FeatureOutput, RunRef, SourceInspection, SourceInspectionInput, StageInput,
} from '../pipelines/contract.js';
import { artifactKey, stageAttempt } from './attempt.js';
import { heartbeatWhile } from './heartbeat-while.js';
import { classifyFailures } from './failures.js';
import type { ActivityDeps } from './deps.js';

export function createDataStageActivities(deps: ActivityDeps) {
  const { db, artifacts } = deps;

  async function writeDataset(run: RunRef, stage: 'raw' | 'clean', df: pl.DataFrame): Promise<DatasetRef> {
    const key = artifactKey(run.workflowId, stage);
    const dir = await artifacts.workDir(key, { fresh: true });
    const file = join(dir, `${stage}.parquet`);
    df.writeParquet(file);
    // Beside the data, what it holds column by column: the baseline the monitoring loop compares against.
    // A column type the statistics cannot read leaves the dataset without them (and says so), not the run failed.
    let statistics: DatasetStatistics | null = null;
    try {
      statistics = datasetStatistics(df);
      await writeFile(join(dir, 'statistics.json'), JSON.stringify(statistics));
    } catch (err) {
      deps.logger.warn({ err, workflowId: run.workflowId, stage }, 'no statistics for this dataset');
    }
    const folder = await artifacts.publish(key);
    return {
      uri: `${folder}/${stage}.parquet`, rows: df.height, columns: df.columns.map((c) => ({ name: c, type: dtypeName(df.getColumn(c).dtype) })), contentHash: await sha256File(file),
      ...(statistics ? { statisticsUri: `${folder}/statistics.json`, statistics: statisticsSummary(statistics) } : {}),
    };
  }

  async function readDataset(ref: DatasetRef): Promise<pl.DataFrame> {
    return pl.readParquet(await artifacts.localPath(ref.uri));
  }

  return {
    /** The columns of a sample of a source, for the check before a pipeline is saved (nothing recorded). */
    async inspectSource({ source }: SourceInspectionInput): Promise<SourceInspection> {
      return classifyFailures(async () => ({ columns: await sourceColumns(source, { ...deps.sources, logger: deps.logger }) }));
    },

    async collect({ run }: StageInput): Promise<CollectOutput> {
      return stageAttempt(deps, 'collect', run, async () => {
        // A SQL query or a download may take longer than the heartbeat timeout: say we are alive meanwhile.
        const loaded: LoadedSource = await heartbeatWhile(Context.current(), { loading: run.spec.source.kind }, 20_000, () => loadSource(run.spec.source, { ...deps.sources, logger: deps.logger }));
        let df = loaded.df;
        if (run.spec.timeColumn) df = cutAtAsOf(df, run.spec.timeColumn, Date.parse(run.asOf));
        if (loaded.df.height === 0) throw new PipelineInputError('InvalidSource', 'the source has no rows');
        if (df.height === 0) throw new PipelineInputError('InvalidSource', `the source has no rows at or before asOf ${run.asOf}`);
        Context.current().heartbeat({ rows: df.height });
        const raw: DatasetRef = { ...await writeDataset(run, 'raw', df), ingestion: loaded.ingestion };
        await recordDataset(db, run.workflowId, 'raw', raw);
        return { raw };
      });
    },

    async clean({ run, raw }: CleanInput): Promise<CleanOutput> {
      return stageAttempt(deps, 'clean', run, async () => {
        const { clean, report, task } = cleanFrame(await readDataset(raw), run.spec, raw.ingestion);
        // The clean dataset carries how the source was read on to the feature stage (the fitted text rules).
        const ref: DatasetRef = { ...await writeDataset(run, 'clean', clean), ingestion: raw.ingestion };
        await recordDataset(db, run.workflowId, 'clean', ref, report);
        return { clean: ref, report, task };
      });
    },

    async feature({ run, clean, task }: FeatureInput): Promise<FeatureOutput> {
      return stageAttempt(deps, 'feature', run, async () => {
        const sets = buildFeatureSets(await readDataset(clean), run.spec, task, clean.ingestion?.text);
        const key = artifactKey(run.workflowId, 'features');
        const dir = await artifacts.workDir(key, { fresh: true });
        await writeFeatureArtifacts(dir, sets);
        const uri = await artifacts.publish(key);
        return {
          uri, cleanUri: clean.uri, transformUri: `${uri}/${FITTED_FEATURES_FILE}`, trainRows: sets.train.rows, testRows: sets.test.rows, cols: sets.cols,
          classes: sets.fitted.classes, task, testPeriod: sets.testPeriod,
        };
      });
    },
  };
}
