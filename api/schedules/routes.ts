// Retraining schedules, backed by Temporal Schedules: each scheduled action starts trainingPipeline with
// no asOf and no spec, so the run trains on the data as of its nominal time with the pipeline as it is then.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { msToNumber } from '@temporalio/common';
import { Hono } from 'hono';
import { z } from 'zod';
import { getPipeline } from '../../registry/pipelines.js';
import type { TrainingPipelineInput } from '../../pipelines/contract.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, jsonBody, parseWith } from '../errors.js';
import { actorOf } from '../request-context.js';
import { scheduledTrainingAction, webUiLink } from '../launcher.js';

const duration = z.string().refine((d) => {
  try {
    return msToNumber(d as never) > 0;
  } catch {
    return false;
  }
}, 'a duration such as "90s", "15 minutes", "1 day"');

const Overlap = z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']);

const ScheduleTiming = z.object({
  /** Cron expressions (UTC), e.g. "0 3 * * 1" for Mondays 03:00. */
  cron: z.array(z.string().min(9)).min(1).optional(),
  /** Or a fixed interval, e.g. {"every": "1 day"}. */
  interval: z.object({ every: duration, offset: duration.optional() }).optional(),
  startAt: z.iso.datetime({ offset: true }).optional(),
  endAt: z.iso.datetime({ offset: true }).optional(),
});

export const CreateSchedule = ScheduleTiming.extend({
  pipeline: z.string().min(1),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,100}$/).optional(),
  /** Default "skip": a run of this pipeline never overlaps another from the same schedule. */
  overlap: Overlap.default('skip'),
  /** How far back missed actions are made up after an outage. */
  catchupWindow: duration.default('1 day'),
  allowPromotion: z.boolean().default(true),
  paused: z.boolean().default(false),
  note: z.string().max(500).optional(),
}).strict().refine((b) => Boolean(b.cron) !== Boolean(b.interval), { message: 'give exactly one of cron or interval', path: ['cron'] });

export const UpdateSchedule = ScheduleTiming.extend({
  overlap: Overlap.optional(),
  catchupWindow: duration.optional(),
  allowPromotion: z.boolean().optional(),
}).strict().refine((b) => !(b.cron && b.interval), { message: 'give at most one of cron or interval', path: ['cron'] });

export const Note = z.object({ note: z.string().min(1).max(500) }).strict();
export const ScheduleBackfill = z.object({
  start: z.iso.datetime({ offset: true }).or(z.iso.date()),
  end: z.iso.datetime({ offset: true }).or(z.iso.date()),
  /** Default "buffer_all": every action time in the range gets its run, one after another. */
  overlap: Overlap.default('buffer_all'),
}).strict();

const toPolicy = (o: z.infer<typeof Overlap>) => o.toUpperCase() as 'SKIP';

function timingSpec(b: z.infer<typeof ScheduleTiming>): ScheduleOptions['spec'] {
  return {
    ...(b.cron ? { cronExpressions: b.cron } : {}),
    ...(b.interval ? { intervals: [{ every: b.interval.every as never, ...(b.interval.offset ? { offset: b.interval.offset as never } : {}) }] } : {}),
    ...(b.startAt ? { startAt: new Date(b.startAt) } : {}),
    ...(b.endAt ? { endAt: new Date(b.endAt) } : {}),
  };
}

