// A pipeline's `sql` source is someone else's SQL running inside the platform. It runs as a read-only role
// that may read only schema source_data, on its own pool, in a read-only transaction, as one statement, with
// a statement timeout and a row cap (data/sources.ts). Each attack below is refused with a reason a person
// can act on: 422 when the spec schema can tell, else a non-retryable InvalidSource failure of the run on its
// first attempt. Afterwards the registry and the disk are as they were.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../db/migrate.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';

const TIMEOUT_MS = 1500;
const MAX_ROWS = 500;
/** A value in a source table that no error message may quote. */
const SECRET = 'hunter2-never-in-a-message';
/** Where `COPY ... TO PROGRAM` would leave its mark. */
const marker = join(tmpdir(), `mlp-copy-to-program-${randomBytes(4).toString('hex')}`);

const vegaData = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');
const cars = (JSON.parse(readFileSync(join(vegaData, 'cars.json'), 'utf8')) as Record<string, unknown>[]).map((c) => ({
  name: c.Name, mpg: c.Miles_per_Gallon, cylinders: c.Cylinders, horsepower: c.Horsepower, weight: c.Weight_in_lbs, origin: c.Origin,
}));

let p: TestPlatform;
let before: Record<string, unknown>;

async function registrySnapshot() {
  const r = await p.db.execute(sql`select
    (select count(*) from model_versions)::int as versions,
    (select count(*) from alias_events)::int as moves,
    (select json_agg(json_build_object('model', model_id, 'alias', alias, 'version', version) order by model_id, alias) from aliases) as aliases,
    (select count(*) from runs where status = 'succeeded')::int as succeeded,
    (select count(*) from drizzle.__drizzle_migrations)::int as migrations,
    (select array_agg(tablename::text order by tablename) from pg_tables where schemaname = 'public') as tables`);
  return r.rows[0];
}

const spec = (name: string, query: string) => ({ name, source: { kind: 'sql', query }, target: 'y' });

beforeAll(async () => {
  p = await createTestPlatform({ env: { SOURCE_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS), SOURCE_MAX_ROWS: String(MAX_ROWS) } });
  // Source tables live in source_data; the database owner creates them, the migration's default privileges
  // let the source role read them.
  await p.owner.execute(sql`CREATE TABLE source_data.cars (name text, mpg double precision, cylinders int, horsepower double precision, weight double precision, origin text)`);
  await p.owner.execute(sql`INSERT INTO source_data.cars SELECT * FROM json_populate_recordset(null::source_data.cars, ${JSON.stringify(cars)}::json)`);
  await p.owner.execute(sql`CREATE TABLE source_data.secrets (name text)`);
  await p.owner.execute(sql`INSERT INTO source_data.secrets VALUES (${SECRET})`);
  // A model in production, so the registry has aliases, versions and a succeeded run to lose.
  await p.request('POST', '/v1/pipelines', {
    name: 'cars-sql', source: { kind: 'sql', query: 'SELECT mpg, cylinders, horsepower, weight, origin FROM cars' },
    target: 'mpg', task: 'regression', split: { kind: 'random', testFraction: 0.2, seed: 5 }, quality: { maxMissingTargetFraction: 0.05 },
    model: { hiddenLayers: [16], epochs: 60, learningRate: 0.01, earlyStoppingPatience: 10 },
  });
  const run = await p.runPipeline('cars-sql');
  if (run.error) throw run.error;
  expect(run.result!.promotion.promoted).toBe(true);
  before = await registrySnapshot();
});
afterAll(() => p?.stop());

