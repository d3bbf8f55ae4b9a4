// The Temporal worker: the one place that wires real dependencies into the activities.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Workflow sources: .ts under tsx/vitest, .js once compiled to dist/. */
export function workflowsPath(): string {
  const ts = join(here, '..', 'workflows', 'index.ts');
  return existsSync(ts) ? ts : join(here, '..', 'workflows', 'index.js');
}

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has shut down. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorker(opts: {
  address: string;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per process instead of one per worker). */
  workflowBundle?: WorkflowBundleWithSourceMap;
}): Promise<WorkerHandle> {
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: createActivities(opts.deps),
    // Two cores: one training thread at a time keeps heartbeats and the data stages responsive.
    maxConcurrentActivityTaskExecutions: 4,
    shutdownGraceTime: '10 seconds',
  });
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
