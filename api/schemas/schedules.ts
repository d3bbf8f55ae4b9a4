// Retraining schedules (Temporal Schedules): timing, overlap and catch-up policies, notes, backfills.
import { msToNumber } from '@temporalio/common';
import { z } from '@hono/zod-openapi';
import { Timestamp } from './common.js';

const duration = z.string().refine((d) => {
  try {
    return msToNumber(d as never) > 0;
  } catch {
    return false;
  }
}, 'a duration such as "90s", "15 minutes", "1 day"');

export const Overlap = z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']);
export type Overlap = z.infer<typeof Overlap>;

export const ScheduleTiming = z.object({
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

export const ScheduleIdParams = z.object({ id: z.string().min(1) });

const range = <T extends z.ZodType>(unit: T) => z.object({ start: unit, end: unit, step: z.number().int() });

/** Temporal keeps cron expressions as calendar specs: ranges per field. */
const CalendarSpec = z.object({
  second: z.array(range(z.number().int())),
  minute: z.array(range(z.number().int())),
  hour: z.array(range(z.number().int())),
  dayOfMonth: z.array(range(z.number().int())),
  month: z.array(range(z.string())),
  year: z.array(range(z.number().int())),
  dayOfWeek: z.array(range(z.string())),
  comment: z.string().optional(),
});

export const ScheduleView = z.object({
  id: z.string(),
  pipeline: z.string().nullable(),
  paused: z.boolean(),
  note: z.string().nullable(),
  spec: z.object({
    calendars: z.array(CalendarSpec),
    intervals: z.array(z.object({ everyMs: z.number(), offsetMs: z.number() })),
    startAt: Timestamp.nullable(),
    endAt: Timestamp.nullable(),
  }),
  policies: z.object({ overlap: Overlap, catchupWindowMs: z.number() }),
  allowPromotion: z.boolean().nullable(),
  /** The next (up to) five action times. */
  nextActionTimes: z.array(Timestamp),
  recentActions: z.array(z.object({ scheduledAt: Timestamp, takenAt: Timestamp, workflowId: z.string(), webUiUrl: z.string().nullable() })),
  /** Workflow IDs of the schedule's runs still running. */
  running: z.array(z.string()),
  createdAt: Timestamp,
}).openapi('Schedule');
export type ScheduleView = z.infer<typeof ScheduleView>;

export const ScheduleOne = z.object({ schedule: ScheduleView });
export type ScheduleOne = z.infer<typeof ScheduleOne>;

export const ScheduleList = z.object({ schedules: z.array(ScheduleView) });
export type ScheduleList = z.infer<typeof ScheduleList>;

export const ScheduleTriggered = z.object({ triggered: z.literal(true) });
export type ScheduleTriggered = z.infer<typeof ScheduleTriggered>;

export const ScheduleBackfillStarted = z.object({
  backfill: z.object({ scheduleId: z.string(), start: Timestamp, end: Timestamp, overlap: Overlap }),
});
export type ScheduleBackfillStarted = z.infer<typeof ScheduleBackfillStarted>;

export const ScheduleDeleted = z.object({ deleted: z.string() });
export type ScheduleDeleted = z.infer<typeof ScheduleDeleted>;
