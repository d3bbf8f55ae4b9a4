// The Temporal worker: the one place that wires real dependencies into the activities.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Logger } from '../runtime/logger.js';
import { temporalConnectionOptions, type TemporalConnectionSettings } from '../runtime/temporal-connection.js';
import type { ActivityDeps } from '../activities/index.js';
import { trainingTaskQueue } from '../pipelines/workflow-ids.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Workflow sources: .ts under tsx/vitest, .js once compiled to dist/. */
export function workflowsPath(): string {
  const ts = join(here, '..', 'workflows', 'index.ts');
  return existsSync(ts) ? ts : join(here, '..', 'workflows', 'index.js');
}

export interface WorkerHandle {
  /** One per task queue this process polls: the pipelines' and/or training's. */
  workers: { queue: string; worker: Worker }[];
  /** RUNNING when every one of them is; else the first other state. */
  state(): string;
  /** Resolves when all have shut down. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Which of the platform's task queues a worker process polls (WORKER_TASK_QUEUES). */
export type WorkerQueue = 'pipelines' | 'training';

export async function startWorker(opts: {
  address: string;
  namespace: string;
  /** The pipelines' task queue (workflows and every stage but training); training's is derived from it. */
  taskQueue: string;
  queues: readonly WorkerQueue[];
  /** Activities at once on the pipelines' queue, and trainings at once on training's. */
  slots: { activities: number; training: number };
  /** TLS and API key: the same as the client connection's (config.temporal.connection). */
  connection: TemporalConnectionSettings;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per process instead of one per worker). */
  workflowBundle?: WorkflowBundleOption;
  /** Names this process in workflow histories (default: the SDK's pid@host). */
  identity?: string;
}): Promise<WorkerHandle> {
  // Imported here, not at module load: a process that only installs the runtime (the API role) never loads
  // the activities' modules (nodejs-polars, tfjs).
  const { createActivities } = await import('../activities/index.js');
  const connection = await NativeConnection.connect({ address: opts.address, ...temporalConnectionOptions(opts.connection) });
  const activities = createActivities(opts.deps);
  const common = { connection, namespace: opts.namespace, shutdownGraceTime: '10 seconds', ...(opts.identity ? { identity: opts.identity } : {}) } as const;
  const workers: WorkerHandle['workers'] = [];
  try {
    if (opts.queues.includes('pipelines')) {
      workers.push({
        queue: opts.taskQueue,
        worker: await Worker.create({
          ...common,
          taskQueue: opts.taskQueue,
          ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: workflowsPath() }),
          // With `train` too: runs recorded before training had its own queue still schedule it here, and a
          // pipelines-only worker must not leave them without one.
          activities,
          maxConcurrentActivityTaskExecutions: opts.slots.activities,
        }),
      });
    }
    if (opts.queues.includes('training')) {
      const queue = trainingTaskQueue(opts.taskQueue);
      // Activities only: each training runs in a thread of its own, so the slots bound the cores it takes.
      workers.push({ queue, worker: await Worker.create({ ...common, taskQueue: queue, activities: { train: activities.train }, maxConcurrentActivityTaskExecutions: opts.slots.training }) });
    }
  } catch (err) {
    await connection.close();
    throw err;
  }
  // One worker failing stops the others, then the connection closes and the first failure is what `done`
  // reports (closing while another worker still holds the connection would throw instead, and hide it).
  const done = Promise.allSettled(workers.map((w) => w.worker.run().catch((err: unknown) => {
    for (const other of workers) if (other.worker.getState() === 'RUNNING') other.worker.shutdown();
    throw err;
  }))).then(async (results) => {
    await connection.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return {
    workers,
    done,
    state() {
      const other = workers.find((w) => w.worker.getState() !== 'RUNNING');
      return other ? other.worker.getState() : 'RUNNING';
    },
    async shutdown() {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await done;
    },
  };
}

let temporalRuntimeInstalled = false;

/**
 * Installs the Temporal SDK runtime once per process, before any worker: its logs go to our JSON logger,
 * and with `metricsPort` its own metrics (task latencies, slots, polls) are served for Prometheus on `host`
 * (HOST, as the other ports: this machine only unless set otherwise).
 */
export function installTemporalRuntime(logger: Logger, opts: { metricsPort?: undefined } | { metricsPort: number; host: string } = {}): void {
  if (temporalRuntimeInstalled) return;
  temporalRuntimeInstalled = true;
  const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => logger[levels[entry.level]]({ ...entry.meta, sdk: 'temporal' }, entry.message)),
    ...(opts.metricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: socketAddress(opts.host, opts.metricsPort) } } } } : {}),
  });
}

/** `host:port` as the SDK's exporter parses it (an IP address, not a name; IPv6 in brackets). */
export function socketAddress(host: string, port: number): string {
  const ip = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[(.*)\]$/, '$1');
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
