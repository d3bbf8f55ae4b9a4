// Reads a pipeline's source into a Polars frame: a bundled vega-datasets file, a local file under the allowed
// roots (source-files.ts) or an http(s) URL to a public address (source-urls.ts), or SQL (as a read-only
// role, on its own pool: see readSql).
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import pl from 'nodejs-polars';
import { DatabaseError, type Pool, type QueryConfig } from 'pg';
import type { IngestionReport } from '../pipelines/contract.js';
import { isUrlPath, type PipelineSpec, type ReadOptions } from '../pipelines/spec.js';
import { dtypeName } from './frame-columns.js';
import { readCsvText } from './ingest.js';
import { textRules } from './text-values.js';
import type { Logger } from '../runtime/logger.js';
import { PipelineInputError } from './pipeline-error.js';
import { openAllowedFile } from './source-files.js';
import { downloadUrl, shownUrl, type UrlSourceAccess } from './source-urls.js';

type Source = PipelineSpec['source'];
type Format = 'csv' | 'json' | 'parquet';

// The package exports only its JS entry (build/index.js); its data folder sits beside build/.
const vegaDataDir = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');

export function bundledDatasets(): string[] {
  return readdirSync(vegaDataDir).filter((f) => /\.(csv|json|parquet)$/.test(f)).sort();
}

export function resolveBundled(dataset: string): string {
  const candidates = extname(dataset) ? [dataset] : [`${dataset}.json`, `${dataset}.csv`, `${dataset}.parquet`];
  for (const c of candidates) {
    const p = join(vegaDataDir, c);
    if (existsSync(p)) return p;
  }
  throw new PipelineInputError('InvalidSource', `bundled dataset "${dataset}" does not exist; available: ${bundledDatasets().join(', ')}`);
}

/** What `file` sources may read: local folders, and the platform's own data they never read. */
export interface FileSourceAccess {
  /** SOURCE_FILE_ROOTS (the bundled vega-datasets folder is added to them). */
  roots: string[];
  artifactDir: string;
  dataDir: string;
}

/** How sources reach their data, and their limits; wired once by the worker. */
export interface SourceAccess {
  sql: SqlSourceAccess;
  files: FileSourceAccess;
  urls: UrlSourceAccess;
  /** Where a reader's full error goes (it can quote the data); messages of failures never do. */
  logger: Logger;
}

/** A source's rows, and how they were read. */
export interface LoadedSource {
  df: pl.DataFrame;
  ingestion: IngestionReport;
}

export async function loadSource(source: Source, access: SourceAccess): Promise<LoadedSource> {
  switch (source.kind) {
    case 'bundled': {
      const path = resolveBundled(source.dataset);
      return readBytes(await readFile(path), formatOf(path), {}, access.logger, source.dataset);
    }
    case 'file':
      if (isUrlPath(source.path)) return readUrl(source, access);
      return readLocalFile(source, access);
    case 'sql':
      return typed(await readSql(source.query, access.sql), 'sql');
  }
}

/** How much of a text file the check before saving a pipeline reads. */
const SAMPLE_BYTES = 1 << 20;

/**
 * The columns of a source, from a bounded sample, as a run would read them (within the same file roots and
 * SQL role): the check of a pipeline before it is saved. Null for a URL, which is fetched only by a run.
 * Refusals are the run's own (PipelineInputError), so the spec's author sees now what the run would say.
 */
export async function sourceColumns(source: Source, access: SourceAccess): Promise<string[] | null> {
  switch (source.kind) {
    case 'bundled':
      return (await loadSource(source, access)).df.columns;
    case 'sql':
      return sqlColumns(source.query, access.sql);
    case 'file': {
      if (isUrlPath(source.path)) return null;
      const file = await openAllowedFile(source.path, filePolicy(access), 'source');
      try {
        const head = Buffer.alloc(SAMPLE_BYTES);
        const { bytesRead } = await file.handle.read(head, 0, SAMPLE_BYTES, 0);
        const sample = head.subarray(0, bytesRead);
        const format = formatOf(source.path, source.format) ?? sniffFormat(sample);
        if (format === 'parquet') {
          // One row decoded: the schema is what is asked.
          const bytes = await file.handle.readFile();
          try {
            return pl.readParquet(bytes, { nRows: 1 }).columns;
          } catch {
            return readBytes(bytes, format, {}, access.logger, source.path).df.columns;
          }
        }
        if (format === 'json') return readBytes(await file.handle.readFile(), format, {}, access.logger, source.path).df.columns;
        if (bytesRead < SAMPLE_BYTES) return readBytes(sample, 'csv', source.read ?? {}, access.logger, source.path).df.columns;
        // Whole lines only: a cut line could read as a different number of fields. A cut inside a quoted
        // field spanning lines can still make the sample unreadable: then the header alone names the columns.
        try {
          return readBytes(sample.subarray(0, sample.lastIndexOf(0x0a) + 1), 'csv', source.read ?? {}, access.logger, source.path).df.columns;
        } catch (err) {
          if (!(err instanceof PipelineInputError) || err.type !== 'InvalidSource') throw err;
          return readBytes(sample.subarray(0, sample.indexOf(0x0a) + 1), 'csv', source.read ?? {}, access.logger, source.path).df.columns;
        }
      } finally {
        await file.close();
      }
    }
  }
}

