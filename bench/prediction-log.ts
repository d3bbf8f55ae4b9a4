// Benchmark: what the prediction log costs PostgreSQL per logged request, the previous version against the
// current one in the same run. Under load the database shares the machine with the API, so every CPU
// microsecond PostgreSQL spends on the log is one the predictions do not get.
//   previous: one row per request in `prediction_log`, `request`/`response` as `json` STORAGE EXTERNAL (the
//             table as migrations 0000..0002 build it, which the real migrations still do), written by the
//             statement the API sent then, inlined here: one multi-row INSERT … VALUES, eight parameters per
//             entry, the request and response JSON texts among them;
//   current:  one row per insert in `prediction_batches` (migration 0007): what the writer thread
//             (serving/prediction-log-writer.ts) does with a message of entries (group them per model
//             version, JSON.parse each request, PredictionBatchBuilder.add its instances and output, encode
//             the columnar blob), then the real statement, predictionBatchInsert().
// Both versions log the same entries: football predict requests of --rows rows (request body as a client
// sends it, the model output as float32s; the previous version also logs the response, written by the
// API's own predictionsJsonWriter) and --batch entries per INSERT.
// Measured per version, over the inserts plus a CHECKPOINT (so the page writes they cause are counted):
// CPU of the whole PostgreSQL server (postmaster and every process it started, from /proc, exited ones
// included), CPU of this process (for current, building the blobs too: the writer thread's cost in
// production; for both, building and sending the statements), wall time of the inserts, growth of the
// table with its indexes and TOAST, and WAL written. Rounds interleave the versions, each on a fresh
// database of one embedded PostgreSQL server; the medians are reported.
// Run: npm run bench:prediction-log  (or: npx tsx bench/prediction-log.ts --rounds 1 --entries 2000 --rows 1)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import pg from 'pg';
import type { QueuedEntry } from '../serving/prediction-log.js';
import { decodePredictionBatch, type BatchField } from '../serving/prediction-batch.js';
import { encodeQueuedEntries, predictionBatchInsert } from '../serving/prediction-log-insert.js';
import { PredictionIds, parsePredictionId } from '../serving/prediction-ids.js';
import { migrateDatabase } from '../db/migrate.js';
import { predictionsJsonWriter } from '../serving/predictor.js';
import { mulberry32 } from '../data/prng.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../app/embedded-postgres.js';
import { createLogger } from '../runtime/logger.js';
import { freePort } from '../app/free-port.js';
import { intArg } from './options.js';
import { stopOnSignals } from './signals.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '6000' },
    // Entries per INSERT, both versions. The previous writer sent 200 per INSERT; the current one gets a
    // 250 ms flush's worth per message, at most 2000 (BATCH in serving/prediction-log.ts, not exported):
    // 200 is a flush at 800 logged requests/s.
    batch: { type: 'string', default: '200' },
    rows: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/prediction-log.ts [--entries N (100-100000)] [--batch N (1-2000)] [--rows N (1-1000)] [--rounds N (1-9)]\n' +
    '  --entries  logged requests inserted per version and round, after one warm-up batch (default 6000)\n' +
    '  --batch    entries per INSERT, both versions (default 200: what the previous writer sent; the current\n' +
    '             writer gets a 250 ms flush\'s worth, at most 2000: 200 is a flush at 800 logged requests/s)\n' +
    '  --rows     instances per logged predict request (default 100; 1 for single-row requests)\n' +
    '  --rounds   measure previous and current this many times, interleaved; report the medians (default 3)');
  process.exit(0);
}
const ENTRIES = intArg('entries', values.entries!, 100, 100_000);
const BATCH = intArg('batch', values.batch!, 1, 2000);
const ROWS = intArg('rows', values.rows!, 1, 1000);
const ROUNDS = intArg('rounds', values.rounds!, 1, 9);
// Every entry is generated up front (generating inside a window would count as insert cost): about 200
// bytes of request and response JSON per request row, held twice over while a statement is built.
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
const signals = stopOnSignals('stopping PostgreSQL and removing its temporary folder', shutdown);


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
// Fixed, so that reruns log identical rows (`at` and prediction IDs included).
const LOG_START = Date.UTC(2026, 0, 5, 9);
const TOKEN = 'benchlog00';
/** The football model's input schema as the API announces it to the writer thread: `{name, kind}`, in its order. */
const FIELDS: BatchField[] = [
  { name: 'date', kind: 'date' },
  { name: 'home_team', kind: 'categorical' },
  { name: 'away_team', kind: 'categorical' },
  { name: 'division', kind: 'categorical' },
];
const FIELDS_ID = 1;

