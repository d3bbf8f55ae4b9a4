// The default Temporal: `temporal server start-dev` with a SQLite file under DATA_DIR (runs survive restarts)
// and its Web UI. Only used when TEMPORAL_ADDRESS is unset.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import type { Logger } from '../runtime/logger.js';
import { projectRoot } from '../runtime/project-root.js';

export interface EmbeddedTemporalHandle {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}


/** PATH first, then the project-local tools folder that `npm run setup` installs into. */
export function findTemporalCli(explicit?: string): string {
  if (explicit) return explicit;
  const local = join(projectRoot, '.tools', 'bin', 'temporal');
  if (existsSync(local)) return local;
  const r = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error('The `temporal` CLI was not found. Run `npm run setup` (installs it into .tools/bin), or set TEMPORAL_ADDRESS to an existing cluster.');
}

export async function startEmbeddedTemporal(opts: {
  cliPath?: string;
  /** SQLite file that keeps runs across restarts; omitted, the server keeps state in memory (tests). */
  dbFile?: string;
  port: number;
  uiPort: number;
  logger: Logger;
  headless?: boolean;
}): Promise<EmbeddedTemporalHandle> {
  const cli = findTemporalCli(opts.cliPath);
  // Another server on the port (a platform left running) would answer the readiness probe for this one.
  const ports: [number, string][] = [[opts.port, 'TEMPORAL_DEV_PORT'], ...(opts.headless ? [] : [[opts.uiPort, 'TEMPORAL_UI_PORT'] as [number, string]])];
  for (const [port, setting] of ports) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} is in use (another platform still running? stop it), or set ${setting}, or TEMPORAL_ADDRESS for an existing server`);
    }
  }
  if (opts.dbFile) mkdirSync(dirname(opts.dbFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
    '--log-level', 'warn',
    // Task-queue priority (pipelines/task-priority.ts): the matcher that honours priority keys (the dev
    // server dispatches in arrival order without it), and one partition per queue, since priority orders
    // tasks within a partition and a single-node server gains nothing from several.
    '--dynamic-config-value', 'matching.useNewMatcher=true',
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1']),
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((a) => ['--search-attribute', `${a.name}=${a.cliType}`]),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 40) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.on('exit', () => (exited = true));

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      throw new Error(`temporal dev server exited during start (is port ${opts.port} or ${opts.uiPort} in use? set TEMPORAL_DEV_PORT / TEMPORAL_UI_PORT, or TEMPORAL_ADDRESS for an existing server). Output:\n${output.join('')}`);
    }
    if (await isServing(address)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not answer on ${address} within 60 s. Output:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  opts.logger.info({ address, ui: opts.headless ? null : `http://localhost:${opts.uiPort}` }, 'temporal dev server ready');
  return { address, uiUrl: `http://localhost:${opts.uiPort}`, stop: () => stopChild(child) };
}

async function isServing(address: string): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      // A namespace lookup succeeds only once the frontend and the default namespace are both up.
      await conn.workflowService.describeNamespace({ namespace: 'default' });
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(t), resolve()));
    child.kill('SIGTERM');
  });
}

/** Whether nothing listens on 127.0.0.1:`port` (binding it, then letting it go). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
