// Starts the real services the integration tests run against: an embedded PostgreSQL and a Temporal dev
// server (in memory), on free ports, plus one workflow bundle shared by every test worker. As `mlp up` does
// for its embedded cluster, it gives the runtime role and the read-only source role their logins
// (app/role-logins.ts), once for the whole cluster: roles are cluster-wide, and each test file's database is
// reached by the same logins.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../app/embedded-postgres.js';
import { freePort } from '../../app/free-port.js';
import { startEmbeddedTemporal } from '../../app/embedded-temporal.js';
import { enableRoleLogin } from '../../app/role-logins.js';
import { migrateDatabase } from '../../db/migrate.js';
import { createLogger } from '../../runtime/logger.js';
import { workflowsPath } from '../../app/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgPort: number;
    /** The source role's login on the shared cluster; a test file swaps in its own database. */
    pgSourceReaderUrl: string;
    /** The runtime role's login (no DDL, append-only audit), which the API and worker of a test file use. */
    pgRuntimeUrl: string;
    temporalAddress: string;
    workflowBundleCode: string;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger('warn', { role: 'test-services' });
  const root = await mkdtemp(join(tmpdir(), 'mlp-test-'));
  // The embedded server runs as the `postgres` user when we are root: it must be able to enter this folder.
  await chmod(root, 0o755);
  process.stdout.write('[test services] starting embedded PostgreSQL and the Temporal dev server…\n');
  const pgPort = await freePort();
  const [pg, temporal, bundle] = await Promise.all([
    startEmbeddedPostgres({ dir: join(root, 'pg'), port: pgPort, logger }),
    (async () => startEmbeddedTemporal({ port: await freePort(), uiPort: await freePort(), headless: true, logger }))(),
    bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never }),
  ]);
  process.stdout.write(`[test services] PostgreSQL on ${pgPort}, Temporal on ${temporal.address}\n`);
  // One database migrated before any test file runs: the role the migration creates exists (with its
  // settings) before the files' migrations run side by side, and gets its login here.
  await pg.createDatabase('mlp_source_setup');
  await migrateDatabase(pg.urlFor('mlp_source_setup'));
  const sourceReaderUrl = await enableRoleLogin({ databaseUrl: pg.urlFor('mlp_source_setup'), dataDir: root, role: 'mlp_source_reader' });
  const runtimeUrl = await enableRoleLogin({ databaseUrl: pg.urlFor('mlp_source_setup'), dataDir: root, role: 'mlp_runtime' });
  project.provide('pgAdminUrl', pg.adminUrl);
  project.provide('pgPort', pgPort);
  project.provide('pgSourceReaderUrl', sourceReaderUrl);
  project.provide('pgRuntimeUrl', runtimeUrl);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundleCode', bundle.code);
  return async () => {
    await temporal.stop();
    await pg.stop();
    await rm(root, { recursive: true, force: true });
  };
}
