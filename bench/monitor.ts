// Benchmark: what one monitoring window costs, against the cost of only reading the window's log back, in
// the same run. The monitor (serving/monitor-window.ts, judgeWindow) reads a window of a production model's
// logged predictions (serving/prediction-log-reader.ts), runs the drift checks over its inputs and
// predictions, counts the row warnings and scores live quality (serving/live-quality.ts: the outcomes fed
// back, none here, so the log is not read a second time): that whole call is what is measured.
//   baseline: forEachLoggedBatch over the same window with a visitor that does nothing: the SELECTs of the
//             batches and the decoding of every blob, the floor any pass over the window pays;
//   judge:    judgeWindow over the window, as the monitorWindow activity calls it.
// The log: --predictions rows (default 1,000,000) of one model version of a Seattle-weather-like classifier
// (numeric precipitation, temp_max, temp_min, wind; a categorical station of 20 values; five class
// probabilities as float32), spread evenly over one hour, written as the writer thread writes them:
// PredictionBatchBuilder blobs of --batch rows (default 2000, at most what one flush holds) inserted with
// predictionBatchInsert(). About 1% of rows carry the 'unknown-category' warning bit and a station training
// never saw. The training statistics the window is judged against come from a separate seeded sample of
// --baseline-rows rows (default 50,000) of the same distributions; the version's held-out prediction
// statistics from the argmax class of that sample's outputs.
// Measured per operation: wall time (performance.now()), and resident memory sampled every 20 ms by a
// worker thread (process-wide RSS; a sampler on the main thread would not run while the drift checks sort
// and compute synchronously): the peak minus the RSS just before the operation (after a full GC), and the
// absolute peak. Rounds alternate which operation goes first, after one unmeasured read of the window (so
// both find PostgreSQL's and the OS's caches in the same state); the medians are reported, with the ratio
// judge / read. One embedded PostgreSQL server in a temporary folder, one database, removed at the end.
// Run: npm run bench:monitor  (or: npx tsx bench/monitor.ts --predictions 20000 --rounds 1)
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { connectDb, type Db } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { mulberry32 } from '../data/prng.js';
import { numericFigures } from '../data/dataset-statistics.js';
import type { ColumnStatistics, DatasetStatistics, MonitorReport } from '../pipelines/contract.js';
import { MonitoringConfigSchema } from '../pipelines/monitoring-config.js';
import { ValidationConfigSchema } from '../pipelines/validation-config.js';
import { PredictionBatchBuilder, type BatchField } from '../serving/prediction-batch.js';
import { predictionBatchInsert, type EncodedBatch } from '../serving/prediction-log-insert.js';
import { forEachLoggedBatch } from '../serving/prediction-log-reader.js';
import { ROW_WARNING_KINDS } from '../serving/instance-validation.js';
import { judgeWindow, type JudgeWindowInput } from '../serving/monitor-window.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../app/embedded-postgres.js';
import { freePort } from '../app/free-port.js';
import { createLogger } from '../runtime/logger.js';
import { intArg } from './options.js';
import { stopOnSignals } from './signals.js';

