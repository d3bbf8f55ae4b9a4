import { Hono } from 'hono';
import { PipelineSpecSchema } from '../../pipelines/spec.js';
import { getPipeline, listPipelines, savePipeline } from '../../registry/pipelines.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, jsonBody, parseWith } from '../errors.js';
import { actorOf } from '../request-context.js';

export function pipelineRoutes(deps: ApiDeps) {
  const app = new Hono();

  app.get('/', async (c) => c.json({ pipelines: await listPipelines(deps.db) }));

  // Creating an existing name with a changed spec adds a version; an unchanged spec is a no-op (200).
  app.post('/', async (c) => {
    const spec = parseWith(PipelineSpecSchema, await jsonBody(c), 'body', 422);
    const { pipeline, created } = await savePipeline(deps.db, spec, actorOf(c, deps));
    return c.json({ pipeline, created }, created ? 201 : 200);
  });

  app.get('/:name', async (c) => {
    const version = c.req.query('version');
    const p = await getPipeline(deps.db, c.req.param('name'), version ? Number(version) : undefined);
    if (!p) throw new HttpError(404, 'not_found', `pipeline "${c.req.param('name')}" does not exist`);
    return c.json({ pipeline: p });
  });

  return app;
}
