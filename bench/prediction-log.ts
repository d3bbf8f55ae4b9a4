// Benchmark: what the prediction log costs PostgreSQL per logged request, the previous version against the
// current one in the same run. Under load the database shares the machine with the API, so every CPU
// microsecond PostgreSQL spends on the log is one the predictions do not get.
//   previous: `request`/`response` as `jsonb` (default storage: pglz-compressed when large), schema of
//             db/migrations/0001_prediction_log.sql, each batch sent as one JSON document unpacked by
//             jsonb_to_recordset;
//   current:  the schema the real migrations build (0000..0002: `json`, STORAGE EXTERNAL), and the real
//             statement, predictionLogInsert() (one multi-row VALUES, the JSON texts as parameters).
// Both versions insert the same entries: what the API logs for football predict requests of --rows rows
// (request body as a client sends it, response written by the API's own predictionsJsonWriter).
// Measured per version, over the inserts plus a CHECKPOINT (so the page writes they cause are counted):
// CPU of the whole PostgreSQL server (postmaster and every process it started, from /proc, exited ones
// included), CPU of this process (building and sending the statements), wall time of the inserts, growth of
// the table with its indexes and TOAST, and WAL written. Rounds interleave the versions, each on a fresh
// database of one embedded PostgreSQL server; the medians are reported.
// Run: npm run bench:prediction-log  (or: npx tsx bench/prediction-log.ts --rounds 1 --entries 2000 --rows 1)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import pg from 'pg';
import type { QueuedEntry } from '../serving/prediction-log.js';
import { predictionLogInsert } from '../serving/prediction-log-insert.js';
import { migrateDatabase } from '../db/migrate.js';
import { predictionsJsonWriter } from '../serving/predictor.js';
import { mulberry32 } from '../data/prng.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../app/embedded-postgres.js';
import { createLogger } from '../runtime/logger.js';
import { freePort } from '../app/free-port.js';
import { intArg } from './options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '6000' },
    // The API's batch size (BATCH in serving/prediction-log.ts, not exported).
    batch: { type: 'string', default: '200' },
    rows: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/prediction-log.ts [--entries N (100-100000)] [--batch N (1-1000)] [--rows N (1-1000)] [--rounds N (1-9)]\n' +
    '  --entries  logged requests inserted per version and round, after one warm-up batch (default 6000)\n' +
    '  --batch    entries per INSERT (default 200, what the API\'s writer sends)\n' +
    '  --rows     instances per logged predict request (default 100; 1 for single-row requests)\n' +
    '  --rounds   measure previous and current this many times, interleaved; report the medians (default 3)');
  process.exit(0);
}
const ENTRIES = intArg('entries', values.entries!, 100, 100_000);
const BATCH = intArg('batch', values.batch!, 1, 1000);
const ROWS = intArg('rows', values.rows!, 1, 1000);
const ROUNDS = intArg('rounds', values.rounds!, 1, 9);
// Every entry is generated up front (generating inside a window would count as insert cost): about 200
// bytes of JSON per request row, held twice over while the statements are built.
const MAX_HELD_ROWS = 2_000_000;
if ((ENTRIES + BATCH) * ROWS > MAX_HELD_ROWS) {
  console.error(`--entries × --rows is ${((ENTRIES + BATCH) * ROWS).toLocaleString('en-US')} request rows to hold in memory (warm-up batch included); keep it under ${MAX_HELD_ROWS.toLocaleString('en-US')}`);
  process.exit(2);
}
if (!existsSync('/proc/self/stat')) {
  console.error('bench:prediction-log reads PostgreSQL\'s CPU time from /proc and runs on Linux only.');
  process.exit(1);
}
// The unit of /proc's CPU times. Linux fixes it at 100 on every architecture, the fallback if getconf is missing.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

// ---------------------------------------------------------------------------------------------------
// The server and its temporary folder: stopped and removed on every way out.
let tempDir: string | null = null;
let server: EmbeddedPostgresHandle | null = null;
let postmasterPid = 0;
process.on('exit', () => {
  if (!tempDir) return;
  try {
    rmSync(tempDir, { recursive: true, force: true });
  } catch { /* best effort */ }
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};
let cleanup: Promise<void> | null = null;
function shutdown(): Promise<void> {
  cleanup ??= (async () => {
    // A Ctrl-C in a terminal also reaches PostgreSQL, which then exits by itself; stop() would wait for an
    // exit that already happened, so it is skipped then and bounded otherwise.
    if (server && postmasterPid && isAlive(postmasterPid)) await Promise.race([server.stop().catch(() => undefined), sleep(20_000)]);
    server = null;
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    tempDir = null;
  })();
  return cleanup;
}
let interrupted = false;
let interruptedAt = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): a signal within a second
    // of the first is the same Ctrl-C. A later one exits at once; the exit hook removes the folder.
    if (interrupted) {
      if (Date.now() - interruptedAt > 1000) process.exit(130);
      return;
    }
    interrupted = true;
    interruptedAt = Date.now();
    console.error(`\n${sig}: stopping PostgreSQL and removing its temporary folder…`);
    const hard = setTimeout(() => process.exit(130), 30_000);
    hard.unref();
    void shutdown().finally(() => process.exit(130));
  });
}


