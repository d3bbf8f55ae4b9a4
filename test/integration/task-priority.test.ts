// Task-queue priority: a run started by hand overtakes the stages of a backfill queued before it. One stage
// at a time on this worker (WORKER_ACTIVITY_SLOTS=1), and each backfill partition's collect held for a
// moment (the fault seam), so the queue is long when the run arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

let p: TestPlatform;
const collects: string[] = [];
let firstCollectStarted: () => void;
const firstCollect = new Promise<void>((r) => (firstCollectStarted = r));

beforeAll(async () => {
  p = await createTestPlatform({
    env: { WORKER_ACTIVITY_SLOTS: '1' },
    faults: async (stage, _attempt, { workflowId }) => {
      if (stage !== 'collect') return;
      collects.push(workflowId);
      firstCollectStarted();
      // Long enough for the manual run to be started and its first stages queued on a busy CI machine.
      if (workflowId.includes(':backfill-')) await new Promise((r) => setTimeout(r, 1200));
    },
  });
  expect((await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'football-priority' }))).status).toBe(201);
});
afterAll(() => p?.stop());

describe('task-queue priority', () => {
  it('starts a manual run\'s stages ahead of the backfill partitions queued before it', async () => {
    const backfill = await p.request('POST', '/v1/pipelines/football-priority/backfills', { start: '2014-07-01', end: '2017-07-01', step: 'season', concurrency: 4 });
    expect(backfill.status, JSON.stringify(backfill.body)).toBe(201);
    // The worker's one slot is busy with a partition's collect; the three others wait in the queue.
    await firstCollect;
    await new Promise((r) => setTimeout(r, 100));
    const manual = await p.request('POST', '/v1/pipelines/football-priority/runs', { allowPromotion: false });
    expect(manual.status).toBe(201);
    const manualId: string = manual.body.run.workflowId;
    await p.temporal.workflow.getHandle(manualId).result();
    await p.temporal.workflow.getHandle(backfill.body.backfill.id).result();

    expect(collects).toHaveLength(5);
    expect(collects.filter((id) => id.includes(':backfill-'))).toHaveLength(4);
    // In arrival order the run's collect would come fifth, after every partition's. By priority it comes
    // next, or one later: priority orders dispatch and reserves nothing, so while the run's workflow task
    // schedules its next stage, the freed slot may take one queued partition stage.
    expect(collects.indexOf(manualId)).toBeLessThanOrEqual(2);
    // And the whole run is done before any partition that trained a model.
    const closed = async (id: string) => (await p.temporal.workflow.getHandle(id).describe()).closeTime!.getTime();
    const manualClosed = await closed(manualId);
    const runs = (await p.request('GET', '/v1/runs?pipeline=football-priority')).body.runs as { workflowId: string; trigger: string; status: string }[];
    const trained = runs.filter((r) => r.trigger === 'backfill' && r.status === 'succeeded');
    expect(trained.length).toBeGreaterThanOrEqual(2);
    for (const r of trained) expect(await closed(r.workflowId), r.workflowId).toBeGreaterThan(manualClosed);
  });
});
