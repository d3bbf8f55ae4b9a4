// A Temporal namespace is often shared: the run, backfill and schedule routes answer 404 for another
// application's workflows and schedules, as if they did not exist, and leave them untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
const FOREIGN_WORKFLOW = `other-app-${Date.now()}`;
const FOREIGN_SCHEDULE = `other-app-schedule-${Date.now()}`;

beforeAll(async () => {
  p = await createTestPlatform();
  // Another application's workflow (no worker polls its queue: it stays running) and schedule, the latter
  // even dressed with this platform's memo.
  await p.temporal.workflow.start('trainingPipeline', { taskQueue: 'other-app', workflowId: FOREIGN_WORKFLOW, args: [] });
  await p.temporal.schedule.create({
    scheduleId: FOREIGN_SCHEDULE, spec: { intervals: [{ every: '1 day' }] }, state: { paused: true },
    action: { type: 'startWorkflow', workflowType: 'trainingPipeline', taskQueue: 'other-app', args: [] }, memo: { pipeline: 'football' },
  });
});
afterAll(async () => {
  await p.temporal.workflow.getHandle(FOREIGN_WORKFLOW).terminate('test over').catch(() => undefined);
  await p.temporal.schedule.getHandle(FOREIGN_SCHEDULE).delete().catch(() => undefined);
  await p?.stop();
});

describe('another application\'s workflows and schedules', () => {
  it('are not found by the run and backfill routes, and are left running', async () => {
    const id = encodeURIComponent(FOREIGN_WORKFLOW);
    for (const [method, path, body] of [
      ['GET', `/v1/runs/${id}`, undefined],
      ['POST', `/v1/runs/${id}/cancel`, undefined],
      ['POST', `/v1/runs/${id}/approval`, { decision: 'approve', reason: 'not ours' }],
      ['GET', `/v1/backfills/${id}`, undefined],
      ['POST', `/v1/backfills/${id}/partitions/2020-01-01/retry`, undefined],
    ] as const) {
      const r = await p.request(method, path, body);
      expect(r, `${method} ${path}`).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
    expect((await p.temporal.workflow.getHandle(FOREIGN_WORKFLOW).describe()).status.name).toBe('RUNNING');
  });

  it('are not listed, described, changed or deleted by the schedule routes', async () => {
    const id = encodeURIComponent(FOREIGN_SCHEDULE);
    expect((await p.request('GET', '/v1/schedules')).body.schedules.map((s: { id: string }) => s.id)).not.toContain(FOREIGN_SCHEDULE);
    for (const [method, path, body] of [
      ['GET', `/v1/schedules/${id}`, undefined],
      ['PATCH', `/v1/schedules/${id}`, { overlap: 'buffer_one' }],
      ['POST', `/v1/schedules/${id}/unpause`, { note: 'not ours' }],
      ['POST', `/v1/schedules/${id}/trigger`, undefined],
      ['POST', `/v1/schedules/${id}/backfill`, { start: '2020-01-01T00:00:00Z', end: '2020-01-03T00:00:00Z' }],
      ['DELETE', `/v1/schedules/${id}`, undefined],
    ] as const) {
      const r = await p.request(method, path, body);
      expect(r, `${method} ${path}`).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
    const still = await p.temporal.schedule.getHandle(FOREIGN_SCHEDULE).describe();
    expect(still.state.paused).toBe(true);
    expect(still.policies.overlap).not.toBe('BUFFER_ONE');
  });
});
