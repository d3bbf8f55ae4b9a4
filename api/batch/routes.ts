// Batch predictions: start a job that scores a whole table with a model version (on a worker, in chunks,
// resumable), follow it, and fetch its Parquet file of predictions.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { z } from '@hono/zod-openapi';
import { createBatchJob, failBatchJob, getBatchJob, listBatchJobs, type BatchJobRow } from '../../registry/batch-jobs.js';
import { getVersion, resolveAlias } from '../../registry/models.js';
import type { BatchScoreInput } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution, recordChange } from '../auth/access-control.js';
import { newBatchScoreId, startBatchScore, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import { BatchJobList, BatchJobOne, BatchJobParams, CreateBatchJob, ListBatchJobsQuery, type BatchJob } from '../schemas/batch.js';

const tags = ['batch predictions'];

const submit = guardedRoute({
  method: 'post', path: '/models/{name}/batch-predictions', tags, summary: 'Score a table with a model version, in chunks, into a Parquet file',
  access: { needs: 'author', audit: { action: 'batch.started', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(CreateBatchJob) },
  responses: { 201: jsonResponse(BatchJobOne, 'The job started'), ...errorResponses(...BODY_ERRORS, 404) },
});

const list = guardedRoute({
  method: 'get', path: '/batch-predictions', tags, summary: 'Batch prediction jobs, newest first',
  access: { needs: 'read' },
  request: { query: ListBatchJobsQuery },
  responses: { 200: jsonResponse(BatchJobList, 'The jobs'), ...errorResponses(400) },
});

const one = guardedRoute({
  method: 'get', path: '/batch-predictions/{id}', tags, summary: 'A batch prediction job: status, chunks done, lineage',
  access: { needs: 'read' },
  request: { params: BatchJobParams },
  responses: { 200: jsonResponse(BatchJobOne, 'The job'), ...errorResponses(404) },
});

const output = guardedRoute({
  method: 'get', path: '/batch-predictions/{id}/predictions', tags, summary: 'The job\'s predictions, as one Parquet file',
  // The predictions are derived from the scored table: those who may read sources through jobs may read them.
  access: { needs: 'author' },
  request: { params: BatchJobParams },
  responses: {
    200: { description: 'The Parquet file: row, the kept columns, then label and p_<class> (classification) or prediction (regression)', content: { 'application/vnd.apache.parquet': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses(404, 409),
  },
});

export function batchRoutes(deps: ApiDeps) {
  const app = apiRouter();
  const view = (row: BatchJobRow): BatchJob => ({
    id: row.id, model: row.model, version: row.modelVersion, alias: row.alias, status: row.status as BatchJob['status'], source: row.source,
    startedBy: row.startedBy, rows: row.rows, chunks: row.chunks, chunksDone: row.chunksDone, sourceHash: row.sourceHash, outputSha256: row.outputSha256,
    warnings: row.warnings, failure: row.failure ?? null, startedAt: row.startedAt.toISOString(), finishedAt: row.finishedAt?.toISOString() ?? null, webUiUrl: webUiLink(deps.config, row.id),
  });

  defineRoute(app, submit, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    let version = body.version ?? null;
    if (version !== null) {
      if (!(await getVersion(deps.db, name, version))) throw new HttpError(404, 'no_model', `model "${name}" has no version ${version}`);
    } else {
      version = await resolveAlias(deps.db, name, body.alias);
      if (version === null) throw new HttpError(404, 'no_model', `model "${name}" has no "${body.alias}" version; name a version, or run its pipeline or move the alias first`);
    }
    const input: BatchScoreInput = {
      model: name, version, alias: body.version === undefined ? body.alias : null, source: body.source, keep: body.keep, chunkRows: body.chunkRows,
      actor: attribution(c).actor,
    };
    const jobId = newBatchScoreId(name);
    // The row first, so the job can be looked up the moment its ID is returned; ended at once if Temporal
    // does not take the job.
    await createBatchJob(deps.db, jobId, input);
    let started;
    try {
      started = await startBatchScore(deps, jobId, input);
    } catch (err) {
      await failBatchJob(deps.db, jobId, { stage: 'start', type: 'NotStarted', message: 'Temporal did not accept the job; start it again' });
      throw err;
    }
    await recordChange(c, { subject: `batch:${jobId}`, details: { model: name, version, alias: input.alias, source: body.source.kind, keep: body.keep, chunkRows: body.chunkRows } });
    const row = await getBatchJob(deps.db, jobId);
    return c.json({ job: { ...view(row!), webUiUrl: started.webUiUrl } }, 201);
  });

  defineRoute(app, list, async (c) => {
    const q = c.req.valid('query');
    return c.json({ jobs: (await listBatchJobs(deps.db, { model: q.model, limit: q.limit })).map(view) }, 200);
  });

  const found = async (id: string) => {
    const row = await getBatchJob(deps.db, id);
    if (!row) throw new HttpError(404, 'not_found', `batch prediction job "${id}" does not exist`);
    return row;
  };

  defineRoute(app, one, async (c) => c.json({ job: view(await found(c.req.valid('param').id)) }, 200));

  defineRoute(app, output, async (c) => {
    const row = await found(c.req.valid('param').id);
    if (row.status !== 'succeeded' || !row.outputUri) throw new HttpError(409, 'conflict', `batch prediction job "${row.id}" is ${row.status}; its predictions exist once it has succeeded`);
    let file: string;
    let size: number;
    try {
      file = await deps.artifacts.localPath(row.outputUri);
      ({ size } = await stat(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new HttpError(404, 'not_found', `the predictions of batch prediction job "${row.id}" are no longer in the artifact store; run the job again`);
    }
    return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, {
      status: 200,
      headers: {
        'content-type': 'application/vnd.apache.parquet', 'content-length': String(size),
        'content-disposition': `attachment; filename="${row.model}-v${row.modelVersion}-predictions.parquet"`,
        ...(row.outputSha256 ? { 'x-content-sha256': row.outputSha256 } : {}),
      },
    }) as never;
  });

  return app;
}
