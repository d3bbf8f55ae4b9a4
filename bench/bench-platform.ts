// The platform a pipeline benchmark runs on: embedded PostgreSQL and a Temporal dev server in a temporary
// folder, the worker in the benchmark's own process (so its timings and RSS are the worker's), no API.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../app/free-port.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { installTemporalRuntime } from '../app/worker.js';
import { loadConfig, type Config } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';

export interface BenchPlatform {
  config: Config;
  platform: Platform;
  dataDir: string;
  /** Stops the services and removes the folder. */
  stop(): Promise<void>;
}

export async function startBenchPlatform(name: string): Promise<BenchPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), `mlp-bench-${name}-`));
  // The embedded server runs as the `postgres` user when we are root: it must be able to enter the folder.
  await chmod(dataDir, 0o755);
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  const config = loadConfig({
    DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'error',
    EMBEDDED_PG_PORT: String(await freePort()), TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()),
  });
  console.log(`starting embedded Postgres and Temporal in ${dataDir}…`);
  const platform = await startPlatform(config, logger, { api: false, worker: true });
  return {
    config, platform, dataDir,
    async stop() {
      await platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
