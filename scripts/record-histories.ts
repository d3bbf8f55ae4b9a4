// Records the histories that test/replay/workflow-histories.test.ts replays against the current workflow
// code, so that a non-deterministic edit of workflows/ fails `npm test`. Run: npm run record:histories [case…]
//
// When to re-record, and when not:
// - Never to make a failing replay pass. It fails because runs already in flight (an approval can wait for
//   days) would break on the new code. Make the change versioned instead, behind patched('<change-id>') from
//   @temporalio/workflow, and keep the old histories: they now prove that the old branch still replays.
// - To add coverage: a new workflow (each one the worker registers needs a history), a new case, or the new
//   branch of a patched change. Keep the old files: the script overwrites its own case names, so first copy
//   an old history under a new name, with its manifest.json entry.
// - To retire old histories: only once deprecatePatch('<change-id>') has shipped and no run started before
//   the patch can still be open.
//
// Everything here is real: an embedded PostgreSQL, a Temporal dev server in memory, the platform's own
// assembly (a worker with real activities, the API app), runs started through the API as a user would.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { FaultInjector } from '../activities/failures.js';
import { assemblePlatform, type AssembledPlatform } from '../app/assemble.js';
import { startEmbeddedPostgres } from '../app/embedded-postgres.js';
import { findTemporalCli, startEmbeddedTemporal } from '../app/embedded-temporal.js';
import { freePort } from '../app/free-port.js';
import { installTemporalRuntime } from '../app/worker.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { migrateDatabase } from '../db/migrate.js';
import type { BackfillProgress, StageProgress, TrainingPipelineResult } from '../pipelines/contract.js';
import { loadShippedPipeline } from '../pipelines/shipped.js';
import { createApiKey } from '../registry/api-keys.js';
import { scheduledWorkflowId } from '../pipelines/workflow-ids.js';
import { loadConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { createMetrics } from '../runtime/metrics.js';
import { projectRoot } from '../runtime/project-root.js';
import { progressQuery } from '../workflows/definitions.js';

let interrupted = false;
const OUT_DIR = join(projectRoot, 'test', 'replay', 'histories');
const started = Date.now();
const elapsed = (since = started) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const say = (line: string) => process.stdout.write(`[record ${elapsed()}] ${line}\n`);

/** The football pipeline with few epochs: the histories need every stage, not a good model. */
function quickSpec(name: string) {
  const spec = loadShippedPipeline('football');
  return { ...spec, name, model: { ...spec.model, epochs: 6, earlyStoppingPatience: 0 } };
}
const withApproval = (name: string, expiresAfterSeconds: number) => {
  const spec = quickSpec(name);
  return { ...spec, promotion: { ...spec.promotion, approval: { expiresAfterSeconds } } };
};

// Faults outside the product, keyed by pipeline name (the run's workflow ID is train:<pipeline>:…).
const faults: FaultInjector = (point, attempt, run) => {
  const pipeline = run.workflowId.split(':')[1];
  if (pipeline === 'rp-retried' && point === 'clean' && attempt === 1) throw new Error('injected transient fault: file system hiccup');
  if (pipeline === 'rp-failed' && point === 'collect') throw new PipelineInputError('InvalidSource', 'the match feed is unavailable (injected)');
};

interface Ctx {
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  temporal: Client;
  taskQueue: string;
  /** An approver other than the admin who starts the runs (four eyes). */
  approverKey: string;
  /** Writes the API's queued prediction log entries now. */
  flushPredictionLog(): Promise<void>;
}

interface Case {
  name: string;
  what: string;
  /** Starts the execution(s) and returns the workflow ID whose history is recorded, once it is closed. */
  run(ctx: Ctx): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
function check(ok: boolean, what: string, got: unknown): void {
  if (!ok) throw new Error(`${what}; got ${JSON.stringify(got)}`);
}

async function createPipeline(ctx: Ctx, spec: Record<string, unknown>): Promise<void> {
  const res = await ctx.request('POST', '/v1/pipelines', spec);
  check(res.status === 201 || res.status === 200, `creating pipeline ${String(spec.name)} should succeed`, res);
}
async function startRun(ctx: Ctx, pipeline: string): Promise<string> {
  // A past asOf: two seasons to train on and one held out keep every run to a few seconds.
  const res = await ctx.request('POST', `/v1/pipelines/${pipeline}/runs`, { asOf: '2016-07-01' });
  check(res.status === 201, `starting a run of ${pipeline} should answer 201`, res);
  return res.body.run.workflowId as string;
}
async function outcome(ctx: Ctx, workflowId: string): Promise<{ result?: TrainingPipelineResult; error?: WorkflowFailedError }> {
  try {
    return { result: await ctx.temporal.workflow.getHandle(workflowId).result() };
  } catch (err) {
    if (err instanceof WorkflowFailedError) return { error: err };
    throw err;
  }
}

const CASES: Case[] = [
  {
    name: 'training-promoted',
    what: 'trainingPipeline: every stage succeeds and the model is promoted',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-promoted'));
      const id = await startRun(ctx, 'rp-promoted');
      const { result, error } = await outcome(ctx, id);
      check(result?.promotion.promoted === true, 'the run should be promoted', result?.promotion ?? error?.message);
      return id;
    },
  },
  {
    name: 'training-retried-stage',
    what: 'trainingPipeline: clean fails transiently on attempt 1, is retried, and the run succeeds',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-retried'));
      const id = await startRun(ctx, 'rp-retried');
      const { result, error } = await outcome(ctx, id);
      check(result !== undefined, 'the run should succeed', error?.message);
      const history = await ctx.temporal.workflow.getHandle(id).fetchHistory();
      const attempts = history.events!.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
      check(attempts.includes(2), 'an activity should have run a second attempt', attempts);
      return id;
    },
  },
  {
    name: 'training-approval-granted',
    what: 'trainingPipeline: waits for approval, a person approves through the API, the model is promoted',
    async run(ctx) {
      await createPipeline(ctx, withApproval('rp-approved', 3600));
      const id = await startRun(ctx, 'rp-approved');
      const handle = ctx.temporal.workflow.getHandle(id);
      await until(async () => {
        const p: StageProgress | undefined = await handle.query(progressQuery).catch(() => undefined);
        if (p?.stage === 'failed' || p?.stage === 'done') throw new Error(`run ${id} ended (${p.stage}) without waiting for approval`);
        return p?.stage === 'awaiting-approval' ? true : undefined;
      }, 'the run to wait for approval');
      const res = await ctx.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'recorded for the replay suite' }, { authorization: `Bearer ${ctx.approverKey}` });
      check(res.status === 200 && res.body.approval?.accepted === true, 'the approval should be accepted', res);
      const { result, error } = await outcome(ctx, id);
      check(result?.promotion.promoted === true, 'the approved run should be promoted', result?.promotion ?? error?.message);
      return id;
    },
  },
  {
    name: 'training-approval-expired',
    what: 'trainingPipeline: waits for approval, nobody decides within 2 s, nothing is promoted',
    async run(ctx) {
      await createPipeline(ctx, withApproval('rp-expired', 2));
      const id = await startRun(ctx, 'rp-expired');
      const { result, error } = await outcome(ctx, id);
      check(result?.promotion.promoted === false && /expired/.test(result.promotion.reasons.join(' ')), 'the approval should expire', result?.promotion ?? error?.message);
      return id;
    },
  },
  {
    name: 'training-failed-nonretryable',
    what: 'trainingPipeline: collect fails with a non-retryable InvalidSource, the run fails at once',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-failed'));
      const id = await startRun(ctx, 'rp-failed');
      const { result, error } = await outcome(ctx, id);
      const type = (error?.cause as { type?: string } | undefined)?.type;
      check(type === 'InvalidSource', 'the run should fail with InvalidSource', result ? 'succeeded' : error?.cause?.message);
      return id;
    },
  },
  {
    name: 'training-scheduled',
    what: 'trainingPipeline started by a schedule: no spec and no asOf in the input (resolvePipeline, scheduled time as asOf)',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-scheduled'));
      const scheduleId = 'rp-scheduled-yearly';
      const created = await ctx.request('POST', '/v1/schedules', { pipeline: 'rp-scheduled', id: scheduleId, cron: ['0 0 1 7 *'], paused: true, allowPromotion: false, note: 'replay recording' });
      check(created.status === 201, 'creating the schedule should answer 201', created);
      try {
        const bf = await ctx.request('POST', `/v1/schedules/${scheduleId}/backfill`, { start: '2016-06-30T00:00:00Z', end: '2016-07-02T00:00:00Z' });
        check(bf.status === 202, 'the schedule backfill should answer 202', bf);
        // Temporal appends the action time to the schedule's workflow ID.
        const id = `${scheduledWorkflowId('rp-scheduled')}-2016-07-01T00:00:00Z`;
        const result = await until(() => ctx.temporal.workflow.getHandle(id).result().catch((err: unknown) => {
          if (err instanceof WorkflowFailedError) throw err;
          return undefined;
        }), `the scheduled run ${id}`);
        check(result.asOf === '2016-07-01T00:00:00.000Z', 'the scheduled run should take its action time as asOf', result.asOf);
        return id;
      } finally {
        await ctx.request('DELETE', `/v1/schedules/${scheduleId}`);
      }
    },
  },
  {
    name: 'training-cancelled',
    what: 'trainingPipeline cancelled through the API while it runs: its record is written as failed, type Cancelled (patched)',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-cancelled'));
      const id = await startRun(ctx, 'rp-cancelled');
      await until(async () => ((await ctx.request('GET', `/v1/runs/${encodeURIComponent(id)}`)).body?.run?.status === 'running' ? true : undefined), 'the run record');
      const cancelled = await ctx.request('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`);
      check(cancelled.status === 202, 'cancelling the run should answer 202', cancelled);
      await ctx.temporal.workflow.getHandle(id).result().catch(() => undefined);
      const record = await until(async () => {
        const r = await ctx.request('GET', `/v1/runs/${encodeURIComponent(id)}`);
        return r.body?.run?.status === 'failed' ? r.body.run : undefined;
      }, 'the cancelled run record');
      check(record.failure?.type === 'Cancelled', 'the record should say the run was cancelled', record.failure);
      return id;
    },
  },
  {
    name: 'source-inspection',
    what: 'sourceInspection: the columns of a bundled source, read by a worker before a pipeline is saved',
    async run(ctx) {
      const id = 'inspect:record-histories';
      const r = await ctx.temporal.workflow.execute('sourceInspection', { taskQueue: ctx.taskQueue, workflowId: id, args: [{ source: { kind: 'bundled', dataset: 'football' } }] });
      check(Array.isArray((r as { columns?: unknown }).columns), 'the inspection should name the columns', r);
      return id;
    },
  },
  {
    name: 'batch-score-football',
    what: 'batchScore: the football matches scored by a promoted model in chunks of 1,000 rows, into one Parquet file',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-batch'));
      const run = await startRun(ctx, 'rp-batch');
      const { result, error } = await outcome(ctx, run);
      check(result?.promotion.promoted === true, 'the model to score with should be promoted', result?.promotion ?? error?.message);
      const res = await ctx.request('POST', '/v1/models/rp-batch/batch-predictions', { source: { kind: 'bundled', dataset: 'football' }, chunkRows: 1000 });
      check(res.status === 201, 'starting the batch job should answer 201', res);
      const id = res.body.job.id as string;
      const scored = await ctx.temporal.workflow.getHandle(id).result() as { rows: number; chunks: number };
      check(scored.chunks === Math.ceil(scored.rows / 1000) && scored.rows > 0, 'every chunk should be scored', scored);
      return id;
    },
  },
  {
    name: 'monitor-breach-retrain',
    what: 'modelMonitor: a window of unknown teams breaches the fallback rate and starts one retraining run (which waits for approval)',
    async run(ctx) {
      const spec = withApproval('rp-monitor', 3600);
      await createPipeline(ctx, { ...spec, promotion: { ...spec.promotion, approval: undefined } });
      const first = await startRun(ctx, 'rp-monitor');
      const { result, error } = await outcome(ctx, first);
      check(result?.promotion.promoted === true, 'the model to monitor should be promoted', result?.promotion ?? error?.message);
      // From now on a breach retrains, and the candidate waits for an approver.
      await createPipeline(ctx, { ...spec, monitoring: { windowMinutes: 60, minPredictions: 1, retrain: 'on-breach' } });
      const from = new Date(Date.now() - 1).toISOString();
      const served = await ctx.request('POST', '/v1/models/rp-monitor/predict', { instances: Array.from({ length: 10 }, (_, i) => ({ home_team: `Nowhere ${i}`, away_team: 'Arsenal' })) });
      check(served.status === 200, 'the predictions should be served', served);
      await sleep(5);
      const to = new Date().toISOString();
      await ctx.flushPredictionLog();
      const res = await ctx.request('POST', '/v1/models/rp-monitor/monitor/windows', { from, to, wait: true });
      check(res.status === 200 && res.body.report?.breach === true && res.body.retraining?.started === true, 'the window should breach and start a retraining run', res.body);
      return res.body.workflowId as string;
    },
  },
  {
    name: 'backfill-three-seasons',
    what: 'backfillPipeline: three seasons (2015-07-01 to 2017-07-01), concurrency 2, every partition succeeds',
    async run(ctx) {
      await createPipeline(ctx, quickSpec('rp-backfill'));
      const res = await ctx.request('POST', '/v1/pipelines/rp-backfill/backfills', { start: '2015-07-01', end: '2017-07-01', step: 'season', concurrency: 2 });
      check(res.status === 201, 'starting the backfill should answer 201', res);
      const id = res.body.backfill.id as string;
      const progress: BackfillProgress = await ctx.temporal.workflow.getHandle(id).result();
      check(progress.total === 3 && progress.done === 3, 'all three partitions should succeed', progress.partitions.map((p) => [p.asOf, p.status, p.failure]));
      return id;
    },
  },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const cases = only.length ? CASES.filter((c) => only.includes(c.name)) : CASES;
  if (only.length && cases.length !== only.length) throw new Error(`unknown case(s): ${only.filter((n) => !CASES.some((c) => c.name === n)).join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);

  const logger = createLogger('error', { role: 'record-histories' });
  const root = await mkdtemp(join(tmpdir(), 'mlp-record-'));
  // The embedded server runs as the `postgres` user when we are root: it must be able to enter this folder.
  await chmod(root, 0o755);
  const stops: { what: string; stop: () => Promise<void>; onSignal: boolean }[] = [];
  const stopAll = async (signalled = false) => {
    for (const s of stops.splice(0).reverse()) {
      if (signalled && !s.onSignal) continue;
      // Bounded, in case a service no longer answers at all: a recorder that hangs is worse than one that
      // leaves a temporary folder behind.
      const bounded = Promise.race([s.stop(), sleep(20_000).then(() => { throw new Error('no answer within 20 s'); })]);
      await bounded.catch((err: unknown) => process.stderr.write(`[record] stopping ${s.what}: ${err instanceof Error ? err.message : String(err)}\n`));
    }
    await rm(root, { recursive: true, force: true });
  };
  // On a signal only the servers are stopped: closing the client while its calls are being retried makes
  // grpc-js throw from a retry timer, and the process exits right after anyway.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(`${signal}: stopping Temporal and PostgreSQL, nothing written`);
    void stopAll(true).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    say('starting embedded PostgreSQL and a Temporal dev server (in memory)…');
    const pgPort = await freePort();
    const [pg, temporalServer] = await Promise.all([
      startEmbeddedPostgres({ dir: join(root, 'pg'), port: pgPort, logger }),
      (async () => startEmbeddedTemporal({ port: await freePort(), uiPort: await freePort(), headless: true, logger }))(),
    ]);
    stops.push({ what: 'PostgreSQL', stop: () => pg.stop(), onSignal: true }, { what: 'Temporal', stop: () => temporalServer.stop(), onSignal: true });
    say(`PostgreSQL on ${pgPort}, Temporal on ${temporalServer.address}`);

    await pg.createDatabase('replay_recording');
    const databaseUrl = pg.urlFor('replay_recording');
    await migrateDatabase(databaseUrl);
    const config = loadConfig({
      DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalServer.address, TEMPORAL_TASK_QUEUE: 'record-histories',
      DATA_DIR: join(root, 'data'), LOG_LEVEL: 'warn', NODE_ENV: 'test',
    });
    installTemporalRuntime(logger);
    say('starting the worker (real activities) and the API app; bundling the workflows…');
    const platform: AssembledPlatform = await assemblePlatform({
      config, logger, databaseUrl, temporalAddress: temporalServer.address, roles: { api: true, worker: true },
      metrics: { api: createMetrics({ defaultMetrics: false }), worker: createMetrics({ defaultMetrics: false }) },
      codeVersion: 'record-histories', faults,
    });
    stops.push({ what: 'platform', stop: () => platform.stop(), onSignal: false });
    const app = platform.api!.app;
    // Every request as an admin, and approvals as someone else (whoever started a run may not decide on it).
    const admin = (await createApiKey(platform.db, { name: 'recorder', role: 'admin' }, { actor: 'platform:record-histories', requestId: null })).token;
    const approverKey = (await createApiKey(platform.db, { name: 'recorder-approver', role: 'approver' }, { actor: 'platform:record-histories', requestId: null })).token;
    await platform.api!.keys.refresh();
    const ctx: Ctx = {
      temporal: platform.temporal,
      taskQueue: config.temporal.taskQueue,
      approverKey,
      flushPredictionLog: () => platform.api!.predictionLog.flush(),
      async request(method, path, body, headers = {}) {
        const res = await app.request(path, {
          method,
          headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
    };

    say(`running ${cases.length} case(s) concurrently: ${cases.map((c) => c.name).join(', ')}`);
    // Settled, not Promise.all: a failed case must not stop the services under the others' feet.
    const settled = await Promise.allSettled(cases.map(async (c) => {
      const t0 = Date.now();
      const workflowId = await c.run(ctx);
      const json = await exportHistory(temporalServer.address, config.temporal.namespace, workflowId);
      const events = (JSON.parse(json) as { events: unknown[] }).events.length;
      say(`${c.name}: done in ${elapsed(t0)} (${workflowId}, ${events} events, ${(json.length / 1024).toFixed(1)} KB)`);
      return { case: c, workflowId, json };
    }));
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [`${cases[i].name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length) throw new Error(`${failed.length} case(s) failed, nothing written:\n  ${failed.join('\n  ')}`);
    const recorded = settled.map((r) => (r as PromiseFulfilledResult<{ case: Case; workflowId: string; json: string }>).value);

    // Written only once every case passed, so the folder never mixes a half-finished recording.
    if (interrupted) return;
    await mkdir(OUT_DIR, { recursive: true });
    const manifest: Record<string, { workflowId: string; what: string }> = {};
    for (const r of recorded) {
      await writeFile(join(OUT_DIR, `${r.case.name}.json`), r.json);
      manifest[r.case.name] = { workflowId: r.workflowId, what: r.case.what };
    }
    // The manifest keeps histories recorded earlier (other case names, renamed files) unless their file is gone.
    const existing = await readManifest();
    const files = new Set((await readdir(OUT_DIR)).filter((f) => f.endsWith('.json') && f !== 'manifest.json'));
    const merged = Object.fromEntries(Object.entries({ ...existing, ...manifest }).filter(([name]) => files.has(`${name}.json`)).sort(([a], [b]) => a.localeCompare(b)));
    await writeFile(join(OUT_DIR, 'manifest.json'), `${JSON.stringify(merged, null, 2)}\n`);
    say(`wrote ${recorded.length} histories and manifest.json to ${relative(projectRoot, OUT_DIR)}/`);
  } finally {
    say('stopping the worker, Temporal and PostgreSQL…');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

/**
 * The history in the JSON form Temporal's tools share (`temporal workflow show --output json`, the Web UI's
 * download), which Worker.runReplayHistories accepts. The CLI writes it rather than the SDK's
 * historyToJSON: in this install that helper throws "type must be a Type" (npm gives @temporalio/common
 * and @temporalio/proto separate copies of protobufjs 8, and its protojson checks `instanceof Type`).
 */
function exportHistory(address: string, namespace: string, workflowId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(findTemporalCli(), ['workflow', 'show', '--address', address, '--namespace', namespace, '--workflow-id', workflowId, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`temporal workflow show ${workflowId} failed: ${stderr || err.message}`));
        // One event per line: smaller than the CLI's indented form, and a diff still shows which events changed.
        const { events } = JSON.parse(stdout) as { events: unknown[] };
        resolve(`{"events": [\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
      });
  });
}

async function readManifest(): Promise<Record<string, { workflowId: string; what: string }>> {
  try {
    return JSON.parse(await readFile(join(OUT_DIR, 'manifest.json'), 'utf8'));
  } catch {
    return {};
  }
}

main().then(
  () => {
    say('done');
    process.exit(0);
  },
  (err: unknown) => {
    if (interrupted) return; // the signal handler exits once the services are down
    process.stderr.write(`[record] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
