// Transient faults outside the product (a disk or network hiccup, a worker crash mid-training) are
// retried by Temporal; the run still succeeds, and training resumes from its checkpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

let p: TestPlatform;
const injected: string[] = [];

beforeAll(async () => {
  p = await createTestPlatform({
    faults: (point, attempt) => {
      if (attempt === 1 && (point === 'clean' || point === 'train:epoch:3')) {
        injected.push(point);
        throw new Error(`injected transient fault at ${point}`);
      }
    },
  });
  await p.request('POST', '/v1/pipelines', quickFootballSpec({ model: { ...quickFootballSpec().model, epochs: 12, earlyStoppingPatience: 0 } }));
});
afterAll(() => p?.stop());

describe('transient faults', () => {
  it('retries a failed clean attempt and a crashed training attempt, resuming training from its checkpoint', async () => {
    const run = await p.runPipeline('football');
    if (run.error) throw run.error;
    expect(injected).toEqual(['clean', 'train:epoch:3']);

    const history = await p.temporal.workflow.getHandle(run.workflowId).fetchHistory();
    const scheduledById = new Map<string, string>();
    for (const e of history.events!) {
      if (e.activityTaskScheduledEventAttributes) scheduledById.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType!.name!);
    }
    const attemptsByActivity = Object.fromEntries(history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => [
      scheduledById.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)), e.activityTaskStartedEventAttributes!.attempt,
    ]));
    expect(attemptsByActivity).toMatchObject({ collect: 1, clean: 2, feature: 1, train: 2, evaluate: 1, promote: 1 });

    const r = run.result!;
    // The crash came after epoch 3 was checkpointed: the retry carried on from there, not from zero.
    expect(r.training.resumedFromEpoch).toBe(3);
    expect(r.training.epochsRun).toBe(12);
    expect(r.promotion.promoted).toBe(true);
  });
});