// ---------------------------------------------------------------------------------------------------
// CPU accounting from /proc. An exited backend's time moves into the postmaster's cutime/cstime when it is
// reaped, so postmaster (own + reaped children) + live children covers every process the server ever ran.
// A child exiting between the two reads of one snapshot would be missed or counted twice; nothing in a
// window starts or ends processes (autovacuum is off, the connection stays open), so that does not happen.
function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' '); // [0] is field 3 (state): ppid [1], utime..cstime [11..14]
  } catch {
    return null;
  }
}
const ticksOf = (f: string[]) => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
function serverTicks(): { ticks: number; processes: number } {
  const pm = statFields(postmasterPid);
  if (!pm) throw new Error(`the PostgreSQL postmaster (pid ${postmasterPid}) is gone`);
  let ticks = ticksOf(pm);
  let processes = 1;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f || Number(f[1]) !== postmasterPid) continue;
    ticks += ticksOf(f);
    processes++;
  }
  return { ticks, processes };
}
/** Busy CPU seconds of the whole machine, to tell how much else ran beside the benchmark. */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / CLK_TCK; // minus idle and iowait
}

// ---------------------------------------------------------------------------------------------------
// The workload: the same seeded entries for both versions, so their figures differ by storage and statement only.
const TEAMS = ['Arsenal', 'Bournemouth', 'Brighton & Hove Albion', 'Burnley', 'Chelsea', 'Crystal Palace', 'Everton',
  'Huddersfield Town', 'Leicester City', 'Liverpool', 'Manchester City', 'Manchester United', 'Newcastle United',
  'Southampton', 'Stoke City', 'Swansea City', 'Tottenham Hotspur', 'Watford', 'West Bromwich Albion', 'West Ham United'];
const CLASSES = ['home', 'draw', 'away'];
const SEASON_START = Date.UTC(2017, 7, 12);
const DAY = 86_400_000;
// Fixed, so that reruns log identical rows (`at` included).
const LOG_START = Date.UTC(2026, 0, 5, 9);

