// A run's dataset statistics as the API serves them (GET …/runs/:id/datasets/:stage/statistics and a model
// version's training statistics): the registry's row names the artifact, the artifact store has it.
import { readFile } from 'node:fs/promises';
import type { DatasetStatistics } from '../pipelines/contract.js';
import { getDataset } from '../registry/datasets.js';
import type { ApiDeps } from './deps.js';
import { HttpError } from './errors.js';

export async function readDatasetStatistics(deps: Pick<ApiDeps, 'db' | 'artifacts'>, workflowId: string, stage: 'raw' | 'clean') {
  const row = await getDataset(deps.db, workflowId, stage);
  if (!row) throw new HttpError(404, 'not_found', `run "${workflowId}" has no ${stage} dataset (no such run, or it did not get that far)`);
  if (!row.statisticsUri) throw new HttpError(404, 'not_found', `run "${workflowId}" recorded its ${stage} dataset before statistics were kept; run the pipeline again`);
  let text: string;
  try {
    text = await readFile(await deps.artifacts.localPath(row.statisticsUri), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new HttpError(404, 'not_found', `the statistics of run "${workflowId}"'s ${stage} dataset are no longer in the artifact store`);
  }
  return {
    statistics: JSON.parse(text) as DatasetStatistics,
    dataset: { workflowId, stage, uri: row.uri, rows: row.rows, contentHash: row.contentHash },
  };
}
