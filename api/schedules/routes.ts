// Retraining schedules, backed by Temporal Schedules: each scheduled action starts trainingPipeline with
// no asOf and no spec, so the run trains on the data as of its nominal time with the pipeline as it is then.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { msToNumber } from '@temporalio/common';
import type { z } from 'zod';
import { getPipeline } from '../../registry/pipelines.js';
import type { TrainingPipelineInput } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { attribution, recordChange } from '../auth/access-control.js';
import { WORKFLOW_TYPES } from '../../workflows/definitions.js';
import { scheduledTrainingAction, webUiLink } from '../launcher.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse } from '../schemas/common.js';
import {
  CreateSchedule, Note, type Overlap, ScheduleBackfill, ScheduleBackfillStarted, ScheduleDeleted, ScheduleIdParams, ScheduleList,
  ScheduleOne, type ScheduleTiming, ScheduleTriggered, UpdateSchedule, MAX_SCHEDULE_BACKFILL_ACTIONS, scheduleActionCount,
} from '../schemas/schedules.js';

const tags = ['schedules'];
const params = ScheduleIdParams;

const create = guardedRoute({
  method: 'post', path: '/', tags, summary: 'Create a retraining schedule',
  access: { needs: 'author', audit: { action: 'schedule.created', subject: () => 'schedule' } },
  request: { body: jsonRequest(CreateSchedule) },
  responses: { 201: jsonResponse(ScheduleOne, 'The schedule'), ...errorResponses(...BODY_ERRORS, 404, 409) },
});

const list = guardedRoute({
  method: 'get', path: '/', tags, summary: 'List retraining schedules',
  access: { needs: 'read' },
  responses: { 200: jsonResponse(ScheduleList, 'The schedules'), ...errorResponses() },
});

const describeRoute = guardedRoute({
  method: 'get', path: '/{id}', tags, summary: 'Describe a schedule',
  access: { needs: 'read' },
  request: { params },
  responses: { 200: jsonResponse(ScheduleOne, 'The schedule'), ...errorResponses(404) },
});

const update = guardedRoute({
  method: 'patch', path: '/{id}', tags, summary: 'Update a schedule\'s timing or policies',
  access: { needs: 'author', audit: { action: 'schedule.updated', subject: (p) => `schedule:${p.id}` } },
  request: { params, body: jsonRequest(UpdateSchedule) },
  responses: { 200: jsonResponse(ScheduleOne, 'The schedule, updated'), ...errorResponses(...BODY_ERRORS, 404) },
});

const pause = guardedRoute({
  method: 'post', path: '/{id}/pause', tags, summary: 'Pause with a note',
  access: { needs: 'author', audit: { action: 'schedule.paused', subject: (p) => `schedule:${p.id}` } },
  request: { params, body: jsonRequest(Note) },
  responses: { 200: jsonResponse(ScheduleOne, 'The schedule, paused'), ...errorResponses(...BODY_ERRORS, 404) },
});

const unpause = guardedRoute({
  method: 'post', path: '/{id}/unpause', tags, summary: 'Unpause with a note',
  access: { needs: 'author', audit: { action: 'schedule.unpaused', subject: (p) => `schedule:${p.id}` } },
  request: { params, body: jsonRequest(Note) },
  responses: { 200: jsonResponse(ScheduleOne, 'The schedule, running again'), ...errorResponses(...BODY_ERRORS, 404) },
});

const trigger = guardedRoute({
  method: 'post', path: '/{id}/trigger', tags, summary: 'Run now',
  access: { needs: 'author', audit: { action: 'schedule.triggered', subject: (p) => `schedule:${p.id}` } },
  request: { params },
  responses: { 202: jsonResponse(ScheduleTriggered, 'A run was requested'), ...errorResponses(404) },
});

const backfill = guardedRoute({
  method: 'post', path: '/{id}/backfill', tags, summary: 'One run per action time in a past range',
  access: { needs: 'author', audit: { action: 'schedule.backfilled', subject: (p) => `schedule:${p.id}` } },
  request: { params, body: jsonRequest(ScheduleBackfill) },
  responses: { 202: jsonResponse(ScheduleBackfillStarted, 'The runs were requested'), ...errorResponses(...BODY_ERRORS, 404) },
});

const remove = guardedRoute({
  method: 'delete', path: '/{id}', tags, summary: 'Delete a schedule',
  access: { needs: 'author', audit: { action: 'schedule.deleted', subject: (p) => `schedule:${p.id}` } },
  request: { params },
  responses: { 200: jsonResponse(ScheduleDeleted, 'The schedule was deleted'), ...errorResponses(404) },
});

const toPolicy = (o: Overlap) => o.toUpperCase() as 'SKIP';
/** Temporal's policy names are ours in upper case. */
const fromPolicy = (p: string | undefined) => (p ?? 'SKIP').toLowerCase() as Overlap;

