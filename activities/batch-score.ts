// Batch scoring: a table's rows through a registered model version, in chunks, into one Parquet file of
// predictions. The plan writes the source's rows as one input file per chunk; scoring reads one chunk,
// scores it and writes it whole (a temporary file renamed into place), so its memory is one chunk's, and
// after a crash the retried attempt finds exactly the chunks that are done and starts at the first that is
// not: no row is scored into the output twice, none is skipped. Rows are encoded by the feature
// transform's per-value functions and scored by the serving model loader, the code the predict API runs.
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import pl from 'nodejs-polars';
import { allRows } from '../data/column-data.js';
import { frameColumns } from '../data/frame-columns.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { loadSource } from '../data/sources.js';
import { columnEncoder, inputWarnings } from '../data/transform.js';
import { failBatchJob, finishBatchJob, getBatchJob, recordBatchPlan, recordChunksDone } from '../registry/batch-jobs.js';
import { getVersion } from '../registry/models.js';
import { dirDigest, sha256Dir, sha256File, type FileDigest } from '../runtime/artifacts.js';
import { servingEncoder } from '../serving/encoder.js';
import { loadPredictor, type Predictor } from '../serving/predictor.js';
import type { BatchScoreActivities, BatchScorePlan, BatchScoreProgress } from '../pipelines/contract.js';
import { releaseUnusedMemory } from '../runtime/native-memory.js';
import { classifyFailures } from './failures.js';
import { heartbeatWhile } from './heartbeat-while.js';
import type { ActivityDeps } from './deps.js';

/** The output's row number column: the position of the row in the source, from 0. */
export const ROW_COLUMN = 'row';
const partName = (chunk: number) => `part-${String(chunk).padStart(6, '0')}.parquet`;
const PART_RE = /^part-(\d{6})\.parquet$/;

/** classifyFailures, then the native memory of the attempt's dataframes given back (runtime/native-memory.ts). */
async function batchStep<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await classifyFailures(work);
  } finally {
    releaseUnusedMemory();
  }
}

