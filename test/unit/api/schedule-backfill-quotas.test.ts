// Quotas the request schemas enforce: schedules run at most once a minute (intervals, @every and 7-field
// cron with seconds), a pipeline backfill has at most MAX_BACKFILL_PARTITIONS runs, and the count of the
// runs a schedule backfill would request (scheduleActionCount, for the route to compare).
import { describe, expect, it } from 'vitest';
import type { z } from '@hono/zod-openapi';
import { backfillAsOfs, CreateBackfill, MAX_BACKFILL_PARTITIONS } from '../../../api/schemas/backfills.js';
import { CreateSchedule, cronTooFrequent, scheduleActionCount, UpdateSchedule } from '../../../api/schemas/schedules.js';

const issuesOf = (schema: z.ZodType, body: unknown) => {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('schedule timing', () => {
  it('refuses an interval under a minute, naming interval.every', () => {
    for (const every of ['59s', '30 seconds', '1s', '59999']) {
      expect(issuesOf(CreateSchedule, { pipeline: 'p', interval: { every } })).toEqual(['interval.every: at least 1 minute (each action starts a whole training run)']);
      expect(issuesOf(UpdateSchedule, { interval: { every } })).toEqual(['interval.every: at least 1 minute (each action starts a whole training run)']);
    }
    for (const every of ['60s', '1 minute', '90s', '1 day']) expect(issuesOf(CreateSchedule, { pipeline: 'p', interval: { every } })).toEqual([]);
    // A duration that is not one is reported once, as before.
    expect(issuesOf(CreateSchedule, { pipeline: 'p', interval: { every: 'often' } })).toEqual(['interval.every: a duration such as "90s", "15 minutes", "1 day" (at most 10 years)']);
    // The offset is not a period: it may be short.
    expect(issuesOf(CreateSchedule, { pipeline: 'p', interval: { every: '1 hour', offset: '5s' } })).toEqual([]);
  });

  it('accepts 5- and 6-field cron (minute resolution) and 7-field cron that names one second', () => {
    for (const cron of ['* * * * *', '*/5 * * * *', '0 3 * * 1', '0 3 * * 1 2030', '30 0 3 * * 1 *', 'CRON_TZ=UTC 0 3 * * *', '0 3 * * * # nightly', '@every 1m', '@every 1h30m/5m', '@every 2d']) {
      expect(issuesOf(CreateSchedule, { pipeline: 'p', cron: [cron] })).toEqual([]);
    }
  });

  it('refuses cron that runs more than once a minute, naming the expression', () => {
    const cases: [string, RegExp][] = [
      ['* * * * * * *', /^cron\.0: the seconds field \(the first of 7\) is "\*": name one second/],
      ['*/10 * * * * * *', /^cron\.0: the seconds field \(the first of 7\) is "\*\/10"/],
      ['0,30 * * * * * *', /^cron\.0: the seconds field/],
      ['TZ=Europe/Paris */5 * * * * * * # often', /^cron\.0: the seconds field \(the first of 7\) is "\*\/5"/],
      ['@every 30s', /^cron\.0: @every 30s runs more than once a minute; the shortest interval is 1 minute/],
      ['@every 59s/10s', /^cron\.0: @every 59s runs more than once a minute/],
      ['@every 500ms', /^cron\.0: @every 500ms runs more than once a minute/],
      ['@every soon', /^cron\.0: "soon" is not a duration such as 1h or 90m/],
    ];
    for (const [cron, message] of cases) {
      const found = issuesOf(CreateSchedule, { pipeline: 'p', cron: ['0 3 * * *', cron] });
      expect(found.map((m) => m.replace(/^cron\.1/, 'cron.0'))).toEqual([expect.stringMatching(message)]);
    }
    expect(cronTooFrequent('0 0 * * * * *')).toBeNull();
  });
});

describe('pipeline backfill size', () => {
  it('refuses more than MAX_BACKFILL_PARTITIONS runs, naming end', () => {
    const found = issuesOf(CreateBackfill, { start: '2000-01-01', end: '2030-01-01', step: 'month' });
    expect(found).toEqual([`end: from start to end every 1 month is more than ${MAX_BACKFILL_PARTITIONS} runs; shorten the range or use a larger step`]);
    expect(issuesOf(CreateBackfill, { start: '1700-01-01', end: '2030-01-01' })).toEqual([
      `end: from start to end every 12 months is more than ${MAX_BACKFILL_PARTITIONS} runs; shorten the range or use a larger step`,
    ]);
    // 240 exactly is allowed.
    expect(issuesOf(CreateBackfill, { start: '2000-01-01', end: '2019-12-01', step: 'month' })).toEqual([]);
    expect(issuesOf(CreateBackfill, { start: '2000-01-01', end: '2019-12-02', step: { months: 1 } })).toEqual([]);
    expect(issuesOf(CreateBackfill, { start: '2000-01-01', end: '2020-01-01', step: { months: 1 } })).toHaveLength(1);
    // A start after the end is left to the route, which names start; an instant the field refuses is
    // reported alone.
    expect(issuesOf(CreateBackfill, { start: '2030-01-01', end: '2000-01-01' })).toEqual([]);
    expect(issuesOf(CreateBackfill, { start: '0000-12-31', end: '2001-01-01' })).toEqual(['start: an instant in years 0001-9999 (UTC)']);
  });

  it('makes at most one point more than allowed, however long the range', () => {
    expect(backfillAsOfs(new Date('0001-01-01'), new Date('9999-01-01'), 1)).toHaveLength(MAX_BACKFILL_PARTITIONS + 1);
    expect(backfillAsOfs(new Date('2000-01-31T10:30:00Z'), new Date('2000-04-01T00:00:00Z'), 1)).toEqual([
      '2000-01-31T10:30:00.000Z', '2000-03-02T10:30:00.000Z', '2000-03-31T10:30:00.000Z',
    ]);
  });
});

describe('scheduleActionCount', () => {
  // As Temporal describes "0 3 * * *" and "0 0 * * 1".
  const all = { dayOfMonth: [{ start: 1, end: 31, step: 1 }], month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }], year: [], dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }] };
  const at = (hour: number) => ({ ...all, second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }], hour: [{ start: hour, end: hour, step: 1 }] });
  const daily = at(3);
  const mondays = { ...at(0), dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }] };
  const everyMinute = { ...all, second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 59, step: 1 }], hour: [{ start: 0, end: 23, step: 1 }] };
  const spec = (calendars: unknown[], intervals: { everyMs: number; offsetMs: number }[] = [], range: { startAt?: string; endAt?: string } = {}) =>
    ({ calendars, intervals, ...range }) as Parameters<typeof scheduleActionCount>[0];
  const d = (s: string) => new Date(s);

  it('counts calendar matches in the range, both ends included', () => {
    expect(scheduleActionCount(spec([daily]), d('2024-01-01'), d('2024-12-31T23:59:59Z'))).toBe(366);
    expect(scheduleActionCount(spec([daily]), d('2024-01-01T03:00:00Z'), d('2024-01-03T03:00:00Z'))).toBe(3);
    expect(scheduleActionCount(spec([daily]), d('2024-01-01T03:00:01Z'), d('2024-01-03T02:59:59Z'))).toBe(1);
    expect(scheduleActionCount(spec([mondays]), d('2024-01-01'), d('2024-12-31'))).toBe(53);
    expect(scheduleActionCount(spec([{ ...daily, year: [{ start: 2030, end: 2030, step: 1 }] }]), d('2024-01-01'), d('2029-12-31'))).toBe(0);
    expect(scheduleActionCount(spec([{ ...daily, dayOfMonth: [{ start: 31, end: 31, step: 1 }] }]), d('2024-01-01'), d('2024-12-31'))).toBe(6); // Dec 31 03:00 is after the end
  });

  it('counts intervals, within the schedule\'s own startAt and endAt', () => {
    const day = 86_400_000;
    expect(scheduleActionCount(spec([], [{ everyMs: day, offsetMs: 0 }]), d('2024-01-01'), d('2024-01-11'))).toBe(11);
    expect(scheduleActionCount(spec([], [{ everyMs: day, offsetMs: 3_600_000 }]), d('2024-01-01'), d('2024-01-11'))).toBe(10);
    expect(scheduleActionCount(spec([], [{ everyMs: day, offsetMs: 0 }], { startAt: '2024-01-05T00:00:00Z', endAt: '2024-01-07T12:00:00Z' }), d('2024-01-01'), d('2024-01-11'))).toBe(3);
    expect(scheduleActionCount(spec([daily], [{ everyMs: day, offsetMs: 0 }]), d('2024-01-01'), d('2024-01-10T23:00:00Z'))).toBe(20);
  });

  it('stops counting past the limit: a year of every minute answers at once', () => {
    const started = performance.now();
    const n = scheduleActionCount(spec([everyMinute]), d('0001-01-01'), d('9999-12-31'));
    expect(n).toBeGreaterThan(1000);
    expect(scheduleActionCount(spec([], [{ everyMs: 60_000, offsetMs: 0 }]), d('2024-01-01'), d('2024-01-02'))).toBe(1441);
    // A calendar that never matches in the range is walked day by day; still quick over 9999 years.
    expect(scheduleActionCount(spec([{ ...daily, dayOfMonth: [{ start: 30, end: 30, step: 1 }], month: [{ start: 'FEBRUARY', end: 'FEBRUARY', step: 1 }] }]), d('0001-01-01'), d('9999-12-31'))).toBe(0);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
