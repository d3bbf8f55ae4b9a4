// The login of pipelines' `sql` sources when the platform owns the PostgreSQL cluster (the embedded one, and
// the tests' shared one). The migration creates the role mlp_source_reader without a login
// (db/migrations/0003_source_reader.sql); here it gets LOGIN and a password made once and kept in DATA_DIR
// (mode 0600), and the sources' pool gets its own URL. Never a SET ROLE on a privileged connection instead:
// a query could set_config('role', ...) its way back.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export const SOURCE_READER_ROLE = 'mlp_source_reader';
const PASSWORD_FILE = 'source-reader.password';

/**
 * Gives the source role its login on the server `databaseUrl` points at (as a role allowed to alter it)
 * and returns the URL the sources' pool connects with: same server and database, the source role.
 * Run after the migrations. Every start sets the same password again, so a lost role login comes back.
 */
export async function enableSourceReaderLogin(opts: { databaseUrl: string; dataDir: string }): Promise<string> {
  const password = await sourceReaderPassword(opts.dataDir);
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    // ALTER ROLE takes no parameters; the password is base64url, and escaped anyway.
    await client.query(`ALTER ROLE ${client.escapeIdentifier(SOURCE_READER_ROLE)} WITH LOGIN PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
  const url = new URL(opts.databaseUrl);
  url.username = SOURCE_READER_ROLE;
  url.password = password;
  return url.toString();
}

/** The password in DATA_DIR, made on first use; readable by this user only. */
async function sourceReaderPassword(dataDir: string): Promise<string> {
  const file = join(dataDir, PASSWORD_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    // `wx`: two processes starting at once keep the first one's password.
    await writeFile(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  await chmod(file, 0o600);
  const password = (await readFile(file, 'utf8')).trim();
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new Error(`${file} does not hold a source reader password; delete it and start again to make a new one`);
  return password;
}
