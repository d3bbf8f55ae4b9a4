// Retraining schedules (Temporal Schedules): timing, overlap and catch-up policies, notes, backfills.
import { msToNumber } from '@temporalio/common';
import { z } from '@hono/zod-openapi';
import { DayOrInstantInput, InstantInput, Text, Timestamp } from './common.js';

/** Ten years: longer intervals, offsets or catch-up windows are mistakes (and overflow Temporal's durations far beyond). */
const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/**
 * The shortest interval a schedule may have: each action is a whole training run. Cron expressions have
 * minute resolution unless they name seconds (7 fields) or use `@every`, which are checked too.
 */
export const MIN_SCHEDULE_INTERVAL_MS = 60_000;

/** Most runs one schedule backfill may request (see scheduleActionCount). */
export const MAX_SCHEDULE_BACKFILL_ACTIONS = 1000;

const durationMs = (d: string): number | null => {
  try {
    return msToNumber(d as never);
  } catch {
    return null;
  }
};

const duration = Text().max(100).refine((d) => {
  const ms = durationMs(d);
  return ms !== null && ms > 0 && ms <= MAX_DURATION_MS;
}, 'a duration such as "90s", "15 minutes", "1 day" (at most 10 years)');

/** An interval's period: also at least a minute (a duration refused above is not reported twice). */
const every = duration.refine((d) => {
  const ms = durationMs(d);
  return ms === null || ms <= 0 || ms >= MIN_SCHEDULE_INTERVAL_MS;
}, 'at least 1 minute (each action starts a whole training run)');

/** Go duration units, as Temporal reads `@every <interval>` (plus `d`, days). */
const GO_DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g;
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+$/;

/** A Go duration such as "90s", "1h30m" or "2d" in milliseconds; null when it is not one. */
function goDurationMs(text: string): number | null {
  if (text === '0') return 0;
  if (!GO_DURATION.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(GO_DURATION_PART)) total += Number(amount) * GO_DURATION_UNIT_MS[unit];
  return total;
}

/**
 * Why a cron expression would run more often than once a minute, or null. Read as Temporal reads it: an
 * optional `TZ=`/`CRON_TZ=` prefix and `#` comment, then `@every <interval>[/<phase>]` (an interval) or
 * 5 to 7 fields, the 7-field form starting with seconds. Anything else malformed is left to Temporal.
 */
export function cronTooFrequent(expression: string): string | null {
  let c = expression.trim();
  if (c.startsWith('TZ=') || c.startsWith('CRON_TZ=')) c = c.slice(c.indexOf(' ') + 1 || c.length);
  c = c.split('#')[0].trim();
  if (c.startsWith('@every')) {
    const space = c.indexOf(' ');
    const interval = space < 0 ? '' : c.slice(space + 1).split('/')[0];
    const ms = goDurationMs(interval);
    if (ms === null) return `"${interval}" is not a duration such as 1h or 90m; or use interval: {"every": ...}`;
    if (ms < MIN_SCHEDULE_INTERVAL_MS) return `@every ${interval} runs more than once a minute; the shortest interval is 1 minute (each action starts a whole training run)`;
    return null;
  }
  const fields = c.split(/\s+/).filter(Boolean);
  if (fields.length === 7 && !/^\d{1,2}$/.test(fields[0])) {
    return `the seconds field (the first of 7) is "${fields[0]}": name one second, such as 0, so the schedule runs at most once a minute`;
  }
  return null;
}

const cronExpression = Text().min(9).max(200).superRefine((expression, ctx) => {
  const tooFrequent = cronTooFrequent(expression);
  if (tooFrequent) ctx.addIssue({ code: 'custom', message: tooFrequent });
});

export const Overlap = z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']);
export type Overlap = z.infer<typeof Overlap>;

