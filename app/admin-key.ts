// The first admin key of a platform that has none, for `npm start`: made on the first start, printed once
// by the caller, and kept for the CLI in DATA_DIR/api-key (mode 0600, readable by this user only).
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../db/client.js';
import { createApiKey, liveApiKeys } from '../registry/api-keys.js';

export const CLI_KEY_FILE = 'api-key';

export function cliKeyFile(dataDir: string): string {
  return join(dataDir, CLI_KEY_FILE);
}

export type AdminKey =
  | { state: 'created'; token: string; file: string }
  | { state: 'stored'; token: string; file: string }
  | { state: 'none'; file: string };

/**
 * The stored key when there is one; else, on a platform without any key, a new admin key, stored. A
 * platform that has keys but no stored one gets none: its admins make keys (`mlp keys create`).
 */
export async function ensureAdminKey(db: Db, dataDir: string): Promise<AdminKey> {
  const file = cliKeyFile(dataDir);
  const stored = await readFile(file, 'utf8').then((t) => t.trim(), () => null);
  if (stored) return { state: 'stored', token: stored, file };
  if ((await liveApiKeys(db)).length > 0) return { state: 'none', file };
  const { token } = await createApiKey(db, { name: 'admin', role: 'admin' }, { actor: 'platform:first-start', requestId: null });
  // 'w': an empty file left by an interrupted start is no key; the token is printed by the caller anyway.
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  await chmod(file, 0o600);
  return { state: 'created', token, file };
}