function timingSpec(b: z.infer<typeof ScheduleTiming>): ScheduleOptions['spec'] {
  return {
    ...(b.cron ? { cronExpressions: b.cron } : {}),
    ...(b.interval ? { intervals: [{ every: b.interval.every as never, ...(b.interval.offset ? { offset: b.interval.offset as never } : {}) }] } : {}),
    ...(b.startAt ? { startAt: new Date(b.startAt) } : {}),
    ...(b.endAt ? { endAt: new Date(b.endAt) } : {}),
  };
}

export function scheduleRoutes(deps: ApiDeps) {
  const app = apiRouter();
  const client = deps.temporal.schedule;

  const view = (d: ScheduleDescription) => {
    const action = d.action as { args?: TrainingPipelineInput[] };
    return {
      id: d.scheduleId,
      pipeline: (d.memo?.pipeline as string | undefined) ?? action.args?.[0]?.pipeline ?? null,
      paused: d.state.paused,
      note: d.state.note ?? null,
      spec: {
        // Temporal stores cron expressions as calendar specs.
        calendars: d.spec.calendars ?? [],
        intervals: (d.spec.intervals ?? []).map((i) => ({ everyMs: msToNumber(i.every), offsetMs: i.offset ? msToNumber(i.offset) : 0 })),
        startAt: d.spec.startAt ?? null, endAt: d.spec.endAt ?? null,
      },
      policies: { overlap: fromPolicy(d.policies.overlap), catchupWindowMs: d.policies.catchupWindow },
      allowPromotion: action.args?.[0]?.allowPromotion ?? null,
      nextActionTimes: d.info.nextActionTimes.slice(0, 5),
      recentActions: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt, takenAt: a.takenAt, workflowId: a.action.workflow.workflowId,
        webUiUrl: webUiLink(deps.config, a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId),
      })),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      createdAt: d.info.createdAt,
    };
  };

  // Only schedules this platform made (its memo, its workflow, its task queue): another application's
  // schedules in a shared namespace answer 404 as if absent.
  const isPlatformSchedule = (d: ScheduleDescription) => {
    const action = d.action as { type?: string; workflowType?: string; taskQueue?: string };
    return typeof d.memo?.pipeline === 'string' && action.type === 'startWorkflow'
      && action.workflowType === WORKFLOW_TYPES.training && action.taskQueue === deps.config.temporal.taskQueue;
  };
  const describe = async (id: string) => {
    let d: ScheduleDescription;
    try {
      d = await client.getHandle(id).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new HttpError(404, 'not_found', `schedule "${id}" does not exist`);
      throw err;
    }
    if (!isPlatformSchedule(d)) throw new HttpError(404, 'not_found', `schedule "${id}" does not exist`);
    return d;
  };

  defineRoute(app, create, async (c) => {
    const b = c.req.valid('json');
    const pipeline = await getPipeline(deps.db, b.pipeline);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${b.pipeline}" does not exist; create it first`);
    const id = b.id ?? `retrain-${b.pipeline}`;
    try {
      await client.create({
        scheduleId: id,
        spec: timingSpec(b),
        action: scheduledTrainingAction(deps.config, { pipeline: b.pipeline, scheduleId: id, allowPromotion: b.allowPromotion, accountable: attribution(c).actor }),
        policies: { overlap: toPolicy(b.overlap), catchupWindow: b.catchupWindow as never },
        state: { paused: b.paused, note: b.note ?? `created by ${attribution(c).actor}` },
        memo: { pipeline: b.pipeline },
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) throw new HttpError(409, 'conflict', `schedule "${id}" already exists; PATCH it or choose another id`);
      throw refusedTiming(err, b);
    }
    const subject = `schedule:${id}`;
    const created = await describe(id).then(view, async (err: unknown) => {
      await recordChange(c, { subject, details: { pipeline: b.pipeline, requested: b } });
      throw err;
    });
    await recordChange(c, { subject, details: { pipeline: b.pipeline, after: auditedState(created) } });
    return c.json({ schedule: created }, 201);
  });

  defineRoute(app, list, async (c) => {
    const out = [];
    for await (const s of client.list()) {
      if (!s.memo?.pipeline) continue;
      const d = await client.getHandle(s.scheduleId).describe().catch(() => null);
      if (d && isPlatformSchedule(d)) out.push(view(d));
    }
    return c.json({ schedules: out }, 200);
  });

  defineRoute(app, describeRoute, async (c) => c.json({ schedule: view(await describe(c.req.valid('param').id)) }, 200));

  defineRoute(app, update, async (c) => {
    const b = c.req.valid('json');
    const { id } = c.req.valid('param');
    const before = view(await describe(id));
    try {
      await client.getHandle(id).update((prev) => {
        // Total: refusedTiming reads a TypeError thrown in here as Temporal refusing the timing.
        const action = prev.action as typeof prev.action & { args?: TrainingPipelineInput[] };
        const args = b.allowPromotion === undefined || !action.args?.[0] ? action.args : [{ ...action.args[0], allowPromotion: b.allowPromotion }];
        return {
          ...prev,
          // New timing replaces the old one wholesale (cron and interval are alternatives).
          spec: b.cron || b.interval
            ? { ...timingSpec(b), startAt: b.startAt ? new Date(b.startAt) : prev.spec.startAt, endAt: b.endAt ? new Date(b.endAt) : prev.spec.endAt }
            : { ...prev.spec, ...timingSpec(b) },
          action: { ...action, args },
          policies: { ...prev.policies, ...(b.overlap ? { overlap: toPolicy(b.overlap) } : {}), ...(b.catchupWindow ? { catchupWindow: b.catchupWindow as never } : {}) },
        } as never;
      });
    } catch (err) {
      throw refusedTiming(err, b);
    }
    const after = await describe(id).then(view, async (err: unknown) => {
      await recordChange(c, { details: { before: auditedState(before), requested: b } });
      throw err;
    });
    await recordChange(c, { details: { before: auditedState(before), after: auditedState(after) } });
    return c.json({ schedule: after }, 200);
  });

  defineRoute(app, pause, async (c) => {
    const { note } = c.req.valid('json');
    const { id } = c.req.valid('param');
    const before = view(await describe(id));
    await client.getHandle(id).pause(`${note} (${attribution(c).actor})`);
    await recordChange(c, { details: { note, before: { paused: before.paused }, after: { paused: true } } });
    return c.json({ schedule: view(await describe(id)) }, 200);
  });

  defineRoute(app, unpause, async (c) => {
    const { note } = c.req.valid('json');
    const { id } = c.req.valid('param');
    const before = view(await describe(id));
    await client.getHandle(id).unpause(`${note} (${attribution(c).actor})`);
    await recordChange(c, { details: { note, before: { paused: before.paused }, after: { paused: false } } });
    return c.json({ schedule: view(await describe(id)) }, 200);
  });

  defineRoute(app, trigger, async (c) => {
    const { id } = c.req.valid('param');
    await describe(id);
    await client.getHandle(id).trigger();
    return c.json({ triggered: true as const }, 202);
  });

  // Runs the schedule for every action time in a past range, each with that time as its asOf.
  defineRoute(app, backfill, async (c) => {
    const b = c.req.valid('json');
    const { id } = c.req.valid('param');
    const start = new Date(b.start);
    const end = new Date(b.end);
    if (!(start < end)) throw new HttpError(422, 'validation_failed', 'start must be before end', { issues: [{ path: 'body.start', message: 'must be before end' }] });
    // Temporal buffers a bounded number of backfilled actions and drops the rest without a word.
    const runs = scheduleActionCount(view(await describe(id)).spec, start, end);
    if (runs > MAX_SCHEDULE_BACKFILL_ACTIONS) {
      const message = `the range holds more than ${MAX_SCHEDULE_BACKFILL_ACTIONS} of the schedule's action times; backfill a shorter range`;
      throw new HttpError(422, 'validation_failed', message, { issues: [{ path: 'body.end', message }] });
    }
    try {
      await client.getHandle(id).backfill({ start, end, overlap: toPolicy(b.overlap) });
    } catch (err) {
      throw refusedTiming(err, {});
    }
    await recordChange(c, { details: { start: start.toISOString(), end: end.toISOString(), overlap: b.overlap } });
    return c.json({ backfill: { scheduleId: id, start, end, overlap: b.overlap } }, 202);
  });

  defineRoute(app, remove, async (c) => {
    const { id } = c.req.valid('param');
    const before = view(await describe(id));
    await client.getHandle(id).delete();
    await recordChange(c, { details: { before: auditedState(before) } });
    return c.json({ deleted: id }, 200);
  });

  return app;
}

