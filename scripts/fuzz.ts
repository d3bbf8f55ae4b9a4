// Fuzzes the HTTP API from its OpenAPI document with schemathesis (pinned, in .tools/fuzz-venv): every
// operation, as an admin, failing on any 5xx answer. Run: npm run fuzz [-- options]
//
// By default it starts a whole platform of its own (embedded PostgreSQL, a Temporal dev server, the worker
// and the API, in a temporary DATA_DIR on free ports), saves the shipped pipelines, trains and promotes a
// model of each and makes a paused schedule (seconds), makes an admin key, and fuzzes that. With --base-url
// it fuzzes an API already served, with the key in MLP_FUZZ_API_KEY: test/integration/fuzz.test.ts runs it
// so, bounded, in `npm test`. Either way the names and IDs the API lists are handed to schemathesis, which
// uses them for half of the path parameters it generates, so requests get past the 404. docs/FUZZ.md has
// the recorded runs.
//
//   --max-examples N    test cases per operation and phase (default 200)
//   --seed N            schemathesis seed, for a reproducible run (default: random, printed and recorded)
//   --workers N         concurrent schemathesis workers, 1-4 (default 1)
//   --request-timeout S seconds one request may take (default 30)
//   --phases LIST       some of examples,coverage,fuzzing,stateful (default all)
//   --conformance       also check the answers against the document (status codes, content types, schemas):
//                       reported, never a failure of the run
//   --skip-training     fuzz without first training the shipped pipelines' models and making a schedule
//   --record            add the run to docs/FUZZ.md
//   --json FILE         write the result as JSON
//   --keep              keep the temporary folder (platform log, schemathesis reports, and a HAR recording of
//                       every request); kept anyway on a 5xx
//
// Exit: 0 without a 5xx, 1 with one (or when schemathesis sent nothing), 2 on a bad option.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ensureAdminKey } from '../app/admin-key.js';
import { freePort } from '../app/free-port.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { installTemporalRuntime } from '../app/worker.js';
import { loadShippedPipeline, QUICK_SHIPPED_PIPELINES } from '../pipelines/shipped.js';
import { savePipeline } from '../registry/pipelines.js';
import { loadConfig } from '../runtime/config.js';
import { projectRoot } from '../runtime/project-root.js';
import {
  CONFORMANCE_CHECKS, discoverIdentifiers, formatServerErrors, installedSchemathesis, MISSING_VENV, runSchemathesis, SERVER_ERROR_CHECK, SERVER_ERROR_CODES, type FuzzRequest, type SchemathesisResult,
} from './schemathesis.js';

const USAGE = 'usage: npm run fuzz -- [--max-examples N] [--seed N] [--workers N] [--request-timeout S] [--phases LIST] [--conformance] [--skip-training] [--record] [--json FILE] [--keep]\n'
  + '       npx tsx scripts/fuzz.ts --base-url URL [options]   (an API already served; its key in MLP_FUZZ_API_KEY)';
const PHASE_NAMES = ['examples', 'coverage', 'fuzzing', 'stateful'];

const { values } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '200' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'request-timeout': { type: 'string', default: '30' },
    phases: { type: 'string' },
    conformance: { type: 'boolean', default: false },
    'skip-training': { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'base-url': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function intOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) usageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

const MAX_EXAMPLES = intOption('max-examples', values['max-examples']!, 1, 100_000);
const SEED = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : intOption('seed', values.seed, 0, 2 ** 31 - 1);
const WORKERS = intOption('workers', values.workers!, 1, 4);
const REQUEST_TIMEOUT_S = intOption('request-timeout', values['request-timeout']!, 1, 600);
const PHASES = values.phases?.split(',').map((p) => p.trim()).filter(Boolean);
for (const p of PHASES ?? []) if (!PHASE_NAMES.includes(p)) usageError(`--phases takes some of ${PHASE_NAMES.join(',')}, got "${p}"`);
const CHECKS = values.conformance ? CONFORMANCE_CHECKS : [];
const FUZZ_DOC = join(projectRoot, 'docs', 'FUZZ.md');

