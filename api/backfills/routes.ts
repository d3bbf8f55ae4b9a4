// Pipeline backfills: one run per asOf over a past range, by a parent workflow with a concurrency bound.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { Hono } from 'hono';
import { z } from 'zod';
import { getPipeline } from '../../registry/pipelines.js';
import { backfillIds } from '../../pipelines/workflow-ids.js';
import { backfillProgressQuery } from '../../workflows/definitions.js';
import type { BackfillInput, BackfillProgress } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, jsonBody, parseWith } from '../errors.js';
import { actorOf } from '../request-context.js';
import { retryBackfillPartition, startBackfill, webUiLink } from '../launcher.js';
import { walkForwardCsv, walkForwardRows, walkForwardSvg, type WalkForwardRow } from './walk-forward.js';

const isoDay = z.iso.date().or(z.iso.datetime({ offset: true }));
export const CreateBackfill = z.object({
  start: isoDay,
  end: isoDay,
  /** Months between asOf points: 1 for monthly, 12 (or "season") for yearly seasons. */
  step: z.union([z.literal('season'), z.literal('month'), z.object({ months: z.number().int().min(1).max(120) })]).default('season'),
  concurrency: z.number().int().min(1).max(8).default(2),
  /** Backfilled runs never move an alias unless asked. */
  allowPromotion: z.boolean().default(false),
}).strict();

const MAX_PARTITIONS = 240;

export function backfillAsOfs(start: Date, end: Date, stepMonths: number): string[] {
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const d = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + i * stepMonths, start.getUTCDate(), start.getUTCHours(), start.getUTCMinutes()));
    if (d > end || out.length > MAX_PARTITIONS) break;
    out.push(d.toISOString());
  }
  return out;
}

export function backfillRoutes(deps: ApiDeps) {
  const app = new Hono();

  app.post('/pipelines/:name/backfills', async (c) => {
    const b = parseWith(CreateBackfill, await jsonBody(c), 'body', 422);
    const pipeline = await getPipeline(deps.db, c.req.param('name'));
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${c.req.param('name')}" does not exist`);
    const start = new Date(b.start);
    const end = new Date(b.end);
    if (!(start <= end)) throw new HttpError(422, 'validation_failed', 'start must not be after end', { issues: [{ path: 'body.start', message: 'after end' }] });
    const stepMonths = b.step === 'season' ? 12 : b.step === 'month' ? 1 : b.step.months;
    const asOfs = backfillAsOfs(start, end, stepMonths);
    if (asOfs.length > MAX_PARTITIONS) throw new HttpError(422, 'validation_failed', `the range has more than ${MAX_PARTITIONS} asOf points; use a larger step`);
    const { backfillId, partitions } = backfillIds(pipeline.name, start.toISOString(), end.toISOString(), stepMonths, asOfs);
    const input: BackfillInput = { pipeline: pipeline.name, pipelineVersion: pipeline.version, spec: pipeline.spec, partitions, concurrency: b.concurrency, allowPromotion: b.allowPromotion };
    let existing = false;
    try {
      await startBackfill(deps, backfillId, input, {
        summary: `Backfill ${pipeline.name} v${pipeline.version}: ${asOfs.length} runs from ${asOfs[0].slice(0, 10)} every ${stepMonths} months`,
        details: `Started by ${actorOf(c, deps)}. Concurrency ${b.concurrency}. Promotion ${b.allowPromotion ? 'allowed' : 'disabled'}.`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      existing = true;
    }
    return c.json({ backfill: { id: backfillId, existing, partitions, webUiUrl: webUiLink(deps.config, backfillId) } }, existing ? 200 : 201);
  });

  /** The parent's own view (query), with each partition's latest state from the registry laid over it. */
  async function progressOf(id: string): Promise<{ progress: BackfillProgress & { status: string }; rows: WalkForwardRow[] }> {
    const handle = deps.temporal.workflow.getHandle(id);
    let desc;
    try {
      desc = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'not_found', `backfill "${id}" does not exist`);
      throw err;
    }
    const parent = await handle.query(backfillProgressQuery);
    const rows = await walkForwardRows(deps.db, parent.partitions);
    const partitions = parent.partitions.map((p, i) => {
      const r = rows[i];
      // A partition retried after the parent finished is newer in the registry than in the parent.
      if (r.status === 'succeeded' || r.status === 'failed' || (r.status === 'running' && p.status !== 'running')) {
        return { ...p, status: r.status as typeof p.status, modelVersion: r.modelVersion ?? p.modelVersion, metrics: r.metrics ?? p.metrics, failure: r.status === 'failed' ? p.failure : undefined };
      }
      return p;
    });
    const count = (s: string) => partitions.filter((p) => p.status === s).length;
    return { progress: { ...parent, partitions, done: count('succeeded'), running: count('running'), failed: count('failed'), remaining: count('pending'), status: desc.status.name }, rows };
  }

  app.get('/backfills/:id', async (c) => c.json({ backfill: (await progressOf(c.req.param('id'))).progress }));

  // Runs one failed partition again, alone, under its own ID.
  app.post('/backfills/:id/partitions/:asOf/retry', async (c) => {
    const { progress } = await progressOf(c.req.param('id'));
    const day = c.req.param('asOf').slice(0, 10);
    const part = progress.partitions.find((p) => p.asOf.slice(0, 10) === day);
    if (!part) throw new HttpError(404, 'not_found', `backfill has no partition with asOf ${day}; partitions: ${progress.partitions.map((p) => p.asOf.slice(0, 10)).join(', ')}`);
    if (part.status !== 'failed') throw new HttpError(409, 'conflict', `partition ${day} is ${part.status}; only a failed partition can be retried`);
    // The backfill's pinned version, not the latest: one walk-forward report never mixes spec versions.
    const pipeline = await getPipeline(deps.db, progress.pipeline, progress.pipelineVersion);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${progress.pipeline}" version ${progress.pipelineVersion} no longer exists`);
    try {
      const retry = await retryBackfillPartition(deps, pipeline, part, { backfillId: c.req.param('id'), actor: actorOf(c, deps) });
      return c.json({ retry: { workflowId: retry.workflowId, runId: retry.runId, pipelineVersion: pipeline.version, webUiUrl: retry.webUiUrl } }, 202);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new HttpError(409, 'conflict', `partition ${day} is already running`);
      throw err;
    }
  });

  app.get('/backfills/:id/report', async (c) => {
    const { progress, rows } = await progressOf(c.req.param('id'));
    const format = c.req.query('format') ?? 'json';
    if (format === 'csv') return c.body(walkForwardCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8' });
    if (format === 'svg') {
      const classification = rows.some((r) => r.metrics && 'accuracy' in r.metrics);
      const svg = walkForwardSvg(rows, { title: `${progress.pipeline}: walk-forward evaluation`, metrics: classification ? ['accuracy', 'logLoss'] : ['rmse', 'r2'] });
      return c.body(svg, 200, { 'content-type': 'image/svg+xml' });
    }
    if (format !== 'json') throw new HttpError(400, 'bad_request', 'format must be json, csv or svg');
    return c.json({ backfill: c.req.param('id'), pipeline: progress.pipeline, rows });
  });

  return app;
}
