import { validateInstances, type RowWarning, type RowWarningKind } from '../../serving/instance-validation.js';
import { aliasHistory, getVersion, listModels, listVersions, moveAlias, RegistryError } from '../../registry/models.js';
import type { CounterSlot, HistogramSlot } from '../../runtime/hot-metrics.js';
import type { ApiDeps } from '../deps.js';
import { bodyText, HttpError, parseJsonBody, parseWith, validationHook } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { readDatasetStatistics } from '../dataset-statistics.js';
import { attribution } from '../auth/access-control.js';
import type { ServedModel } from '../../serving/model-cache.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import {
  AliasHistory, AliasMoved, AliasParams, ModelList, ModelSignature, MoveAliasBody, MoveAliasHeaders, PredictQuery, VersionLineage, VersionList, VersionOne, VersionParams,
} from '../schemas/models.js';
import { VersionStatistics } from '../schemas/runs.js';

/** The predict route's path, as the per-request middleware sees it (see PerRequestOptions.ownRequestIdHeader). */
const PREDICT_PATH = /^\/v1\/models\/[^/]+\/predict$/;
export const isPredictPath = (path: string) => PREDICT_PATH.test(path);

const tags = ['models'];

const list = guardedRoute({
  method: 'get', path: '/', tags, summary: 'List models with their latest version and aliases',
  access: { needs: 'read' },
  responses: { 200: jsonResponse(ModelList, 'The models'), ...errorResponses() },
});

const versions = guardedRoute({
  method: 'get', path: '/{name}/versions', tags, summary: 'List a model\'s versions, newest first',
  access: { needs: 'read' },
  request: { params: NameParams },
  responses: { 200: jsonResponse(VersionList, 'The versions'), ...errorResponses(404) },
});

const version = guardedRoute({
  method: 'get', path: '/{name}/versions/{version}', tags, summary: 'Get a version, with its fitted transform',
  access: { needs: 'read' },
  request: { params: VersionParams },
  responses: { 200: jsonResponse(VersionOne, 'The version'), ...errorResponses(400, 404) },
});

const signature = guardedRoute({
  method: 'get', path: '/{name}/versions/{version}/schema', tags, summary: 'A version\'s signature: what a predict request sends, what comes back',
  access: { needs: 'read' },
  request: { params: VersionParams },
  responses: { 200: jsonResponse(ModelSignature, 'The signature'), ...errorResponses(400, 404) },
});

const lineage = guardedRoute({
  method: 'get', path: '/{name}/versions/{version}/lineage', tags, summary: 'Where a version came from, and its metrics',
  access: { needs: 'read' },
  request: { params: VersionParams },
  responses: { 200: jsonResponse(VersionLineage, 'The lineage'), ...errorResponses(400, 404) },
});

const trainingStatistics = guardedRoute({
  method: 'get', path: '/{name}/versions/{version}/statistics', tags, summary: 'Statistics of the data a version was trained on (its run\'s clean dataset), column by column',
  access: { needs: 'read' },
  request: { params: VersionParams },
  responses: { 200: jsonResponse(VersionStatistics, 'The statistics'), ...errorResponses(400, 404) },
});

const history = guardedRoute({
  method: 'get', path: '/{name}/aliases/history', tags, summary: 'Audit of alias moves, oldest first',
  access: { needs: 'read' },
  request: { params: NameParams },
  responses: { 200: jsonResponse(AliasHistory, 'The moves'), ...errorResponses() },
});

const moveAliasRoute = guardedRoute({
  method: 'post', path: '/{name}/aliases/{alias}', tags,
  access: { needs: 'admin', audit: { action: 'alias.moved', subject: (p) => `model:${p.name}` } },
  summary: 'Point an alias at a version (manual promotion or rollback); an Idempotency-Key header makes a retry a no-op',
  request: { params: AliasParams, headers: MoveAliasHeaders, body: jsonRequest(MoveAliasBody) },
  responses: { 200: jsonResponse(AliasMoved, 'The alias moved, or the move was refused with reasons'), ...errorResponses(...BODY_ERRORS, 404, 409) },
});

