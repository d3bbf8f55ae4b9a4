// Backup and restore of the platform's state: the registry database (every table, as JSON rows, so the
// archive restores into any PostgreSQL version without pg_dump) and the artifact folder, in one .tar.gz.
// With ARTIFACT_STORE=s3 the artifacts stay in their bucket (whose versioning or replication is its own
// backup): the archive holds the registry, and says where the artifacts are.
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateDatabase } from '../db/migrate.js';

const run = promisify(execFile);

/** Parents before children, so foreign keys hold while restoring. */
const TABLES = ['pipelines', 'runs', 'datasets', 'models', 'model_versions', 'aliases', 'alias_events', 'metrics', 'audit_log', 'prediction_log', 'api_keys', 'batch_jobs', 'prediction_batches', 'prediction_outcomes', 'monitor_reports'] as const;
/** The tables keyed by a serial id (the others are keyed by a name or an ID made elsewhere). */
const SERIAL_KEYED = new Set<string>(TABLES.filter((t) => t !== 'aliases' && t !== 'api_keys' && t !== 'batch_jobs'));
const FORMAT = 'mlp-backup/1';
const BATCH = 500;

export interface BackupManifest {
  format: typeof FORMAT;
  createdAt: string;
  codeVersion: string;
  migrations: number;
  tables: Record<string, number>;
  artifactFiles: number;
  /** Set when the artifacts were not archived: where they are (s3://bucket/prefix/). */
  artifactsIn?: string;
}

/** The artifacts: a local folder (archived with the registry), or an object store's location (not archived). */
export type BackupArtifacts = { dir: string } | { store: string };

export async function backup(opts: { databaseUrl: string; artifacts: BackupArtifacts; archive: string; codeVersion: string; progress?: (msg: string) => void }): Promise<BackupManifest> {
  const say = opts.progress ?? (() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'mlp-backup-'));
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await mkdir(join(work, 'registry'));
    const tables: Record<string, number> = {};
    // One REPEATABLE READ transaction: every table is read as of the same instant.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const t of TABLES) {
      const out = createWriteStream(join(work, 'registry', `${t}.jsonl`));
      const res = await client.query(`SELECT row_to_json(t)::text AS j FROM ${t} t ORDER BY 1`);
      for (const r of res.rows) out.write(`${r.j}\n`);
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      tables[t] = res.rowCount ?? 0;
      say(`registry: ${t} ${tables[t]} rows`);
    }
    const migrations = Number((await client.query('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')).rows[0].n);
    await client.query('COMMIT');
    const local = 'dir' in opts.artifacts ? opts.artifacts.dir : null;
    const artifactFiles = local ? await countFiles(local) : 0;
    const manifest: BackupManifest = {
      format: FORMAT, createdAt: new Date().toISOString(), codeVersion: opts.codeVersion, migrations, tables, artifactFiles,
      ...('store' in opts.artifacts ? { artifactsIn: opts.artifacts.store } : {}),
    };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2));
    say(local ? `artifacts: ${artifactFiles} files` : `artifacts: not archived; they stay in ${manifest.artifactsIn}`);
    await run('tar', ['-czf', opts.archive, '-C', work, 'manifest.json', 'registry', ...(local ? ['-C', local, '--transform', 's,^\\./,artifacts/,', '.'] : [])]);
    say(`written ${opts.archive}`);
    return manifest;
  } finally {
    await client.end().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

export class RestoreRefused extends Error {}

export async function restore(opts: { databaseUrl: string; artifacts: BackupArtifacts; archive: string; force?: boolean; progress?: (msg: string) => void }): Promise<BackupManifest> {
  const say = opts.progress ?? (() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'mlp-restore-'));
  try {
    await run('tar', ['-xzf', opts.archive, '-C', work]);
    const manifest = JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')) as BackupManifest;
    if (manifest.format !== FORMAT) throw new RestoreRefused(`${opts.archive} is not a platform backup (format ${manifest.format})`);
    const local = 'dir' in opts.artifacts ? opts.artifacts.dir : null;
    if (local && manifest.artifactsIn) {
      throw new RestoreRefused(`${opts.archive} holds no artifact files: they stayed in ${manifest.artifactsIn}, where its registry rows point; restore it with ARTIFACT_STORE=s3 and that bucket and prefix`);
    }
    if (!local && manifest.artifactsIn && 'store' in opts.artifacts && manifest.artifactsIn !== opts.artifacts.store && !opts.force) {
      throw new RestoreRefused(`${opts.archive}'s artifacts are in ${manifest.artifactsIn}, and this configuration's in ${opts.artifacts.store}: its registry rows would point at objects not there. Copy the objects across, then restore with --force`);
    }
    if (!local && manifest.artifactFiles > 0) {
      throw new RestoreRefused(`${opts.archive} holds ${manifest.artifactFiles} artifact files, and the artifacts of this configuration are in ${'store' in opts.artifacts ? opts.artifacts.store : 'a bucket'}: restore it with ARTIFACT_STORE=local, then copy ARTIFACT_DIR's files to the bucket under its prefix (same relative keys) with an S3 tool`);
    }

    await migrateDatabase(opts.databaseUrl);
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      const known = Number((await client.query('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')).rows[0].n);
      if (manifest.migrations > known) throw new RestoreRefused(`the backup comes from a newer schema (${manifest.migrations} migrations; this code has ${known}); restore it with that version`);
      const occupied = [];
      for (const t of TABLES) if (Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n) > 0) occupied.push(t);
      const artifactsPresent = local ? await countFiles(local) : 0;
      if ((occupied.length || artifactsPresent) && !opts.force) {
        throw new RestoreRefused(`the target is not empty (tables with rows: ${occupied.join(', ') || 'none'}; artifact files: ${artifactsPresent}); restore into a fresh database and folder, or pass --force to replace them`);
      }
      await client.query('BEGIN');
      await client.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
      // An archive from an older schema lacks the tables added since (api_keys before migration 0004).
      for (const t of TABLES.filter((name) => name in manifest.tables)) {
        let batch: string[] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          // Postgres itself turns the JSON rows back into typed columns (timestamps, jsonb, bigint).
          await client.query(`INSERT INTO ${t} SELECT * FROM json_populate_recordset(null::${t}, $1::json)`, [`[${batch.join(',')}]`]);
          batch = [];
        };
        const lines = createInterface({ input: createReadStream(join(work, 'registry', `${t}.jsonl`)), crlfDelay: Infinity });
        for await (const line of lines) {
          if (!line) continue;
          batch.push(line);
          if (batch.length >= BATCH) await flush();
        }
        await flush();
        if (SERIAL_KEYED.has(t)) {
          // Serial ids continue after the restored rows.
          await client.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM ${t}`);
        }
        say(`registry: ${t} ${manifest.tables[t]} rows`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (local) {
      await rm(local, { recursive: true, force: true });
      await mkdir(local, { recursive: true });
      if (manifest.artifactFiles > 0) await run('cp', ['-a', `${join(work, 'artifacts')}/.`, local]);
      say(`artifacts: ${manifest.artifactFiles} files into ${local}`);
    } else {
      say(`artifacts: left as they are in ${'store' in opts.artifacts ? opts.artifacts.store : 'the bucket'}${manifest.artifactsIn ? ` (the backup's were in ${manifest.artifactsIn})` : ''}`);
    }
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}
