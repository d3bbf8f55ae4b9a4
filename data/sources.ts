// Reads a pipeline's source into a Polars frame: a bundled vega-datasets file, a local file or URL, or SQL.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import pl from 'nodejs-polars';
import type pg from 'pg';
import type { PipelineSpec } from '../pipelines/spec.js';
import { PipelineInputError } from './pipeline-error.js';

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

export async function loadSource(source: Source, deps: { pool: pg.Pool }): Promise<pl.DataFrame> {
  switch (source.kind) {
    case 'bundled':
      return readFile(resolveBundled(source.dataset));
    case 'file':
      if (/^https?:\/\//.test(source.path)) return readUrl(source.path, source.format);
      if (!existsSync(source.path)) throw new PipelineInputError('InvalidSource', `source file ${source.path} does not exist on the worker`);
      return readFile(source.path, source.format);
    case 'sql':
      return readSql(source.query, deps.pool);
  }
}

function formatOf(path: string, explicit?: Format): Format {
  if (explicit) return explicit;
  const ext = extname(path.split('?')[0]).slice(1).toLowerCase();
  if (ext === 'csv' || ext === 'json' || ext === 'parquet') return ext;
  throw new PipelineInputError('InvalidSource', `cannot tell the format of ${path}; set source.format to csv, json or parquet`);
}

export function readFile(path: string, explicit?: Format): pl.DataFrame {
  const format = formatOf(path, explicit);
  try {
    if (format === 'csv') return pl.readCSV(path, { inferSchemaLength: 10_000 });
    if (format === 'parquet') return pl.readParquet(path);
    return pl.readJSON(path, { format: 'json', inferSchemaLength: 10_000 });
  } catch (err) {
    throw new PipelineInputError('InvalidSource', `could not read ${path} as ${format}: ${(err as Error).message}`);
  }
}

async function readUrl(url: string, explicit?: Format): Promise<pl.DataFrame> {
  // Network faults are transient (a plain Error: the activity retries); a 4xx is the spec's fault.
  const res = await fetch(url);
  if (res.status >= 400 && res.status < 500) throw new PipelineInputError('InvalidSource', `GET ${url} answered ${res.status}`);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const dir = await mkdtemp(join(tmpdir(), 'mlp-src-'));
  const format = formatOf(url, explicit);
  const file = join(dir, `source.${format}`);
  try {
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return readFile(file, format);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readSql(query: string, pool: pg.Pool): Promise<pl.DataFrame> {
  const client = await pool.connect();
  try {
    // A read-only transaction: a pipeline's query can never change the registry.
    await client.query('BEGIN READ ONLY');
    const res = await client.query(query).catch((err: Error & { code?: string }) => {
      // Syntax errors and missing tables (SQLSTATE class 42) are the spec's fault.
      if (err.code?.startsWith('42')) throw new PipelineInputError('InvalidSource', `SQL source failed: ${err.message}`);
      throw err;
    });
    if (res.rows.length === 0) throw new PipelineInputError('InvalidSource', 'SQL source returned no rows');
    return pl.DataFrame(res.rows.map(normalizeSqlRow));
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

function normalizeSqlRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    // pg returns NUMERIC/BIGINT as strings to keep precision; models want numbers.
    out[k] = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v instanceof Date ? v.toISOString() : v;
  }
  return out;
}
