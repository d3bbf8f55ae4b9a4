// Retraining schedules on the real Temporal dev server: runs take their scheduled time as asOf, pause
// stops them, and a schedule backfill starts one run per action time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { shippedSpec } from '../support/specs.js';

let p: TestPlatform;
const created: string[] = [];

beforeAll(async () => {
  p = await createTestPlatform();
  await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), model: { ...shippedSpec('seattle-weather.json').model, epochs: 10 } });
});
afterAll(async () => {
  for (const id of created) await p.request('DELETE', `/v1/schedules/${id}`);
  await p?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

async function createSchedule(body: Record<string, unknown>) {
  const res = await p.request('POST', '/v1/schedules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  created.push(res.body.schedule.id);
  return res.body.schedule;
}

describe('a retraining schedule', () => {
  it('starts runs whose asOf is their scheduled time, and pause stops them', async () => {
    // The shortest interval a schedule may have: its first action comes within a minute.
    const s = await createSchedule({ pipeline: 'seattle-temp', id: 'every-minute', interval: { every: '1 minute' }, allowPromotion: false });
    expect(s).toMatchObject({ id: 'every-minute', pipeline: 'seattle-temp', paused: false, policies: { overlap: 'skip' } });
    expect(s.nextActionTimes.length).toBeGreaterThan(0);

    const action = await until(async () => {
      const d = await p.request('GET', '/v1/schedules/every-minute');
      return d.body.schedule.recentActions[0] as { scheduledAt: string; workflowId: string } | undefined;
    }, 'a first scheduled action', 90_000);
    expect(action.workflowId).toMatch(/^train:seattle-temp:scheduled-/);
    const result = await p.temporal.workflow.getHandle(action.workflowId).result();
    expect(result.asOf).toBe(new Date(action.scheduledAt).toISOString());
    const run = await p.request('GET', `/v1/runs/${encodeURIComponent(action.workflowId)}`);
    expect(run.body.run).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
    expect(new Date(run.body.run.asOf).toISOString()).toBe(new Date(action.scheduledAt).toISOString());

    const paused = await p.request('POST', '/v1/schedules/every-minute/pause', { note: 'data feed maintenance' });
    expect(paused.body.schedule).toMatchObject({ paused: true, note: expect.stringMatching(/^data feed maintenance/) });
    const countAfterPause = (await p.request('GET', '/v1/schedules/every-minute')).body.schedule.recentActions.length;
    // Past the next action time (interval schedules act on whole minutes since the epoch): none was taken.
    await sleep(60_000 - (Date.now() % 60_000) + 3_000);
    const later = (await p.request('GET', '/v1/schedules/every-minute')).body.schedule;
    expect(later.recentActions.length).toBe(countAfterPause);

    const unpaused = await p.request('POST', '/v1/schedules/every-minute/unpause', { note: 'feed is back' });
    expect(unpaused.body.schedule.paused).toBe(false);
    await p.request('POST', '/v1/schedules/every-minute/pause', { note: 'stop for the rest of the test' });
  }, 240_000);

  it('backfills a past range: one run per action time, each with that time as asOf', async () => {
    await createSchedule({ pipeline: 'seattle-temp', id: 'monthly', cron: ['0 0 1 * *'], paused: true, allowPromotion: false, note: 'backfill only' });
    const bf = await p.request('POST', '/v1/schedules/monthly/backfill', { start: '2014-02-01T00:00:00Z', end: '2014-04-15T00:00:00Z' });
    expect(bf.status).toBe(202);
    const expected = ['2014-02-01T00:00:00.000Z', '2014-03-01T00:00:00.000Z', '2014-04-01T00:00:00.000Z'];
    const ids = expected.map((t) => `train:seattle-temp:scheduled-${t.replace('.000Z', 'Z')}`);
    const results = await Promise.all(ids.map((id) => until(async () => {
      try {
        return await p.temporal.workflow.getHandle(id).result();
      } catch {
        return undefined;
      }
    }, id, 120_000)));
    expect(results.map((r) => r.asOf)).toEqual(expected);
    // Each run saw only data up to its own asOf: the held-out period ends there.
    const runs = await p.request('GET', '/v1/runs?pipeline=seattle-temp&limit=100');
    expect(runs.body.runs.filter((r: { workflowId: string }) => ids.includes(r.workflowId))).toHaveLength(3);
  });

  it('is described, updated, triggered and deleted through the API, and rejects bad timing', async () => {
    await createSchedule({ pipeline: 'seattle-temp', id: 'weekly', cron: ['0 3 * * 1'], paused: true });
    const listed = await p.request('GET', '/v1/schedules');
    expect(listed.body.schedules.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining(['weekly', 'monthly', 'every-minute']));
    const updated = await p.request('PATCH', '/v1/schedules/weekly', { overlap: 'buffer_one', catchupWindow: '2 hours', allowPromotion: false });
    expect(updated.body.schedule).toMatchObject({ policies: { overlap: 'buffer_one', catchupWindowMs: 7_200_000 }, allowPromotion: false });
    const next = new Date(updated.body.schedule.nextActionTimes[0]);
    expect(next.getUTCDay()).toBe(1);
    expect(next.getUTCHours()).toBe(3);

    const triggered = await p.request('POST', '/v1/schedules/weekly/trigger');
    expect(triggered.status).toBe(202);
    const action = await until(async () => (await p.request('GET', '/v1/schedules/weekly')).body.schedule.recentActions[0], 'the triggered run');
    await p.temporal.workflow.getHandle(action.workflowId).result();

    expect((await p.request('POST', '/v1/schedules', { pipeline: 'seattle-temp', id: 'weekly', cron: ['0 3 * * 1'] })).status).toBe(409);
    expect((await p.request('POST', '/v1/schedules', { pipeline: 'seattle-temp', id: 'both', cron: ['0 3 * * 1'], interval: { every: '1 day' } })).status).toBe(422);
    expect((await p.request('POST', '/v1/schedules', { pipeline: 'seattle-temp', id: 'bad', interval: { every: 'often' } })).status).toBe(422);
    expect((await p.request('POST', '/v1/schedules', { pipeline: 'nope', cron: ['0 3 * * 1'] })).status).toBe(404);
    // Timing only Temporal can judge: its refusal is the caller's 422, naming the field (it used to be a 500).
    const refused = (field: string, reason: string) => ({
      status: 422, body: { error: { code: 'validation_failed', message: `${field}: Temporal refused the schedule: ${reason}`, details: { issues: [{ path: field, message: `Temporal refused the schedule: ${reason}` }] } } },
    });
    const create = (body: Record<string, unknown>) => p.request('POST', '/v1/schedules', { pipeline: 'seattle-temp', id: 'bad', ...body });
    expect(await create({ cron: ['not a cron'] })).toEqual(refused('body.cron', 'CronString does not have 5-7 fields'));
    expect(await create({ cron: ['0 3 * * 1', '61 3 * * 1'] })).toEqual(refused('body.cron', 'Minute is not in range [0-59]'));
    // An interval under a minute never reaches Temporal: the schema refuses it.
    const tooShort = { status: 422, body: { error: { code: 'validation_failed', message: 'body.interval.every: at least 1 minute (each action starts a whole training run)', details: { issues: [{ path: 'body.interval.every', message: 'at least 1 minute (each action starts a whole training run)' }] } } } };
    expect(await create({ interval: { every: '1ms' } })).toMatchObject(tooShort);
    expect(await create({ interval: { every: '1 day', offset: '2 days' } })).toEqual(refused('body.interval', 'phase cannot be greater than Interval'));
    expect(await p.request('PATCH', '/v1/schedules/weekly', { cron: ['not a cron'] })).toEqual(refused('body.cron', 'CronString does not have 5-7 fields'));
    expect(await p.request('PATCH', '/v1/schedules/weekly', { interval: { every: '1ms' } })).toMatchObject(tooShort);
    // Nothing was created or changed by a refused request.
    expect((await p.request('GET', '/v1/schedules/bad')).status).toBe(404);
    expect((await p.request('GET', '/v1/schedules/weekly')).body.schedule.spec.calendars).toHaveLength(1);

    expect((await p.request('DELETE', '/v1/schedules/weekly')).status).toBe(200);
    created.splice(created.indexOf('weekly'), 1);
    expect((await p.request('GET', '/v1/schedules/weekly')).status).toBe(404);
  });

  it('reads a backfill range in any offset ISO 8601 allows, and refuses one it cannot keep', async () => {
    await createSchedule({ pipeline: 'seattle-temp', id: 'odd-offsets', cron: ['0 0 1 * *'], paused: true, allowPromotion: false });
    // +14:59: the instant is 2016-06-30T09:01Z, and no action time of the schedule falls in the range.
    const bf = await p.request('POST', '/v1/schedules/odd-offsets/backfill', { start: '2016-07-01T00:00:00+14:59', end: '2016-06-30T23:00:00.5-00:30' });
    expect(bf.status, JSON.stringify(bf.body)).toBe(202);
    expect(bf.body.backfill).toEqual({ scheduleId: 'odd-offsets', start: '2016-06-30T09:01:00.000Z', end: '2016-06-30T23:30:00.500Z', overlap: 'buffer_all' });
    expect((await p.request('POST', '/v1/schedules/odd-offsets/backfill', { start: '2016-07-01T00:00:00+14:59', end: '2016-06-30T09:00:00Z' })).body.error)
      .toMatchObject({ code: 'validation_failed', details: { issues: [{ path: 'body.start', message: 'must be before end' }] } });
    expect((await p.request('POST', '/v1/schedules/odd-offsets/backfill', { start: '0001-01-01T01:00:00+02:00', end: '2016-06-30T09:00:00Z' })).body.error)
      .toMatchObject({ code: 'validation_failed', message: 'body.start: an instant in years 0001-9999 (UTC)' });
    expect((await p.request('POST', '/v1/schedules/odd-offsets/backfill', { start: '2016-07-01T00:00:00+1459', end: '2016-07-02' })).status).toBe(422);
  });
});
