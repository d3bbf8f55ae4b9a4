// The embedded PostgreSQL's stop when the server is already gone: Ctrl-C in a terminal signals the whole
// process group, so Postgres may exit before the platform stops it, and stopping must still return.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../app/embedded-postgres.js';
import { freePort } from '../../app/free-port.js';
import { createLogger } from '../../runtime/logger.js';

it('stops at once when the server has already exited', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlp-pg-stop-'));
  await chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: await freePort(), logger: createLogger('error') });
  try {
    // The postmaster's pid, as a terminal's Ctrl-C would reach it.
    const pid = Number((await readFile(join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGINT');
    await expect.poll(() => { try { process.kill(pid, 0); return 'running'; } catch { return 'gone'; } }, { timeout: 15_000 }).toBe('gone');
    const outcome = await Promise.race([pg.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000))]);
    expect(outcome).toBe('stopped');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
