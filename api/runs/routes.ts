import { defaultPayloadConverter, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createRoute } from '@hono/zod-openapi';
import { getPipeline } from '../../registry/pipelines.js';
import { getRun, listRuns } from '../../registry/runs.js';
import { approvalUpdate, progressQuery } from '../../workflows/definitions.js';
import { type StageProgress } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute } from '../openapi.js';
import { actorOf } from '../request-context.js';
import { startTrainingRun, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import {
  ApprovalBody, ApprovalResult, type Heartbeat, ListRunsQuery, RunDetail, RunList, StartedRun, StartRunBody, WorkflowIdParams,
} from '../schemas/runs.js';

const tags = ['runs'];

const start = createRoute({
  method: 'post', path: '/pipelines/{name}/runs', tags, summary: 'Start a run of a pipeline',
  request: { params: NameParams, body: jsonRequest(StartRunBody, { optional: true, description: 'May be empty: a run as of now, of the latest version, that may promote' }) },
  responses: { 201: jsonResponse(StartedRun, 'The run started'), ...errorResponses(...BODY_ERRORS, 404) },
});

const list = createRoute({
  method: 'get', path: '/runs', tags, summary: 'List runs, newest first',
  request: { query: ListRunsQuery },
  responses: { 200: jsonResponse(RunList, 'The runs'), ...errorResponses(400) },
});

const approve = createRoute({
  method: 'post', path: '/runs/{workflowId}/approval', tags, summary: 'Approve or reject a candidate awaiting approval',
  request: { params: WorkflowIdParams, body: jsonRequest(ApprovalBody) },
  responses: { 200: jsonResponse(ApprovalResult, 'The decision was taken'), ...errorResponses(...BODY_ERRORS, 404, 409) },
});

const get = createRoute({
  method: 'get', path: '/runs/{workflowId}', tags, summary: 'Get a run with its live progress',
  request: { params: WorkflowIdParams },
  responses: { 200: jsonResponse(RunDetail, 'The run'), ...errorResponses(404) },
});

export function runRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, start, async (c) => {
    const body = c.req.valid('json');
    const { name } = c.req.valid('param');
    const pipeline = await getPipeline(deps.db, name, body.pipelineVersion);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${name}" does not exist; create it with POST /v1/pipelines`);
    const started = await startTrainingRun(deps, pipeline, { asOf: body.asOf, trigger: 'api', allowPromotion: body.allowPromotion, actor: actorOf(c, deps) });
    return c.json({ run: { ...started, pipeline: pipeline.name, pipelineVersion: pipeline.version } }, 201);
  });

  defineRoute(app, list, async (c) => {
    const rows = await listRuns(deps.db, c.req.valid('query'));
    return c.json({ runs: rows.map((r) => ({ ...r, webUiUrl: webUiLink(deps.config, r.workflowId, r.temporalRunId) })) }, 200);
  });

  // A person's decision on a candidate that waits for approval (pipelines with promotion.approval).
  defineRoute(app, approve, async (c) => {
    const body = c.req.valid('json');
    const { workflowId } = c.req.valid('param');
    const handle = deps.temporal.workflow.getHandle(workflowId);
    try {
      const outcome = await handle.executeUpdate(approvalUpdate, { args: [{ decision: body.decision, reason: body.reason, by: actorOf(c, deps) }] });
      return c.json({ approval: outcome }, 200);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        const exists = await handle.describe().then(() => true, () => false);
        throw exists
          ? new HttpError(409, 'conflict', 'run has already finished; it is not awaiting approval')
          : new HttpError(404, 'not_found', `run "${workflowId}" does not exist`);
      }
      if (err instanceof WorkflowUpdateFailedError) throw new HttpError(409, 'conflict', (err.cause as Error | undefined)?.message ?? err.message);
      throw err;
    }
  });

  // Registry record plus, while the run is live, its stage from the workflow query and its training
  // progress from the train activity's last heartbeat.
  defineRoute(app, get, async (c) => {
    const { workflowId } = c.req.valid('param');
    const record = await getRun(deps.db, workflowId);
    const handle = deps.temporal.workflow.getHandle(workflowId);
    let live: { status: string; progress: StageProgress | null; heartbeat: Heartbeat | null; attempt: number | null } | null = null;
    try {
      const desc = await handle.describe();
      let progress: StageProgress | null = null;
      if (desc.status.name === 'RUNNING') progress = await handle.query(progressQuery).catch((): StageProgress | null => null);
      const pending = desc.raw.pendingActivities?.[0];
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      live = {
        status: desc.status.name,
        progress,
        // What the stage activities heartbeat (activities/train.ts, activities/data-stages.ts).
        heartbeat: payload ? defaultPayloadConverter.fromPayload<Heartbeat>(payload) : null,
        attempt: pending?.attempt ?? null,
      };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (!record && !live) throw new HttpError(404, 'not_found', `run "${workflowId}" does not exist`);
    return c.json({ run: { workflowId, ...record, live, webUiUrl: webUiLink(deps.config, workflowId, record?.temporalRunId) } }, 200);
  });

  return app;
}