describe('the source role', () => {
  it('logs in as itself, reads source_data, and holds no privilege on the registry', async () => {
    const reader = new pg.Client({ connectionString: p.config.sources.databaseUrl });
    await reader.connect();
    try {
      const who = await reader.query('select current_user, session_user, current_setting(\'search_path\') as path, (select count(*)::int from cars) as cars');
      expect(who.rows[0]).toEqual({ current_user: 'mlp_source_reader', session_user: 'mlp_source_reader', path: 'source_data', cars: cars.length });
      await expect(reader.query('select * from public.runs')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await reader.end();
    }
    const role = await p.db.execute(sql`select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolconfig from pg_roles where rolname = 'mlp_source_reader'`);
    expect(role.rows[0]).toEqual({
      rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false, rolcanlogin: true, rolconfig: ['search_path=source_data'],
    });
    const memberOf = await p.db.execute(sql`select count(*)::int as n from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = 'mlp_source_reader'`);
    expect(memberOf.rows[0].n).toBe(0);
    const registryGrants = await p.db.execute(sql`
      select n.nspname || '.' || c.relname as relation from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('public', 'drizzle') and c.relkind in ('r', 'p', 'v', 'm')
        and has_table_privilege('mlp_source_reader', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')`);
    expect(registryGrants.rows).toEqual([]);
    const privileges = await p.owner.execute(sql`select
      has_schema_privilege('mlp_source_reader', 'source_data', 'USAGE') as source_usage,
      has_schema_privilege('mlp_source_reader', 'source_data', 'CREATE') as source_create,
      has_schema_privilege('mlp_source_reader', 'public', 'CREATE') as public_create,
      has_schema_privilege('mlp_source_reader', 'drizzle', 'USAGE') as drizzle_usage,
      has_table_privilege('mlp_source_reader', 'source_data.cars', 'SELECT') as cars_select,
      has_table_privilege('mlp_source_reader', 'source_data.cars', 'INSERT, UPDATE, DELETE, TRUNCATE') as cars_write,
      has_function_privilege('mlp_source_reader', 'pg_read_file(text)', 'EXECUTE') as read_file`);
    expect(privileges.rows[0]).toEqual({
      source_usage: true, source_create: false, public_create: false, drizzle_usage: false, cars_select: true, cars_write: false, read_file: false,
    });
  });
});

describe('queries the spec schema refuses (422 at POST /v1/pipelines)', () => {
  it.each([
    ['a statement that is not a query', 'DROP TABLE aliases'],
    ['a write', 'DELETE FROM runs'],
    ['COPY ... TO PROGRAM', `COPY (select 1) TO PROGRAM 'touch ${marker}'`],
    ['SET ROLE', 'SET ROLE postgres'],
  ])('%s', async (_what, query) => {
    const res = await p.request('POST', '/v1/pipelines', spec('refused-at-post', query));
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/only SELECT \/ WITH queries are allowed/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('queries refused when the run reads them: InvalidSource on the first attempt of collect', () => {
  const ONE_STATEMENT = /SQLSTATE 42601\): syntax error at or near ";" at character \d+ of the query; a SQL source is one SELECT statement/;
  const SCOPE = /SQL sources run as a read-only role that may read only the tables of schema source_data/;
  const cases: [string, string, RegExp[]][] = [
    ['several statements: select, commit, drop a registry table', 'select 1 as y; commit; drop table aliases', [ONE_STATEMENT]],
    ['several statements behind a WITH', 'with t as (select 1 as y) select y from t; delete from runs', [ONE_STATEMENT]],
    ['COPY ... TO PROGRAM behind a select', `select 1 as y; copy (select 1) to program 'touch ${marker}'`, [ONE_STATEMENT]],
    ['several statements that close the wrapper\'s parenthesis themselves',
      'select 1 as y) as s; drop table aliases; select * from (select 1 as y',
      [/SQLSTATE 42601\): cannot insert multiple commands into a prepared statement; a SQL source is one SELECT statement/]],
    ['a data-modifying WITH', 'with gone as (delete from public.runs returning id) select id as y from gone',
      [/SQLSTATE 0A000\): WITH clause containing a data-modifying statement must be at the top level/]],
    ['SELECT ... FOR UPDATE (a lock: a write)', 'select mpg as y from cars for update', [/SQLSTATE (25006|42501)\)/]],
    ['a server file: pg_read_file(\'/etc/passwd\')', 'select pg_read_file(\'/etc/passwd\') as y', [/SQLSTATE 42501\): permission denied for function pg_read_file/, SCOPE]],
    ['password hashes: pg_authid', 'select rolname, rolpassword as y from pg_authid', [/SQLSTATE 42501\): permission denied for table pg_authid/, SCOPE]],
    ['a registry table, schema-qualified', 'select * from public.runs', [/SQLSTATE 42501\): permission denied for table runs/, SCOPE]],
    ['a registry table, by its bare name', 'select * from aliases', [/SQLSTATE 42P01\): relation "aliases" does not exist/, /schema source_data \(the schema is on its search_path\)/]],
    ['the migrations table', 'select * from drizzle.__drizzle_migrations', [/SQLSTATE 42501\): permission denied for schema drizzle/]],
    ['becoming the superuser: set_config(\'role\', ...)', 'select set_config(\'role\', \'postgres\', false) as y', [/SQLSTATE 42501\): permission denied to set role "postgres"/]],
    ['becoming the superuser: set_config(\'session_authorization\', ...)', 'select set_config(\'session_authorization\', \'postgres\', false) as y', [/SQLSTATE 42501\): permission denied/]],
    ['a query longer than SOURCE_STATEMENT_TIMEOUT_MS', 'select pg_sleep(30) as y', [new RegExp(`ran longer than ${TIMEOUT_MS} ms \\(SOURCE_STATEMENT_TIMEOUT_MS\\) and was cancelled`)]],
    ['more rows than SOURCE_MAX_ROWS', 'select g as y from generate_series(1, 1000000) g', [new RegExp(`returns more than ${MAX_ROWS} rows \\(SOURCE_MAX_ROWS\\); aggregate or filter in the query`)]],
    ['a data error that would quote a value', 'select name::int as y from secrets', [/failed on its data with SQLSTATE 22P02 \(a data exception; the database's message is not shown/]],
  ];

  // What only executing the query meets (the check before saving plans it with LIMIT 0: no row is read and
  // no expression of the select list is evaluated): its data, its time, its row count, its settings.
  const RUN_ONLY = new Set([
    'a data error that would quote a value', 'a query longer than SOURCE_STATEMENT_TIMEOUT_MS', 'more rows than SOURCE_MAX_ROWS',
    "becoming the superuser: set_config('role', ...)", "becoming the superuser: set_config('session_authorization', ...)",
  ]);

  it.each(cases)('%s', async (what, query, messages) => {
    const name = `attack-${randomBytes(3).toString('hex')}`;
    // The check before saving reads the query's columns (no rows): what it can tell, it refuses now, with
    // the run's own reasons and nothing saved; a data error, a slow or a long answer only a run can meet.
    const checked = await p.request('POST', '/v1/pipelines', spec(name, query));
    if (!RUN_ONLY.has(what)) {
      expect(checked.status, 'refused when saved').toBe(422);
      for (const m of messages) expect(checked.body.error.message).toMatch(m);
      expect(JSON.stringify(checked.body)).not.toContain(SECRET);
      expect((await p.request('GET', `/v1/pipelines/${name}`)).status).toBe(404);
    } else {
      expect(checked.status, 'only a run can meet this one').toBe(201);
    }
    // The run checks again: saved unchecked, it refuses the same source.
    const created = await p.request('POST', '/v1/pipelines?check=false', spec(name, query));
    expect([200, 201]).toContain(created.status);
    const started = Date.now();
    const run = await p.runPipeline(name);
    const { failure, maxAttempt, stage } = await failureOf(p, run);
    expect(failure.type).toBe('InvalidSource');
    expect(failure.message).toMatch(/^collect failed: /);
    for (const m of messages) expect(failure.message).toMatch(m);
    expect(failure.message).not.toContain(SECRET);
    expect(failure.message).not.toMatch(/root:/);
    expect(maxAttempt, 'no retries').toBe(1);
    expect(stage).toBe('collect');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(marker), 'COPY TO PROGRAM ran').toBe(false);
  });
});