/** The format a source declares, else its extension's; null: to be told by the content. */
function formatOf(path: string, explicit?: Format): Format | null {
  if (explicit) return explicit;
  const ext = extname(path.split('?')[0]).slice(1).toLowerCase();
  return ext === 'csv' || ext === 'json' || ext === 'parquet' ? ext : null;
}

/** Parquet by its magic bytes, JSON by its first character, else CSV. */
function sniffFormat(bytes: Buffer): Format {
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const first = bytes.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

type FileSource = Extract<Source, { kind: 'file' }>;

/** What a `file` source may open: the roots and the bundled datasets, never the platform's own data. */
function filePolicy(access: SourceAccess) {
  return {
    roots: [...access.files.roots, vegaDataDir], artifactDir: access.files.artifactDir, dataDir: access.files.dataDir,
    what: 'source file', setting: 'SOURCE_FILE_ROOTS',
  };
}

async function readLocalFile(source: FileSource, access: SourceAccess): Promise<LoadedSource> {
  const file = await openAllowedFile(source.path, filePolicy(access), 'source');
  try {
    // Read through the handle that was checked, whatever the path points at now.
    return readBytes(await file.handle.readFile(), formatOf(source.path, source.format), source.read ?? {}, access.logger, source.path);
  } finally {
    await file.close();
  }
}

/**
 * Reads a file's bytes as `format` (null: told by the content). CSV through data/ingest.ts; Parquet and JSON
 * keep their types. Polars' own message can quote the file's contents (a column name, the value it could
 * not parse): it goes to the worker log, the failure says only what failed.
 */
export function readBytes(bytes: Buffer, declared: Format | null, read: ReadOptions, logger: Logger, shown: string): LoadedSource {
  const format = declared ?? sniffFormat(bytes);
  try {
    if (format === 'csv') return readCsvText(bytes, read);
    const df = format === 'parquet' ? pl.readParquet(bytes) : pl.readJSON(bytes, { format: 'json', inferSchemaLength: 10_000 });
    return typed(df, format);
  } catch (err) {
    if (err instanceof PipelineInputError) throw err;
    logger.warn({ err, source: shown, format }, 'polars could not read a source');
    throw new PipelineInputError('InvalidSource',
      `could not read ${shown} as ${format}${declared ? '' : ' (told by its content; set source.format if it is another)'}: it is not valid ${format} that polars can read (the reader's message is in the worker log: it can quote the data)${format === 'csv' ? `; it was read with delimiter ${JSON.stringify(read.delimiter ?? ',')} (source.read.delimiter)` : ''}`,
      { format });
  }
}

/** The report of a typed source (Parquet, JSON, SQL): its columns as stored, nothing changed. */
function typed(df: pl.DataFrame, format: IngestionReport['format']): LoadedSource {
  const columnTypes = Object.fromEntries(df.columns.map((c) => [c, dtypeName(df.getColumn(c).dtype)]));
  // Typed sources kept their values: a value such as "NA" was a category in training, and stays one.
  return { df, ingestion: { format, blankRowsIgnored: 0, columnTypes, coercions: [], text: { ...textRules({ nullValues: [] }), trim: false } } };
}

async function readUrl(source: FileSource, access: SourceAccess): Promise<LoadedSource> {
  const dir = await mkdtemp(join(tmpdir(), 'mlp-src-'));
  const file = join(dir, 'source');
  try {
    await downloadUrl(source.path, source.headers, access.urls, file);
    return readBytes(await readFile(file), formatOf(shownUrl(source.path), source.format), source.read ?? {}, access.logger, shownUrl(source.path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How `sql` sources reach Postgres, and the limits of one query. */
export interface SqlSourceAccess {
  /** Logs in as the read-only source role (SOURCE_DATABASE_URL); null when none is configured. */
  pool: Pool | null;
  /** SOURCE_STATEMENT_TIMEOUT_MS */
  statementTimeoutMs: number;
  /** SOURCE_MAX_ROWS */
  maxRows: number;
}

const WRAP_HEAD = 'SELECT * FROM (\n';

/**
 * The statement sent for a spec's query: the query (trailing semicolons dropped) as a subquery, with a LIMIT
 * one past the cap, so a source with too many rows is refused after reading cap + 1 of them, not all. The
 * closing parenthesis sits on a new line, so a trailing `--` comment cannot swallow it; a query that closes
 * the parenthesis itself makes several statements, which the extended protocol refuses.
 */
export function wrapSourceQuery(query: string, maxRows: number): string {
  return `${WRAP_HEAD}${trimQuery(query)}\n) AS source LIMIT ${maxRows + 1}`;
}

const trimQuery = (query: string) => query.replace(/[\s;]+$/, '');

async function readSql(query: string, access: SqlSourceAccess): Promise<pl.DataFrame> {
  const res = await sourceQuery(query, access, access.maxRows);
  if (res.rows.length > access.maxRows) {
    throw new PipelineInputError('InvalidSource',
      `the SQL source returns more than ${access.maxRows} rows (SOURCE_MAX_ROWS); aggregate or filter in the query, or raise SOURCE_MAX_ROWS on the worker`,
      { maxRows: access.maxRows });
  }
  if (res.rows.length === 0) throw new PipelineInputError('InvalidSource', 'SQL source returned no rows');
  return pl.DataFrame(res.rows.map(normalizeSqlRow));
}

/**
 * Runs a spec's query, wrapped to return at most `limit` + 1 rows, in a session of its own: the source role's
 * login, read-only, bounded in time, one statement.
 */
async function sourceQuery(query: string, access: SqlSourceAccess, limit: number) {
  if (!access.pool) {
    throw new PipelineInputError('InvalidSource',
      'SQL sources are not enabled on this platform: set SOURCE_DATABASE_URL (or SOURCE_DATABASE_URL_FILE) on the worker to a login of a ' +
      'read-only role that may read only schema source_data, such as mlp_source_reader (db/migrations/0003_source_reader.sql)');
  }
  // A connection fault is a plain error: the activity retries it.
  const client = await access.pool.connect();
  try {
    // Belt and braces over the role's privileges: read-only, bounded in time and in rows, one statement.
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.trunc(access.statementTimeoutMs)}`);
    // The extended protocol (Parse/Bind/Execute) takes exactly one statement; the simple protocol would run
    // `select 1; commit; drop table ...` as three. The option is missing from @types/pg.
    return await client.query({ text: wrapSourceQuery(query, limit), queryMode: 'extended' } as QueryConfig).catch((err: unknown) => {
      throw classifySqlError(err, query, access);
    });
  } finally {
    // Never reused: closing the connection rolls its transaction back and drops whatever else the query
    // left in its session (a session advisory lock, a LISTEN, a setting).
    client.release(true);
  }
}

/** The columns a SQL source's query returns, from its description (planned with LIMIT 0: no row is read). */
async function sqlColumns(query: string, access: SqlSourceAccess): Promise<string[]> {
  return (await sourceQuery(query, access, -1)).fields.map((f) => f.name);
}

/**
 * Faults of the query become InvalidSource with a message a person can act on; anything else (the server
 * went away, a serialization failure) stays a plain error and is retried. Messages never quote rows: pg's
 * own message only where it names objects of the query (syntax, names, privileges), never for data errors.
 */
function classifySqlError(err: unknown, query: string, access: SqlSourceAccess): unknown {
  if (!(err instanceof DatabaseError) || !err.code) return err;
  const code = err.code;
  const details = { sqlstate: code };
  if (code === '57014') {
    return new PipelineInputError('InvalidSource',
      `the SQL source ran longer than ${access.statementTimeoutMs} ms (SOURCE_STATEMENT_TIMEOUT_MS) and was cancelled; select less, or raise SOURCE_STATEMENT_TIMEOUT_MS on the worker`,
      details);
  }
  if (code.startsWith('22')) {
    // Data exceptions (a bad cast, division by zero) quote the offending value: the code only.
    return new PipelineInputError('InvalidSource',
      `the SQL source failed on its data with SQLSTATE ${code} (a data exception; the database's message is not shown because it can quote values)`,
      details);
  }
  // 42: syntax, unknown objects, insufficient privilege; 0A: not supported (a data-modifying WITH in a
  // subquery); 21: cardinality (a scalar subquery with several rows); 54: a limit of the server (too many
  // columns, too complex); 25006: a write in the read-only transaction.
  if (['42', '0A', '21', '54'].includes(code.slice(0, 2)) || code === '25006') {
    return new PipelineInputError('InvalidSource', `the SQL source was refused (SQLSTATE ${code}): ${err.message}${whereInQuery(err, query)}${HINTS[code] ?? ''}`, details);
  }
  return err;
}

const SCOPE = 'SQL sources run as a read-only role that may read only the tables of schema source_data';
const HINTS: Record<string, string> = {
  '42P01': `; ${SCOPE} (the schema is on its search_path)`,
  '42501': `; ${SCOPE}`,
};

/** Where a syntax error points, in the spec's query (pg counts from 1, in the wrapped text). */
function whereInQuery(err: DatabaseError, query: string): string {
  const trimmed = trimQuery(query);
  if (/multiple commands/.test(err.message)) return `; a SQL source is one SELECT statement`;
  if (!err.position) return '';
  const at = Number(err.position) - 1 - WRAP_HEAD.length;
  if (at < 0 || !Number.isFinite(at)) return '';
  if (at >= trimmed.length) return ' at the end of the query';
  if (trimmed[at] === ';') return ` at character ${at + 1} of the query; a SQL source is one SELECT statement, with no ';' before its end`;
  return ` at character ${at + 1} of the query`;
}

function normalizeSqlRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    // pg returns NUMERIC/BIGINT as strings to keep precision; models want numbers.
    out[k] = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v instanceof Date ? v.toISOString() : v;
  }
  return out;
}
