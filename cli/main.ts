#!/usr/bin/env node
// mlp: the command-line entry point. `up` runs the whole platform locally; the other commands are
// clients of the HTTP API.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadShippedPipeline, SHIPPED_PIPELINES } from '../pipelines/shipped.js';
import { migrateDatabase } from '../db/migrate.js';
import { savePipeline } from '../registry/pipelines.js';
import { loadConfig, type Config } from '../runtime/config.js';
import { createLogger, redactUrl } from '../runtime/logger.js';
import { backup, restore, RestoreRefused } from '../app/backup.js';
import { embeddedDatabaseUrl, REGISTRY_DATABASE, startEmbeddedPostgres } from '../app/embedded-postgres.js';
import { codeVersion } from '../runtime/version.js';
import pg from 'pg';
import { startPlatform, type Platform } from '../app/platform.js';
import { installTemporalRuntime } from '../app/worker.js';
import type { BackfillOne, BackfillProgress, BackfillStarted, PartitionRetry, WalkForwardReport } from '../api/schemas/backfills.js';
import type { ModelList, PredictResponse } from '../api/schemas/models.js';
import { STAGES } from '../pipelines/contract.js';
import type { PipelineList, PipelineSaved } from '../api/schemas/pipelines.js';
import type { RunDetail, RunList, StartedRun } from '../api/schemas/runs.js';
import type { ScheduleBackfillStarted, ScheduleDeleted, ScheduleList, ScheduleOne, ScheduleTriggered, ScheduleView } from '../api/schemas/schedules.js';
import type { AuditPage, CreatedKey, KeyList, RevokedKey } from '../api/schemas/keys.js';
import { ensureAdminKey } from '../app/admin-key.js';
import { createApiKey, ROLES, type Role } from '../registry/api-keys.js';
import { appendAudit } from '../registry/audit.js';
import { connectDb } from '../db/client.js';
import { ApiClient, cliApiKey } from './api-client.js';
import { createProgressPrinter, type RunView } from './progress.js';
import { driftCommand, monitorCommand } from './monitor.js';
import { scoreCommand, scoresCommand } from './score.js';

