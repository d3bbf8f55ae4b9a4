// The Hono application: one router per resource, one error shape, one body limit.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps } from './deps.js';
import { errorBody, handleError } from './errors.js';
import { healthRoutes } from './health/routes.js';
import { modelRoutes } from './models/routes.js';
import { pipelineRoutes } from './pipelines/routes.js';
import { backfillRoutes } from './backfills/routes.js';
import { runRoutes } from './runs/routes.js';
import { scheduleRoutes } from './schedules/routes.js';

export function createApp(deps: ApiDeps, opts: { version: string }) {
  const app = new Hono();
  app.onError(handleError(deps.logger));
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.use('/v1/*', bodyLimit({
    maxSize: deps.config.serving.maxBodyBytes,
    onError: (c) => c.json(errorBody('payload_too_large', `the body exceeds ${deps.config.serving.maxBodyBytes} bytes; send fewer instances per request`), 413),
  }));
  app.route('/health', healthRoutes(deps, opts.version));
  app.route('/v1/pipelines', pipelineRoutes(deps));
  app.route('/v1', runRoutes(deps));
  app.route('/v1', backfillRoutes(deps));
  app.route('/v1/models', modelRoutes(deps));
  app.route('/v1/schedules', scheduleRoutes(deps));
  return app;
}