export function scheduleRoutes(deps: ApiDeps) {
  const app = new Hono();
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
      policies: { overlap: (d.policies.overlap ?? 'SKIP').toLowerCase(), catchupWindowMs: d.policies.catchupWindow },
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

  const describe = async (id: string) => {
    try {
      return await client.getHandle(id).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new HttpError(404, 'not_found', `schedule "${id}" does not exist`);
      throw err;
    }
  };

  app.post('/', async (c) => {
    const b = parseWith(CreateSchedule, await jsonBody(c), 'body', 422);
    const pipeline = await getPipeline(deps.db, b.pipeline);
    if (!pipeline) throw new HttpError(404, 'not_found', `pipeline "${b.pipeline}" does not exist; create it first`);
    const id = b.id ?? `retrain-${b.pipeline}`;
    try {
      await client.create({
        scheduleId: id,
        spec: timingSpec(b),
        action: scheduledTrainingAction(deps.config, { pipeline: b.pipeline, scheduleId: id, allowPromotion: b.allowPromotion }),
        policies: { overlap: toPolicy(b.overlap), catchupWindow: b.catchupWindow as never },
        state: { paused: b.paused, note: b.note ?? `created by ${actorOf(c, deps)}` },
        memo: { pipeline: b.pipeline },
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) throw new HttpError(409, 'conflict', `schedule "${id}" already exists; PATCH it or choose another id`);
      throw invalidArgument(err);
    }
    return c.json({ schedule: view(await describe(id)) }, 201);
  });

  app.get('/', async (c) => {
    const out = [];
    for await (const s of client.list()) {
      if (s.memo?.pipeline) out.push(view(await describe(s.scheduleId)));
    }
    return c.json({ schedules: out });
  });

  app.get('/:id', async (c) => c.json({ schedule: view(await describe(c.req.param('id'))) }));

  app.patch('/:id', async (c) => {
    const b = parseWith(UpdateSchedule, await jsonBody(c), 'body', 422);
    await describe(c.req.param('id'));
    try {
      await client.getHandle(c.req.param('id')).update((prev) => {
        const action = prev.action as typeof prev.action & { args: TrainingPipelineInput[] };
        const args = b.allowPromotion === undefined ? action.args : [{ ...action.args[0], allowPromotion: b.allowPromotion }];
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
      throw invalidArgument(err);
    }
    return c.json({ schedule: view(await describe(c.req.param('id'))) });
  });

  app.post('/:id/pause', async (c) => {
    const { note } = parseWith(Note, await jsonBody(c), 'body', 422);
    await describe(c.req.param('id'));
    await client.getHandle(c.req.param('id')).pause(`${note} (${actorOf(c, deps)})`);
    return c.json({ schedule: view(await describe(c.req.param('id'))) });
  });

  app.post('/:id/unpause', async (c) => {
    const { note } = parseWith(Note, await jsonBody(c), 'body', 422);
    await describe(c.req.param('id'));
    await client.getHandle(c.req.param('id')).unpause(`${note} (${actorOf(c, deps)})`);
    return c.json({ schedule: view(await describe(c.req.param('id'))) });
  });

  app.post('/:id/trigger', async (c) => {
    await describe(c.req.param('id'));
    await client.getHandle(c.req.param('id')).trigger();
    return c.json({ triggered: true }, 202);
  });

  // Runs the schedule for every action time in a past range, each with that time as its asOf.
  app.post('/:id/backfill', async (c) => {
    const b = parseWith(ScheduleBackfill, await jsonBody(c), 'body', 422);
    const start = new Date(b.start);
    const end = new Date(b.end);
    if (!(start < end)) throw new HttpError(422, 'validation_failed', 'start must be before end', { issues: [{ path: 'body.start', message: 'must be before end' }] });
    await describe(c.req.param('id'));
    await client.getHandle(c.req.param('id')).backfill({ start, end, overlap: toPolicy(b.overlap) });
    return c.json({ backfill: { scheduleId: c.req.param('id'), start, end, overlap: b.overlap } }, 202);
  });

  app.delete('/:id', async (c) => {
    await describe(c.req.param('id'));
    await client.getHandle(c.req.param('id')).delete();
    return c.json({ deleted: c.req.param('id') });
  });

  return app;
}

/** Temporal rejects a malformed cron or interval with INVALID_ARGUMENT: that is the caller's 422. */
function invalidArgument(err: unknown): unknown {
  const e = err as { code?: number; details?: string; message?: string };
  if (e.code === 3) return new HttpError(422, 'validation_failed', `Temporal rejected the schedule: ${e.details ?? e.message}`);
  return err;
}
