// Transient faults outside the product (a disk or network hiccup, a worker crash mid-training) are
// retried by Temporal; the run still succeeds, and training resumes from its checkpoint.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

let p: TestPlatform;
const injected: string[] = [];
/** A finished run whose checkpoint the second test plants in another run's folder. */
let firstRun = '';

beforeAll(async () => {
  p = await createTestPlatform({
    faults: async (point, attempt, run) => {
      if (run.workflowId.startsWith('train:football-planted:')) {
        // Another training's checkpoint in this run's folder, as an older version would have left one.
        if (point === 'train' && attempt === 1) {
          const from = await p.artifacts.workDir(`runs/${firstRun}/train-checkpoint`);
          const to = await p.artifacts.workDir(`runs/${run.workflowId}/train-checkpoint`);
          await copyFile(join(from, 'checkpoint.json'), join(to, 'checkpoint.json'));
        }
        return;
      }
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
    firstRun = run.workflowId;
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

  it('removes a checkpoint of another training from a run\'s folder, and the retry trains from the start', async () => {
    expect(firstRun).not.toBe('');
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'football-planted', model: { ...quickFootballSpec().model, epochs: 4, seed: 99 } }));
    const run = await p.runPipeline('football-planted');
    if (run.error) throw run.error;
    const history = await p.temporal.workflow.getHandle(run.workflowId).fetchHistory();
    const trainAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
    expect(Math.max(...trainAttempts)).toBe(2);
    expect(run.result!.training).toMatchObject({ resumedFromEpoch: 0, epochsRun: 4 });
  });
});