const { values } = parseArgs({
  options: {
    predictions: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '2000' },
    'baseline-rows': { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/monitor.ts [--predictions N (1000-5000000)] [--batch N (100-2000)] [--baseline-rows N (1000-1000000)] [--rounds N (1-9)]\n' +
    '  --predictions    logged predictions in the window, one model version, spread over one hour (default 1000000)\n' +
    '  --batch          rows per logged batch (prediction_batches row), as one writer flush holds at most (default 2000)\n' +
    '  --baseline-rows  rows of the seeded sample the training statistics are computed from (default 50000)\n' +
    '  --rounds         measure the read and the judged window this many times, alternating; report the medians (default 3)');
  process.exit(0);
}
const PREDICTIONS = intArg('predictions', values.predictions!, 1000, 5_000_000);
const BATCH = intArg('batch', values.batch!, 100, 2000);
const BASELINE_ROWS = intArg('baseline-rows', values['baseline-rows']!, 1000, 1_000_000);
const ROUNDS = intArg('rounds', values.rounds!, 1, 9);

// A full GC before each measured operation, so that its "RSS before" does not hold the last one's garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---------------------------------------------------------------------------------------------------
// The server and its temporary folder: stopped and removed on every way out.
let tempDir: string | null = null;
let server: EmbeddedPostgresHandle | null = null;
let db: Db | null = null;
let sampler: Worker | null = null;
process.on('exit', () => {
  if (!tempDir) return;
  try {
    rmSync(tempDir, { recursive: true, force: true });
  } catch { /* best effort */ }
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cleanup: Promise<void> | null = null;
function shutdown(): Promise<void> {
  cleanup ??= (async () => {
    if (sampler) await sampler.terminate().catch(() => undefined);
    sampler = null;
    if (db) await Promise.race([db.$client.end().catch(() => undefined), sleep(5000)]);
    db = null;
    if (server) await Promise.race([server.stop().catch(() => undefined), sleep(20_000)]);
    server = null;
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    tempDir = null;
  })();
  return cleanup;
}
const signals = stopOnSignals('stopping PostgreSQL and removing its temporary folder', shutdown);

// ---------------------------------------------------------------------------------------------------
// Resident memory, sampled by a worker thread (its event loop runs while the main thread computes).
const SAMPLER_CODE = `
const { parentPort } = require('node:worker_threads');
let peak = 0;
let timer = null;
parentPort.on('message', (m) => {
  if (m === 'start') {
    peak = process.memoryUsage.rss();
    timer = setInterval(() => { const r = process.memoryUsage.rss(); if (r > peak) peak = r; }, 20);
    parentPort.postMessage(peak);
  } else if (m === 'stop') {
    clearInterval(timer);
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
    parentPort.postMessage(peak);
  }
});`;
function ask(w: Worker, message: 'start' | 'stop'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    w.once('error', onError);
    w.once('message', (m: number) => {
      w.off('error', onError);
      resolve(m);
    });
    w.postMessage(message);
  });
}

interface Measurement { ms: number; rssBefore: number; rssPeak: number }

async function measured<T>(work: () => Promise<T>): Promise<{ m: Measurement; result: T }> {
  gc();
  await sleep(50);
  const rssBefore = process.memoryUsage.rss();
  await ask(sampler!, 'start');
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  const rssPeak = Math.max(await ask(sampler!, 'stop'), rssBefore);
  return { m: { ms, rssBefore, rssPeak }, result };
}

// ---------------------------------------------------------------------------------------------------
// The workload: a Seattle-weather-like classifier's inputs and outputs, seeded.
const MODEL = 'seattle-weather';
const VERSION = 3;
const ALIAS = 'production';
const TOKEN = 'benchmon00';
const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const STATIONS = ['KSEA', 'KBFI', 'KRNT', 'KPAE', 'KTIW', 'KOLM', 'KPWT', 'KSHN', 'KAWO', 'KBLI',
  'KCLM', 'KHQM', 'KUIL', 'KEAT', 'KELN', 'KYKM', 'KALW', 'KPSC', 'KGEG', 'KPUW'];
/** Names training never saw, sent by the rows that carry the 'unknown-category' warning. */
const UNSEEN_STATIONS = ['KSFF', 'KMWH', 'KPDX', 'KHIO', 'KTTD'];
const UNKNOWN_CATEGORY_BIT = 1 << ROW_WARNING_KINDS.indexOf('unknown-category');
const UNKNOWN_SHARE = 0.01;
const FIELDS: BatchField[] = [
  { name: 'precipitation', kind: 'numeric' },
  { name: 'temp_max', kind: 'numeric' },
  { name: 'temp_min', kind: 'numeric' },
  { name: 'wind', kind: 'numeric' },
  { name: 'station', kind: 'categorical' },
];
const NUMERIC = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;
// Fixed, so that reruns log identical rows.
const LOG_START = Date.UTC(2026, 0, 5, 9);
const HOUR = 3_600_000;

interface WeatherRow { precipitation: number; temp_max: number; temp_min: number; wind: number; station: string }

/** Draws rows and the model's answers for them: stations Zipf-like, weather seasonal, one decimal as the dataset has. */
function weather(seed: number) {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const weights = STATIONS.map((_, i) => 1 / (i + 1) ** 0.8);
  const total = weights.reduce((a, b) => a + b, 0);
  let running = 0;
  const cumulative = weights.map((w) => (running += w / total));
  const logits = new Float64Array(CLASSES.length);
  return {
    row(unknown: boolean): WeatherRow {
      const season = Math.cos(2 * Math.PI * rand()); // 1: midwinter, -1: midsummer
      const wet = rand() < 0.43 + 0.17 * season;
      const precipitation = wet ? round1(Math.min(55.9, -Math.log(1 - rand()) * (4 + 3 * Math.max(0, season)))) : 0;
      const tempMax = round1(Math.max(-1.6, Math.min(35.6, 16.4 - 8 * season + 3.5 * normal() - (wet ? 2 : 0))));
      const tempMin = round1(Math.max(-7.1, tempMax - Math.max(0.5, 7.5 + 2.5 * normal() - (wet ? 2.5 : 0))));
      const wind = round1(Math.max(0.4, Math.min(9.5, Math.exp(1.05 + 0.4 * normal() + (wet ? 0.15 : 0)))));
      let station: string;
      if (unknown) station = UNSEEN_STATIONS[Math.floor(rand() * UNSEEN_STATIONS.length)];
      else {
        const u = rand();
        let i = 0;
        while (i < STATIONS.length - 1 && u > cumulative[i]) i++;
        station = STATIONS[i];
      }
      return { precipitation, temp_max: tempMax, temp_min: tempMin, wind, station };
    },
    /** The five class probabilities for a row (a softmax of input-dependent logits with noise), into `out` at `at`. */
    answer(r: WeatherRow, out: Float32Array, at: number): void {
      const p = r.precipitation;
      logits[0] = (p > 0 && p < 2 ? 1 : -0.8) + 0.5 * normal(); // drizzle
      logits[1] = (r.wind < 2 ? 0.6 : -0.6) + (p === 0 ? 0.2 : -1) + 0.5 * normal(); // fog
      logits[2] = (p > 0 ? 1.2 + Math.min(p, 20) / 5 : -1.5) + 0.5 * normal(); // rain
      logits[3] = (p > 0 && r.temp_max < 3 ? 2.5 : -3) + 0.5 * normal(); // snow
      logits[4] = (p === 0 ? 1.6 + (r.temp_max - 16) / 10 : -1) + 0.5 * normal(); // sun
      let max = -Infinity;
      for (const l of logits) max = Math.max(max, l);
      let sum = 0;
      for (let k = 0; k < logits.length; k++) sum += (logits[k] = Math.exp(logits[k] - max));
      for (let k = 0; k < logits.length; k++) out[at + k] = logits[k] / sum;
    },
    unknown: () => rand() < UNKNOWN_SHARE,
  };
}

function argmax(out: Float32Array, at: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (out[at + c] > out[at + best]) best = c;
  return best;
}

function categorical(name: string, counts: Map<string, number>): ColumnStatistics {
  const top = [...counts].map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const count = top.reduce((s, t) => s + t.count, 0);
  return { name, type: 'String', kind: 'categorical', count, missing: 0, distinct: top.length, top };
}

/** The version's training statistics and its held-out predictions' statistics, from a separate seeded sample. */
function baselineStatistics(rows: number): { statistics: DatasetStatistics; predictions: ColumnStatistics } {
  const gen = weather(19_480_101);
  const numbers = NUMERIC.map(() => new Float64Array(rows));
  const stations = new Map<string, number>();
  const predicted = new Map<string, number>();
  const out = new Float32Array(CLASSES.length);
  for (let i = 0; i < rows; i++) {
    const r = gen.row(false);
    NUMERIC.forEach((name, j) => (numbers[j][i] = r[name]));
    stations.set(r.station, (stations.get(r.station) ?? 0) + 1);
    gen.answer(r, out, 0);
    const c = CLASSES[argmax(out, 0, CLASSES.length)];
    predicted.set(c, (predicted.get(c) ?? 0) + 1);
  }
  const columns: ColumnStatistics[] = NUMERIC.map((name, j) => {
    const sorted = numbers[j].sort();
    let distinct = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
    return { name, type: 'Float64', kind: 'numeric', count: rows, missing: 0, distinct, ...numericFigures(sorted) };
  });
  columns.push(categorical('station', stations));
  return { statistics: { rows, columns }, predictions: categorical('weather', predicted) };
}

/** The window's log: --predictions single-row requests, evenly over the hour, in blobs of --batch rows. */
async function fillLog(): Promise<{ batches: number; ms: number; unknown: number }> {
  const gen = weather(20_260_105);
  const out = new Float32Array(CLASSES.length);
  const warning = new Uint8Array(1);
  let pending: Promise<unknown> | null = null;
  let batches = 0;
  let unknown = 0;
  const t0 = performance.now();
  let lastReport = t0;
  for (let first = 0; first < PREDICTIONS; first += BATCH) {
    const rows = Math.min(BATCH, PREDICTIONS - first);
    const builder = new PredictionBatchBuilder(FIELDS, CLASSES.length);
    let fromAt = Infinity;
    let toAt = -Infinity;
    for (let i = first; i < first + rows; i++) {
      const at = LOG_START + Math.floor((i * HOUR) / PREDICTIONS);
      const isUnknown = gen.unknown();
      const row = gen.row(isUnknown);
      gen.answer(row, out, 0);
      warning[0] = isUnknown ? UNKNOWN_CATEGORY_BIT : 0;
      if (isUnknown) unknown++;
      builder.add(at, i, [row], out, isUnknown ? warning : null);
      fromAt = Math.min(fromAt, at);
      toAt = Math.max(toAt, at);
    }
    const batch: EncodedBatch = {
      model: MODEL, version: VERSION, token: TOKEN, firstSeq: first, lastSeq: first + rows - 1, rows, fromAt, toAt, data: builder.encode(),
    };
    // One INSERT in flight while the next blob is built, as the writer thread overlaps them.
    if (pending) await pending;
    pending = db!.$client.query(predictionBatchInsert([batch]));
    batches++;
    if (performance.now() - lastReport > 2000) {
      lastReport = performance.now();
      console.log(`  ${(first + rows).toLocaleString('en-US')} of ${PREDICTIONS.toLocaleString('en-US')} predictions logged (${batches} batches)…`);
    }
  }
  if (pending) await pending;
  return { batches, ms: performance.now() - t0, unknown };
}

// ---------------------------------------------------------------------------------------------------
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mb = (bytes: number) => (bytes / 1048576).toFixed(0);
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<number> {
  tempDir = await mkdtemp(join(tmpdir(), 'mlp-bench-monitor-'));
  // As root the server runs as the `postgres` user, which must reach its data folder.
  await chmod(tempDir, 0o755);
  const dataDir = join(tempDir, 'pg');
  const port = await freePort();
  console.log(`starting embedded PostgreSQL on 127.0.0.1:${port} in ${dataDir}…`);
  server = await startEmbeddedPostgres({ dir: dataDir, port, logger: createLogger('error') });
  const database = 'monitor_bench';
  await server.createDatabase(database);
  const url = server.urlFor(database);
  await migrateDatabase(url);
  db = connectDb(url);
  const pgVersion = ((await db.$client.query('SELECT version() AS v')).rows[0].v as string).replace(/, compiled by.*$/, '');
  sampler = new Worker(SAMPLER_CODE, { eval: true });
  sampler.unref();

  console.log(`logging ${PREDICTIONS.toLocaleString('en-US')} predictions of ${MODEL} v${VERSION} over one hour, ${BATCH} rows per batch…`);
  const fill = await fillLog();
  await db.$client.query('VACUUM ANALYZE prediction_batches');
  await db.$client.query('CHECKPOINT');
  const stored = (await db.$client.query<{ n: number; rows: number; bytes: number }>(
    'SELECT count(*)::int AS n, sum(rows)::float8 AS rows, pg_total_relation_size(\'prediction_batches\')::float8 AS bytes FROM prediction_batches')).rows[0];
  console.log(`  ${fill.batches} batches (${stored.rows.toLocaleString('en-US')} rows, ${mb(stored.bytes)} MB with TOAST and indexes) in ${(fill.ms / 1000).toFixed(1)} s; ` +
    `${fill.unknown.toLocaleString('en-US')} rows with an unseen station`);

  console.log(`computing the training statistics from a seeded sample of ${BASELINE_ROWS.toLocaleString('en-US')} rows…`);
  const { statistics, predictions } = baselineStatistics(BASELINE_ROWS);
  const window = { from: new Date(LOG_START), to: new Date(LOG_START + HOUR) };
  const input: JudgeWindowInput = {
    model: MODEL, alias: ALIAS, window,
    baseline: { version: VERSION, statistics, predictions, classes: CLASSES, offlineMetrics: { logLoss: 0.62, accuracy: 0.81 } },
    validation: ValidationConfigSchema.parse({}),
    monitoring: MonitoringConfigSchema.parse({}),
  };

  let readRows = 0;
  const read = () => {
    readRows = 0;
    return forEachLoggedBatch(db!, MODEL, window, (batch) => {
      readRows += batch.rows;
    });
  };
  console.log('warm-up: one unmeasured read of the window…');
  await read();

  const results: Record<'read' | 'judge', Measurement[]> = { read: [], judge: [] };
  let report: MonitorReport | null = null;
  let wrong = false;
  for (let round = 1; round <= ROUNDS; round++) {
    const order: ('read' | 'judge')[] = round % 2 === 1 ? ['read', 'judge'] : ['judge', 'read'];
    console.log(`round ${round} of ${ROUNDS} (${order.join(', then ')}):`);
    for (const op of order) {
      let m: Measurement;
      let count: number;
      if (op === 'read') {
        ({ m } = await measured(read));
        count = readRows;
      } else {
        const r = await measured(() => judgeWindow(db!, input));
        m = r.m;
        report = r.result;
        count = report.predictions;
      }
      results[op].push(m);
      if (count !== PREDICTIONS) wrong = true;
      console.log(`  ${op.padEnd(5)} ${fmt(m.ms).padStart(6)} ms, RSS +${mb(m.rssPeak - m.rssBefore)} MB (peak ${mb(m.rssPeak)} MB, ${mb(m.rssBefore)} MB before); ` +
        `${count.toLocaleString('en-US')} predictions${count !== PREDICTIONS ? ` — WRONG, expected ${PREDICTIONS.toLocaleString('en-US')}` : ''}`);
    }
  }

  const med = (op: 'read' | 'judge', f: (m: Measurement) => number) => median(results[op].map(f));
  const wall = (m: Measurement) => m.ms;
  const grown = (m: Measurement) => m.rssPeak - m.rssBefore;
  const peak = (m: Measurement) => m.rssPeak;
  const r = report!;
  const cmd = `npm run bench:monitor${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  console.log('\n## Monitor: one window of logged predictions judged\n');
  console.log(`Command: \`${cmd}\` (starts its own embedded PostgreSQL in a temporary folder; ${fmt(PREDICTIONS)} logged predictions of one`);
  console.log(`version over one hour in ${fill.batches} batches of ≤ ${BATCH} rows; training statistics from ${fmt(BASELINE_ROWS)} seeded rows; one unmeasured read,`);
  console.log(`then ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, read and judge alternating; each figure is the median over the rounds).`);
  console.log(`Measured ${new Date().toISOString().slice(0, 10)}; Node ${process.version}, ${pgVersion}, ${cpus().length} cores.`);
  console.log('read: forEachLoggedBatch over the window with an empty visitor (SELECT and decode every batch); judge: judgeWindow (reads the');
  console.log('window, drift checks over 4 numeric + 1 categorical inputs and the predicted class, warning counts, live quality: the');
  console.log('outcomes query; with none, no second read). RSS: process-wide, sampled every 20 ms by a worker thread; "+" is the peak minus');
  console.log('the RSS just before the operation (after a full GC).\n');
  console.log('| operation | wall ms | ns per prediction | RSS + MB | peak RSS MB |');
  console.log('|---|---:|---:|---:|---:|');
  for (const op of ['read', 'judge'] as const) {
    console.log(`| ${op} | ${fmt(med(op, wall))} | ${fmt((med(op, wall) * 1e6) / PREDICTIONS)} | ${mb(med(op, grown))} | ${mb(med(op, peak))} |`);
  }
  const ratio = med('judge', wall) / med('read', wall);
  console.log(`\nRatio judge / read wall time: **${ratio.toFixed(2)}**` +
    (ROUNDS > 1 ? ` (round by round: ${results.judge.map((j, i) => (j.ms / results.read[i].ms).toFixed(2)).join(', ')})` : ''));
  const readGrown = med('read', grown);
  console.log(`Ratio judge / read RSS growth: ${readGrown > 0 ? (med('judge', grown) / readGrown).toFixed(2) : 'n/a (the read grew no RSS)'}`);
  console.log(`Process peak RSS over the whole run (resourceUsage().maxRSS, the fill included): ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
  console.log(`\nReport: ${r.predictions.toLocaleString('en-US')} predictions (expected ${PREDICTIONS.toLocaleString('en-US')}: ${r.predictions === PREDICTIONS ? 'ok' : 'WRONG'}), ` +
    `drift judged: ${r.drift.judged} over ${r.drift.columns.length} columns, fallback rate ${(100 * r.fallbackRate).toFixed(2)}%, ` +
    `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}, breach: ${r.breach}`);
  for (const f of r.findings) console.log(`  - ${f.action} ${f.check} ${f.column}: ${f.message}`);
  for (const n of r.notes) console.log(`  note: ${n}`);
  if (wrong || r.predictions !== PREDICTIONS) {
    console.error('\nbench:monitor: a pass over the window did not count every logged prediction');
    return 1;
  }
  return 0;
}

try {
  const code = await main();
  await shutdown();
  process.exit(code);
} catch (err) {
  if (!signals.interrupted) console.error(`\nbench:monitor failed: ${(err as Error).stack ?? err}`);
  await shutdown();
  process.exit(signals.interrupted ? 130 : 1);
}
