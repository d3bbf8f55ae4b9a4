// collect, clean and feature: Temporal adapters over data/. Each reads the previous stage's artifact by URI
// and writes its own under the run's key.
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import pl from 'nodejs-polars';
import { cleanFrame, dtypeName, type Task } from '../data/cleaning.js';
import { buildFeatureSets } from '../data/feature-pipeline.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { loadSource } from '../data/sources.js';
import { cutAtAsOf } from '../data/time-column.js';
import { recordDataset } from '../registry/datasets.js';
import { sha256File } from '../runtime/artifacts.js';
import type { CleanOutput, CollectOutput, DatasetRef, FeatureOutput, RunRef } from '../workflows/shared.js';
import { artifactKey, stageAttempt } from './attempt.js';
import type { ActivityDeps } from './index.js';

export function createDataStageActivities(deps: ActivityDeps) {
  const { db, artifacts } = deps;

  async function writeDataset(run: RunRef, stage: 'raw' | 'clean', df: pl.DataFrame): Promise<DatasetRef> {
    const key = artifactKey(run.workflowId, stage);
    const dir = await artifacts.workDir(key, { fresh: true });
    const file = join(dir, `${stage}.parquet`);
    df.writeParquet(file);
    const uri = `${await artifacts.publish(key)}/${stage}.parquet`;
    return { uri, rows: df.height, columns: df.columns.map((c) => ({ name: c, type: dtypeName(df.getColumn(c).dtype) })), contentHash: await sha256File(file) };
  }

  async function readDataset(ref: DatasetRef): Promise<pl.DataFrame> {
    return pl.readParquet(await artifacts.localPath(ref.uri));
  }

  return {
    async collect({ run }: { run: RunRef }): Promise<CollectOutput> {
      return stageAttempt(deps, 'collect', run, async () => {
        let df = await loadSource(run.spec.source, { pool: db.$client });
        if (run.spec.timeColumn) df = cutAtAsOf(df, run.spec.timeColumn, Date.parse(run.asOf));
        if (df.height === 0) throw new PipelineInputError('InvalidSource', `the source has no rows at or before asOf ${run.asOf}`);
        Context.current().heartbeat({ rows: df.height });
        const raw = await writeDataset(run, 'raw', df);
        await recordDataset(db, run.workflowId, 'raw', raw);
        return { raw };
      });
    },

    async clean({ run, raw }: { run: RunRef; raw: DatasetRef }): Promise<CleanOutput> {
      return stageAttempt(deps, 'clean', run, async () => {
        const { clean, report, task } = cleanFrame(await readDataset(raw), run.spec);
        const ref = await writeDataset(run, 'clean', clean);
        await recordDataset(db, run.workflowId, 'clean', ref, report);
        return { clean: ref, report, task };
      });
    },

    async feature({ run, clean, task }: { run: RunRef; clean: DatasetRef; task: Task }): Promise<FeatureOutput> {
      return stageAttempt(deps, 'feature', run, async () => {
        const rows = (await readDataset(clean)).toRecords() as Record<string, unknown>[];
        const sets = buildFeatureSets(rows, run.spec, task);
        const key = artifactKey(run.workflowId, 'features');
        const dir = await artifacts.workDir(key, { fresh: true });
        await Promise.all([
          writeFile(join(dir, 'x_train.f32'), f32Bytes(sets.train.matrix)),
          writeFile(join(dir, 'y_train.f32'), f32Bytes(sets.train.labels)),
          writeFile(join(dir, 'x_test.f32'), f32Bytes(sets.test.matrix)),
          writeFile(join(dir, 'y_test.f32'), f32Bytes(sets.test.labels)),
          writeFile(join(dir, 'fitted.json'), JSON.stringify(sets.fitted)),
          writeFile(join(dir, 'split.json'), JSON.stringify({ trainIndex: sets.train.index, testIndex: sets.test.index, notes: sets.notes })),
        ]);
        const uri = await artifacts.publish(key);
        return {
          uri, transformUri: `${uri}/fitted.json`, trainRows: sets.train.rows, testRows: sets.test.rows, cols: sets.cols,
          classes: sets.fitted.classes, task, testPeriod: sets.testPeriod,
        };
      });
    },
  };
}

const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export async function readF32(path: string): Promise<Float32Array> {
  const b = await readFile(path);
  // Copy into a fresh, aligned buffer: a Buffer from the pool may start at an odd offset.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
