// A change made in Temporal is audited as soon as Temporal accepted it: if reading the new state back fails
// afterwards (the caller gets a 503), the change still has its one audit row.
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import type { ApiDeps } from '../../../api/deps.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';
import { testAccess } from '../../support/access.js';

const config = loadConfig({});
const unavailable = () => new ServiceError('Failed to describe schedule', { cause: Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 }) });

function scheduleService() {
  let describes = 0;
  const paused: string[] = [];
  const description = {
    scheduleId: 's1', memo: { pipeline: 'football' }, state: { paused: false, note: null },
    action: { type: 'startWorkflow', workflowType: 'trainingPipeline', taskQueue: config.temporal.taskQueue, args: [{ allowPromotion: true }] },
    spec: { calendars: [], intervals: [] }, policies: { overlap: 'SKIP', catchupWindow: 86_400_000 },
    info: { nextActionTimes: [], recentActions: [], runningActions: [], createdAt: new Date() },
  };
  const handle = {
    // The first read (before the change) answers; the read back after it does not.
    describe: async () => {
      if (describes++ > 0) throw unavailable();
      return description;
    },
    pause: async (note: string) => void paused.push(note),
  };
  return { schedule: { getHandle: () => handle }, paused };
}

describe('a schedule paused in Temporal whose new state cannot be read back', () => {
  it('answers 503 and still leaves its one audit row, naming the caller', async () => {
    const auth = testAccess();
    const service = scheduleService();
    const app = createApp({
      config, logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu', access: auth.access,
      temporal: { schedule: service.schedule, workflow: {} },
    } as unknown as ApiDeps, { version: 'test' });
    const res = await app.request('/v1/schedules/s1/pause', {
      method: 'POST', headers: { 'content-type': 'application/json', ...auth.as('scientist') }, body: JSON.stringify({ note: 'holiday' }),
    });
    expect(res.status).toBe(503);
    expect(service.paused).toEqual(['holiday (key:test-scientist)']);
    expect(auth.audited).toEqual([expect.objectContaining({
      actor: 'key:test-scientist', action: 'schedule.paused', subject: 'schedule:s1',
      details: { note: 'holiday', before: { paused: false }, after: { paused: true } }, requestId: res.headers.get('x-request-id'),
    })]);
  });
});
