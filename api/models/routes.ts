import { Hono } from 'hono';
import { z } from 'zod';
import { validateInstances } from '../../serving/instance-validation.js';
import { aliasHistory, getVersion, listModels, listVersions, moveAlias, RegistryError } from '../../registry/models.js';
import type { CounterSlot, HistogramSlot } from '../../runtime/hot-metrics.js';
import type { ApiDeps } from '../deps.js';
import { bodyText, HttpError, jsonBody, parseJsonBody, parseWith } from '../errors.js';
import type { ApiEnv } from '../observability.js';
import { actorOf } from '../request-context.js';
import type { ServedModel } from '../../serving/model-cache.js';

export const PredictQuery = z.object({
  alias: z.string().regex(/^[a-z][a-z0-9-]*$/).optional(),
  version: z.coerce.number().int().positive().optional(),
  /** What to do with a value outside a closed category vocabulary: 422 (default) or map it to __other__. */
  unknownCategories: z.enum(['reject', 'other']).default('reject'),
}).strict();

/** The predict route's path, as the per-request middleware sees it (see PerRequestOptions.ownRequestIdHeader). */
const PREDICT_PATH = /^\/v1\/models\/[^/]+\/predict$/;
export const isPredictPath = (path: string) => PREDICT_PATH.test(path);

export const MoveAliasBody = z.object({
  version: z.number().int().positive(),
  reason: z.string().min(3).max(1000),
}).strict();

export function modelRoutes(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => c.json({ models: await listModels(deps.db) }));

  app.get('/:name/versions', async (c) => {
    const versions = await listVersions(deps.db, c.req.param('name'));
    if (versions.length === 0) throw new HttpError(404, 'not_found', `model "${c.req.param('name')}" has no versions`);
    // The list stays light: the fitted transform is served by the single-version endpoint.
    return c.json({ versions: versions.map(({ transform: _t, ...v }) => v) });
  });

  app.get('/:name/versions/:version', async (c) => {
    const v = await getVersion(deps.db, c.req.param('name'), Number(c.req.param('version')));
    if (!v) throw new HttpError(404, 'not_found', `model "${c.req.param('name')}" has no version ${c.req.param('version')}`);
    return c.json({ version: v });
  });

  // The model signature: what a predict request must send, and what comes back.
  app.get('/:name/versions/:version/schema', async (c) => {
    const v = await getVersion(deps.db, c.req.param('name'), Number(c.req.param('version')));
    if (!v) throw new HttpError(404, 'not_found', `model "${c.req.param('name')}" has no version ${c.req.param('version')}`);
    const fitted = v.transform as { task: string; classes: string[] | null; target: string };
    return c.json({ model: c.req.param('name'), version: v.version, task: fitted.task, target: fitted.target, classes: fitted.classes, inputs: v.inputSchema });
  });

  app.get('/:name/versions/:version/lineage', async (c) => {
    const v = await getVersion(deps.db, c.req.param('name'), Number(c.req.param('version')));
    if (!v) throw new HttpError(404, 'not_found', `model "${c.req.param('name')}" has no version ${c.req.param('version')}`);
    return c.json({ model: c.req.param('name'), version: v.version, artifactUri: v.artifactUri, artifactSha256: v.artifactSha256, lineage: v.lineage, metrics: v.metrics, baselines: v.baselines });
  });

  app.get('/:name/aliases/history', async (c) => c.json({ events: await aliasHistory(deps.db, c.req.param('name')) }));

  // Manual promotion or rollback: point an alias at any registered version, with a reason for the audit.
  app.post('/:name/aliases/:alias', async (c) => {
    const body = parseWith(MoveAliasBody, await jsonBody(c), 'body', 422);
    const alias = c.req.param('alias');
    if (!/^[a-z][a-z0-9-]*$/.test(alias)) throw new HttpError(422, 'validation_failed', `alias "${alias}" must be lowercase letters, digits and dashes`);
    try {
      const r = await moveAlias(deps.db, {
        model: c.req.param('name'), alias, toVersion: body.version, actor: actorOf(c, deps), reason: body.reason,
        idempotencyKey: c.req.header('idempotency-key') ?? `manual:${crypto.randomUUID()}`,
      });
      return c.json({ alias, model: c.req.param('name'), ...r });
    } catch (err) {
      if (err instanceof RegistryError) throw new HttpError(err.code === 'not_found' ? 404 : 409, err.code, err.message);
      throw err;
    }
  });

  const DEFAULT_PREDICT_QUERY = PredictQuery.parse({});
  // Metric slots of each served version, bound on its first request.
  const meters = new WeakMap<ServedModel, { requests: CounterSlot; rows: CounterSlot; rowsPerRequest: HistogramSlot; duration: HistogramSlot }>();
  const metersOf = (served: ServedModel) => {
    let m = meters.get(served);
    if (!m) {
      const version = String(served.version);
      m = {
        requests: deps.metrics.predictions.labels(served.model, version),
        rows: deps.metrics.predictionRows.labels(served.model, version),
        rowsPerRequest: deps.metrics.predictionRowsPerRequest.labels(served.model),
        duration: deps.metrics.predictionDuration.labels(served.model),
      };
      meters.set(served, m);
    }
    return m;
  };

  // The hot path: kept free of work a request does not need (no query parsing without a query string, no
  // promise when the alias's model is loaded, the response serialised once and reused by the prediction log).
  app.post('/:name/predict', async (c) => {
    const started = performance.now();
    const q = c.req.url.includes('?') ? parseWith(PredictQuery, c.req.query(), 'query') : DEFAULT_PREDICT_QUERY;
    const name = c.req.param('name');
    const text = await bodyText(c);
    const body = parseJsonBody(c, text);
    const alias = q.version !== undefined ? null : q.alias ?? 'production';
    const served = alias === null
      ? await deps.serving.byVersion(name, q.version!)
      : deps.serving.current(name, alias) ?? await deps.serving.byAlias(name, alias);
    const instances = body && typeof body === 'object' && !Array.isArray(body) ? (body as { instances?: unknown }).instances : undefined;
    if (instances === undefined) throw new HttpError(422, 'validation_failed', 'the body must be {"instances": [ {column: value, ...}, ... ]}', { issues: [{ path: 'instances', message: 'required' }] });
    const checked = validateInstances(served.predictor.fitted.inputSchema, instances, { unknownCategories: q.unknownCategories });
    if (!checked.ok) {
      throw new HttpError(422, 'validation_failed', checked.issues.slice(0, 5).map((i) => i.message).join('; '), { issues: checked.issues });
    }
    const rows = checked.rows.length;
    // The model name was matched by the router and is echoed back: JSON.stringify escapes it.
    const responseJson = `{"model":${JSON.stringify(name)},"version":${served.version},"alias":${alias === null ? 'null' : JSON.stringify(alias)},` +
      `"predictions":${served.predictor.predictJson(checked.rows)}}`;
    const m = metersOf(served);
    m.requests.value++;
    m.rows.value += rows;
    m.rowsPerRequest.observe(rows);
    const latencyMs = performance.now() - started;
    m.duration.observe(latencyMs / 1000);
    deps.predictionLog.record({ model: name, version: served.version, alias, rows, latencyMs, requestJson: text, responseJson });
    // A Response with plain headers: the Node adapter writes it without building fetch Headers.
    return new Response(responseJson, { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': c.get('requestId') } });
  });

  return app;
}