/** One logged predict request: what the API queues now, plus what the previous log also stored. */
interface BenchEntry {
  queued: QueuedEntry;
  rows: number;
  latencyMs: number;
  /** The answer as the API wrote it (the previous log kept it; the current one keeps the output instead). */
  responseJson: string;
}

function buildEntries(count: number, rows: number): BenchEntry[] {
  const rand = mulberry32(20_170_812);
  const writePredictions = predictionsJsonWriter(CLASSES);
  const ids = new PredictionIds(TOKEN);
  const entries: BenchEntry[] = new Array(count);
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
    // The logged copy of the output, as PredictionLog.record() makes it.
    const out = new Float32Array(rows * CLASSES.length);
    for (let r = 0; r < rows; r++) {
      // Logits with a home advantage, through a softmax: full-precision float32s, as the network outputs.
      const l = [0.35 + (rand() - 0.5) * 2.5, -0.2 + (rand() - 0.5) * 1.2, (rand() - 0.5) * 2.5];
      const e = l.map(Math.exp);
      const sum = e[0] + e[1] + e[2];
      for (let j = 0; j < 3; j++) out[r * 3 + j] = e[j] / sum;
    }
    const latencyMs = 0.4 + rand() * rows * 0.05;
    entries[i] = {
      queued: {
        model: 'football', version: 1, fieldsId: FIELDS_ID, at: LOG_START + i * 10, firstSeq: ids.take(rows),
        requestJson: JSON.stringify({ instances }), output: out, warnings: null,
      },
      rows,
      latencyMs,
      responseJson: `{"model":"football","version":1,"alias":"production","predictions":${writePredictions(out, rows)}}`,
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
  /** The table this version logs into (the migrations build both). */
  table: 'prediction_log' | 'prediction_batches';
  /** Throws unless the schema is the one the run says it measures (column types and storage). */
  checkSchema(c: pg.Client): Promise<void>;
  /** The client side of one INSERT of `batch`: everything the process logging the entries does for it. */
  insert(batch: readonly BenchEntry[]): Statement;
  /**
   * After the measured inserts: throws unless the table holds every entry and a measured one reads back as
   * logged; returns what a row stores, for the log line.
   */
  verify(c: pg.Client, entries: readonly BenchEntry[], measured: readonly BenchEntry[]): Promise<string>;
}

async function checkColumns(c: pg.Client, v: Version['name'], table: string, expected: Record<string, { type: string; storage: string }>): Promise<void> {
  const columns = (await c.query<{ attname: string; type: string; attstorage: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) AS type, attstorage FROM pg_attribute
     WHERE attrelid = $1::regclass AND attname = ANY($2::text[])`, [table, Object.keys(expected)])).rows;
  for (const col of columns) {
    const want = expected[col.attname];
    if (col.type !== want.type || col.attstorage !== want.storage) {
      throw new Error(`${v}: ${table}.${col.attname} is ${col.type} (storage ${col.attstorage}), expected ${want.type} (storage ${want.storage})`);
    }
  }
  if (columns.length !== Object.keys(expected).length) throw new Error(`${v}: ${table} lacks some of the columns ${Object.keys(expected).join(', ')}`);
}

/** The statement the API sent before migration 0007: one row per entry, the bodies as JSON text parameters. */
function previousInsert(batch: readonly BenchEntry[]): Statement {
  const tuples: string[] = new Array(batch.length);
  const values: unknown[] = new Array(batch.length * 8);
  for (let i = 0; i < batch.length; i++) {
    const { queued: q, rows, latencyMs, responseJson } = batch[i];
    const p = i * 8;
    tuples[i] = `($${p + 1},$${p + 2},$${p + 3},$${p + 4},$${p + 5},$${p + 6},$${p + 7},$${p + 8})`;
    values[p] = q.model;
    values[p + 1] = q.version;
    values[p + 2] = 'production';
    values[p + 3] = rows;
    values[p + 4] = latencyMs;
    values[p + 5] = new Date(q.at).toISOString();
    values[p + 6] = q.requestJson;
    values[p + 7] = responseJson;
  }
  return {
    text: `INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response) VALUES ${tuples.join(',')}`,
    values,
  };
}

/** The field lists the writer thread has been told (one `fields` message per loaded version). */
const FIELD_LISTS = new Map<number, { fields: BatchField[]; outputs: number }>([[FIELDS_ID, { fields: FIELDS, outputs: CLASSES.length }]]);

/** What the writer thread does with one message of entries (serving/prediction-log-writer.ts), up to the statement it sends. */
function currentInsert(batch: readonly BenchEntry[]): Statement {
  const { batches, written } = encodeQueuedEntries(batch.map((b) => b.queued), FIELD_LISTS, TOKEN);
  if (written !== batch.length) throw new Error(`${batch.length - written} entries name a field list that was never announced`);
  return predictionBatchInsert(batches);
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
    label: 'previous: a `prediction_log` row per request, `json` STORAGE EXTERNAL (0002), multi-row `VALUES` of the JSON texts',
    table: 'prediction_log',
    checkSchema: (c) => checkColumns(c, 'previous', 'prediction_log', { request: { type: 'json', storage: 'e' }, response: { type: 'json', storage: 'e' } }),
    insert: previousInsert,
    verify: async (c, entries, measured) => {
      const n = (await c.query('SELECT count(*)::int AS n FROM prediction_log')).rows[0].n as number;
      if (n !== entries.length) throw new Error(`previous: prediction_log holds ${n} rows after inserting ${entries.length}`);
      // A measured entry read back: what the log keeps must be what the API received and answered.
      const probe = measured[Math.floor(measured.length / 2)];
      const at = new Date(probe.queued.at).toISOString();
      const row = (await c.query('SELECT request, response FROM prediction_log WHERE at = $1', [at])).rows;
      if (row.length !== 1) throw new Error(`previous: ${row.length} rows logged at ${at}, expected 1`);
      if (!isDeepStrictEqual(row[0].request, JSON.parse(probe.queued.requestJson))) throw new Error('previous: the request read back differs from the one logged');
      if (!isDeepStrictEqual(row[0].response, JSON.parse(probe.responseJson))) throw new Error('previous: the response read back differs from the one logged');
      const stored = (await c.query('SELECT avg(pg_column_size(request))::int AS q, avg(pg_column_size(response))::int AS r FROM prediction_log')).rows[0];
      return `stored per row (entry): request ${stored.q} B, response ${stored.r} B`;
    },
  },
  {
    name: 'current',
    label: 'current: a `prediction_batches` blob per insert (0007), writer thread\'s columns + `predictionBatchInsert`',
    table: 'prediction_batches',
    checkSchema: (c) => checkColumns(c, 'current', 'prediction_batches', { data: { type: 'bytea', storage: 'e' } }),
    insert: currentInsert,
    verify: async (c, entries, measured) => {
      const rows = entries.reduce((s, e) => s + e.rows, 0);
      const inserts = Math.ceil((entries.length - measured.length) / BATCH) + Math.ceil(measured.length / BATCH);
      const t = (await c.query<{ n: number; rows: number; first: number; last: number; blob: number }>(
        `SELECT count(*)::int AS n, sum(rows)::float8 AS rows, min(first_seq)::float8 AS first, max(last_seq)::float8 AS last,
                avg(pg_column_size(data))::float8 AS blob FROM prediction_batches`)).rows[0];
      // One model version: one blob per INSERT, together every predicted row, its IDs with no gap.
      if (t.n !== inserts || t.rows !== rows || t.first !== 0 || t.last !== rows - 1) {
        throw new Error(`current: prediction_batches holds ${t.n} batches of ${t.rows} rows (seq ${t.first}..${t.last}) after ${inserts} inserts of ${rows} rows (seq 0..${rows - 1})`);
      }
      // A measured entry read back by its rows' prediction IDs, as the feedback lookup finds them.
      const probe = measured[Math.floor(measured.length / 2)];
      const q = probe.queued;
      const instances = (JSON.parse(q.requestJson) as { instances: Record<string, string>[] }).instances;
      const ids = new PredictionIds(TOKEN);
      let found: { token: string; batch: ReturnType<typeof decodePredictionBatch> } | null = null;
      for (let i = 0; i < probe.rows; i++) {
        const id = parsePredictionId(ids.id(q.firstSeq + i))!;
        if (!found || found.batch.seq.indexOf(id.seq) < 0) {
          const hit = (await c.query<{ token: string; data: Buffer }>(
            'SELECT token, data FROM prediction_batches WHERE token = $1 AND first_seq <= $2 AND last_seq >= $2', [id.token, id.seq])).rows;
          if (hit.length !== 1) throw new Error(`current: ${hit.length} batches hold prediction ${ids.id(id.seq)}, expected 1`);
          found = { token: hit[0].token, batch: decodePredictionBatch(hit[0].data) };
          if (!isDeepStrictEqual(found.batch.fields, FIELDS) || found.batch.outputs !== CLASSES.length) throw new Error('current: a batch read back names other fields or outputs than the ones logged');
        }
        const b = found.batch;
        const r = b.seq.indexOf(id.seq);
        if (found.token !== TOKEN || r < 0 || b.seq[r] !== q.firstSeq + i) throw new Error(`current: prediction ${ids.id(id.seq)} is not in the batch that should hold it`);
        if (b.at[r] !== q.at) throw new Error(`current: prediction ${ids.id(id.seq)} was logged at ${b.at[r]}, expected ${q.at}`);
        for (let f = 0; f < FIELDS.length; f++) {
          const code = (b.values[f] as Int32Array)[r];
          const value = code < 0 ? undefined : b.dictionaries[f]![code];
          if (value !== instances[i][FIELDS[f].name]) throw new Error(`current: ${FIELDS[f].name} of prediction ${ids.id(id.seq)} reads back as ${value}, logged ${instances[i][FIELDS[f].name]}`);
        }
        for (let k = 0; k < CLASSES.length; k++) {
          if (b.output[r * CLASSES.length + k] !== q.output[i * CLASSES.length + k]) throw new Error(`current: output ${k} of prediction ${ids.id(id.seq)} differs from the one logged`);
        }
        if (b.warnings[r] !== 0) throw new Error(`current: prediction ${ids.id(id.seq)} reads back with warnings, logged none`);
      }
      return `stored per batch: ${(t.blob / 1024).toFixed(1)} KB of blob (${(t.blob / (rows / t.n)).toFixed(0)} B per predicted row)`;
    },
  },
];

// ---------------------------------------------------------------------------------------------------
interface Measurement {
  pgUsPerEntry: number; clientUsPerEntry: number; insertMs: number; diskMB: number; walMB: number;
  pgTicks: number; windowSeconds: number; otherBusySeconds: number;
}

async function measure(v: Version, round: number, entries: BenchEntry[]): Promise<Measurement> {
  const db = `prediction_log_${v.name}_${round}`;
  await server!.createDatabase(db);
  const url = server!.urlFor(db);
  // The real migrations, for both versions: they build prediction_log as 0002 left it and prediction_batches.
  await migrateDatabase(url);
  const measured = entries.slice(0, ENTRIES);
  const warmUp = entries.slice(ENTRIES);
  const size = async (c: pg.Client) => Number((await c.query('SELECT pg_total_relation_size($1::regclass) AS s', [v.table])).rows[0].s);
  const result = await withClient(url, async (c) => {
    await v.checkSchema(c);

    // Plan and catalog caches and the first TOAST pages belong to the first batch of a connection, not to
    // the steady state the log runs in.
    await c.query(v.insert(warmUp));
    await c.query('CHECKPOINT');
    const size0 = await size(c);
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
    const size1 = await size(c);
    const stored = await v.verify(c, entries, measured);

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
      `+${m.diskMB.toFixed(1)} MB, WAL ${m.walMB.toFixed(1)} MB; ${stored}; read-back matches` +
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
  const avgKB = (size: (e: BenchEntry) => number) => entries.reduce((s, e) => s + size(e), 0) / entries.length / 1024;
  const requestKB = avgKB((e) => e.queued.requestJson.length);
  const responseKB = avgKB((e) => e.responseJson.length);
  console.log(`  request ≈ ${requestKB.toFixed(2)} KB of JSON and ${(ROWS * CLASSES.length * 4 / 1024).toFixed(2)} KB of float32 output per entry; response ≈ ${responseKB.toFixed(2)} KB of JSON`);

  const results: Record<Version['name'], Measurement[]> = { previous: [], current: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternating which version goes first keeps a drift of the machine from always favouring one of them.
    const order = round % 2 === 1 ? VERSIONS : [...VERSIONS].reverse();
    console.log(`round ${round} of ${ROUNDS} (${order.map((v) => v.name).join(', then ')}):`);
    for (const v of order) results[v.name].push(await measure(v, round, entries));
  }

  const med = (name: Version['name'], key: keyof Measurement) => median(results[name].map((m) => m[key]));
  const ratio = med('previous', 'pgUsPerEntry') / med('current', 'pgUsPerEntry');
  const clientRatio = med('previous', 'clientUsPerEntry') / med('current', 'clientUsPerEntry');
  const all = [...results.previous, ...results.current];
  const otherCores = all.reduce((s, m) => s + m.otherBusySeconds, 0) / all.reduce((s, m) => s + m.windowSeconds, 0);

  // Read-only: GIT_OPTIONAL_LOCKS=0 keeps `git status` from refreshing the index (and taking its lock).
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'api', 'db', 'models', 'runtime', 'serving', 'bench/prediction-log.ts') !== '';
  const cmd = `npm run bench:prediction-log${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  console.log(`\n## Prediction log: PostgreSQL cost per logged request\n`);
  console.log(`Command: \`${cmd}\` (starts its own embedded PostgreSQL in a temporary folder; per version and round, a fresh`);
  console.log(`database, one warm-up batch, then ${fmt(ENTRIES)} entries in batches of ${BATCH}; ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, the versions interleaved; each column is the median over the rounds).`);
  console.log(`Measured ${new Date().toISOString().slice(0, 10)}, commit ${commit}${dirty ? ' + uncommitted changes' : ''}; Node ${process.version}, ${info.version}, ${cpus().length} cores.`);
  console.log(`Workload: what the API logs for a ${ROWS}-row \`POST /v1/models/football/predict\` (request ≈ ${requestKB.toFixed(1)} KB of JSON and the model output;`);
  console.log(`previous also logs the response, ≈ ${responseKB.toFixed(1)} KB of JSON; seeded, the same entries for both versions). PG CPU: the postmaster and`);
  console.log(`every process it ran (backend, checkpointer, WAL writer, …), from /proc, over the inserts and a CHECKPOINT; client CPU: this process`);
  console.log(`building and sending the statements (current: the writer thread's work, parsing the requests and encoding the blobs, included);`);
  console.log(`wall: the inserts only; MB on disk: growth of the version's table with its indexes and TOAST; WAL: bytes of WAL written,`);
  console.log(`checkpoint included. Autovacuum off.\n`);
  console.log('| version | PG CPU µs/entry | client CPU µs/entry | wall ms | MB on disk | WAL MB |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const v of VERSIONS) {
    console.log(`| ${v.label} | ${fmt(med(v.name, 'pgUsPerEntry'))} | ${fmt(med(v.name, 'clientUsPerEntry'))} | ${fmt(med(v.name, 'insertMs'))} | ` +
      `${med(v.name, 'diskMB').toFixed(1)} | ${med(v.name, 'walMB').toFixed(1)} |`);
  }
  console.log(`\nRatio previous / current PostgreSQL CPU per entry: **${ratio.toFixed(2)}**` +
    (ROUNDS > 1 ? ` (round by round: ${results.previous.map((p, i) => (p.pgUsPerEntry / results.current[i].pgUsPerEntry).toFixed(2)).join(', ')})` : ''));
  console.log(`Ratio previous / current client CPU per entry: **${clientRatio.toFixed(2)}**` +
    (ROUNDS > 1 ? ` (round by round: ${results.previous.map((p, i) => (p.clientUsPerEntry / results.current[i].clientUsPerEntry).toFixed(2)).join(', ')})` : ''));
  console.log(`Other load on the machine during the measured windows: ${otherCores.toFixed(2)} cores on average` +
    `${otherCores > 0.25 ? ' — **the machine was not idle; wall times are inflated, CPU per entry less so**' : ''}.`);
}

try {
  await main();
  await shutdown();
  process.exit(0);
} catch (err) {
  if (!signals.interrupted) console.error(`\nbench:prediction-log failed: ${(err as Error).stack ?? err}`);
  await shutdown();
  process.exit(signals.interrupted ? 130 : 1);
}
