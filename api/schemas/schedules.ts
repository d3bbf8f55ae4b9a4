// Retraining schedules (Temporal Schedules): timing, overlap and catch-up policies, notes, backfills.
import { msToNumber } from '@temporalio/common';
import { z } from '@hono/zod-openapi';
import { DayOrInstantInput, InstantInput, Text, Timestamp } from './common.js';

/** Ten years: longer intervals, offsets or catch-up windows are mistakes (and overflow Temporal's durations far beyond). */
const MAX_DURATION_MS = 10 * 365 * 86_400_000;

const duration = Text().max(100).refine((d) => {
  try {
    const ms = msToNumber(d as never);
    return ms > 0 && ms <= MAX_DURATION_MS;
  } catch {
    return false;
  }
}, 'a duration such as "90s", "15 minutes", "1 day" (at most 10 years)');

export const Overlap = z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']);
export type Overlap = z.infer<typeof Overlap>;

export const ScheduleTiming = z.object({
  /** Cron expressions (UTC), e.g. "0 3 * * 1" for Mondays 03:00. */
  cron: z.array(Text().min(9).max(200)).min(1).max(20).optional(),
  /** Or a fixed interval, e.g. {"every": "1 day"}. */
  interval: z.object({ every: duration, offset: duration.optional() }).optional(),
  startAt: InstantInput.optional(),
  endAt: InstantInput.optional(),
});

const startsBeforeEnd = (b: { startAt?: string; endAt?: string }) => !(b.startAt && b.endAt) || Date.parse(b.startAt) < Date.parse(b.endAt);
const END_AFTER_START = { message: 'must be after startAt', path: ['endAt'] };

export const CreateSchedule = ScheduleTiming.extend({
  pipeline: Text().min(1).max(200),
  id: Text().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,100}$/).optional(),
  /** Default "skip": a run of this pipeline never overlaps another from the same schedule. */
  overlap: Overlap.default('skip'),
  /** How far back missed actions are made up after an outage. */
  catchupWindow: duration.default('1 day'),
  allowPromotion: z.boolean().default(true),
  paused: z.boolean().default(false),
  note: Text().max(500).optional(),
}).strict().refine((b) => Boolean(b.cron) !== Boolean(b.interval), { message: 'give exactly one of cron or interval', path: ['cron'] })
  .refine(startsBeforeEnd, END_AFTER_START);

export const UpdateSchedule = ScheduleTiming.extend({
  overlap: Overlap.optional(),
  catchupWindow: duration.optional(),
  allowPromotion: z.boolean().optional(),
}).strict().refine((b) => !(b.cron && b.interval), { message: 'give at most one of cron or interval', path: ['cron'] })
  .refine(startsBeforeEnd, END_AFTER_START);

export const Note = z.object({ note: Text().min(1).max(500) }).strict();

export const ScheduleBackfill = z.object({
  start: DayOrInstantInput,
  end: DayOrInstantInput,
  /** Default "buffer_all": every action time in the range gets its run, one after another. */
  overlap: Overlap.default('buffer_all'),
}).strict();

export const ScheduleIdParams = z.object({ id: Text().min(1).max(1000) });

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
