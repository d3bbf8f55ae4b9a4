// The monitor of a production model: its schedule (one window judged per action, backfillable), a window
// judged on request, the stored reports and a chart of any statistic over the windows.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowFailedError, type ScheduleDescription } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ModelMonitorResult } from '../../pipelines/contract.js';
import { MonitoringConfigSchema } from '../../pipelines/monitoring-config.js';
import { monitorScheduleId } from '../../pipelines/workflow-ids.js';
import { getMonitorReport, listMonitorReports } from '../../registry/monitor-reports.js';
import { getPipeline } from '../../registry/pipelines.js';
import { monitorChartSvg } from '../../serving/monitor-chart.js';
import { WORKFLOW_TYPES } from '../../workflows/definitions.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution, recordChange } from '../auth/access-control.js';
import { monitorScheduleAction, startMonitorWindow, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams, readInstant } from '../schemas/common.js';
import {
  MonitorBackfillBody, MonitorChartQuery, MonitorReportList, MonitorReportParams, MonitorReportSchema, MonitorReportsQuery, MonitorSchedule,
  MonitorScheduleBody, MonitorWindowBody, MonitorWindowResult,
} from '../schemas/monitoring.js';

const tags = ['monitoring'];
/** The longest window judged on request (its predictions are read on a worker, a batch at a time). */
const MAX_WINDOW_DAYS = 31;
/** Temporal buffers a bounded number of backfilled actions: a backfill names at most this many windows. */
const MAX_BACKFILL_WINDOWS = 1000;
/** How long a request for a window waits for its report before answering with the workflow to follow. */
const WAIT_MS = 60_000;

