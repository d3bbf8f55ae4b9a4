// `mlp score`: batch prediction jobs. Starts one (a worker scores a table in chunks with a model version),
// follows it with a progress bar, and downloads its Parquet file of predictions, checking its digest.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { BatchJob } from '../api/schemas/batch.js';
import type { ApiClient } from './api-client.js';
import { progressLine } from './progress.js';

type Flags = Record<string, string | boolean | undefined>;
type Source = { kind: 'file'; path: string } | { kind: 'bundled'; dataset: string };

const POLL_MS = 500;
/** Every job ID starts so (pipelines/workflow-ids.ts); it tells `mlp score status <jobId>` from a model named "status". */
const JOB_ID_PREFIX = 'score:';
const jobPath = (id: string, tail = '') => `/v1/batch-predictions/${encodeURIComponent(id)}${tail}`;

/**
 * `mlp score <model> <source>`, `mlp score status <jobId>` and `mlp score follow <jobId>`; null when the
 * arguments fit none of them (the caller prints the usage).
 */
export async function scoreCommand(api: ApiClient, args: string[], f: Flags): Promise<number | null> {
  const [first, second] = args;
  if (!first || !second || args.length > 2) return null;
  if (first === 'status' && second.startsWith(JOB_ID_PREFIX)) {
    showJob((await api.request<{ job: BatchJob }>('GET', jobPath(second))).job);
    return 0;
  }
  if (first === 'follow' && second.startsWith(JOB_ID_PREFIX)) return followAndDownload(api, second, f);
  return startJob(api, first, second, f);
}

/** `mlp scores [--model M] [--limit N]`: jobs, newest first. */
export async function scoresCommand(api: ApiClient, f: Flags): Promise<number> {
  const q = new URLSearchParams({ ...(typeof f.model === 'string' ? { model: f.model } : {}), ...(typeof f.limit === 'string' ? { limit: f.limit } : {}) });
  const { jobs } = await api.request<{ jobs: BatchJob[] }>('GET', `/v1/batch-predictions?${q}`);
  for (const j of jobs) {
    const rows = j.rows === null ? '-' : String(j.rows);
    console.log(`${j.startedAt.slice(0, 19)}  ${j.status.padEnd(10)} ${`${j.model} v${j.version}`.padEnd(28)} ${rows.padStart(10)} rows  ${`${j.chunksDone}/${j.chunks ?? '?'}`.padStart(9)} chunks  ${j.id}`);
  }
  return 0;
}

/** A source argument: `bundled:<dataset>` is a vega-datasets file; anything else a path or URL the worker reads. */
export function parseSource(arg: string): Source {
  if (arg.startsWith('bundled:')) return { kind: 'bundled', dataset: arg.slice('bundled:'.length) };
  return { kind: 'file', path: arg };
}

function wholeNumber(flag: string, value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new Error(`--${flag} must be a whole number, not "${value}"`);
  return n;
}

async function startJob(api: ApiClient, model: string, sourceArg: string, f: Flags): Promise<number> {
  if (f.version !== undefined && f.alias !== undefined) throw new Error('give --version or --alias, not both');
  const version = wholeNumber('version', f.version);
  const chunkRows = wholeNumber('chunk-rows', f['chunk-rows']);
  const keep = typeof f.keep === 'string' ? f.keep.split(',').map((c) => c.trim()).filter((c) => c.length > 0) : [];
  const body = {
    source: parseSource(sourceArg),
    ...(version !== undefined ? { version } : {}),
    ...(typeof f.alias === 'string' ? { alias: f.alias } : {}),
    ...(keep.length > 0 ? { keep } : {}),
    ...(chunkRows !== undefined ? { chunkRows } : {}),
  };
  let job: BatchJob;
  try {
    ({ job } = await api.request<{ job: BatchJob }>('POST', `/v1/models/${encodeURIComponent(model)}/batch-predictions`, body));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${startHint((err as Error).message, model)}`);
  }
  console.log(`started ${job.id} (${job.model} v${job.version}${job.alias ? `, alias ${job.alias}` : ''})${job.webUiUrl ? `\n  Web UI: ${job.webUiUrl}` : ''}`);
  if (f['no-wait']) {
    console.log(`follow it with: mlp score follow ${job.id}${typeof f.out === 'string' ? ` --out ${f.out}` : ''}`);
    return 0;
  }
  return followAndDownload(api, job.id, f);
}

/** What to try when the API refused to start a job. */
function startHint(message: string, model: string): string {
  if (/→ 404 no_model/.test(message)) {
    return `  next: \`mlp models\` lists the models and their aliases; score one with --version N or --alias A${['status', 'follow'].includes(model) ? '; `mlp score status|follow` take a job ID (score:…)' : ''}`;
  }
  if (/→ 422 /.test(message)) {
    return '  next: check the arguments: <source> is a path under the worker\'s SOURCE_FILE_ROOTS, an http(s) URL or bundled:<dataset>; --chunk-rows is 1000..1000000; --keep names source columns other than row, label, prediction and p_*';
  }
  if (/→ 403 /.test(message)) return '  next: starting a job needs a key whose role may author (see `mlp keys`)';
  return '  next: see `mlp score --help`';
}

