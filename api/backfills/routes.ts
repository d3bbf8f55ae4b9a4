// Pipeline backfills: one run per asOf over a past range, by a parent workflow with a concurrency bound.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { z } from '@hono/zod-openapi';
import { getPipeline } from '../../registry/pipelines.js';
import { backfillIds } from '../../pipelines/workflow-ids.js';
import { backfillProgressQuery, WORKFLOW_TYPES } from '../../workflows/definitions.js';
import type { BackfillInput, BackfillProgress } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, validationHook } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution, recordChange } from '../auth/access-control.js';
import { isPlatformWorkflow } from '../platform-workflows.js';
import { retryBackfillPartition, startBackfill, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import {
  BackfillIdParams, backfillAsOfs, BackfillOne, BackfillStarted, CreateBackfill, PartitionParams, PartitionRetry, ReportQuery, stepMonthsOf,
  WalkForwardReport,
} from '../schemas/backfills.js';
import { walkForwardCsv, walkForwardRows, walkForwardSvg, type WalkForwardRow } from './walk-forward.js';

const tags = ['backfills'];

const submit = guardedRoute({
  method: 'post', path: '/pipelines/{name}/backfills', tags, summary: 'Start (or find) a backfill: one run per asOf over a past range',
  access: { needs: 'author', audit: { action: 'backfill.started', subject: (p) => `pipeline:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(CreateBackfill) },
  responses: {
    201: jsonResponse(BackfillStarted, 'The backfill started'),
    200: jsonResponse(BackfillStarted, 'The same backfill was already submitted'),
    ...errorResponses(...BODY_ERRORS, 404),
  },
});

const progress = guardedRoute({
  method: 'get', path: '/backfills/{id}', tags, summary: 'Backfill progress, partition by partition',
  access: { needs: 'read' },
  request: { params: BackfillIdParams },
  responses: { 200: jsonResponse(BackfillOne, 'The progress'), ...errorResponses(404) },
});

const retry = guardedRoute({
  method: 'post', path: '/backfills/{id}/partitions/{asOf}/retry', tags, summary: 'Retry one failed partition',
  access: { needs: 'author', audit: { action: 'backfill.partition-retried', subject: (p) => `backfill:${p.id}` } },
  request: { params: PartitionParams },
  responses: { 202: jsonResponse(PartitionRetry, 'The partition runs again'), ...errorResponses(404, 409) },
});

const report = guardedRoute({
  method: 'get', path: '/backfills/{id}/report', tags, summary: 'Walk-forward report (json, csv or svg)',
  access: { needs: 'read' },
  request: { params: BackfillIdParams, query: ReportQuery },
  responses: {
    200: {
      description: 'The report: JSON rows, a CSV table, or an SVG chart',
      content: {
        'application/json': { schema: WalkForwardReport },
        'text/csv': { schema: z.string() },
        'image/svg+xml': { schema: z.string() },
      },
    },
    ...errorResponses(400, 404),
  },
});

export function backfillRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, submit, async (c) => {
    const b = c.req.valid('json');
    const { name } = c.req.valid('param');
    const pipeline = await getPipeline(deps.db, name);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${name}" does not exist`);
    const start = new Date(b.start);
    const end = new Date(b.end);
    if (!(start <= end)) throw new HttpError(422, 'validation_failed', 'start must not be after end', { issues: [{ path: 'body.start', message: 'after end' }] });
    // At most MAX_BACKFILL_PARTITIONS: the body's schema refused a longer range.
    const stepMonths = stepMonthsOf(b.step);
    const asOfs = backfillAsOfs(start, end, stepMonths);
    const { backfillId, partitions } = backfillIds(pipeline.name, start.toISOString(), end.toISOString(), stepMonths, asOfs);
    const input: BackfillInput = {
      pipeline: pipeline.name, pipelineVersion: pipeline.version, spec: pipeline.spec, partitions, concurrency: b.concurrency, allowPromotion: b.allowPromotion,
      accountable: attribution(c).actor,
    };
    let existing = false;
    try {
      await startBackfill(deps, backfillId, input, {
        summary: `Backfill ${pipeline.name} v${pipeline.version}: ${asOfs.length} runs from ${asOfs[0].slice(0, 10)} every ${stepMonths} months`,
        details: `Started by ${attribution(c).actor}. Concurrency ${b.concurrency}. Promotion ${b.allowPromotion ? 'allowed' : 'disabled'}.`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      existing = true;
    }
    const backfill = { id: backfillId, existing, partitions, webUiUrl: webUiLink(deps.config, backfillId) };
    await recordChange(c, { subject: `backfill:${backfillId}`, details: { pipelineVersion: pipeline.version, partitions: asOfs.length, existing, concurrency: b.concurrency, allowPromotion: b.allowPromotion } });
    return existing ? c.json({ backfill }, 200) : c.json({ backfill }, 201);
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
    if (!isPlatformWorkflow(deps, desc, WORKFLOW_TYPES.backfill)) throw new HttpError(404, 'not_found', `backfill "${id}" does not exist`);
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

  defineRoute(app, progress, async (c) => c.json({ backfill: (await progressOf(c.req.valid('param').id)).progress }, 200));

  // Runs one failed partition again, alone, under its own ID.
  defineRoute(app, retry, async (c) => {
    const { id, asOf } = c.req.valid('param');
    const { progress } = await progressOf(id);
    const day = asOf.slice(0, 10);
    const part = progress.partitions.find((p) => p.asOf.slice(0, 10) === day);
    if (!part) throw new HttpError(404, 'not_found', `backfill has no partition with asOf ${day}; partitions: ${progress.partitions.map((p) => p.asOf.slice(0, 10)).join(', ')}`);
    if (part.status !== 'failed') throw new HttpError(409, 'conflict', `partition ${day} is ${part.status}; only a failed partition can be retried`);
    // The backfill's pinned version, not the latest: one walk-forward report never mixes spec versions.
    const pipeline = await getPipeline(deps.db, progress.pipeline, progress.pipelineVersion);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${progress.pipeline}" version ${progress.pipelineVersion} no longer exists`);
    try {
      const started = await retryBackfillPartition(deps, pipeline, part, { backfillId: id, actor: attribution(c).actor });
      await recordChange(c, { details: { asOf: part.asOf, workflowId: started.workflowId, pipelineVersion: pipeline.version } });
      return c.json({ retry: { workflowId: started.workflowId, runId: started.runId, pipelineVersion: pipeline.version, webUiUrl: started.webUiUrl } }, 202);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new HttpError(409, 'conflict', `partition ${day} is already running`);
      throw err;
    }
  });

  defineRoute(app, report, async (c) => {
    const { id } = c.req.valid('param');
    const { format } = c.req.valid('query');
    const { progress, rows } = await progressOf(id);
    if (format === 'csv') return c.body(walkForwardCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8' });
    if (format === 'svg') {
      const classification = rows.some((r) => r.metrics && 'accuracy' in r.metrics);
      const svg = walkForwardSvg(rows, { title: `${progress.pipeline}: walk-forward evaluation`, metrics: classification ? ['accuracy', 'logLoss'] : ['rmse', 'r2'] });
      return c.body(svg, 200, { 'content-type': 'image/svg+xml' });
    }
    return c.json({ backfill: id, pipeline: progress.pipeline, rows }, 200);
  }, (result) => {
    // The one query parameter: answered as it always was.
    if (!result.success && result.target === 'query') throw new HttpError(400, 'bad_request', 'format must be json, csv or svg');
    validationHook(result);
  });

  return app;
}
