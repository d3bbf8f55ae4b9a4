import { ApplicationFailure, defaultPayloadConverter, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { getPipeline } from '../../registry/pipelines.js';
import { getRun, listRuns } from '../../registry/runs.js';
import { approvalUpdate, progressQuery, WORKFLOW_TYPES } from '../../workflows/definitions.js';
import { type StageProgress } from '../../pipelines/contract.js';
import { readDatasetStatistics } from '../dataset-statistics.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution, recordChange } from '../auth/access-control.js';
import { isPlatformWorkflow, platformWorkflow } from '../platform-workflows.js';
import { startTrainingRun, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse, NameParams } from '../schemas/common.js';
import {
  ApprovalBody, ApprovalResult, CancelledRun, DatasetParams, DatasetStatisticsResponse, type Heartbeat, ListRunsQuery, RunDetail, RunList, StartedRun, StartRunBody,
  WorkflowIdParams,
} from '../schemas/runs.js';

const tags = ['runs'];

const start = guardedRoute({
  method: 'post', path: '/pipelines/{name}/runs', tags, summary: 'Start a run of a pipeline',
  access: { needs: 'author', audit: { action: 'run.started', subject: (p) => `pipeline:${p.name}` } },
  request: { params: NameParams, body: jsonRequest(StartRunBody, { optional: true, description: 'May be empty: a run as of now, of the latest version, that may promote' }) },
  responses: { 201: jsonResponse(StartedRun, 'The run started'), ...errorResponses(...BODY_ERRORS, 404) },
});

const list = guardedRoute({
  method: 'get', path: '/runs', tags, summary: 'List runs, newest first',
  access: { needs: 'read' },
  request: { query: ListRunsQuery },
  responses: { 200: jsonResponse(RunList, 'The runs'), ...errorResponses(400) },
});

const approve = guardedRoute({
  method: 'post', path: '/runs/{workflowId}/approval', tags, summary: 'Approve or reject a candidate awaiting approval',
  access: { needs: 'approve', audit: { action: 'run.decided', subject: (p) => `run:${p.workflowId}` } },
  request: { params: WorkflowIdParams, body: jsonRequest(ApprovalBody) },
  responses: { 200: jsonResponse(ApprovalResult, 'The decision was taken'), ...errorResponses(...BODY_ERRORS, 404, 409) },
});

const cancel = guardedRoute({
  method: 'post', path: '/runs/{workflowId}/cancel', tags, summary: 'Cancel a running run (its record ends as failed, type Cancelled)',
  access: { needs: 'author', audit: { action: 'run.cancelled', subject: (p) => `run:${p.workflowId}` } },
  request: { params: WorkflowIdParams },
  responses: { 202: jsonResponse(CancelledRun, 'Cancellation requested'), ...errorResponses(400, 404, 409) },
});

const get = guardedRoute({
  method: 'get', path: '/runs/{workflowId}', tags, summary: 'Get a run with its live progress',
  access: { needs: 'read' },
  request: { params: WorkflowIdParams },
  responses: { 200: jsonResponse(RunDetail, 'The run'), ...errorResponses(404) },
});

const datasetStatistics = guardedRoute({
  method: 'get', path: '/runs/{workflowId}/datasets/{stage}/statistics', tags, summary: 'Statistics of a run\'s raw or clean dataset, column by column',
  access: { needs: 'read' },
  request: { params: DatasetParams },
  responses: { 200: jsonResponse(DatasetStatisticsResponse, 'The dataset\'s statistics'), ...errorResponses(404) },
});

export function runRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, start, async (c) => {
    const body = c.req.valid('json');
    const { name } = c.req.valid('param');
    const pipeline = await getPipeline(deps.db, name, body.pipelineVersion);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${name}" does not exist; create it with POST /v1/pipelines`);
    const started = await startTrainingRun(deps, pipeline, { asOf: body.asOf, trigger: 'api', allowPromotion: body.allowPromotion, actor: attribution(c).actor });
    await recordChange(c, { subject: `run:${started.workflowId}`, details: { pipeline: pipeline.name, pipelineVersion: pipeline.version, asOf: started.asOf, allowPromotion: body.allowPromotion } });
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
    const handle = await platformWorkflow(deps, workflowId, WORKFLOW_TYPES.training, 'run');
    try {
      const outcome = await handle.executeUpdate(approvalUpdate, { args: [{ decision: body.decision, reason: body.reason, by: attribution(c).actor }] });
      await recordChange(c, { details: { decision: body.decision, reason: body.reason, modelVersion: outcome.modelVersion } });
      return c.json({ approval: outcome }, 200);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        const exists = await handle.describe().then(() => true, () => false);
        throw exists
          ? new HttpError(409, 'conflict', 'run has already finished; it is not awaiting approval')
          : new HttpError(404, 'not_found', `run "${workflowId}" does not exist`);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause as Error | undefined;
        if (cause instanceof ApplicationFailure && cause.type === 'SelfApproval') throw new HttpError(403, 'forbidden', cause.message);
        throw new HttpError(409, 'conflict', cause?.message ?? err.message);
      }
      throw err;
    }
  });

  defineRoute(app, cancel, async (c) => {
    const { workflowId } = c.req.valid('param');
    const handle = await platformWorkflow(deps, workflowId, WORKFLOW_TYPES.training, 'run');
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw new HttpError(409, 'conflict', `run "${workflowId}" is ${status.name.toLowerCase()}; only a running run can be cancelled`);
    await handle.cancel();
    return c.json({ cancelled: workflowId }, 202);
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
      if (!isPlatformWorkflow(deps, desc, WORKFLOW_TYPES.training)) throw new WorkflowNotFoundError('not a run of this platform', workflowId, undefined);
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

  defineRoute(app, datasetStatistics, async (c) => {
    const { workflowId, stage } = c.req.valid('param');
    return c.json(await readDatasetStatistics(deps, workflowId, stage), 200);
  });

  return app;
}
