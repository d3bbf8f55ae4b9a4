// The Temporal worker: the one place that wires real dependencies into the activities.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Logger } from '../runtime/logger.js';
import { temporalConnectionOptions, type TemporalConnectionSettings } from '../runtime/temporal-connection.js';
import type { ActivityDeps } from '../activities/index.js';

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
  /** TLS and API key: the same as the client connection's (config.temporal.connection). */
  connection: TemporalConnectionSettings;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per process instead of one per worker). */
  workflowBundle?: WorkflowBundleOption;
}): Promise<WorkerHandle> {
  // Imported here, not at module load: a process that only installs the runtime (the API role) never loads
  // the activities' modules (nodejs-polars, tfjs).
  const { createActivities } = await import('../activities/index.js');
  const connection = await NativeConnection.connect({ address: opts.address, ...temporalConnectionOptions(opts.connection) });
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