const USAGE = `mlp — ML pipelines on Temporal

  mlp up [--no-run]                      start Postgres, Temporal, worker and API (embedded unless
                                         DATABASE_URL / TEMPORAL_ADDRESS are set), run the football
                                         pipeline and serve its model; Ctrl-C stops everything
  mlp worker | mlp api                   run one role (containers)
  mlp migrate                            apply the SQL migrations to DATABASE_URL and exit
  mlp backup <archive.tar.gz>            registry database + artifact folder, into one archive
  mlp restore <archive.tar.gz> [--force] into an empty database and folder (--force replaces them)
  mlp pipeline create <spec.json> [--no-check]
                                         create a pipeline (or a new version of it); a worker checks
                                         its source first unless --no-check (the first run checks it)
  mlp pipeline list
  mlp run <pipeline> [--as-of DATE] [--no-promote] [--detach]
  mlp follow <workflowId>                show a run's progress until it ends
  mlp runs [--pipeline P] [--status S]
  mlp models
  mlp predict <model> <instances.json> [--alias A | --version N]
  mlp score <model> <source> [--out FILE] [--version N | --alias A] [--keep COL,COL]
            [--chunk-rows N] [--no-wait]
                                         batch predictions: a worker scores the table in chunks
                                         (default 100000 rows) with the model's production version (or
                                         the one named); the CLI follows the job and saves its Parquet
                                         file to --out (default <model>-predictions.parquet), SHA-256
                                         checked. <source> is read by the worker, not uploaded: a path
                                         under its SOURCE_FILE_ROOTS (relative: from the first), an
                                         http(s) URL, or bundled:<dataset> for a vega-datasets file
                                         (bundled:flights-3m.parquet)
  mlp score status <jobId>               a batch prediction job: status, chunks, hashes, failure
  mlp score follow <jobId> [--out FILE]
                                         follow a job (one started with --no-wait), then download it
  mlp scores [--model M] [--limit N]     batch prediction jobs, newest first
  mlp schedule create <pipeline> (--cron EXPR | --every DURATION) [--id ID] [--overlap skip]
                      [--catchup "1 day"] [--no-promote] [--paused]
  mlp schedule list | describe <id> | trigger <id> | delete <id>
  mlp schedule update <id> [--cron EXPR | --every DURATION] [--overlap P] [--catchup D]
  mlp schedule pause <id> --note TEXT | unpause <id> --note TEXT
  mlp schedule backfill <id> --start DATE --end DATE
  mlp backfill <pipeline> --start DATE --end DATE [--step season|month|N] [--concurrency N] [--promote]
  mlp backfill status <backfillId> | retry <backfillId> <asOf>
  mlp backfill report <backfillId> [--csv FILE] [--svg FILE]
  mlp keys create --name NAME --role ROLE [--expires DATE]
                                         a new API key (roles: ${ROLES.join(', ')}); its token is
                                         printed once
  mlp keys list | revoke <keyId>
  mlp keys bootstrap --name NAME [--role ROLE]
                                         a key made directly in the registry database (DATABASE_URL or
                                         the embedded one), for a deployment that has no admin key yet
  mlp audit [--actor A] [--action X] [--subject S] [--limit N]
  mlp monitor <model> [--paused] [--note TEXT]
                                         monitor the production model: one window judged per the
                                         pipeline's monitoring.windowMinutes (default a day)
  mlp monitor <model> reports [--limit N] | stop | backfill --start DATE --end DATE
  mlp drift <model> [--window FROM/TO] [--svg FILE [--statistic psi|ks|wasserstein|...] [--column C]]
                                         judge a window of served predictions now (default the last
                                         24 hours): drift per column, fallbacks, live quality

The API is reached at API_URL (default http://localhost:$PORT) with the key in MLP_API_KEY, else the admin
key \`mlp up\` stored in DATA_DIR/api-key on its first start.`;

