// The OpenAPI document, generated from the same zod schemas that validate the requests, so the two
// cannot disagree.
import { z } from 'zod';
import { PipelineSpecSchema } from '../pipelines/spec.js';
import { CreateBackfill } from './backfills/routes.js';
import { MoveAliasBody, PredictQuery } from './models/routes.js';
import { ApprovalBody, ListRunsQuery, StartRunBody } from './runs/routes.js';
import { CreateSchedule, Note, ScheduleBackfill, UpdateSchedule } from './schedules/routes.js';

type Op = { summary: string; body?: z.ZodType; query?: z.ZodObject; params?: string[] };

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }) });
const PredictBody = z.object({ instances: z.array(z.record(z.string(), z.unknown())).min(1) });

const OPERATIONS: Record<string, Record<string, Op>> = {
  '/v1/pipelines': { get: { summary: 'List pipelines (latest version of each)' }, post: { summary: 'Create a pipeline or a new version of it', body: PipelineSpecSchema } },
  '/v1/pipelines/{name}': { get: { summary: 'Get a pipeline', params: ['name'] } },
  '/v1/pipelines/{name}/runs': { post: { summary: 'Start a run', body: StartRunBody, params: ['name'] } },
  '/v1/pipelines/{name}/backfills': { post: { summary: 'Start (or find) a backfill', body: CreateBackfill, params: ['name'] } },
  '/v1/runs': { get: { summary: 'List runs', query: ListRunsQuery } },
  '/v1/runs/{workflowId}': { get: { summary: 'Get a run with its live progress', params: ['workflowId'] } },
  '/v1/runs/{workflowId}/approval': { post: { summary: 'Approve or reject a candidate awaiting approval', body: ApprovalBody, params: ['workflowId'] } },
  '/v1/models': { get: { summary: 'List models and aliases' } },
  '/v1/models/{name}/versions': { get: { summary: 'List versions', params: ['name'] } },
  '/v1/models/{name}/versions/{version}': { get: { summary: 'Get a version', params: ['name', 'version'] } },
  '/v1/models/{name}/versions/{version}/schema': { get: { summary: 'Model signature', params: ['name', 'version'] } },
  '/v1/models/{name}/versions/{version}/lineage': { get: { summary: 'Lineage and metrics', params: ['name', 'version'] } },
  '/v1/models/{name}/aliases/{alias}': { post: { summary: 'Point an alias at a version', body: MoveAliasBody, params: ['name', 'alias'] } },
  '/v1/models/{name}/aliases/history': { get: { summary: 'Audit of alias moves', params: ['name'] } },
  '/v1/models/{name}/predict': { post: { summary: 'Predict', body: PredictBody, query: PredictQuery, params: ['name'] } },
  '/v1/schedules': { get: { summary: 'List schedules' }, post: { summary: 'Create a retraining schedule', body: CreateSchedule } },
  '/v1/schedules/{id}': { get: { summary: 'Describe a schedule', params: ['id'] }, patch: { summary: 'Update a schedule', body: UpdateSchedule, params: ['id'] }, delete: { summary: 'Delete a schedule', params: ['id'] } },
  '/v1/schedules/{id}/pause': { post: { summary: 'Pause with a note', body: Note, params: ['id'] } },
  '/v1/schedules/{id}/unpause': { post: { summary: 'Unpause with a note', body: Note, params: ['id'] } },
  '/v1/schedules/{id}/trigger': { post: { summary: 'Run now', params: ['id'] } },
  '/v1/schedules/{id}/backfill': { post: { summary: 'One run per action time in a past range', body: ScheduleBackfill, params: ['id'] } },
  '/v1/backfills/{id}': { get: { summary: 'Backfill progress', params: ['id'] } },
  '/v1/backfills/{id}/partitions/{asOf}/retry': { post: { summary: 'Retry one failed partition', params: ['id', 'asOf'] } },
  '/v1/backfills/{id}/report': { get: { summary: 'Walk-forward report (json, csv or svg)', params: ['id'] } },
};

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(OPERATIONS)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(ops)) {
      const parameters = [
        ...(op.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...Object.entries(op.query?.shape ?? {}).map(([name, s]) => ({ name, in: 'query', required: false, schema: schema(s as z.ZodType) })),
      ];
      paths[path][method] = {
        summary: op.summary,
        ...(parameters.length ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body) } } } } : {}),
        responses: {
          '2XX': { description: 'Success' },
          default: { description: 'Error', content: { 'application/json': { schema: schema(ErrorBody) } } },
        },
      };
    }
  }
  return { openapi: '3.1.0', info: { title: 'Temporal ML platform API', version }, paths };
}
