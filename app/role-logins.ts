// Logins of the platform's least-privilege database roles when the platform owns the PostgreSQL cluster
// (the embedded one, and the tests' shared one). The migrations create the roles without a login:
// mlp_runtime, which the API and the worker run as (rows in and out, no DDL, the audit log append-only;
// db/migrations/0004_auth_audit.sql), and mlp_source_reader, which pipelines' `sql` sources run as
// (0003_source_reader.sql). Here a role gets LOGIN and a password made once and kept in DATA_DIR (mode
// 0600), and its pool gets its own URL. Never a SET ROLE on a privileged connection instead: a query could
// set_config('role', ...) its way back.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export const RUNTIME_ROLE = 'mlp_runtime';
export const SOURCE_READER_ROLE = 'mlp_source_reader';
type PlatformRole = typeof RUNTIME_ROLE | typeof SOURCE_READER_ROLE;

const PASSWORD_FILES: Record<PlatformRole, string> = {
  [RUNTIME_ROLE]: 'runtime.password',
  [SOURCE_READER_ROLE]: 'source-reader.password',
};

/** Files in DATA_DIR holding these passwords: never readable as a pipeline's source. */
export const ROLE_PASSWORD_FILES = Object.values(PASSWORD_FILES);

/**
 * Gives `role` its login on the server `databaseUrl` points at (as a role allowed to alter it) and returns
 * the URL that logs in as it: same server and database. Run after the migrations (they create the role).
 * Every start sets the same password again, so a lost role login comes back.
 */
export async function enableRoleLogin(opts: { databaseUrl: string; dataDir: string; role: PlatformRole }): Promise<string> {
  const password = await rolePassword(opts.dataDir, PASSWORD_FILES[opts.role]);
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    // ALTER ROLE takes no parameters; the password is base64url, and escaped anyway.
    await client.query(`ALTER ROLE ${client.escapeIdentifier(opts.role)} WITH LOGIN PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
  const url = new URL(opts.databaseUrl);
  url.username = opts.role;
  url.password = password;
  return url.toString();
}

/** The password in DATA_DIR, made on first use; readable by this user only. */
async function rolePassword(dataDir: string, name: string): Promise<string> {
  const file = join(dataDir, name);
  await mkdir(dataDir, { recursive: true });
  try {
    // `wx`: two processes starting at once keep the first one's password.
    await writeFile(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  await chmod(file, 0o600);
  const password = (await readFile(file, 'utf8')).trim();
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new Error(`${file} does not hold a database password; delete it and start again to make a new one`);
  return password;
}