type RunRecord = RunDetail['run'];

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'no-run': { type: 'boolean' }, 'no-check': { type: 'boolean' }, 'as-of': { type: 'string' }, 'no-promote': { type: 'boolean' }, detach: { type: 'boolean' },
      pipeline: { type: 'string' }, status: { type: 'string' }, alias: { type: 'string' }, version: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      cron: { type: 'string' }, every: { type: 'string' }, id: { type: 'string' }, overlap: { type: 'string' }, catchup: { type: 'string' },
      paused: { type: 'boolean' }, note: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, step: { type: 'string' },
      concurrency: { type: 'string' }, promote: { type: 'boolean' }, csv: { type: 'string' }, svg: { type: 'string' }, force: { type: 'boolean' },
      name: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' },
      subject: { type: 'string' }, limit: { type: 'string' },
      out: { type: 'string' }, keep: { type: 'string' }, 'chunk-rows': { type: 'string' }, 'no-wait': { type: 'boolean' }, model: { type: 'string' },
      window: { type: 'string' }, statistic: { type: 'string' }, column: { type: 'string' },
    },
  });
  const [cmd, ...rest] = positionals;
  if (!cmd || values.help) {
    console.log(USAGE);
    return cmd ? 0 : 1;
  }
  const config = loadConfig();
  const api = new ApiClient(config.apiUrl, cliApiKey(config));
  switch (cmd) {
    case 'up': return up(config, { run: !values['no-run'] });
    case 'worker': return serveRole(config, { api: false, worker: true });
    case 'api': return serveRole(config, { api: true, worker: false });
    case 'migrate': {
      const owner = config.database.migrationUrl ?? config.database.url;
      if (!owner) throw new Error('migrate applies migrations to MIGRATION_DATABASE_URL (else DATABASE_URL); set it (the embedded database is migrated by `mlp up` itself)');
      await migrateDatabase(owner);
      console.log('migrations applied');
      return 0;
    }
    case 'pipeline': {
      if (rest[0] === 'create' && rest[1]) {
        const spec = JSON.parse(readFileSync(rest[1], 'utf8'));
        const r = await api.request<PipelineSaved>('POST', `/v1/pipelines${values['no-check'] ? '?check=false' : ''}`, spec);
        console.log(`${r.created ? 'created' : 'unchanged'}: ${r.pipeline.name} v${r.pipeline.version}`);
        return 0;
      }
      if (rest[0] === 'list') {
        const r = await api.request<PipelineList>('GET', '/v1/pipelines');
        for (const p of r.pipelines) console.log(`${p.name.padEnd(24)} v${String(p.version).padEnd(4)} ${p.spec.description?.slice(0, 70) ?? ''}`);
        return 0;
      }
      break;
    }
    case 'run': {
      if (!rest[0]) break;
      const body = { ...(values['as-of'] ? { asOf: values['as-of'] } : {}), allowPromotion: !values['no-promote'] };
      const { run } = await api.request<StartedRun>('POST', `/v1/pipelines/${rest[0]}/runs`, body);
      console.log(`started ${run.workflowId}${run.webUiUrl ? `\n  Web UI: ${run.webUiUrl}` : ''}`);
      if (values.detach) return 0;
      const final = await follow(api, run.workflowId);
      printRunSummary(final);
      return final.status === 'succeeded' ? 0 : 1;
    }
    case 'follow': {
      if (!rest[0]) break;
      const final = await follow(api, rest[0]);
      printRunSummary(final);
      return final.status === 'succeeded' ? 0 : 1;
    }
    case 'runs': {
      const q = new URLSearchParams({ ...(values.pipeline ? { pipeline: values.pipeline } : {}), ...(values.status ? { status: values.status } : {}) });
      const r = await api.request<RunList>('GET', `/v1/runs?${q}`);
      for (const x of r.runs) console.log(`${x.startedAt.slice(0, 19)}  ${x.status.padEnd(10)} ${(x.stage ?? '').padEnd(9)} v${x.modelVersion ?? '-'}  ${x.workflowId}`);
      return 0;
    }
    case 'models': {
      const r = await api.request<ModelList>('GET', '/v1/models');
      for (const m of r.models) console.log(`${m.name.padEnd(24)} ${m.task.padEnd(15)} latest v${m.latestVersion ?? '-'}  ${Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`).join(' ')}`);
      return 0;
    }
    case 'backup':
    case 'restore': {
      if (!rest[0]) break;
      return withRegistryDatabase(config, async (databaseUrl) => {
        const progress = (m: string) => console.log(`  ${m}`);
        const s3 = config.artifactStore.kind === 's3' ? config.artifactStore : null;
        const artifacts = s3 ? { store: `s3://${s3.bucket}/${s3.prefix ? `${s3.prefix}/` : ''}` } : { dir: config.artifactDir };
        const artifactsWhere = 'dir' in artifacts ? artifacts.dir : artifacts.store;
        if (cmd === 'backup') {
          const m = await backup({ databaseUrl, artifacts, archive: rest[0], codeVersion: codeVersion(config.gitCommit), progress });
          console.log(`backup written: ${rest[0]} (${Object.values(m.tables).reduce((a, b) => a + b, 0)} rows, ${m.artifactFiles} artifact files)`);
        } else {
          try {
            await restore({ databaseUrl, artifacts, archive: rest[0], force: Boolean(values.force), progress });
            // After the restored rows, which replaced the log: who restored what, into where.
            const db = connectDb(databaseUrl, { max: 1 });
            await appendAudit(db, { actor: `cli:${userInfo().username}`, requestId: null, action: 'backup.restored', subject: `backup:${basename(rest[0])}`, details: { force: Boolean(values.force), artifacts: artifactsWhere } })
              .finally(() => db.$client.end());
          } catch (err) {
            if (err instanceof RestoreRefused) {
              console.error(`restore refused: ${err.message}`);
              return 2;
            }
            throw err;
          }
          console.log(`restored ${rest[0]} into ${redactUrl(databaseUrl)} and ${artifactsWhere}`);
        }
        return 0;
      });
    }
    case 'keys': return keysCommand(config, api, rest, values);
    case 'audit': {
      const q = new URLSearchParams(Object.entries({ actor: values.actor, action: values.action, subject: values.subject, limit: values.limit })
        .filter((e): e is [string, string] => typeof e[1] === 'string'));
      const r = await api.request<AuditPage>('GET', `/v1/audit?${q}`);
      for (const e of r.entries) console.log(`${e.at.slice(0, 19)}  ${e.actor.padEnd(24)} ${e.action.padEnd(26)} ${e.subject}  ${JSON.stringify(e.details)}`);
      return 0;
    }
    case 'schedule': return scheduleCommand(api, rest, values);
    case 'score': {
      const code = await scoreCommand(api, rest, values);
      if (code === null) break;
      return code;
    }
    case 'scores': return scoresCommand(api, values);
    case 'backfill': return backfillCommand(api, rest, values);
    case 'monitor': {
      const code = await monitorCommand(api, rest, values);
      if (code === null) break;
      return code;
    }
    case 'drift': {
      const code = await driftCommand(api, rest, values);
      if (code === null) break;
      return code;
    }
    case 'predict': {
      if (!rest[0] || !rest[1]) break;
      const raw = JSON.parse(readFileSync(rest[1], 'utf8'));
      const body = Array.isArray(raw) ? { instances: raw } : raw;
      const q = values.version ? `?version=${values.version}` : values.alias ? `?alias=${values.alias}` : '';
      console.log(JSON.stringify(await api.request<PredictResponse>('POST', `/v1/models/${rest[0]}/predict${q}`, body), null, 2));
      return 0;
    }
  }
  console.error(USAGE);
  return 1;
}

