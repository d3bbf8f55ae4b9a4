import { getPipeline, listPipelines, savePipeline, specHash } from '../../registry/pipelines.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution } from '../auth/access-control.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import { CreatePipelineQuery, GetPipelineQuery, PipelineList, PipelineOne, PipelineSaved, PipelineSpec } from '../schemas/pipelines.js';
import { checkSource } from './source-check.js';

const tags = ['pipelines'];

const list = guardedRoute({
  method: 'get', path: '/', tags, summary: 'List pipelines (latest version of each)',
  access: { needs: 'read' },
  responses: { 200: jsonResponse(PipelineList, 'The latest version of every pipeline'), ...errorResponses() },
});

const create = guardedRoute({
  method: 'post', path: '/', tags, summary: 'Create a pipeline or a new version of it',
  access: { needs: 'author', audit: { action: 'pipeline.saved', subject: () => 'pipeline' } },
  request: { query: CreatePipelineQuery, body: jsonRequest(PipelineSpec) },
  responses: {
    201: jsonResponse(PipelineSaved, 'A new pipeline, or a new version of one'),
    200: jsonResponse(PipelineSaved, 'The spec equals the latest version: nothing was added'),
    ...errorResponses(...BODY_ERRORS, 503),
  },
});

const get = guardedRoute({
  method: 'get', path: '/{name}', tags, summary: 'Get a pipeline',
  access: { needs: 'read' },
  request: { params: NameParams, query: GetPipelineQuery },
  responses: { 200: jsonResponse(PipelineOne, 'The pipeline'), ...errorResponses(400, 404) },
});

export function pipelineRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, list, async (c) => c.json({ pipelines: await listPipelines(deps.db) }, 200));

  // Creating an existing name with a changed spec adds a version; an unchanged spec is a no-op (200).
  defineRoute(app, create, async (c) => {
    const spec = c.req.valid('json');
    // Checked unless asked not to, or unchanged (nothing new to check); the answer says which.
    const latest = await getPipeline(deps.db, spec.name);
    const check = c.req.valid('query').check === 'true' && latest?.specHash !== specHash(spec) ? await checkSource(deps, spec) : 'skipped';
    c.header('x-source-check', check);
    const { pipeline, created } = await savePipeline(deps.db, spec, attribution(c));
    c.set('audited', true);
    return created ? c.json({ pipeline, created }, 201) : c.json({ pipeline, created }, 200);
  });

  defineRoute(app, get, async (c) => {
    const { name } = c.req.valid('param');
    const p = await getPipeline(deps.db, name, c.req.valid('query').version);
    const version = c.req.valid('query').version;
    if (!p && version !== undefined && await getPipeline(deps.db, name)) throw new HttpError(404, 'not_found', `pipeline "${name}" has no version ${version}`);
    if (!p) throw new HttpError(404, 'not_found', `pipeline "${name}" does not exist`);
    return c.json({ pipeline: p }, 200);
  });

  return app;
}