export function createBatchScoreActivities(deps: ActivityDeps): BatchScoreActivities {
  const { db, artifacts } = deps;
  const keyOf = (jobId: string, what: 'input' | 'parts' | 'output') => `batch/${jobId}/${what}`;

  return {
    /** Reads the source once into the job's input artifact and pins the model version's files. */
    async planBatchScore({ jobId, job }) {
      return batchStep(async () => {
        const ctx = Context.current();
        const version = await getVersion(db, job.model, job.version);
        if (!version) throw new PipelineInputError('InvalidSpec', `model "${job.model}" has no version ${job.version}`);
        const df = (await heartbeatWhile(ctx, { loading: job.source.kind }, 5_000, () => loadSource(job.source, { ...deps.sources, logger: deps.logger }))).df;
        if (df.height === 0) throw new PipelineInputError('InvalidSource', 'the source has no rows to score');
        const fields = version.inputSchema.map((f) => f.name);
        const missing = [...version.inputSchema.filter((f) => f.required).map((f) => f.name), ...job.keep].filter((c) => !df.columns.includes(c));
        if (missing.length > 0) {
          throw new PipelineInputError('InvalidSource', `the source lacks column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} that model "${job.model}" v${job.version} needs (or that keep names); its columns are: ${df.columns.slice(0, 30).join(', ')}`);
        }
        const kept = df.select(...new Set([...job.keep, ...fields.filter((c) => df.columns.includes(c))]));
        const key = keyOf(jobId, 'input');
        const dir = await artifacts.workDir(key, { fresh: true });
        const chunks = Math.ceil(df.height / job.chunkRows);
        const digests: FileDigest[] = [];
        for (let chunk = 0; chunk < chunks; chunk++) {
          const file = join(dir, partName(chunk));
          kept.slice(chunk * job.chunkRows, job.chunkRows).writeParquet(file);
          digests.push({ path: partName(chunk), sha256: await sha256File(file) });
        }
        const plan: BatchScorePlan = {
          warnings: inputWarnings(version.inputSchema, frameColumns(kept)), inputUri: await heartbeatWhile(ctx, { publishing: chunks }, 5_000, () => artifacts.publish(key)), sourceHash: dirDigest(digests),
          rows: df.height, chunks, modelUri: version.artifactUri, modelSha256: version.artifactSha256,
        };
        await recordBatchPlan(db, jobId, plan);
        return plan;
      });
    },

    /** Scores every chunk not yet on disk, heartbeating after each. */
    async scoreBatch({ jobId, job, plan }) {
      return batchStep(async () => {
        const ctx = Context.current();
        const { attempt } = ctx.info;
        // On a machine that has none of the job's files yet (a retry elsewhere), fetching the model, the
        // finished chunks and the input takes a while before the first chunk's heartbeat.
        const { modelDir, partsDir, input } = await heartbeatWhile(ctx, { fetching: plan.chunks }, 5_000, async () => ({
          modelDir: await artifacts.localPath(plan.modelUri), partsDir: await artifacts.workDir(keyOf(jobId, 'parts')), input: await artifacts.localPath(plan.inputUri),
        }));
        if (await sha256Dir(modelDir) !== plan.modelSha256) {
          throw new PipelineInputError('InvalidSpec', `the files of model "${job.model}" v${job.version} no longer match the registry's digest; the job scores nothing with them`);
        }
        const first = await firstUnwritten(partsDir);
        const started = performance.now();
        const predictor = await loadPredictor(modelDir, undefined, { engine: 'tfjs' });
        try {
          // A job planned before inputs were written per chunk has one input file: slice it.
          const whole = input.endsWith('.parquet') ? pl.readParquet(input) : null;
          for (let chunk = first; chunk < plan.chunks; chunk++) {
            if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the batch job was cancelled');
            const rows = whole ? whole.slice(chunk * job.chunkRows, job.chunkRows) : pl.readParquet(join(input, partName(chunk)));
            const scores = predictor.predictMatrix(encodeChunk(predictor, rows), rows.height);
            const tmp = join(partsDir, `.${partName(chunk)}.${attempt}.tmp`);
            predictionFrame(predictor, rows.select(...job.keep), chunk * job.chunkRows, scores).writeParquet(tmp);
            await rename(tmp, join(partsDir, partName(chunk)));
            // In the store before the chunk counts as done: a retry on another machine starts after it.
            await artifacts.sync(keyOf(jobId, 'parts'));
            ctx.heartbeat({ chunksDone: chunk + 1, chunks: plan.chunks });
            await recordChunksDone(db, jobId, chunk + 1);
            await deps.faults?.(`score:chunk:${chunk + 1}`, attempt, { workflowId: jobId });
            // Let the heartbeat and the registry write go out between chunks.
            await yieldToEventLoop();
          }
        } finally {
          predictor.dispose();
        }
        const progress: BatchScoreProgress = { chunks: plan.chunks, chunksDone: plan.chunks, resumedFromChunk: first, seconds: (performance.now() - started) / 1000 };
        return progress;
      });
    },

    /** Joins the chunks, in order, into the job's predictions file and records it. */
    async finishBatchScore({ jobId, job, plan, progress }) {
      return batchStep(async () => {
        const base = { jobId, model: job.model, version: job.version, rows: plan.rows, chunks: plan.chunks, sourceHash: plan.sourceHash, resumedFromChunk: progress.resumedFromChunk, scoreSeconds: progress.seconds, warnings: plan.warnings };
        // Finished by an attempt whose completion was lost: its chunks are gone, its output and row stay.
        const recorded = await getBatchJob(db, jobId);
        if (recorded?.status === 'succeeded' && recorded.outputUri && recorded.outputSha256) return { ...base, outputUri: recorded.outputUri, outputSha256: recorded.outputSha256 };
        const partsDir = await heartbeatWhile(Context.current(), { fetching: plan.chunks }, 5_000, () => artifacts.workDir(keyOf(jobId, 'parts')));
        const parts = (await readdir(partsDir)).filter((f) => PART_RE.test(f)).sort();
        if (parts.length !== plan.chunks) throw new Error(`found ${parts.length} of ${plan.chunks} chunks of batch job ${jobId}`);
        Context.current().heartbeat({ joining: parts.length });
        const out = pl.concat(parts.map((p) => pl.readParquet(join(partsDir, p))), { how: 'vertical' });
        if (out.height !== plan.rows) throw new Error(`the chunks of batch job ${jobId} hold ${out.height} rows, the input ${plan.rows}`);
        const key = keyOf(jobId, 'output');
        const dir = await artifacts.workDir(key, { fresh: true });
        const file = join(dir, 'predictions.parquet');
        out.writeParquet(file);
        const result = { ...base, outputUri: `${await artifacts.publish(key)}/predictions.parquet`, outputSha256: await sha256File(file) };
        await finishBatchJob(db, jobId, result);
        // The chunks are in the output now: gone from the store (workDir fresh empties it there too) and from
        // here. The input artifact stays, as the job's lineage.
        await artifacts.workDir(keyOf(jobId, 'parts'), { fresh: true });
        await rm(partsDir, { recursive: true, force: true });
        return result;
      });
    },

    async failBatchScore({ jobId, failure }) {
      await failBatchJob(db, jobId, failure);
    },
  };
}

/** The first chunk with no file: chunks are written in order, so every one before it is done. */
async function firstUnwritten(dir: string): Promise<number> {
  const done = new Set((await readdir(dir)).map((f) => PART_RE.exec(f)?.[1]).filter((n): n is string => n !== undefined).map(Number));
  let first = 0;
  while (done.has(first)) first++;
  return first;
}

/**
 * A chunk's model input matrix: through the column encoder (typed arrays, no row objects), or, for a model
 * with head-to-head features, through the predict path's own encoder, which derives them from the state
 * the model was trained to.
 */
function encodeChunk(predictor: Predictor, rows: pl.DataFrame): Float32Array {
  const transform = predictor.fitted.transform;
  if (transform.headToHead) return servingEncoder(transform).encode(rows.toRecords() as Record<string, unknown>[]);
  return columnEncoder(transform, frameColumns(rows))(allRows(rows.height));
}

/** One chunk's output: row numbers, the kept columns, then the predicted label and each class's probability (or the value). */
function predictionFrame(predictor: Predictor, kept: pl.DataFrame, from: number, scores: Float32Array): pl.DataFrame {
  const rows = kept.height;
  const columns: pl.Series[] = [pl.Series(ROW_COLUMN, Float64Array.from({ length: rows }, (_, i) => from + i)).cast(pl.Int64)];
  for (const name of kept.columns) columns.push(kept.getColumn(name));
  const classes = predictor.fitted.classes;
  if (!classes) {
    columns.push(pl.Series('prediction', scores));
  } else {
    const k = classes.length;
    const labels = new Array<string>(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (scores[r * k + j] > scores[r * k + best]) best = j;
      labels[r] = classes[best];
    }
    columns.push(pl.Series('label', labels));
    classes.forEach((c, j) => columns.push(pl.Series(`p_${c}`, Float32Array.from({ length: rows }, (_, r) => scores[r * k + j]))));
  }
  return pl.DataFrame(columns);
}
