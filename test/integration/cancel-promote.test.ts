// A cancel that lands while a run promotes waits for the promotion and the run's record: the alias never
// moves under a record that says the run was cancelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';
import { waitFor } from '../support/wait.js';

let p: TestPlatform;
let promoting: (() => void) | null = null;

beforeAll(async () => {
  p = await createTestPlatform({
    // Holds the promote activity for 3 s after it moved the alias, and says when it got there.
    faults: async (point) => {
      if (point !== 'promote:after-move') return;
      promoting?.();
      await new Promise((r) => setTimeout(r, 3000));
    },
  });
});
afterAll(() => p?.stop());

describe('a run cancelled while it promotes', () => {
  it('finishes the promotion and records the run as succeeded, consistent with the alias', async () => {
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'late-cancel' }));
    const reached = new Promise<void>((resolve) => (promoting = resolve));
    const started = await p.request('POST', '/v1/pipelines/late-cancel/runs', {});
    const id: string = started.body.run.workflowId;
    await reached;
    expect((await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`)).status).toBe(202);
    const result = await p.temporal.workflow.getHandle(id).result();
    expect(result.promotion).toMatchObject({ promoted: true, toVersion: 1 });
    const run = await waitFor(async () => {
      const r = await p.request('GET', `/v1/runs/${encodeURIComponent(id)}`);
      return r.body.run.status === 'running' ? undefined : r.body.run;
    }, 'the run record');
    expect(run).toMatchObject({ status: 'succeeded', modelVersion: 1 });
    const models = await p.request('GET', '/v1/models');
    expect(models.body.models.find((m: { name: string }) => m.name === 'late-cancel').aliases).toEqual({ production: 1 });
  });
});