type Flags = Record<string, string | boolean | undefined>;

async function scheduleCommand(api: ApiClient, [sub, arg]: string[], f: Flags): Promise<number> {
  const timing = { ...(f.cron ? { cron: [f.cron] } : {}), ...(f.every ? { interval: { every: f.every } } : {}) };
  const show = (s: ScheduleView) => {
    console.log(`${s.id}  pipeline ${s.pipeline}  ${s.paused ? `PAUSED (${s.note ?? ''})` : 'active'}  overlap ${s.policies.overlap}`);
    console.log(`  next: ${s.nextActionTimes.slice(0, 3).join(', ') || '-'}`);
    for (const a of s.recentActions.slice(-5)) console.log(`  ran:  ${a.scheduledAt}  ${a.workflowId}`);
  };
  const path = (id: string, tail = '') => `/v1/schedules/${encodeURIComponent(id)}${tail}`;
  switch (sub) {
    case 'create': {
      if (!arg) break;
      const body = { pipeline: arg, ...timing, ...(f.id ? { id: f.id } : {}), ...(f.overlap ? { overlap: f.overlap } : {}), ...(f.catchup ? { catchupWindow: f.catchup } : {}), allowPromotion: !f['no-promote'], paused: Boolean(f.paused), ...(f.note ? { note: f.note } : {}) };
      show((await api.request<ScheduleOne>('POST', '/v1/schedules', body)).schedule);
      return 0;
    }
    case 'list': {
      for (const s of (await api.request<ScheduleList>('GET', '/v1/schedules')).schedules) show(s);
      return 0;
    }
    case 'describe':
      if (!arg) break;
      console.log(JSON.stringify((await api.request<ScheduleOne>('GET', path(arg))).schedule, null, 2));
      return 0;
    case 'update': {
      if (!arg) break;
      const body = { ...timing, ...(f.overlap ? { overlap: f.overlap } : {}), ...(f.catchup ? { catchupWindow: f.catchup } : {}), ...(f['no-promote'] ? { allowPromotion: false } : {}) };
      show((await api.request<ScheduleOne>('PATCH', path(arg), body)).schedule);
      return 0;
    }
    case 'pause':
    case 'unpause':
      if (!arg || !f.note) break;
      show((await api.request<ScheduleOne>('POST', path(arg, `/${sub}`), { note: f.note })).schedule);
      return 0;
    case 'trigger':
      if (!arg) break;
      await api.request<ScheduleTriggered>('POST', path(arg, '/trigger'));
      console.log(`triggered ${arg}`);
      return 0;
    case 'backfill':
      if (!arg || !f.start || !f.end) break;
      await api.request<ScheduleBackfillStarted>('POST', path(arg, '/backfill'), { start: f.start, end: f.end });
      console.log(`schedule ${arg}: one run per action time from ${f.start} to ${f.end} queued`);
      return 0;
    case 'delete':
      if (!arg) break;
      await api.request<ScheduleDeleted>('DELETE', path(arg));
      console.log(`deleted ${arg}`);
      return 0;
  }
  console.error(USAGE);
  return 1;
}