export function modelRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, list, async (c) => c.json({ models: await listModels(deps.db) }, 200));

  defineRoute(app, versions, async (c) => {
    const { name } = c.req.valid('param');
    const rows = await listVersions(deps.db, name);
    if (rows.length === 0) throw new HttpError(404, 'not_found', `model "${name}" has no versions`);
    // The list stays light: the fitted transform is served by the single-version endpoint.
    return c.json({ versions: rows.map(({ transform: _t, ...v }) => v) }, 200);
  });

  const versionOf = async (name: string, n: number) => {
    const v = await getVersion(deps.db, name, n);
    if (!v) throw new HttpError(404, 'not_found', `model "${name}" has no version ${n}`);
    return v;
  };

  defineRoute(app, version, async (c) => {
    const { name, version: n } = c.req.valid('param');
    return c.json({ version: await versionOf(name, n) }, 200);
  });

  // The model signature: what a predict request must send, and what comes back.
  defineRoute(app, signature, async (c) => {
    const { name, version: n } = c.req.valid('param');
    const v = await versionOf(name, n);
    return c.json({ model: name, version: v.version, task: v.transform.task, target: v.transform.target, classes: v.transform.classes, inputs: v.inputSchema }, 200);
  });

  // What the version saw in training: the baseline that drift and validation compare new data against.
  defineRoute(app, trainingStatistics, async (c) => {
    const { name, version: n } = c.req.valid('param');
    const v = await versionOf(name, n);
    return c.json({ model: name, version: v.version, ...(await readDatasetStatistics(deps, v.runWorkflowId, 'clean')) }, 200);
  });

  defineRoute(app, lineage, async (c) => {
    const { name, version: n } = c.req.valid('param');
    const v = await versionOf(name, n);
    return c.json({ model: name, version: v.version, artifactUri: v.artifactUri, artifactSha256: v.artifactSha256, lineage: v.lineage, metrics: v.metrics, baselines: v.baselines }, 200);
  });

  defineRoute(app, history, async (c) => c.json({ events: await aliasHistory(deps.db, c.req.valid('param').name) }, 200));

  // Manual promotion or rollback: point an alias at any registered version, with a reason for the audit.
  defineRoute(app, moveAliasRoute, async (c) => {
    const body = c.req.valid('json');
    const { name, alias } = c.req.valid('param');
    try {
      const r = await moveAlias(deps.db, {
        model: name, alias, toVersion: body.version, ...attribution(c), reason: body.reason,
        idempotencyKey: c.req.valid('header')['idempotency-key'] ?? `manual:${crypto.randomUUID()}`,
      });
      // Moved: its row is written with the move. Replayed: the first request's row stands. Refused: nothing moved.
      if (r.moved) c.set('audited', true);
      else c.set('audit', { details: { alias, refused: r.reasons } });
      return c.json({ alias, model: name, ...r }, 200);
    } catch (err) {
      if (err instanceof RegistryError) throw new HttpError(err.code === 'not_found' ? 404 : 409, err.code, err.message);
      throw err;
    }
  }, (result, c) => {
    // A malformed alias is part of the body's contract for callers: 422, as it always was. Any other
    // path parameter (the model's name) is answered as on every route.
    if (!result.success && result.target === 'param' && result.error.issues.every((i) => i.path[0] === 'alias')) {
      throw new HttpError(422, 'validation_failed', `alias "${c.req.param('alias')}" must be 1-63 lowercase letters, digits and dashes, starting with a letter`);
    }
    validationHook(result);
  });

  const DEFAULT_PREDICT_QUERY = PredictQuery.parse({});
  // Metric slots of each served version, bound on its first request.
  type Meters = { requests: CounterSlot; rows: CounterSlot; rowsPerRequest: HistogramSlot; duration: HistogramSlot; warnings: Map<RowWarningKind, CounterSlot> };
  const meters = new WeakMap<ServedModel, Meters>();
  const countWarnings = (m: Meters, model: string, warnings: (RowWarning[] | undefined)[]) => {
    for (const row of warnings) {
      if (row === undefined) continue;
      for (const w of row) {
        let slot = m.warnings.get(w.kind);
        if (!slot) m.warnings.set(w.kind, (slot = deps.metrics.predictionWarnings.labels(model, w.kind)));
        slot.value++;
      }
    }
  };
  const metersOf = (served: ServedModel) => {
    let m = meters.get(served);
    if (!m) {
      const version = String(served.version);
      m = {
        requests: deps.metrics.predictions.labels(served.model, version),
        rows: deps.metrics.predictionRows.labels(served.model, version),
        rowsPerRequest: deps.metrics.predictionRowsPerRequest.labels(served.model),
        duration: deps.metrics.predictionDuration.labels(served.model),
        warnings: new Map(),
      };
      meters.set(served, m);
    }
    return m;
  };

  // The hot path: kept free of work a request does not need (no query parsing without a query string, no
  // promise when the alias's model is loaded, the response serialised once and reused by the prediction log).
  app.post('/:name/predict', async (c) => {
    const started = performance.now();
    // An API key's check is synchronous; only a JWT may wait (for its provider's keys).
    const allowed = c.get('access').authorize(c, 'predict', 'predict');
    if (allowed instanceof Promise) await allowed;
    const q = c.req.url.includes('?') ? parseWith(PredictQuery, c.req.query(), 'query') : DEFAULT_PREDICT_QUERY;
    const name = c.req.param('name');
    const text = await bodyText(c);
    const body = parseJsonBody(c, text);
    const alias = q.version !== undefined ? null : q.alias ?? 'production';
    let served = alias === null ? undefined : deps.serving.current(name, alias);
    if (!served) {
      // Only a name that reaches the registry is checked (as NameParams checks it on the other model
      // routes): a model already loaded answers without the check.
      parseWith(NameParams, { name }, 'params');
      served = alias === null ? await deps.serving.byVersion(name, q.version!) : await deps.serving.byAlias(name, alias);
    }
    const instances = body && typeof body === 'object' && !Array.isArray(body) ? (body as { instances?: unknown }).instances : undefined;
    if (instances === undefined) throw new HttpError(422, 'validation_failed', 'the body must be {"instances": [ {column: value, ...}, ... ]}', { issues: [{ path: 'instances', message: 'required' }] });
    const checked = validateInstances(served.predictor.fitted.inputSchema, instances, { unknownCategories: q.unknownCategories, text: served.predictor.fitted.text });
    if (!checked.ok) {
      throw new HttpError(422, 'validation_failed', checked.issues.slice(0, 5).map((i) => i.message).join('; '), { issues: checked.issues });
    }
    const rows = checked.rows.length;
    // Each row's ID (what ground truth is fed back against) and what its answer assumed, ahead of its prediction.
    const ids = deps.predictionLog.ids;
    const firstSeq = ids.take(rows);
    const warnings = checked.warnings;
    const lead = (i: number) => {
      const w = warnings === null ? undefined : warnings[i];
      return w === undefined ? `"id":"${ids.id(firstSeq + i)}",` : `"id":"${ids.id(firstSeq + i)}","warnings":${JSON.stringify(w)},`;
    };
    const predicted = served.predictor.predictJson(checked.rows, lead);
    // The model name was matched by the router and is echoed back: JSON.stringify escapes it.
    const responseJson = `{"model":${JSON.stringify(name)},"version":${served.version},"alias":${alias === null ? 'null' : JSON.stringify(alias)},` +
      `"predictions":${predicted.json}}`;
    const m = metersOf(served);
    m.requests.value++;
    m.rows.value += rows;
    m.rowsPerRequest.observe(rows);
    if (warnings !== null) countWarnings(m, served.model, warnings);
    const latencyMs = performance.now() - started;
    m.duration.observe(latencyMs / 1000);
    deps.predictionLog.record({
      model: name, version: served.version, schema: served.predictor.fitted.inputSchema, outputs: served.predictor.model.numClasses,
      // What the model scored: the body as received, unless its text was read (a decimal comma, a missing
      // token, a date in the source's format), then the rows as read (rare: the source's text rules only).
      rows, firstSeq, requestJson: text, rowsRead: checked.rows === instances ? null : checked.rows, output: predicted.output, warnings,
    });
    // A Response with plain headers: the Node adapter writes it without building fetch Headers.
    return new Response(responseJson, { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': c.get('requestId') } });
  });

  return app;
}