const putSchedule = guardedRoute({
  method: 'put', path: '/{name}/monitor', tags, summary: 'Monitor the production model: one window judged per monitoring.windowMinutes (created or updated)',
  access: { needs: 'author', audit: { action: 'monitor.scheduled', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(MonitorScheduleBody, { optional: true }) },
  responses: { 200: jsonResponse(MonitorSchedule, 'The monitor'), ...errorResponses(...BODY_ERRORS, 404) },
});
const getSchedule = guardedRoute({
  method: 'get', path: '/{name}/monitor', tags, summary: 'The monitor of a model: its schedule and latest window',
  access: { needs: 'read' },
  request: { params: NameParams },
  responses: { 200: jsonResponse(MonitorSchedule, 'The monitor'), ...errorResponses(404) },
});
const deleteSchedule = guardedRoute({
  method: 'delete', path: '/{name}/monitor', tags, summary: 'Stop monitoring a model (its reports stay)',
  access: { needs: 'author', audit: { action: 'monitor.unscheduled', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams },
  responses: { 200: jsonResponse(MonitorSchedule, 'The monitor, without a schedule'), ...errorResponses(404) },
});
const judgeWindowRoute = guardedRoute({
  method: 'post', path: '/{name}/monitor/windows', tags, summary: 'Judge one window of served predictions now (once per window: a window judged again finds its report)',
  access: { needs: 'author', audit: { action: 'monitor.window-requested', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(MonitorWindowBody) },
  responses: { 200: jsonResponse(MonitorWindowResult, 'The window, judged'), 202: jsonResponse(MonitorWindowResult, 'The window is being judged'), ...errorResponses(...BODY_ERRORS, 404) },
});
const backfillRoute = guardedRoute({
  method: 'post', path: '/{name}/monitor/backfill', tags, summary: 'Judge the past windows of the monitor schedule ending in a range (each once)',
  access: { needs: 'author', audit: { action: 'monitor.window-requested', subject: (p) => `model:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(MonitorBackfillBody) },
  responses: { 202: jsonResponse(MonitorSchedule, 'The windows were requested'), ...errorResponses(...BODY_ERRORS, 404) },
});
const listReports = guardedRoute({
  method: 'get', path: '/{name}/monitor/reports', tags, summary: 'The monitor\'s reports, newest window first',
  access: { needs: 'read' },
  request: { params: NameParams, query: MonitorReportsQuery },
  responses: { 200: jsonResponse(MonitorReportList, 'The reports'), ...errorResponses(400, 404) },
});
const getReport = guardedRoute({
  method: 'get', path: '/{name}/monitor/reports/{id}', tags, summary: 'One window\'s report (its ID is the window: <from>--<to>)',
  access: { needs: 'read' },
  request: { params: MonitorReportParams },
  responses: { 200: jsonResponse(MonitorReportSchema, 'The report'), ...errorResponses(404) },
});
const chart = guardedRoute({
  method: 'get', path: '/{name}/monitor/chart.svg', tags, summary: 'A statistic over the monitored windows, as an SVG chart',
  access: { needs: 'read' },
  request: { params: NameParams, query: MonitorChartQuery },
  responses: { 200: { description: 'The chart', content: { 'image/svg+xml': { schema: { type: 'string' } } } }, ...errorResponses(400, 404) },
});

export function monitorRoutes(deps: ApiDeps) {
  const app = apiRouter();
  const schedules = deps.temporal.schedule;

  const pipelineOf = async (name: string) => {
    const p = await getPipeline(deps.db, name);
    if (!p) throw new HttpError(404, 'not_found', `no pipeline "${name}": a monitor watches the production model of a pipeline`);
    return { pipeline: p, monitoring: MonitoringConfigSchema.parse(p.spec.monitoring ?? {}) };
  };

  /** The model's monitor schedule; null when there is none (or the ID is taken by something that is not one). */
  const describe = async (name: string): Promise<ScheduleDescription | null> => {
    try {
      const d = await schedules.getHandle(monitorScheduleId(name)).describe();
      const action = d.action as { type?: string; workflowType?: string; taskQueue?: string };
      const ours = d.memo?.monitor === name && action.type === 'startWorkflow' && action.workflowType === WORKFLOW_TYPES.monitor && action.taskQueue === deps.config.temporal.taskQueue;
      return ours ? d : null;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return null;
      throw err;
    }
  };

  const view = async (name: string, d: ScheduleDescription | null, monitoring: { windowMinutes: number; retrain: 'never' | 'on-breach' }) => {
    const [latest] = await listMonitorReports(deps.db, name, { limit: 1 });
    return {
      model: name, scheduleId: monitorScheduleId(name), exists: d !== null, paused: d?.state.paused ?? null, note: d?.state.note ?? null,
      windowMinutes: monitoring.windowMinutes, retrain: monitoring.retrain,
      nextActionTimes: (d?.info.nextActionTimes ?? []).slice(0, 5).map((t) => t.toISOString()),
      recentActions: (d?.info.recentActions ?? []).slice(-10).map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId,
        webUiUrl: webUiLink(deps.config, a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId),
      })),
      latest: latest ? { id: latest.id, window: latest.window, breach: latest.breach, findings: latest.findings.length } : null,
    };
  };

  defineRoute(app, putSchedule, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const { monitoring } = await pipelineOf(name);
    const id = monitorScheduleId(name);
    const spec = { intervals: [{ every: monitoring.windowMinutes * 60_000 }] };
    const state = { paused: body.paused, note: body.note ?? `set by ${attribution(c).actor}` };
    const before = await describe(name);
    // The window length travels in the action, so a later edit of the pipeline's monitoring block cannot make
    // the windows overlap or leave gaps between the actions: PUT again to take it up.
    const action = monitorScheduleAction(deps.config, { model: name, scheduleId: id, accountable: attribution(c).actor, windowMinutes: monitoring.windowMinutes });
    try {
      if (before) {
        await schedules.getHandle(id).update((prev) => ({ ...prev, spec, action, state: { ...prev.state, ...state } }));
      } else {
        await schedules.create({
          scheduleId: id, spec, state, memo: { monitor: name }, action,
          // A window is judged once; a late action still judges the window it was for, within a window's length.
          policies: { overlap: 'ALLOW_ALL' as never, catchupWindow: Math.max(60_000, monitoring.windowMinutes * 60_000) },
        });
      }
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) throw new HttpError(409, 'conflict', `the schedule ID "${id}" is taken by another schedule; delete it (DELETE /v1/schedules/${id}) or retry if a monitor was being set meanwhile`);
      if (err instanceof ScheduleNotFoundError) throw new HttpError(409, 'conflict', `the monitor of "${name}" was deleted meanwhile; PUT again`);
      throw err;
    }
    await recordChange(c, { details: { windowMinutes: monitoring.windowMinutes, paused: body.paused, created: before === null } });
    return c.json(await view(name, await describe(name), monitoring), 200);
  });

  defineRoute(app, getSchedule, async (c) => {
    const { name } = c.req.valid('param');
    const { monitoring } = await pipelineOf(name);
    return c.json(await view(name, await describe(name), monitoring), 200);
  });

  defineRoute(app, deleteSchedule, async (c) => {
    const { name } = c.req.valid('param');
    const { monitoring } = await pipelineOf(name);
    const d = await describe(name);
    if (!d) throw new HttpError(404, 'not_found', `"${name}" is not monitored`);
    try {
      await schedules.getHandle(monitorScheduleId(name)).delete();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new HttpError(404, 'not_found', `"${name}" is not monitored`);
      throw err;
    }
    await recordChange(c, { details: { windowMinutes: monitoring.windowMinutes } });
    return c.json(await view(name, null, monitoring), 200);
  });

  defineRoute(app, judgeWindowRoute, async (c) => {
    const { name } = c.req.valid('param');
    const b = c.req.valid('json');
    const from = readInstant(b.from)!;
    const to = readInstant(b.to)!;
    if (!(from < to)) throw new HttpError(422, 'validation_failed', '`from` must be before `to`', { issues: [{ path: 'body.from', message: 'must be before `to`' }] });
    // A report is written once per window: one judged before the window is over would stand without its last predictions.
    if (to.getTime() > Date.now()) throw new HttpError(422, 'validation_failed', '`to` is in the future: a window is judged once it is over', { issues: [{ path: 'body.to', message: 'must not be in the future' }] });
    if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
      throw new HttpError(422, 'validation_failed', `a window spans at most ${MAX_WINDOW_DAYS} days`, { issues: [{ path: 'body.to', message: `at most ${MAX_WINDOW_DAYS} days after \`from\`` }] });
    }
    await pipelineOf(name);
    const window = { from: from.toISOString(), to: to.toISOString() };
    const { actor } = attribution(c);
    const started = await startMonitorWindow(deps, { model: name, window, actor });
    await recordChange(c, { details: { window, workflowId: started.workflowId } });
    const base = { workflowId: started.workflowId, webUiUrl: started.webUiUrl };
    if (!b.wait) return c.json({ ...base, report: null, retraining: null, webhook: null }, 202);
    let result: ModelMonitorResult | null = null;
    try {
      result = await Promise.race([started.handle.result(), new Promise<null>((r) => setTimeout(() => r(null), WAIT_MS).unref())]);
    } catch (err) {
      // The workflow's reason when it is the caller's to act on (no pipeline, an empty window); anything
      // else (the registry down, the webhook never answering) is the platform's, a 500 with the workflow to look at.
      if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure) || err.cause.type !== 'MonitorUnavailable') throw err;
      throw new HttpError(422, 'validation_failed', err.cause.message, { workflowId: started.workflowId });
    }
    if (!result) return c.json({ ...base, report: null, retraining: null, webhook: null }, 202);
    const report = await getMonitorReport(deps.db, name, from, to);
    return c.json({ ...base, report, retraining: result.retraining, webhook: result.webhook }, 200);
  });

  defineRoute(app, backfillRoute, async (c) => {
    const { name } = c.req.valid('param');
    const b = c.req.valid('json');
    const from = readInstant(b.from)!;
    const to = readInstant(b.to)!;
    if (!(from < to)) throw new HttpError(422, 'validation_failed', '`from` must be before `to`', { issues: [{ path: 'body.from', message: 'must be before `to`' }] });
    const { monitoring } = await pipelineOf(name);
    const d = await describe(name);
    if (!d) throw new HttpError(404, 'not_found', `"${name}" is not monitored: PUT /v1/models/${name}/monitor first`);
    const windows = Math.floor((to.getTime() - from.getTime()) / (monitoring.windowMinutes * 60_000)) + 1;
    if (windows > MAX_BACKFILL_WINDOWS) {
      throw new HttpError(422, 'validation_failed', `the range holds more than ${MAX_BACKFILL_WINDOWS} windows; backfill a shorter range`, { issues: [{ path: 'body.to', message: `at most ${MAX_BACKFILL_WINDOWS} windows` }] });
    }
    if (to.getTime() > Date.now()) throw new HttpError(422, 'validation_failed', '`to` is in the future: a backfill judges windows that are over', { issues: [{ path: 'body.to', message: 'must not be in the future' }] });
    // Temporal's backfill range leaves its start out: a millisecond earlier, so a window ending at `from` is judged.
    await schedules.getHandle(monitorScheduleId(name)).backfill({ start: new Date(from.getTime() - 1), end: to, overlap: 'ALLOW_ALL' as never });
    await recordChange(c, { details: { from: from.toISOString(), to: to.toISOString(), windows } });
    return c.json(await view(name, await describe(name), monitoring), 202);
  });

  defineRoute(app, listReports, async (c) => {
    const { name } = c.req.valid('param');
    const q = c.req.valid('query');
    await pipelineOf(name);
    const reports = await listMonitorReports(deps.db, name, { from: q.from ? readInstant(q.from)! : undefined, to: q.to ? readInstant(q.to)! : undefined, limit: q.limit });
    return c.json({ model: name, reports }, 200);
  });

  defineRoute(app, getReport, async (c) => {
    const { name, id } = c.req.valid('param');
    const [from, to, rest] = id.split('--');
    const window = { from: from ? readInstant(from) : null, to: to ? readInstant(to) : null };
    if (rest !== undefined || !window.from || !window.to) throw new HttpError(404, 'not_found', `"${id.slice(0, 100)}" is not a report ID (<from>--<to>, as a report's \`id\`)`);
    const report = await getMonitorReport(deps.db, name, window.from, window.to);
    if (!report) throw new HttpError(404, 'not_found', `no report of "${name}" for the window ${id}`);
    return c.json(report, 200);
  });

  defineRoute(app, chart, async (c) => {
    const { name } = c.req.valid('param');
    const q = c.req.valid('query');
    await pipelineOf(name);
    const reports = await listMonitorReports(deps.db, name, { limit: q.limit });
    c.header('cache-control', 'no-cache');
    c.header('content-type', 'image/svg+xml; charset=utf-8');
    // A chart with user-named columns is an image: never a document that could run script in our origin.
    c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    return c.body(monitorChartSvg(name, reports, q.statistic, q.column), 200) as never;
  });

  return app;
}