describe('what a query leaves in its session dies with it', () => {
  it('a session advisory lock (the migrations\' lock key) is gone after the run: migrations still run', async () => {
    await p.request('POST', '/v1/pipelines?check=false', spec('advisory-lock', 'select pg_advisory_lock(7233001) as locked, 1 as y'));
    const run = await p.runPipeline('advisory-lock');
    // Collect read its one row; the run then fails its quality check (fewer rows than minRows).
    expect(run.error).toBeDefined();
    const locks = await p.db.execute(sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`);
    expect(locks.rows[0].n).toBe(0);
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the migrations waited for a lock a source query took')), 15_000);
    });
    await Promise.race([migrateDatabase(p.ownerDatabaseUrl), stuck]).finally(() => clearTimeout(timer));
  });
});

describe('a platform without a source login', () => {
  it('refuses sql sources, naming SOURCE_DATABASE_URL', async () => {
    const q = await createTestPlatform({ env: { SOURCE_DATABASE_URL: '' } });
    try {
      const checked = await q.request('POST', '/v1/pipelines', spec('no-login', 'select 1 as y'));
      expect(checked.status).toBe(422);
      expect(checked.body.error.message).toMatch(/SQL sources are not enabled on this platform: set SOURCE_DATABASE_URL/);
      await q.request('POST', '/v1/pipelines?check=false', spec('no-login', 'select 1 as y'));
      const run = await q.runPipeline('no-login');
      const cause = (run.error as { cause?: unknown } | undefined)?.cause as ApplicationFailure;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause.type).toBe('InvalidSource');
      expect(cause.message).toMatch(/SQL sources are not enabled on this platform: set SOURCE_DATABASE_URL .* read-only role/);
    } finally {
      await q.stop();
    }
  });
});

describe('after every attack', () => {
  it('the registry is as it was: the same tables, aliases, versions and succeeded runs; every attack run failed', async () => {
    expect(await registrySnapshot()).toEqual(before);
    const runs = await p.db.execute(sql`select status, count(*)::int as n from runs group by status order by status`);
    expect(runs.rows).toEqual([{ status: 'failed', n: 17 }, { status: 'succeeded', n: 1 }]);
    const served = await p.request('POST', '/v1/models/cars-sql/predict', { instances: [{ cylinders: 4, horsepower: 90, weight: 2200, origin: 'Japan' }] });
    expect(served.status).toBe(200);
    expect(existsSync(marker)).toBe(false);
  });
});