/**
 * Settings of the fuzzed platform: limits high enough that the handlers answer, not the rate limiter (429);
 * the API in one process, as the test suite runs it (test/integration/fuzz.test.ts shares the machine with it).
 */
const FUZZ_PLATFORM_ENV = {
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000', RATE_LIMIT_MUTATIONS_BURST: '1000000',
  RATE_LIMIT_PREDICT_PER_SECOND: '1000000', RATE_LIMIT_PREDICT_BURST: '1000000', API_PROCESSES: '1',
};

const say = (line: string) => process.stdout.write(`[fuzz] ${line}\n`);

async function main(): Promise<number> {
  const external = values['base-url']?.replace(/\/+$/, '');
  if (!installedSchemathesis()) {
    // `npm run fuzz` installs the venv itself (quick when it is there); a run against a served API expects it.
    if (external) throw new Error(MISSING_VENV);
    const r = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'fuzz-venv.mjs')], { stdio: 'inherit' });
    if (r.status !== 0 || !installedSchemathesis()) throw new Error(MISSING_VENV);
  }
  const workDir = await mkdtemp(join(tmpdir(), 'mlp-fuzz-'));
  let platform: Platform | null = null;
  let keep = values.keep!;
  const cleanUp = async () => {
    const p = platform;
    platform = null;
    await p?.stop();
    if (keep) say(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  try {
    let baseUrl: string;
    let token: string;
    let logFile: string | null = null;
    if (external) {
      baseUrl = external;
      token = process.env.MLP_FUZZ_API_KEY ?? '';
      if (!token) usageError('--base-url needs the API key to send in MLP_FUZZ_API_KEY');
    } else {
      logFile = join(workDir, 'platform.log');
      platform = await startFuzzPlatform(workDir, logFile);
      baseUrl = platform.apiUrl!.replace('//localhost:', '//127.0.0.1:');
      for (const name of QUICK_SHIPPED_PIPELINES) await savePipeline(platform.db, loadShippedPipeline(name), { actor: 'platform:fuzz', requestId: null });
      const admin = await ensureAdminKey(platform.db, platform.config.dataDir);
      if (admin.state === 'none') throw new Error('the fuzzed platform has keys but none stored: no admin key to fuzz with');
      token = admin.token;
      await keyAccepted(baseUrl, token);
      if (!values['skip-training']) await seedData(platform, baseUrl, token);
    }
    // Known names and IDs are half of the generated path parameters, so requests get past the 404.
    const identifiers = await discoverIdentifiers(baseUrl, token);
    say(`known identifiers: ${Object.entries(identifiers).map(([k, v]) => `${k} ${v.length}`).join(', ')}`);
    say(`schemathesis ${installedSchemathesis()} against ${baseUrl}/openapi.json: ${MAX_EXAMPLES} examples per operation, seed ${SEED}, `
      + `${WORKERS} worker(s), checks ${[SERVER_ERROR_CHECK, ...CHECKS].join(', ')}`);
    const result = await runSchemathesis({
      baseUrl, token, maxExamples: MAX_EXAMPLES, seed: SEED, workers: WORKERS, requestTimeoutS: REQUEST_TIMEOUT_S, checks: CHECKS, phases: PHASES, identifiers, har: values.keep,
      workDir: join(workDir, 'schemathesis'), onOutput: (line) => process.stdout.write(`  ${line}\n`),
    });
    const broken = result.requests === 0 || result.operations.tested === 0;
    if (result.serverErrors.length || broken) keep = true;
    const stacks = logFile ? await serverStacks(logFile, result.serverErrors) : new Map<string, string>();
    printResult(result, stacks);
    if (values.json) {
      const summary = { seed: SEED, maxExamples: MAX_EXAMPLES, workers: WORKERS, checks: [SERVER_ERROR_CHECK, ...CHECKS], ...result, workDir: keep ? workDir : null };
      await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`);
    }
    if (values.record) {
      await recordRun(result);
      say(`recorded in ${relative(projectRoot, FUZZ_DOC)}`);
    }
    if (broken) say('schemathesis tested nothing: see its output above');
    return result.serverErrors.length || broken ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

/** The platform on embedded services in `dir`, on free ports (tried again on new ones when a port is taken meanwhile). */
async function startFuzzPlatform(dir: string, logFile: string): Promise<Platform> {
  // Warnings and errors: the API logs every unhandled error (a 500) with its stack and request ID.
  const logger = pino({ level: 'warn', timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: true }));
  installTemporalRuntime(logger);
  say(`starting embedded PostgreSQL, Temporal, the worker and the API in ${dir} (log: ${logFile})…`);
  for (let attempt = 1; ; attempt++) {
    const config = loadConfig({
      ...FUZZ_PLATFORM_ENV,
      DATA_DIR: join(dir, `platform-${attempt}`), HOST: '127.0.0.1', PORT: String(await freePort()), WORKER_PORT: '0', TEMPORAL_METRICS_PORT: '0',
      EMBEDDED_PG_PORT: String(await freePort()), TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()),
      LOG_LEVEL: 'warn', NODE_ENV: 'test',
    });
    try {
      return await startPlatform(config, logger, { api: true, worker: true });
    } catch (err) {
      if (attempt >= 3 || !/in use/i.test((err as Error).message)) throw err;
      say(`a port was taken meanwhile (${(err as Error).message.split('\n')[0].slice(0, 120)}); trying new ports`);
    }
  }
}

/**
 * Data for the operations that need some: a model of each shipped pipeline (a run through the API, promoted)
 * and a paused schedule, so predictions, model versions, lineage, aliases and schedules answer more than 404.
 */
async function seedData(platform: Platform, baseUrl: string, token: string): Promise<void> {
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as { run?: { workflowId: string } };
  };
  for (const name of QUICK_SHIPPED_PIPELINES) {
    const pipelineName = loadShippedPipeline(name).name;
    const started = Date.now();
    const { run } = await call('POST', `/v1/pipelines/${encodeURIComponent(pipelineName)}/runs`, { allowPromotion: true });
    say(`training ${pipelineName} (${run!.workflowId})…`);
    const result = await platform.temporal.workflow.getHandle(run!.workflowId).result().then(() => 'done', (err: Error) => `failed: ${err.message}`);
    say(`  ${pipelineName}: ${result} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const pipeline = loadShippedPipeline(QUICK_SHIPPED_PIPELINES[0]).name;
  await call('POST', '/v1/schedules', { pipeline, interval: { every: '1 day' }, paused: true, note: 'made by npm run fuzz' });
}

/** Waits until the API accepts a key just made (the API re-reads the keys every API_KEY_REFRESH_MS). */
async function keyAccepted(baseUrl: string, token: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${baseUrl}/openapi.json`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.ok) return;
    if (Date.now() > deadline) throw new Error(`the API did not accept the admin key within 30 s (GET /openapi.json answered ${res.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the API logged for each 5xx (its stack), by request ID. */
async function serverStacks(logFile: string, errors: FuzzRequest[]): Promise<Map<string, string>> {
  const wanted = new Set(errors.map((e) => e.requestId).filter((id): id is string => id !== null));
  const stacks = new Map<string, string>();
  if (!wanted.size || !existsSync(logFile)) return stacks;
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    let entry: { requestId?: string; msg?: string; route?: string; err?: { stack?: string; message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.requestId && wanted.has(entry.requestId) && !stacks.has(entry.requestId)) {
      stacks.set(entry.requestId, `${entry.msg ?? ''} (route ${entry.route ?? '?'}): ${entry.err?.stack ?? entry.err?.message ?? ''}`);
    }
  }
  return stacks;
}

function printResult(r: SchemathesisResult, stacks: Map<string, string>): void {
  const statuses = Object.entries(r.statuses).sort(([a], [b]) => Number(a) - Number(b)).map(([s, n]) => `${s}: ${n}`).join(', ');
  console.log('');
  say(`schemathesis ${r.version} finished in ${(r.durationMs / 1000).toFixed(1)} s (exit ${r.exitCode})`);
  say(`requests: ${r.requests} (by status: ${statuses || 'none'})`);
  say(`operations: ${r.operations.tested} of ${r.operations.total} tested${r.operations.errored ? `, ${r.operations.errored} errored` : ''}${r.operations.skipped ? `, ${r.operations.skipped} skipped` : ''}`);
  for (const f of r.failures) say(`failed check: ${f.title} [${f.code}] ×${f.count} in ${f.operations.join(', ')}`);
  for (const e of r.errors) say(`schemathesis error: ${e.title} ×${e.count}`);
  say(`5xx answers: ${r.serverErrors.length}`);
  if (r.serverErrors.length) {
    console.log(formatServerErrors(r.serverErrors));
    for (const [id, stack] of stacks) console.log(`\n  API log for ${id}: ${stack}`);
  }
  say(`reports: ${[r.reports.requests, r.reports.json, r.reports.output, r.reports.har].filter(Boolean).join(', ')}`);
}

/** The options that reproduce this run, as `npm run fuzz` takes them. */
function commandLine(): string {
  const flags = [`--max-examples ${MAX_EXAMPLES}`, `--seed ${SEED}`];
  if (WORKERS !== 1) flags.push(`--workers ${WORKERS}`);
  if (PHASES) flags.push(`--phases ${PHASES.join(',')}`);
  if (values.conformance) flags.push('--conformance');
  return `npm run fuzz -- ${flags.join(' ')}`;
}

/** Adds a row to the table of runs at the end of docs/FUZZ.md (made on first use). */
async function recordRun(r: SchemathesisResult): Promise<void> {
  const header = [
    '# API fuzzing',
    '',
    '[Schemathesis](https://schemathesis.readthedocs.io) generates requests for every operation of the OpenAPI',
    'document (`GET /openapi.json`), sent with an admin key, and a run fails on any 5xx answer',
    '(`not_a_server_error`). Before it starts, the platform gets the shipped pipelines, a promoted model of each',
    'and a paused schedule; their names and IDs are half of the generated path parameters, so requests get',
    'past the 404.',
    '',
    '- `npm test` runs a bounded one against its integration platform (`test/integration/fuzz.test.ts`: 15',
    '  examples per operation, about 2,400 requests, some 45 s on two cores).',
    '- `npm run fuzz` runs a longer one (200 examples per operation unless `--max-examples` says otherwise) on a',
    '  platform of its own: embedded PostgreSQL and Temporal, the worker, the API (`scripts/fuzz.ts`). `--record`',
    '  adds its row below; `--conformance` also checks the answers against the document, counted in "other',
    '  failed checks" and never a failure.',
    '',
    'Schemathesis is pinned in `scripts/fuzz-venv.mjs` and installed into `.tools/fuzz-venv` by',
    '`node scripts/setup.mjs --test`: Python is a test tool here, never part of the platform.',
    '',
    '| date | command | schemathesis | requests | operations | 5xx | other failed checks | seconds |',
    '|---|---|---|---|---|---|---|---|',
  ].join('\n');
  const existing = existsSync(FUZZ_DOC) ? await readFile(FUZZ_DOC, 'utf8') : `${header}\n`;
  const others = r.failures.filter((f) => !SERVER_ERROR_CODES.includes(f.code));
  const otherText = others.length ? others.map((f) => `${f.title} ×${f.count}`).join('; ') : values.conformance ? 'none' : 'not checked';
  const row = `| ${new Date().toISOString().slice(0, 10)} | \`${commandLine()}\` | ${r.version} | ${r.requests} | ${r.operations.tested}/${r.operations.total} `
    + `| ${r.serverErrors.length} | ${otherText} | ${Math.round(r.durationMs / 1000)} |`;
  // The table ends the file: the new row goes last.
  await writeFile(FUZZ_DOC, `${existing.trimEnd()}\n${row}\n`);
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`[fuzz] error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