/** Follows a job to its end; downloads the predictions of one that succeeded. */
async function followAndDownload(api: ApiClient, jobId: string, f: Flags): Promise<number> {
  const job = await follow(api, jobId);
  if (job.status !== 'succeeded') {
    const why = job.failure ? ` in ${job.failure.stage}: [${job.failure.type}] ${job.failure.message}` : '';
    console.log(`\njob ${job.id} ${job.status}${why}`);
    console.log(`  next: fix the source or the model named above and start a new job; details: mlp score status ${job.id}${job.webUiUrl ? ` or ${job.webUiUrl}` : ''}`);
    return 1;
  }
  const out = resolve(typeof f.out === 'string' ? f.out : `${job.model}-predictions.parquet`);
  const sha256 = await downloadPredictions(api, job, out);
  console.log(`\nscored ${job.rows ?? '?'} rows with ${job.model} v${job.version} in ${jobSeconds(job)}`);
  console.log(`  predictions: ${out} (sha256 ${sha256})`);
  console.log(`  source hash: ${job.sourceHash ?? '-'}`);
  return 0;
}

/** Polls the job every POLL_MS, drawing chunks done / chunks, until it is no longer running. */
async function follow(api: ApiClient, jobId: string): Promise<BatchJob> {
  const bar = chunkProgress();
  for (;;) {
    const { job } = await api.request<{ job: BatchJob }>('GET', jobPath(jobId));
    bar.update(job);
    if (job.status !== 'running') {
      bar.finish();
      return job;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `mlp follow`'s bar (cli/progress.ts) over a job's chunks. */
function chunkProgress() {
  const line = progressLine();
  return {
    update(job: BatchJob) {
      const frac = job.status === 'succeeded' ? 1 : job.chunks ? job.chunksDone / job.chunks : 0;
      line.update(frac, job.chunks === null ? (job.status === 'running' ? 'reading the source' : job.status) : `${job.status} ${job.chunksDone}/${job.chunks} chunks`);
    },
    finish: line.finish,
  };
}

/**
 * Streams the predictions into a temporary file beside `out`, hashing them on the way, and renames it into
 * place only when the digest matches the one the API sent: `out` is either the whole, checked file or untouched.
 */
async function downloadPredictions(api: ApiClient, job: BatchJob, out: string): Promise<string> {
  const res = await api.download(jobPath(job.id, '/predictions'));
  const expected = res.headers.get('x-content-sha256') ?? job.outputSha256;
  if (!expected) throw new Error(`the API sent the predictions of ${job.id} without their SHA-256; nothing was written`);
  if (!res.body) throw new Error(`the API sent no predictions for ${job.id}`);
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  const hash = createHash('sha256');
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { mode: 0o644 }),
    );
    const got = hash.digest('hex');
    if (got !== expected) throw new Error(`the predictions of ${job.id} arrived with SHA-256 ${got}, not ${expected}; ${out} was not written, run \`mlp score follow ${job.id}\` to download them again`);
    await rename(tmp, out);
    return got;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function jobSeconds(job: BatchJob): string {
  if (!job.finishedAt) return '? s';
  return `${((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(1)} s`;
}

function showJob(j: BatchJob) {
  const source = j.source.kind === 'file' ? j.source.path : j.source.kind === 'bundled' ? `bundled:${j.source.dataset}` : j.source.kind;
  console.log(`${j.id}  ${j.status}  ${j.model} v${j.version}${j.alias ? ` (alias ${j.alias})` : ''}`);
  console.log(`  source: ${source}  rows ${j.rows ?? '-'}  chunks ${j.chunksDone}/${j.chunks ?? '?'}`);
  console.log(`  started ${j.startedAt.slice(0, 19)} by ${j.startedBy}${j.finishedAt ? `, finished ${j.finishedAt.slice(0, 19)} (${jobSeconds(j)})` : ''}`);
  if (j.sourceHash) console.log(`  source hash: ${j.sourceHash}`);
  if (j.outputSha256) console.log(`  predictions sha256: ${j.outputSha256} (download: mlp score follow ${j.id} --out FILE)`);
  if (j.failure) console.log(`  failure in ${j.failure.stage}: [${j.failure.type}] ${j.failure.message}`);
  if (j.webUiUrl) console.log(`  Web UI: ${j.webUiUrl}`);
}
