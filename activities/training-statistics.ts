// What a model version was trained on, read back for comparison: the statistics of its run's clean dataset
// (the validate stage's and the monitor's baseline), and what it predicted on its held-out rows (the
// monitor's baseline for the predicted distribution). A file gone or corrupt is a note, not a failure: a
// run or a window is not wrong because an old version's statistics are.
import { readFile } from 'node:fs/promises';
import type { Db } from '../db/client.js';
import { getDataset } from '../registry/datasets.js';
import { getVersion, resolveAlias, type ModelVersionRow } from '../registry/models.js';
import type { ColumnStatistics, DatasetStatistics } from '../pipelines/contract.js';
import { ArtifactNotFoundError, type ArtifactStore } from '../runtime/artifacts.js';

export type TrainingBaseline =
  | { version: number; row: ModelVersionRow; workflowId: string; asOf: string; statistics: DatasetStatistics }
  | { note: string; row?: ModelVersionRow };

/** A JSON artifact, or why it cannot be read (missing or not JSON); other errors (the store down) are thrown, to be retried. */
async function readJsonArtifact<T>(artifacts: ArtifactStore, uri: string): Promise<{ value: T } | { problem: 'gone' | 'corrupt' }> {
  try {
    return { value: JSON.parse(await readFile(await artifacts.localPath(uri), 'utf8')) as T };
  } catch (err) {
    if (err instanceof SyntaxError) return { problem: 'corrupt' };
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof ArtifactNotFoundError)) throw err;
    return { problem: 'gone' };
  }
}

/** The alias's version and its training statistics, or why there are none to compare with. */
export async function trainingBaseline(db: Db, artifacts: ArtifactStore, model: string, alias: string): Promise<TrainingBaseline> {
  const version = await resolveAlias(db, model, alias);
  if (version === null) return { note: `no ${alias} model of ${model} yet: nothing to compare with` };
  const row = await getVersion(db, model, version);
  if (!row) return { note: `the ${alias} alias points at version ${version}, which is not recorded` };
  const dataset = await getDataset(db, row.runWorkflowId, 'clean');
  if (!dataset?.statisticsUri) return { row, note: `${model} v${version} was trained before dataset statistics were kept: nothing to compare with` };
  const read = await readJsonArtifact<DatasetStatistics>(artifacts, dataset.statisticsUri);
  if ('problem' in read) {
    return {
      row,
      note: read.problem === 'corrupt'
        ? `the training statistics of ${model} v${version} are not readable JSON: nothing to compare with`
        : `the training statistics of ${model} v${version} are no longer in the artifact store: nothing to compare with`,
    };
  }
  return { version, row, workflowId: row.runWorkflowId, asOf: row.lineage.asOf, statistics: read.value };
}

/** What the version predicted on its held-out rows; null when it was evaluated before these were kept, or the file is gone. */
export async function heldOutPredictions(artifacts: ArtifactStore, row: ModelVersionRow): Promise<ColumnStatistics | null> {
  const uri = row.lineage.predictionStatisticsUri;
  if (!uri) return null;
  const read = await readJsonArtifact<ColumnStatistics>(artifacts, uri);
  return 'value' in read ? read.value : null;
}
