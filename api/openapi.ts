// Routes are the document: every control-plane route is declared with its request and response schemas
// (createRoute) and registered here, so the handler's input and output types, the validation and
// GET /openapi.json come from one definition. The predict route stays a hand-written handler (see
// models/routes.ts), so its schemas are added to the document here.
import { createRoute, OpenAPIHono, type RouteConfig, type RouteHandler, type RouteHook } from '@hono/zod-openapi';
import type { z } from 'zod';
import type { Access } from './auth/access.js';
import { rolesWith } from './auth/access.js';
import { requireAccess } from './auth/access-control.js';
import { validationHook, validJsonBody } from './errors.js';
import type { ApiEnv } from './observability.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from './schemas/common.js';
import { PredictBody, PredictQuery, PredictResponse } from './schemas/models.js';

export type ApiRouter = OpenAPIHono<ApiEnv>;

/** A router whose schema failures answer in the API's error shape (400 for query and path, 422 for bodies). */
export function apiRouter(): ApiRouter {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}

/** A route definition with its access rule: no route is registered without one. */
export type GuardedRoute = RouteConfig & { access: Access };

/** createRoute with the route's access rule, typed (so `needs` and the audit action are checked). */
export const guardedRoute = <P extends string, R extends Omit<RouteConfig, 'path'> & { path: P; access: Access }>(config: R) => createRoute<P, R>(config);

/**
 * Registers a route: its access rule runs first (401, 403, 429; the audit row of a mutation after its
 * handler, api/auth/access-control.ts), and the document shows the rule (bearer security and `x-roles`, the
 * roles that may call it). Its query and path parameters are validated by zod-openapi (answering through
 * validationHook), and its JSON body, if it has one, by validJsonBody instead of zod-openapi's body
 * validator. That one reads the whole body before any size check, answers a wrong content type or
 * malformed JSON in its own shape, and skips an optional body sent without a content type (so its defaults
 * are never applied); validJsonBody reads the body once, within the limit, and answers 413, 415, 400 and
 * 422 as the API always has.
 */
export function defineRoute<R extends GuardedRoute>(app: ApiRouter, route: R, handler: RouteHandler<R, ApiEnv>, hook?: RouteHook<R, ApiEnv>): void {
  // The library's own typing of handler and hook is what the call site checked; here they are passed on.
  const register = app.openapi as (route: RouteConfig, handler: unknown, hook?: unknown) => ApiRouter;
  const { access, ...config } = route;
  const guarded: RouteConfig = {
    ...config,
    security: [{ [BEARER]: [] }],
    'x-roles': rolesWith(access.needs),
    ...(access.audit ? { 'x-audit-action': access.audit.action } : {}),
    // Every route can refuse its caller; a route with parameters can refuse them (400); a change can be rate limited.
    responses: {
      ...errorResponses(...AUTH_ERRORS, ...(route.method === 'get' ? [] : [429] as const), ...(config.request?.params || config.request?.query || config.request?.headers ? [400] as const : [])),
      ...config.responses,
    },
    middleware: [requireAccess(access), ...[config.middleware ?? []].flat()],
  };
  const body = guarded.request?.body;
  const media = body?.content['application/json'];
  const schema = media && 'schema' in media ? (media.schema as z.ZodType) : undefined;
  if (!body || !schema) {
    register(guarded, handler, hook);
    return;
  }
  const { middleware, hide, ...documented } = guarded;
  if (!hide) app.openAPIRegistry.registerPath(documented);
  register({
    ...documented, hide: true, request: { ...guarded.request, body: undefined },
    middleware: [...[middleware ?? []].flat(), validJsonBody(schema, { optional: !body.required })],
  }, handler, hook);
}

const BEARER = 'bearer';
const AUTH_ERRORS = [401, 403] as const;

/** POST /v1/models/{name}/predict, documented only: its handler is registered by models/routes.ts. */
const predictRoute = createRoute({
  method: 'post',
  path: '/v1/models/{name}/predict',
  tags: ['models'],
  summary: 'Predict with a model version (the production alias unless told otherwise)',
  request: { params: NameParams, query: PredictQuery, body: jsonRequest(PredictBody) },
  security: [{ [BEARER]: [] }],
  'x-roles': rolesWith('predict'),
  responses: {
    200: jsonResponse(PredictResponse, 'One prediction per instance'),
    ...errorResponses(...BODY_ERRORS, ...AUTH_ERRORS, 404, 429, 503),
  },
});

/**
 * Serves GET /openapi.json: the OpenAPI 3.1 document of every route registered on `app` (built on first
 * request, when every router has been mounted) plus the predict route.
 */
export function serveOpenApi(app: ApiRouter, version: string): void {
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER, {
    type: 'http', scheme: 'bearer', description: 'An API key (`mlp keys create`) or, when OIDC is configured, a JWT from the identity provider',
  });
  app.openAPIRegistry.registerPath(predictRoute);
  let document: ReturnType<ApiRouter['getOpenAPI31Document']> | undefined;
  // Any authenticated caller may read the document, a predictor included.
  app.get('/openapi.json', async (c) => {
    await c.get('access').authorize(c, 'any', null);
    return c.json(document ??= openApiDocument(app, version));
  });
}

export function openApiDocument(app: ApiRouter, version: string) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Temporal ML platform API',
      version,
      description: 'Pipelines, runs, backfills, schedules, the model registry and predictions. Every error answers {"error": {"code", "message", "details"}}.',
    },
    // Relative: the API that served this document.
    servers: [{ url: '/' }],
  });
}