async function backfillCommand(api: ApiClient, [sub, ...args]: string[], f: Flags): Promise<number> {
  const path = (id: string, tail = '') => `/v1/backfills/${encodeURIComponent(id)}${tail}`;
  const printProgress = (b: BackfillProgress) => {
    console.log(`${b.backfillId}: ${b.done}/${b.total} done, ${b.running} running, ${b.failed} failed, ${b.remaining} remaining`);
    for (const x of b.partitions) console.log(`  ${x.asOf.slice(0, 10)}  ${x.status.padEnd(9)} ${x.modelVersion ? `v${x.modelVersion}` : ''} ${x.failure ?? ''}`);
  };
  if (sub === 'status' && args[0]) {
    printProgress((await api.request<BackfillOne>('GET', path(args[0]))).backfill);
    return 0;
  }
  if (sub === 'retry' && args[0] && args[1]) {
    const r = await api.request<PartitionRetry>('POST', path(args[0], `/partitions/${args[1]}/retry`));
    console.log(`retrying ${r.retry.workflowId}`);
    return 0;
  }
  if (sub === 'report' && args[0]) {
    const report = await api.request<WalkForwardReport>('GET', path(args[0], '/report'));
    for (const r of report.rows) {
      const m = r.metrics ?? {};
      const b = Object.entries(r.baselines ?? {}).map(([k, v]) => `${k} acc ${v.accuracy?.toFixed(3) ?? '-'} ll ${v.logLoss?.toFixed(3) ?? '-'}`).join(' | ');
      console.log(`${r.testFrom ?? '?'}..${r.testTo ?? '?'}  model acc ${m.accuracy?.toFixed(3) ?? '-'} ll ${m.logLoss?.toFixed(3) ?? '-'}${m.rmse !== undefined ? ` rmse ${m.rmse.toFixed(3)}` : ''}  | ${b}`);
    }
    const base = api.baseUrl + path(args[0], '/report');
    if (typeof f.csv === 'string') await writeFile(f.csv, await (await fetch(`${base}?format=csv`, { headers: api.authHeaders() })).text());
    if (typeof f.svg === 'string') await writeFile(f.svg, await (await fetch(`${base}?format=svg`, { headers: api.authHeaders() })).text());
    return 0;
  }
  if (sub && f.start && f.end) {
    const step = f.step === undefined || f.step === 'season' || f.step === 'month' ? f.step ?? 'season' : { months: Number(f.step) };
    const body = { start: f.start, end: f.end, step, concurrency: f.concurrency ? Number(f.concurrency) : 2, allowPromotion: Boolean(f.promote) };
    const r = await api.request<BackfillStarted>('POST', `/v1/pipelines/${sub}/backfills`, body);
    console.log(`${r.backfill.existing ? 'already submitted' : 'started'}: ${r.backfill.id} (${r.backfill.partitions.length} runs)${r.backfill.webUiUrl ? `\n  Web UI: ${r.backfill.webUiUrl}` : ''}`);
    if (f.detach) return 0;
    for (;;) {
      const { backfill } = await api.request<BackfillOne>('GET', path(r.backfill.id));
      if (backfill.status !== 'RUNNING') {
        printProgress(backfill);
        return backfill.failed > 0 ? 1 : 0;
      }
      process.stdout.write(`  ${backfill.done}/${backfill.total} done, ${backfill.running} running, ${backfill.failed} failed\n`);
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
  console.error(USAGE);
  return 1;
}

async function keysCommand(config: Config, api: ApiClient, [sub, arg]: string[], f: Flags): Promise<number> {
  const role = (r: unknown): Role => {
    if (typeof r === 'string' && (ROLES as readonly string[]).includes(r)) return r as Role;
    throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  };
  const showCreated = (r: CreatedKey) => {
    console.log(`key ${r.key.id} "${r.key.name}" (${r.key.role})${r.key.expiresAt ? `, expires ${r.key.expiresAt}` : ''}`);
    console.log(`token (shown once; store it as a secret):\n  ${r.token}`);
  };
  switch (sub) {
    case 'create': {
      if (typeof f.name !== 'string') break;
      showCreated(await api.request<CreatedKey>('POST', '/v1/keys', { name: f.name, role: role(f.role), ...(typeof f.expires === 'string' ? { expiresAt: new Date(f.expires).toISOString() } : {}) }));
      return 0;
    }
    case 'list': {
      const r = await api.request<KeyList>('GET', '/v1/keys');
      for (const k of r.keys) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.slice(0, 19)}` : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'live';
        console.log(`${k.id}  ${k.name.padEnd(24)} ${k.role.padEnd(10)} ${state.padEnd(28)} last used ${k.lastUsedAt?.slice(0, 19) ?? 'never'}`);
      }
      return 0;
    }
    case 'revoke': {
      if (!arg) break;
      const r = await api.request<RevokedKey>('DELETE', `/v1/keys/${encodeURIComponent(arg)}`);
      console.log(`revoked ${r.key.id} "${r.key.name}"`);
      return 0;
    }
    case 'bootstrap': {
      if (typeof f.name !== 'string') break;
      const name = f.name;
      return withRegistryDatabase(config, async (url) => {
        const db = connectDb(url, { max: 1 });
        try {
          const r = await createApiKey(db, { name, role: f.role === undefined ? 'admin' : role(f.role) }, { actor: `cli:${userInfo().username}`, requestId: null });
          showCreated({ key: { ...r.key, createdAt: r.key.createdAt.toISOString(), expiresAt: null, revokedAt: null, lastUsedAt: null }, token: r.token });
        } finally {
          await db.$client.end();
        }
        return 0;
      });
    }
  }
  console.error(USAGE);
  return 1;
}

async function follow(api: ApiClient, workflowId: string): Promise<{ status: string; run: RunRecord }> {
  const bar = createProgressPrinter();
  for (;;) {
    const { run } = await api.request<RunDetail>('GET', `/v1/runs/${encodeURIComponent(workflowId)}`);
    const terminal = run.status === 'succeeded' || run.status === 'failed' || (run.live && !['RUNNING'].includes(run.live.status) && run.status !== 'running');
    const hb = run.live?.heartbeat;
    const view: RunView = {
      status: run.status ?? run.live?.status ?? 'starting',
      stage: run.live?.progress?.stage ?? run.stage ?? null,
      completed: run.live?.progress?.completed ?? [],
      ...(hb && typeof hb === 'object' && 'epoch' in hb ? { epoch: hb.epoch, epochs: hb.epochs, loss: hb.loss, valLoss: hb.valLoss } : {}),
      attempt: run.live?.attempt,
    };
    if (run.status === 'succeeded') view.completed = [...STAGES];
    bar.update(view);
    if (terminal) {
      bar.finish();
      return { status: run.status ?? run.live?.status ?? 'unknown', run };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function printRunSummary({ status, run }: { status: string; run: RunRecord }) {
  if (status !== 'succeeded') {
    console.log(`\nrun ${run.workflowId} ${status}${run.failure ? ` in ${run.failure.stage}: [${run.failure.type}] ${run.failure.message}` : ''}`);
    return;
  }
  const s = run.summary;
  if (!s) {
    console.log(`\nrun ${run.workflowId} succeeded; its summary is not recorded yet`);
    return;
  }
  const { metrics, baselines, champion, promotion: p } = s;
  // jsonb does not keep key order; show the headline metrics first, under short names.
  const LABELS: Record<string, string> = { accuracy: 'accuracy', logLoss: 'log-loss', rankedProbabilityScore: 'RPS', macroF1: 'macro-F1', expectedCalibrationError: 'ECE', rmse: 'RMSE', mae: 'MAE', r2: 'R²' };
  const cols = Object.keys(LABELS).filter((k) => k in metrics);
  const rows: [string, Record<string, number>][] = [['model', metrics], ...Object.entries(baselines).map(([k, v]) => [`baseline: ${k}`, v] as [string, Record<string, number>])];
  if (champion) rows.push([`production v${champion.version}`, champion.metrics]);
  console.log(`\nheld-out metrics (${metrics.n} rows):`);
  console.log(`  ${''.padEnd(22)}${cols.map((c) => LABELS[c].padStart(11)).join('')}`);
  for (const [name, m] of rows) console.log(`  ${name.padEnd(22)}${cols.map((c) => (m[c] === undefined ? '-' : m[c].toFixed(4)).padStart(11)).join('')}`);
  console.log(p.promoted
    ? `\npromoted v${p.toVersion} to ${p.alias}${p.fromVersion ? ` (was v${p.fromVersion})` : ''}`
    : `\nv${p.toVersion} registered, not promoted: ${p.reasons.join('; ')}`);
  if (run.webUiUrl) console.log(`Web UI: ${run.webUiUrl}`);
}

function fileLogger(config: Config) {
  const file = join(config.dataDir, 'platform.log');
  return { file, logger: pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: file, mkdir: true, sync: false })) };
}

async function up(config: Config, opts: { run: boolean }): Promise<number> {
  const { file, logger } = fileLogger(config);
  installTemporalRuntime(logger, { metricsPort: config.temporalMetricsPort, host: config.host });
  console.log(`starting the platform (logs: ${file})`);
  console.log(`  Postgres: ${config.database.url ? 'external (DATABASE_URL)' : `embedded, data in ${join(config.dataDir, 'postgres')}`}`);
  console.log(`  Temporal: ${config.temporal.address ? `external at ${config.temporal.address}` : `local dev server, state in ${join(config.dataDir, 'temporal')}`}`);
  const platform = await startPlatform(config, logger, { api: true, worker: true });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping API, worker, Temporal and Postgres…');
    await platform.stop();
    logger.flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  try {
    await showcase(config, platform, opts, file);
  } catch (err) {
    // Nothing is left running behind a failed start: Temporal and Postgres stop with it.
    console.error(`error: ${(err as Error).message}`);
    await platform.stop();
    logger.flush();
    return 1;
  }
  console.log(`\nplatform running — API ${platform.apiUrl}, Temporal Web UI ${platform.webUiUrl ?? '-'}. Press Ctrl-C to stop.`);
  await new Promise(() => undefined);
  return 0;
}

/** What `mlp up` does once the platform runs: the shipped pipelines, the first admin key, the flagship run, a prediction. */
async function showcase(config: Config, platform: Platform, opts: { run: boolean }, logFile: string): Promise<void> {
  for (const name of SHIPPED_PIPELINES) await savePipeline(platform.db, loadShippedPipeline(name), { actor: 'platform:mlp-up', requestId: null });
  console.log(`  API: ${platform.apiUrl}\n  Temporal Web UI: ${platform.webUiUrl ?? '(external cluster)'}`);
  const admin = await ensureAdminKey(platform.db, config.dataDir);
  await platform.refreshKeys();
  if (admin.state === 'created') {
    console.log(`\n  admin API key (shown once; stored for the CLI in ${admin.file}, readable by you only):\n    ${admin.token}`);
    console.log('  make keys for people and services with: npm run mlp -- keys create --name NAME --role ROLE');
  } else if (admin.state === 'stored') console.log(`  CLI key: ${admin.file}`);
  else console.log(`  this platform has API keys but none stored in ${admin.file}: set MLP_API_KEY to use the CLI`);
  const token = config.apiKey ?? (admin.state === 'none' ? null : admin.token);
  const api = new ApiClient(platform.apiUrl!, token);
  if (opts.run) {
    const { run } = await api.request<StartedRun>('POST', '/v1/pipelines/football/runs', { allowPromotion: true });
    console.log(`\nrunning pipeline football: ${run.workflowId}`);
    const final = await follow(api, run.workflowId);
    printRunSummary(final);
    if (final.status !== 'succeeded') {
      console.log(`\nthe run failed; the platform keeps running so you can inspect it in the Web UI. Logs: ${logFile}`);
    }
  }
  await samplePrediction(api, admin.file);
}

async function samplePrediction(api: ApiClient, keyFile: string) {
  const instances = [
    // Team names as the data writes them ("R. Madrid"), and one team the data has never heard of, whose
    // answer says it was rated as a newcomer.
    { home_team: 'Arsenal', away_team: 'Chelsea', date: '2017-08-12', division: 'English Premier League' },
    { home_team: 'Barcelona', away_team: 'R. Madrid', date: '2017-08-20', division: 'Primera Division' },
    { home_team: 'A Brand New FC', away_team: 'Juventus', date: '2017-08-19', division: 'Serie A' },
  ];
  try {
    const r = await api.request<PredictResponse>('POST', '/v1/models/football/predict', { instances });
    console.log(`\nsample prediction from POST /v1/models/football/predict (production v${r.version}):`);
    instances.forEach((x, i) => {
      const p = r.predictions[i];
      const outcome = 'label' in p
        ? `${p.label} (${Object.entries(p.probabilities).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')})`
        : String(p.value);
      console.log(`  ${x.home_team} vs ${x.away_team}: ${outcome}`);
      for (const w of p.warnings ?? []) console.log(`    warning (${w.kind}): ${w.message}`);
    });
    console.log(`  try it: curl -s -X POST ${api.baseUrl}/v1/models/football/predict -H "authorization: Bearer $(cat ${keyFile})" \\\n` +
      `    -H 'content-type: application/json' -d '${JSON.stringify({ instances: instances.slice(0, 1) })}'`);
  } catch (err) {
    console.log(`\nno prediction yet: ${(err as Error).message}`);
  }
}

/**
 * Runs `work` against the registry database: DATABASE_URL, else the embedded server — the one `mlp up`
 * is running if it answers, else started here just for this command.
 */
async function withRegistryDatabase(config: Config, work: (url: string) => Promise<number>): Promise<number> {
  // The owner's login where there is one: a restore replaces whole tables.
  const external = config.database.migrationUrl ?? config.database.url;
  if (external) return work(external);
  const logger = createLogger('warn');
  const url = embeddedDatabaseUrl(config.database.embeddedPort, REGISTRY_DATABASE);
  const probe = new pg.Client({ connectionString: url });
  const running = await probe.connect().then(() => true, () => false);
  await probe.end().catch(() => undefined);
  if (running) return work(url);
  const server = await startEmbeddedPostgres({ dir: join(config.dataDir, 'postgres'), port: config.database.embeddedPort, logger });
  try {
    await server.createDatabase(REGISTRY_DATABASE);
    return await work(server.urlFor(REGISTRY_DATABASE));
  } finally {
    await server.stop();
  }
}

async function serveRole(config: Config, roles: { api: boolean; worker: boolean }): Promise<number> {
  const logger = createLogger(config.logLevel, { role: roles.api ? 'api' : 'worker' });
  installTemporalRuntime(logger, roles.worker ? { metricsPort: config.temporalMetricsPort, host: config.host } : {});
  const platform = await startPlatform(config, logger, roles);
  const stop = async () => {
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => undefined);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  },
);
