import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';

export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export function connectDb(url: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return drizzle(pool, { schema }) as Db;
}

/**
 * The pool pipelines' `sql` sources run on: its own login (SOURCE_DATABASE_URL, a read-only role), never the
 * registry's, so no query can reach what that role cannot. Small: a source query is one per collect.
 */
export function connectSourcePool(url: string, opts: { statementTimeoutMs: number }): pg.Pool {
  // statement_timeout is the server's; a dropped network needs the client's own bounds too, or a collect
  // attempt would wait until its start-to-close timeout while its heartbeats carry on.
  const pool = new pg.Pool({
    connectionString: url, max: 2, application_name: 'mlp-sql-source',
    connectionTimeoutMillis: 10_000, query_timeout: opts.statementTimeoutMs + 5_000, keepAlive: true,
  });
  pool.on('error', () => undefined);
  return pool;
}
