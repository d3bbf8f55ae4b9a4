// Ground truth in, live quality out: POST …/feedback stores outcomes of served predictions (by prediction ID
// or business key, once per key), GET …/quality scores a window of logged predictions against them.
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution } from '../auth/access-control.js';
import { findModel, listVersions } from '../../registry/models.js';
import { recordOutcomes } from '../../registry/outcomes.js';
import { liveQuality } from '../../serving/live-quality.js';
import { parsePredictionId } from '../../serving/prediction-ids.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams, readInstant } from '../schemas/common.js';
import { FeatureStateQuery, FeatureStateResult, FeedbackBody, FeedbackResult, QualityQuery, QualityResult } from '../schemas/monitoring.js';

const tags = ['monitoring'];
/** The longest window one quality request scores (its predictions are read and joined in the API process). */
const MAX_QUALITY_DAYS = 31;
/** A business key's size as JSON: it is a unique index's entry, which PostgreSQL bounds (about 2.7 KB). */
const MAX_KEY_CHARS = 1000;

const feedback = guardedRoute({
  method: 'post', path: '/{name}/feedback', tags, summary: 'Feed back what happened for served predictions (by prediction ID or business key; a repeat is a no-op)',
  access: { needs: 'feedback', audit: { action: 'feedback.recorded', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(FeedbackBody) },
  responses: { 200: jsonResponse(FeedbackResult, 'What was stored'), ...errorResponses(...BODY_ERRORS, 404) },
});

const quality = guardedRoute({
  method: 'get', path: '/{name}/quality', tags, summary: 'Live quality per version over a window of served predictions, beside the offline evaluation',
  access: { needs: 'read' },
  request: { params: NameParams, query: QualityQuery },
  responses: { 200: jsonResponse(QualityResult, 'The quality'), ...errorResponses(400, 404) },
});

const featureState = guardedRoute({
  method: 'get', path: '/{name}/feature-state', tags, summary: 'The point-in-time feature state a version serves with: the results fed back that it includes',
  access: { needs: 'read' },
  request: { params: NameParams, query: FeatureStateQuery },
  responses: { 200: jsonResponse(FeatureStateResult, 'The state'), ...errorResponses(400, 404) },
});

export function monitoringRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, feedback, async (c) => {
    const { name } = c.req.valid('param');
    const { outcomes } = c.req.valid('json');
    if (!(await findModel(deps.db, name))) throw new HttpError(404, 'not_found', `no model "${name}"`);
    // What the model predicts decides what an outcome must be: a label of its classes, or a number; and a
    // business key can only be made of fields its predictions are logged with.
    const [latest] = await listVersions(deps.db, name);
    const classes = latest?.transform.classes ?? null;
    const inputs = new Set((latest?.inputSchema ?? []).map((f) => f.name));
    const issues: { path: string; message: string }[] = [];
    const canonical = outcomes.map((o, i) => {
      if (o.predictionId !== undefined) {
        const parts = parsePredictionId(o.predictionId);
        if (!parts) issues.push({ path: `outcomes[${i}].predictionId`, message: `outcomes[${i}].predictionId: not a prediction ID (the \`id\` of a predicted row, like "k3x9q2m0ab.1f")` });
        // One form per prediction ("….01f" is "….1f"): once per key must hold however it is written.
        else return { ...o, predictionId: `${parts.token}.${parts.seq.toString(36)}` };
      }
      if (o.key !== undefined) {
        const unknown = Object.keys(o.key).filter((f) => !inputs.has(f));
        if (latest && unknown.length > 0) issues.push({ path: `outcomes[${i}].key`, message: `outcomes[${i}].key: ${unknown.slice(0, 3).map((f) => JSON.stringify(f.slice(0, 40))).join(', ')} ${unknown.length === 1 ? 'is not an input' : 'are not inputs'} of ${name} (a key is made of input fields: ${[...inputs].join(', ')})` });
        if (JSON.stringify(o.key).length > MAX_KEY_CHARS) issues.push({ path: `outcomes[${i}].key`, message: `outcomes[${i}].key: longer than ${MAX_KEY_CHARS} characters as JSON` });
      }
      return o;
    });
    // Observations walk a model's point-in-time features forward: only a model that has them takes them,
    // with the result's two score columns and a key naming the date and both teams.
    const h2h = latest?.transform.transform.headToHead?.config ?? null;
    outcomes.forEach((o, i) => {
      if (o.observed === undefined) return;
      if (!h2h) {
        issues.push({ path: `outcomes[${i}].observed`, message: `outcomes[${i}].observed: "${name}" has no point-in-time features to update; send the label or value alone` });
        return;
      }
      const scores = [h2h.homeScore, h2h.awayScore];
      const fields = Object.keys(o.observed);
      if (fields.length !== 2 || !scores.every((f) => f in o.observed!)) issues.push({ path: `outcomes[${i}].observed`, message: `outcomes[${i}].observed: give exactly ${scores.join(' and ')}` });
      const keyed = [h2h.date, h2h.homeTeam, h2h.awayTeam];
      if (!o.key || !keyed.every((f) => o.key![f] !== undefined)) issues.push({ path: `outcomes[${i}].key`, message: `outcomes[${i}].key: an observed result is keyed by ${keyed.join(', ')} (the match it is the result of)` });
      else if ([h2h.homeTeam, h2h.awayTeam].some((f) => typeof o.key![f] !== 'string' || (o.key![f] as string).trim() === '')) issues.push({ path: `outcomes[${i}].key`, message: `outcomes[${i}].key: ${h2h.homeTeam} and ${h2h.awayTeam} must name the teams` });
      else if (typeof o.key[h2h.date] !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(o.key[h2h.date] as string) || Number.isNaN(Date.parse(o.key[h2h.date] as string))) {
        issues.push({ path: `outcomes[${i}].key`, message: `outcomes[${i}].key: ${h2h.date} must be the match's day, YYYY-MM-DD` });
      }
    });
    outcomes.forEach((o, i) => {
      if (classes && o.label === undefined) issues.push({ path: `outcomes[${i}].value`, message: `outcomes[${i}]: "${name}" is a classifier: give the label that happened (one of ${classes.join(', ')})` });
      if (classes && o.label !== undefined && !classes.includes(o.label)) issues.push({ path: `outcomes[${i}].label`, message: `outcomes[${i}].label: "${o.label.slice(0, 40)}" is none of ${name}'s classes (${classes.join(', ')})` });
      if (latest && !classes && o.value === undefined) issues.push({ path: `outcomes[${i}].label`, message: `outcomes[${i}]: "${name}" is a regression: give the value that happened` });
    });
    if (issues.length > 0) throw new HttpError(422, 'validation_failed', issues.slice(0, 5).map((i) => i.message).join('; '), { issues: issues.slice(0, 50) });
    // The audit row is written with the outcomes, in their transaction.
    const r = await recordOutcomes(deps.db, name, canonical, attribution(c));
    c.set('audited', true);
    return c.json({ model: name, ...r }, 200);
  });

  defineRoute(app, quality, async (c) => {
    const { name } = c.req.valid('param');
    const q = c.req.valid('query');
    const to = q.to ? readInstant(q.to)! : new Date();
    const from = q.from ? readInstant(q.from)! : new Date(to.getTime() - 86_400_000);
    if (!(from < to)) throw new HttpError(400, 'bad_request', '`from` must be before `to`');
    if (to.getTime() - from.getTime() > MAX_QUALITY_DAYS * 86_400_000) throw new HttpError(400, 'bad_request', `a window spans at most ${MAX_QUALITY_DAYS} days; ask for several`);
    if (!(await findModel(deps.db, name))) throw new HttpError(404, 'not_found', `no model "${name}"`);
    const versions = await liveQuality(deps.db, name, { from, to });
    return c.json({ model: name, from: from.toISOString(), to: to.toISOString(), versions }, 200);
  });

  defineRoute(app, featureState, async (c) => {
    const { name } = c.req.valid('param');
    const q = c.req.valid('query');
    const served = q.version !== undefined ? await deps.serving.byVersion(name, q.version) : await deps.serving.byAlias(name, q.alias);
    const state = served.predictor.featureState;
    if (!state) throw new HttpError(404, 'not_found', `${name} v${served.version} has no point-in-time features: its serving state never changes`);
    return c.json({ model: name, version: served.version, ...state }, 200);
  });

  return app;
}
