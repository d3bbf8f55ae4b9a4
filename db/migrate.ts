import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
// Arbitrary constant shared by every replica: only one of them applies migrations at a time.
const MIGRATION_LOCK_KEY = 7_233_001;

/** Runs `work` on one connection of the login at `url`, closed afterwards. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * How many committed migrations the database at `url` has not applied: read by a login that may not apply
 * them (the runtime role of a replica started without MIGRATION_DATABASE_URL).
 */
export async function pendingMigrations(url: string): Promise<number> {
  const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  const applied = await withClient(url, (client) => client.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations').then(
    (r) => Number(r.rows[0].n),
    (err: { code?: string }) => {
      // No bookkeeping table yet (a fresh database), or one the runtime role may not read yet (it may once
      // migration 0004 granted it): not migrated.
      if (err.code === '42P01' || err.code === '3F000' || err.code === '42501') return 0;
      throw err;
    },
  ));
  return Math.max(0, journal.entries.length - applied);
}

/** Whether the login at `url` may create objects in the registry's schema (an owner's, not mlp_runtime's). */
export function loginMayChangeSchema(url: string): Promise<boolean> {
  return withClient(url, async (client) => (await client.query<{ may: boolean }>(`SELECT has_schema_privilege('public', 'CREATE') AS may`)).rows[0].may);
}

/** Applies the committed SQL migrations. Safe on every start and from many replicas at once. */
export async function migrateDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}