export const ScheduleTiming = z.object({
  /** Cron expressions (UTC), e.g. "0 3 * * 1" for Mondays 03:00. */
  cron: z.array(cronExpression).min(1).max(20).optional(),
  /** Or a fixed interval of at least a minute, e.g. {"every": "1 day"}. */
  interval: z.object({ every, offset: duration.optional() }).optional(),
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

const MONTH_NAMES = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAY_NAMES = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
const DAY_MS = 86_400_000;

interface ValueRange<T> { start: T; end: T; step: number }
/** A calendar as the schedule client describes it (ScheduleView's spec.calendars). */
interface CalendarRanges {
  second: ValueRange<number>[]; minute: ValueRange<number>[]; hour: ValueRange<number>[]; dayOfMonth: ValueRange<number>[];
  month: ValueRange<string>[]; year: ValueRange<number>[]; dayOfWeek: ValueRange<string>[];
}

/** Which of 0..size-1 the ranges match, read as Temporal reads them (step 0 is 1, an end before the start is the start). */
function matches<T>(ranges: ValueRange<T>[], size: number, toNumber: (v: T) => number): boolean[] {
  const out = new Array<boolean>(size).fill(false);
  for (const r of ranges) {
    const start = toNumber(r.start);
    const end = Math.max(start, toNumber(r.end));
    const step = r.step > 0 ? r.step : 1;
    for (let v = start; v <= end && v < size; v += step) if (v >= 0) out[v] = true;
  }
  return out;
}

/** Times a calendar matches in [from, to] (ms, UTC), counting stops once past `limit`. */
function calendarMatches(cal: CalendarRanges, from: number, to: number, limit: number): number {
  const seconds = matches(cal.second, 60, Number);
  const minutes = matches(cal.minute, 60, Number);
  const hours = matches(cal.hour, 24, Number);
  const days = matches(cal.dayOfMonth, 32, Number);
  const months = matches(cal.month, 13, (m) => MONTH_NAMES.indexOf(m) + 1);
  const weekdays = matches(cal.dayOfWeek, 7, (d) => DAY_NAMES.indexOf(d));
  // An empty year list matches every year.
  const years = cal.year.length ? new Set(cal.year.flatMap((r) => {
    const out: number[] = [];
    for (let y = r.start; y <= Math.max(r.start, r.end); y += r.step > 0 ? r.step : 1) out.push(y);
    return out;
  })) : null;
  const times: number[] = []; // matching offsets within a day, ms
  for (let h = 0; h < 24; h++) if (hours[h]) for (let m = 0; m < 60; m++) if (minutes[m]) for (let s = 0; s < 60; s++) if (seconds[s]) times.push(((h * 60 + m) * 60 + s) * 1000);
  if (times.length === 0) return 0;
  let count = 0;
  const day = new Date(0);
  for (let year = new Date(from).getUTCFullYear(); year <= new Date(to).getUTCFullYear(); year++) {
    if (years && !years.has(year)) continue;
    for (let month = 1; month <= 12; month++) {
      if (!months[month]) continue;
      for (let dom = 1; dom <= 31; dom++) {
        if (!days[dom]) continue;
        day.setUTCFullYear(year, month - 1, dom);
        day.setUTCHours(0, 0, 0, 0);
        if (day.getUTCMonth() !== month - 1) break; // past the month's last day
        if (!weekdays[day.getUTCDay()]) continue;
        const start = day.getTime();
        if (start > to) return count;
        if (start + DAY_MS <= from) continue;
        if (start >= from && start + DAY_MS - 1 <= to) count += times.length;
        else for (const t of times) if (start + t >= from && start + t <= to) count++;
        if (count > limit) return count;
      }
    }
  }
  return count;
}

/**
 * How many runs a backfill of a schedule from `start` to `end` would request: its action times in that
 * range (both ends included, within the schedule's own startAt/endAt), counted from the schedule as
 * described (`view(description).spec` in api/schedules/routes.ts), in UTC. Times matched by two of its
 * calendars or intervals are counted twice, so this is an upper bound; counting stops once past `limit`
 * (the answer is then some number above it). The route compares it with MAX_SCHEDULE_BACKFILL_ACTIONS
 * before asking Temporal, which otherwise drops actions beyond its buffer silently.
 */
export function scheduleActionCount(
  spec: { calendars: CalendarRanges[]; intervals: { everyMs: number; offsetMs: number }[]; startAt?: Date | string | null; endAt?: Date | string | null },
  start: Date,
  end: Date,
  limit = MAX_SCHEDULE_BACKFILL_ACTIONS,
): number {
  const from = Math.max(start.getTime(), spec.startAt ? new Date(spec.startAt).getTime() : -Infinity);
  const to = Math.min(end.getTime(), spec.endAt ? new Date(spec.endAt).getTime() : Infinity);
  if (!(from <= to)) return 0;
  let count = 0;
  for (const { everyMs, offsetMs } of spec.intervals) {
    if (!(everyMs > 0)) continue;
    count += Math.max(0, Math.floor((to - offsetMs) / everyMs) - Math.ceil((from - offsetMs) / everyMs) + 1);
    if (count > limit) return count;
  }
  for (const cal of spec.calendars) {
    count += calendarMatches(cal, from, to, limit - count);
    if (count > limit) return count;
  }
  return count;
}

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
