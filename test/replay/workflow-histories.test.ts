// Every committed history of a real run (test/replay/histories/, recorded by scripts/record-histories.ts)
// replays against the current workflow code: an edit that would break runs in flight (or waiting days for
// an approval) fails here, before it ships. Needs no Temporal server and no database.
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../app/worker.js';
import * as registered from '../../workflows/index.js';
import { loadHistories, type RecordedHistory } from './histories.js';

// Quiet: no bundler statistics, no core warning for the non-determinism the last tests provoke on purpose.
// A failed replay still reports its own message through the assertions below.
try {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
} catch {
  // Already installed in this process (files sharing a worker): keep that one.
}

const histories = loadHistories();
const byName = (name: string) => histories.find((h) => h.name === name)!;
const altered = (file: string) => join(import.meta.dirname, 'altered', file);

async function replay(path: string, cases: RecordedHistory[]) {
  const results: { name: string; error?: Error }[] = [];
  const replayed = Worker.runReplayHistories({ workflowsPath: path, replayName: 'committed-histories' }, cases);
  for await (const r of replayed) results.push({ name: cases.find((c) => c.workflowId === r.workflowId)!.name, error: r.error });
  return results;
}

describe('the committed workflow histories', () => {
  it('cover every workflow the worker registers', () => {
    expect(new Set(histories.map((h) => h.workflowType))).toEqual(new Set(Object.keys(registered)));
  });

  it('all replay against the current workflow code without a determinism error', async () => {
    const results = await replay(workflowsPath(), histories);
    expect(results.map((r) => r.name)).toEqual(histories.map((h) => h.name));
    const failures = results.filter((r) => r.error).map((r) => `${r.name}: ${r.error!.name}: ${r.error!.message}`);
    // A failure here means in-flight runs would break. Version the change with patched() (see the header of
    // scripts/record-histories.ts); re-recording would only hide the problem.
    expect(failures).toEqual([]);
  });
});

describe('the replay suite', () => {
  const training = histories.filter((h) => h.workflowType === 'trainingPipeline');

  it('catches an unversioned change: an activity call added to trainingPipeline', async () => {
    const promoted = byName('training-promoted');
    const replayed = Worker.runReplayHistory({ workflowsPath: altered('unversioned.ts'), replayName: 'unversioned-edit' }, promoted.history, promoted.workflowId);
    await expect(replayed).rejects.toThrow(DeterminismViolationError);
    await expect(replayed).rejects.toThrow(/beginRun.*resolvePipeline/);
  });

  it('accepts the same change once it is versioned with patched()', async () => {
    const results = await replay(altered('versioned.ts'), training);
    expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error!.message}`)).toEqual([]);
    expect(results).toHaveLength(training.length);
  });
});
