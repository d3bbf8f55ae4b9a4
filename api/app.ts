// The Hono application: one router per resource, one error shape, one body limit.
import { sql } from 'drizzle-orm';
import type { ApiDeps } from './deps.js';
import { errorBody, handleError } from './errors.js';
import { perRequest } from './observability.js';
import { healthRoutes } from './health/routes.js';
import { apiRouter, type ApiRouter, serveOpenApi } from './openapi.js';
import { isPredictPath, modelRoutes } from './models/routes.js';
import { monitorRoutes } from './models/monitor-routes.js';
import { monitoringRoutes } from './models/monitoring-routes.js';
import { pipelineRoutes } from './pipelines/routes.js';
import { backfillRoutes } from './backfills/routes.js';
import { batchRoutes } from './batch/routes.js';
import { runRoutes } from './runs/routes.js';
import { scheduleRoutes } from './schedules/routes.js';
import { keyRoutes } from './keys/routes.js';
import { auditRoutes } from './audit/routes.js';

export function createApp(deps: ApiDeps, opts: { version: string; started?: () => boolean }) {
  const app = apiRouter();
  // Body size is enforced where bodies are read (bodyText, counting bytes as they arrive from the Node
  // request), with the limit perRequest sets: Hono's bodyLimit middleware touches c.req.raw.body, which makes
  // the Node adapter build a full fetch Request, a third of a predict's cost.
  app.use('*', perRequest(deps.logger, deps.metrics, { maxBodyBytes: deps.config.serving.maxBodyBytes, access: deps.access, ownRequestIdHeader: isPredictPath }));
  app.onError(handleError(deps.logger));
  const allowedMethods = methodsServing(app);
  app.notFound((c) => {
    c.header('x-request-id', c.get('requestId'));
    // A path served with other methods: 405 and what it does allow (RFC 9110), else 404.
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      c.header('allow', allowed.join(', '));
      return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allowed.join(', ')}`), 405);
    }
    return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
  });
  app.route('/health', healthRoutes({
    version: opts.version,
    backend: deps.backend,
    started: opts.started ?? (() => true),
    checks: {
      postgres: () => deps.db.execute(sql`select 1`),
      temporal: () => deps.temporal.connection.workflowService.getSystemInfo({}),
      // Ready means able to answer predictions: every production model in the registry is loaded here.
      models: async () => {
        const failed = await deps.serving.ensureLoaded();
        if (failed.length) throw new Error(`production models not loaded: ${failed.map((f) => `${f.model} v${f.version} (${f.error})`).join(', ')}`);
      },
    },
    details: () => ({ serving: deps.serving.servedAliases(), predictionLog: deps.predictionLog.stats }),
  }));
  serveOpenApi(app, opts.version);
  // Open to scrapers unless METRICS_REQUIRE_AUTH (the deployment's network policy is the usual guard). In an
  // API of several processes, whichever process the scrape reaches answers for all of them (metrics.scrape).
  app.get('/metrics', async (c) => {
    if (deps.config.auth.metricsRequireAuth) await c.get('access').authorize(c, 'read', null);
    return c.body(await deps.metrics.scrape(), 200, { 'content-type': deps.metrics.registry.contentType });
  });
  app.route('/v1/pipelines', pipelineRoutes(deps));
  app.route('/v1', runRoutes(deps));
  app.route('/v1', backfillRoutes(deps));
  app.route('/v1', batchRoutes(deps));
  app.route('/v1/models', modelRoutes(deps));
  app.route('/v1/models', monitoringRoutes(deps));
  app.route('/v1/models', monitorRoutes(deps));
  app.route('/v1/schedules', scheduleRoutes(deps));
  app.route('/v1/keys', keyRoutes(deps));
  app.route('/v1/audit', auditRoutes(deps));
  return app;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods `app` serves `path` with, asked of its own router (so every route syntax it knows counts):
 * a method is served when a route of that method, not only the `*` middleware, matches. HEAD comes with
 * GET (Hono answers it with the GET route). Only asked for a request no route matched.
 */
function methodsServing(app: ApiRouter) {
  return (path: string): string[] => METHODS.filter((method) => {
    const [matches] = app.router.match(method === 'HEAD' ? 'GET' : method, path);
    return matches.some(([[, route]]) => route.method !== 'ALL');
  });
}
