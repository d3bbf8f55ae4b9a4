// Backup and restore of the platform's state: the registry database (every table, as JSON rows, so the
// archive restores into any PostgreSQL version without pg_dump) and the artifact folder, in one .tar.gz.
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
const TABLES = ['pipelines', 'runs', 'datasets', 'models', 'model_versions', 'aliases', 'alias_events', 'metrics', 'audit_log', 'prediction_log', 'api_keys', 'batch_jobs'] as const;
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
}

export async function backup(opts: { databaseUrl: string; artifactDir: string; archive: string; codeVersion: string; progress?: (msg: string) => void }): Promise<BackupManifest> {
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
    const artifactFiles = await countFiles(opts.artifactDir);
    const manifest: BackupManifest = { format: FORMAT, createdAt: new Date().toISOString(), codeVersion: opts.codeVersion, migrations, tables, artifactFiles };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2));
    say(`artifacts: ${artifactFiles} files`);
    await run('tar', ['-czf', opts.archive, '-C', work, 'manifest.json', 'registry', '-C', opts.artifactDir, '--transform', 's,^\\./,artifacts/,', '.']);
    say(`written ${opts.archive}`);
    return manifest;
  } finally {
    await client.end().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

export class RestoreRefused extends Error {}

export async function restore(opts: { databaseUrl: string; artifactDir: string; archive: string; force?: boolean; progress?: (msg: string) => void }): Promise<BackupManifest> {
  const say = opts.progress ?? (() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'mlp-restore-'));
  try {
    await run('tar', ['-xzf', opts.archive, '-C', work]);
    const manifest = JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')) as BackupManifest;
    if (manifest.format !== FORMAT) throw new RestoreRefused(`${opts.archive} is not a platform backup (format ${manifest.format})`);

    await migrateDatabase(opts.databaseUrl);
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      const known = Number((await client.query('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')).rows[0].n);
      if (manifest.migrations > known) throw new RestoreRefused(`the backup comes from a newer schema (${manifest.migrations} migrations; this code has ${known}); restore it with that version`);
      const occupied = [];
      for (const t of TABLES) if (Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n) > 0) occupied.push(t);
      const artifactsPresent = await countFiles(opts.artifactDir);
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
    await rm(opts.artifactDir, { recursive: true, force: true });
    await mkdir(opts.artifactDir, { recursive: true });
    await run('cp', ['-a', `${join(work, 'artifacts')}/.`, opts.artifactDir]);
    say(`artifacts: ${manifest.artifactFiles} files into ${opts.artifactDir}`);
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