function buildEntries(count: number, rows: number): QueuedEntry[] {
  const rand = mulberry32(20_170_812);
  const writePredictions = predictionsJsonWriter(CLASSES);
  const entries: QueuedEntry[] = new Array(count);
  const out = new Float32Array(rows * CLASSES.length);
  for (let i = 0; i < count; i++) {
    const instances: { home_team: string; away_team: string; date: string }[] = [];
    const seen = new Set<string>();
    while (instances.length < rows) {
      const home = TEAMS[Math.floor(rand() * TEAMS.length)];
      const away = TEAMS[Math.floor(rand() * TEAMS.length)];
      const date = new Date(SEASON_START + Math.floor(rand() * 280) * DAY).toISOString().slice(0, 10);
      const key = `${home}|${away}|${date}`;
      if (home === away || seen.has(key)) continue;
      seen.add(key);
      instances.push({ home_team: home, away_team: away, date });
    }
    for (let r = 0; r < rows; r++) {
      // Logits with a home advantage, through a softmax: full-precision float32s, as the network outputs.
      const l = [0.35 + (rand() - 0.5) * 2.5, -0.2 + (rand() - 0.5) * 1.2, (rand() - 0.5) * 2.5];
      const e = l.map(Math.exp);
      const sum = e[0] + e[1] + e[2];
      for (let j = 0; j < 3; j++) out[r * 3 + j] = e[j] / sum;
    }
    entries[i] = {
      entry: {
        model: 'football', version: 1, alias: 'production', rows,
        latencyMs: 0.4 + rand() * rows * 0.05,
        requestJson: JSON.stringify({ instances }),
        responseJson: `{"model":"football","version":1,"alias":"production","predictions":${writePredictions(out, rows)}}`,
      },
      at: LOG_START + i * 10,
    };
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// The two versions.
type Statement = { text: string; values: unknown[] };
interface Version {
  name: 'previous' | 'current';
  label: string;
  /** Builds prediction_log in an empty database. */
  createSchema(url: string): Promise<void>;
  insert(batch: readonly QueuedEntry[]): Statement;
  /** Column type and attstorage the schema must end up with, checked so the run measures what it says. */
  expected: { type: string; storage: string };
}

const PREVIOUS_INSERT =
  'INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response) ' +
  'SELECT model, version, alias, rows, latency_ms, at, request, response FROM jsonb_to_recordset($1::jsonb) ' +
  'AS x(model text, version int, alias text, rows int, latency_ms float8, at timestamptz, request jsonb, response jsonb)';

/** The writer before migration 0002: the whole batch as one JSON array, the bodies spliced in as they are. */
function previousInsert(batch: readonly QueuedEntry[]): Statement {
  const docs = batch.map(({ entry: e, at }) =>
    `{"model":${JSON.stringify(e.model)},"version":${e.version},"alias":${JSON.stringify(e.alias)},"rows":${e.rows},` +
    `"latency_ms":${e.latencyMs},"at":"${new Date(at).toISOString()}","request":${e.requestJson},"response":${e.responseJson}}`);
  return { text: PREVIOUS_INSERT, values: [`[${docs.join(',')}]`] };
}

async function withClient<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  // Without a listener, the error a client emits when the server goes away (Ctrl-C) would crash the process
  // before the orderly shutdown; the failing query reports it anyway.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await use(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const VERSIONS: Version[] = [
  {
    name: 'previous',
    label: 'previous: `jsonb` (pglz), one `jsonb_to_recordset` document per batch',
    // Migration 0001 itself (it stands alone), run statement by statement as the migrator does.
    createSchema: async (url) => {
      const sql = await readFile(join(ROOT, 'db', 'migrations', '0001_prediction_log.sql'), 'utf8');
      await withClient(url, async (c) => {
        for (const stmt of sql.split('--> statement-breakpoint')) if (stmt.trim()) await c.query(stmt);
      });
    },
    insert: previousInsert,
    expected: { type: 'jsonb', storage: 'x' },
  },
  {
    name: 'current',
    label: 'current: `json` STORAGE EXTERNAL (migrations 0000–0002), `predictionLogInsert`: multi-row `VALUES`',
    createSchema: (url) => migrateDatabase(url),
    insert: (batch) => predictionLogInsert(batch),
    expected: { type: 'json', storage: 'e' },
  },
];

// ---------------------------------------------------------------------------------------------------
interface Measurement {
  pgUsPerEntry: number; clientUsPerEntry: number; insertMs: number; diskMB: number; walMB: number;
  pgTicks: number; windowSeconds: number; otherBusySeconds: number;
}

async function measure(v: Version, round: number, entries: QueuedEntry[]): Promise<Measurement> {
  const db = `prediction_log_${v.name}_${round}`;
  await server!.createDatabase(db);
  const url = server!.urlFor(db);
  await v.createSchema(url);
  const measured = entries.slice(0, ENTRIES);
  const warmUp = entries.slice(ENTRIES);
  const result = await withClient(url, async (c) => {
    const columns = (await c.query<{ attname: string; type: string; attstorage: string }>(
      `SELECT attname, format_type(atttypid, atttypmod) AS type, attstorage FROM pg_attribute
       WHERE attrelid = 'prediction_log'::regclass AND attname IN ('request', 'response')`)).rows;
    for (const col of columns) {
      if (col.type !== v.expected.type || col.attstorage !== v.expected.storage) {
        throw new Error(`${v.name}: prediction_log.${col.attname} is ${col.type} (storage ${col.attstorage}), expected ${v.expected.type} (storage ${v.expected.storage})`);
      }
    }
    if (columns.length !== 2) throw new Error(`${v.name}: prediction_log has no request/response columns`);

    // Plan and catalog caches and the first TOAST pages belong to the first batch of a connection, not to
    // the steady state the log runs in.
    await c.query(v.insert(warmUp));
    await c.query('CHECKPOINT');
    const size0 = Number((await c.query(`SELECT pg_total_relation_size('prediction_log') AS s`)).rows[0].s);
    const lsn0 = (await c.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;

    const server0 = serverTicks();
    const client0 = process.cpuUsage();
    const machine0 = machineBusySeconds();
    const t0 = performance.now();
    let lastReport = t0;
    for (let i = 0; i < measured.length; i += BATCH) {
      await c.query(v.insert(measured.slice(i, i + BATCH)));
      if (performance.now() - lastReport > 2000) {
        lastReport = performance.now();
        console.log(`    ${v.name}: ${Math.min(i + BATCH, measured.length).toLocaleString('en-US')} of ${measured.length.toLocaleString('en-US')} entries…`);
      }
    }
    const insertMs = performance.now() - t0;
    await c.query('CHECKPOINT');
    const client1 = process.cpuUsage(client0);
    const server1 = serverTicks();
    const machine1 = machineBusySeconds();
    const windowSeconds = (performance.now() - t0) / 1000;

    const lsn1 = (await c.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
    const walBytes = Number((await c.query('SELECT pg_wal_lsn_diff($1, $2) AS d', [lsn1, lsn0])).rows[0].d);
    const size1 = Number((await c.query(`SELECT pg_total_relation_size('prediction_log') AS s`)).rows[0].s);

    const n = (await c.query('SELECT count(*)::int AS n FROM prediction_log')).rows[0].n as number;
    if (n !== entries.length) throw new Error(`${v.name}: prediction_log holds ${n} rows after inserting ${entries.length}`);
    // A measured entry read back: what the log keeps must be what the API received and answered.
    const probe = measured[Math.floor(measured.length / 2)];
    const row = (await c.query('SELECT request, response FROM prediction_log WHERE at = $1', [new Date(probe.at).toISOString()])).rows;
    if (row.length !== 1) throw new Error(`${v.name}: ${row.length} rows logged at ${new Date(probe.at).toISOString()}, expected 1`);
    if (!isDeepStrictEqual(row[0].request, JSON.parse(probe.entry.requestJson))) throw new Error(`${v.name}: the request read back differs from the one logged`);
    if (!isDeepStrictEqual(row[0].response, JSON.parse(probe.entry.responseJson))) throw new Error(`${v.name}: the response read back differs from the one logged`);
    const stored = (await c.query('SELECT avg(pg_column_size(request))::int AS q, avg(pg_column_size(response))::int AS r FROM prediction_log')).rows[0];

    const pgTicks = server1.ticks - server0.ticks;
    const pgSeconds = pgTicks / CLK_TCK;
    const clientSeconds = (client1.user + client1.system) / 1e6;
    const m: Measurement = {
      pgUsPerEntry: (pgSeconds * 1e6) / measured.length,
      clientUsPerEntry: (clientSeconds * 1e6) / measured.length,
      insertMs,
      diskMB: (size1 - size0) / 1048576,
      walMB: walBytes / 1048576,
      pgTicks,
      windowSeconds,
      otherBusySeconds: Math.max(0, machine1 - machine0 - pgSeconds - clientSeconds),
    };
    console.log(`  ${v.name.padEnd(8)} ${measured.length.toLocaleString('en-US')} entries in ${(insertMs / 1000).toFixed(2)} s: ` +
      `PG CPU ${m.pgUsPerEntry.toFixed(0)} µs/entry (${server1.processes} processes), client ${m.clientUsPerEntry.toFixed(0)} µs/entry, ` +
      `+${m.diskMB.toFixed(1)} MB, WAL ${m.walMB.toFixed(1)} MB; stored per row: request ${stored.q} B, response ${stored.r} B; read-back matches` +
      (pgTicks < 100 ? ` — only ${pgTicks} clock ticks of PostgreSQL CPU: raise --entries for a steadier figure` : ''));
    return m;
  });
  // Only one round's data on disk at a time.
  await withClient(server!.adminUrl, (c) => c.query(`DROP DATABASE ${c.escapeIdentifier(db)}`));
  return result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  tempDir = await mkdtemp(join(tmpdir(), 'mlp-bench-pglog-'));
  // As root the server runs as the `postgres` user, which must reach its data folder.
  await chmod(tempDir, 0o755);
  const dataDir = join(tempDir, 'pg');
  const port = await freePort();
  console.log(`starting embedded PostgreSQL on 127.0.0.1:${port} in ${dataDir}…`);
  server = await startEmbeddedPostgres({ dir: dataDir, port, logger: createLogger('error') });
  postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const info = await withClient(server.adminUrl, async (c) => {
    // Autovacuum would visit the tables at a moment set by its one-minute timer, inside one window and not
    // another; off, every window counts the same work: the inserts and the checkpoint.
    await c.query('ALTER SYSTEM SET autovacuum = off');
    await c.query('SELECT pg_reload_conf()');
    return {
      version: ((await c.query('SELECT version() AS v')).rows[0].v as string).replace(/, compiled by.*$/, ''),
      compression: (await c.query('SHOW default_toast_compression')).rows[0].default_toast_compression as string,
    };
  });
  console.log(`  ${info.version}, postmaster pid ${postmasterPid}, default_toast_compression=${info.compression}, autovacuum off`);

  console.log(`generating ${(ENTRIES + BATCH).toLocaleString('en-US')} log entries of ${ROWS}-row football predict requests (${BATCH} of them the warm-up batch)…`);
  const entries = buildEntries(ENTRIES + BATCH, ROWS);
  const avgKB = (key: 'requestJson' | 'responseJson') => entries.reduce((s, e) => s + e.entry[key].length, 0) / entries.length / 1024;
  const requestKB = avgKB('requestJson');
  const responseKB = avgKB('responseJson');
  console.log(`  request ≈ ${requestKB.toFixed(2)} KB, response ≈ ${responseKB.toFixed(2)} KB of JSON per entry`);

  const results: Record<Version['name'], Measurement[]> = { previous: [], current: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternating which version goes first keeps a drift of the machine from always favouring one of them.
    const order = round % 2 === 1 ? VERSIONS : [...VERSIONS].reverse();
    console.log(`round ${round} of ${ROUNDS} (${order.map((v) => v.name).join(', then ')}):`);
    for (const v of order) results[v.name].push(await measure(v, round, entries));
  }

  const med = (name: Version['name'], key: keyof Measurement) => median(results[name].map((m) => m[key]));
  const ratio = med('previous', 'pgUsPerEntry') / med('current', 'pgUsPerEntry');
  const all = [...results.previous, ...results.current];
  const otherCores = all.reduce((s, m) => s + m.otherBusySeconds, 0) / all.reduce((s, m) => s + m.windowSeconds, 0);

  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'api', 'db', 'models', 'runtime', 'bench/prediction-log.ts') !== '';
  const cmd = `npm run bench:prediction-log${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  console.log(`\n## Prediction log: PostgreSQL cost per logged request\n`);
  console.log(`Command: \`${cmd}\` (starts its own embedded PostgreSQL in a temporary folder; per version and round, a fresh`);
  console.log(`database, one warm-up batch, then ${fmt(ENTRIES)} entries in batches of ${BATCH}; ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, the versions interleaved; each column is the median over the rounds).`);
  console.log(`Measured ${new Date().toISOString().slice(0, 10)}, commit ${commit}${dirty ? ' + uncommitted changes' : ''}; Node ${process.version}, ${info.version}, ${cpus().length} cores.`);
  console.log(`Workload: what the API logs for a ${ROWS}-row \`POST /v1/models/football/predict\` (request ≈ ${requestKB.toFixed(1)} KB, response ≈ ${responseKB.toFixed(1)} KB of JSON,`);
  console.log(`seeded, the same entries for both versions). PG CPU: the postmaster and every process it ran (backend, checkpointer, WAL writer, …),`);
  console.log(`from /proc, over the inserts and a CHECKPOINT; client CPU: this process building and sending the statements; wall: the inserts`);
  console.log(`only; MB on disk: growth of the table with its index and TOAST; WAL: bytes of WAL written, checkpoint included. Autovacuum off.\n`);
  console.log('| version | PG CPU µs/entry | client CPU µs/entry | wall ms | MB on disk | WAL MB |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const v of VERSIONS) {
    console.log(`| ${v.label} | ${fmt(med(v.name, 'pgUsPerEntry'))} | ${fmt(med(v.name, 'clientUsPerEntry'))} | ${fmt(med(v.name, 'insertMs'))} | ` +
      `${med(v.name, 'diskMB').toFixed(1)} | ${med(v.name, 'walMB').toFixed(1)} |`);
  }
  console.log(`\nRatio previous / current PostgreSQL CPU per entry: **${ratio.toFixed(2)}**` +
    (ROUNDS > 1 ? ` (round by round: ${results.previous.map((p, i) => (p.pgUsPerEntry / results.current[i].pgUsPerEntry).toFixed(2)).join(', ')})` : ''));
  console.log(`Other load on the machine during the measured windows: ${otherCores.toFixed(2)} cores on average` +
    `${otherCores > 0.25 ? ' — **the machine was not idle; wall times are inflated, CPU per entry less so**' : ''}.`);
}

try {
  await main();
  await shutdown();
  process.exit(0);
} catch (err) {
  if (!interrupted) console.error(`\nbench:prediction-log failed: ${(err as Error).stack ?? err}`);
  await shutdown();
  process.exit(interrupted ? 130 : 1);
}
