import { defaultPayloadConverter, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Hono } from 'hono';
import { z } from 'zod';
import { getPipeline } from '../../registry/pipelines.js';
import { getRun, listRuns } from '../../registry/runs.js';
import { approvalUpdate, progressQuery } from '../../workflows/definitions.js';
import { type StageProgress } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, jsonBody, parseWith } from '../errors.js';
import { actorOf } from '../request-context.js';
import { startTrainingRun, webUiLink } from '../launcher.js';

export const StartRunBody = z.object({
  /** The run sees only data up to this instant; default now. */
  asOf: z.union([z.iso.datetime({ offset: true }), z.iso.date()]).optional(),
  allowPromotion: z.boolean().default(true),
  pipelineVersion: z.number().int().positive().optional(),
}).strict();

export const ApprovalBody = z.object({
  decision: z.enum(['approve', 'reject']),
  reason: z.string().min(3).max(1000),
}).strict();

export const ListRunsQuery = z.object({
  pipeline: z.string().optional(),
  status: z.enum(['running', 'succeeded', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function runRoutes(deps: ApiDeps) {
  const app = new Hono();

  app.post('/pipelines/:name/runs', async (c) => {
    const body = parseWith(StartRunBody, await jsonBody(c, { optional: true }), 'body', 422);
    const pipeline = await getPipeline(deps.db, c.req.param('name'), body.pipelineVersion);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${c.req.param('name')}" does not exist; create it with POST /v1/pipelines`);
    const started = await startTrainingRun(deps, pipeline, { asOf: body.asOf, trigger: 'api', allowPromotion: body.allowPromotion, actor: actorOf(c, deps) });
    return c.json({ run: { ...started, pipeline: pipeline.name, pipelineVersion: pipeline.version } }, 201);
  });

  app.get('/runs', async (c) => {
    const q = parseWith(ListRunsQuery, c.req.query(), 'query');
    const rows = await listRuns(deps.db, q);
    return c.json({ runs: rows.map((r) => ({ ...r, webUiUrl: webUiLink(deps.config, r.workflowId, r.temporalRunId) })) });
  });

  // A person's decision on a candidate that waits for approval (pipelines with promotion.approval).
  app.post('/runs/:workflowId/approval', async (c) => {
    const body = parseWith(ApprovalBody, await jsonBody(c), 'body', 422);
    const handle = deps.temporal.workflow.getHandle(c.req.param('workflowId'));
    try {
      const outcome = await handle.executeUpdate(approvalUpdate, { args: [{ decision: body.decision, reason: body.reason, by: actorOf(c, deps) }] });
      return c.json({ approval: outcome });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        const exists = await handle.describe().then(() => true, () => false);
        throw exists
          ? new HttpError(409, 'conflict', 'run has already finished; it is not awaiting approval')
          : new HttpError(404, 'not_found', `run "${c.req.param('workflowId')}" does not exist`);
      }
      if (err instanceof WorkflowUpdateFailedError) throw new HttpError(409, 'conflict', (err.cause as Error | undefined)?.message ?? err.message);
      throw err;
    }
  });

  // Registry record plus, while the run is live, its stage from the workflow query and its training
  // progress from the train activity's last heartbeat.
  app.get('/runs/:workflowId', async (c) => {
    const workflowId = c.req.param('workflowId');
    const record = await getRun(deps.db, workflowId);
    const handle = deps.temporal.workflow.getHandle(workflowId);
    let live: { status: string; progress: StageProgress | null; heartbeat: unknown; attempt: number | null } | null = null;
    try {
      const desc = await handle.describe();
      let progress: StageProgress | null = null;
      if (desc.status.name === 'RUNNING') progress = await handle.query(progressQuery).catch((): StageProgress | null => null);
      const pending = desc.raw.pendingActivities?.[0];
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      live = {
        status: desc.status.name,
        progress,
        heartbeat: payload ? defaultPayloadConverter.fromPayload(payload) : null,
        attempt: pending?.attempt ?? null,
      };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (!record && !live) throw new HttpError(404, 'not_found', `run "${workflowId}" does not exist`);
    return c.json({ run: { workflowId, ...record, live, webUiUrl: webUiLink(deps.config, workflowId, record?.temporalRunId) } });
  });

  return app;
}