/** What an audit row keeps of a schedule: its settings, not its changing run history. */
function auditedState(v: { pipeline: string | null; paused: boolean; spec: unknown; policies: unknown; allowPromotion: boolean | null }) {
  return { pipeline: v.pipeline, paused: v.paused, spec: v.spec, policies: v.policies, allowPromotion: v.allowPromotion };
}

/**
 * Temporal refuses timing it cannot use (a malformed cron expression, an interval under a second, an
 * offset longer than its interval) with INVALID_ARGUMENT "Invalid schedule spec: …", which the schedule
 * client rethrows as a bare TypeError carrying the server's words (its own checks of the options throw
 * TypeErrors too): the caller's 422, naming the field. Any other INVALID_ARGUMENT (a search attribute the
 * namespace lacks, …) is the platform's fault and stays a 500. Only the schedule client's calls are
 * wrapped, and the code they run of ours (the update callback) throws no TypeError.
 */
function refusedTiming(err: unknown, body: { cron?: string[]; interval?: unknown }): unknown {
  if (!(err instanceof TypeError)) return err;
  const reason = err.message;
  const field = /interval|phase|offset/i.test(reason) || (body.interval && !body.cron) ? 'body.interval' : body.cron ? 'body.cron' : 'body';
  const message = `Temporal refused the schedule: ${reason}`;
  return new HttpError(422, 'validation_failed', `${field}: ${message}`, { issues: [{ path: field, message }] });
}
