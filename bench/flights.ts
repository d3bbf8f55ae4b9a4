// Benchmark: the shipped flights pipeline on all 3,000,000 flights of flights-3m.parquet, on the real
// platform (embedded Postgres + Temporal dev server, the worker in this process), beside the Python tools
// doing the same work in the same run (a virtualenv from PyPI, .tools/bench-venv; never a runtime
// dependency).
//   A. wall time per stage and of the whole run; the worker process's peak RSS.
//   B. clean + feature against Python Polars and pandas doing the same clean and feature work.
//   C. training samples/s against scikit-learn's MLPClassifier (and Keras with --keras) on the same
//      matrix, network and batch sizes.
//   D. batch scoring: all 3,000,000 flights through the promoted model, end to end (read, encode, score,
//      write), rows per second; the worker's RSS meanwhile.
// Order: A, D (before this process holds matrices of its own), C, then B (the Python subprocesses, and
// B2, the same work in this process, whose memory would otherwise weigh on the others).
// Run: npm run bench:flights  [-- --no-python] [--keras] [--runs 3] [--peer-rounds 3] [--train-rows 500000] [--epochs 2]
// Timings are medians over the runs (the pipeline) and rounds (each Python library, one subprocess each).
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newBatchScoreId, startBatchScore, startTrainingRun } from '../api/launcher.js';
import { cleanFrame } from '../data/cleaning.js';
import { readSplitLabels } from '../data/feature-artifacts.js';
import { splitMatrix } from '../data/split-rows.js';
import { buildFeatureSets, historyColumns } from '../data/feature-pipeline.js';
import { encodeColumns } from '../data/transform.js';
import { releaseUnusedMemory } from '../runtime/native-memory.js';
import pl from 'nodejs-polars';
import { resolveBundled } from '../data/sources.js';
import { trainMlp } from '../models/training.js';
import { progressQuery } from '../workflows/definitions.js';
import { STAGES, type BatchScoreInput, type BatchScoreResult, type TrainingPipelineResult } from '../pipelines/contract.js';
import { createBatchJob } from '../registry/batch-jobs.js';
import { loadShippedPipeline } from '../pipelines/shipped.js';
import { savePipeline } from '../registry/pipelines.js';
import { intArg } from './options.js';
import { startBenchPlatform } from './bench-platform.js';

const { values } = parseArgs({
  options: {
    'no-python': { type: 'boolean', default: false },
    keras: { type: 'boolean', default: false },
    'train-rows': { type: 'string', default: '500000' },
    epochs: { type: 'string', default: '2' },
    batches: { type: 'string', default: '64,256,1024' },
    runs: { type: 'string', default: '3' },
    'peer-rounds': { type: 'string', default: '3' },
  },
});
const runs = intArg('runs', values.runs, 1, 10);
const peerRounds = intArg('peer-rounds', values['peer-rounds'], 1, 10);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const trainRows = intArg('train-rows', values['train-rows'], 1000, 3_000_000);
const epochs = intArg('epochs', values.epochs, 1, 20);
const batches = values.batches.split(',').map((b) => intArg('batches', b, 1, 65536));
const python = !values['no-python'];
const mb = (kib: number) => Math.round(kib / 1024);
const parquet = resolveBundled('flights-3m.parquet');

interface PeerRun { seconds: { read: number; clean: number; feature: number; total: number }; peak_rss_mb: Record<string, number>; checksums: { train_x_column_sums: number[] } }
interface PeerTraining { runs: { batch: number; samples_per_s: number }[] }
interface TrainPeers { sklearn: PeerTraining; keras: PeerTraining | null }

function runPython(args: string[]): unknown {
  const r = spawnSync(BENCH_PYTHON, [join(import.meta.dirname, 'python', 'flights_peers.py'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`flights_peers.py ${args.join(' ')} exited with ${r.status}`);
  return JSON.parse(r.stdout);
}

// The peers' virtualenv, made (or found ready) by its own script, which pins every version.
const root = join(import.meta.dirname, '..');
const BENCH_PYTHON = join(root, '.tools', 'bench-venv', 'bin', 'python');
if (python) {
  const venv = spawnSync(process.execPath, [join(root, 'scripts', 'bench-venv.mjs'), ...(values.keras ? ['--keras'] : [])], { stdio: 'inherit' });
  if (venv.status !== 0) {
    console.error('the Python peers could not be installed (see above); rerun with --no-python to measure the platform alone');
    process.exit(1);
  }
}

const { config, platform, dataDir, stop } = await startBenchPlatform('flights');
try {
  // A. The pipeline, as a user runs it.
  const { pipeline } = await savePipeline(platform.db, loadShippedPipeline('flights'), { actor: 'platform:bench', requestId: null });
  const rssBefore = process.resourceUsage().maxRSS;
  // The worker's RSS, sampled with the stage the run is in, to say which stage makes the peak.
  const rssByStage = new Map<string, number>();
  const results: { r: TrainingPipelineResult; wall: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const started = await startTrainingRun({ temporal: platform.temporal, config }, pipeline, { trigger: 'cli', allowPromotion: i === 0, actor: 'bench' });
    console.log(`run ${i + 1}/${runs}: flights (${started.workflowId}) on 3,000,000 rows…`);
    const handle = platform.temporal.workflow.getHandle(started.workflowId);
    const sampler = setInterval(() => {
      void handle.query(progressQuery).then((p) => {
        const rss = process.memoryUsage().rss;
        rssByStage.set(p.stage, Math.max(rssByStage.get(p.stage) ?? 0, rss));
      }, () => undefined);
    }, 100);
    results.push({ r: await handle.result().finally(() => clearInterval(sampler)) as TrainingPipelineResult, wall: (performance.now() - t0) / 1000 });
  }
  const r = results[0].r;
  const stageSeconds = (s: string) => median(results.map((x) => x.r.stageSeconds[s as keyof typeof r.stageSeconds] ?? 0));
  const wall = median(results.map((x) => x.wall));
  const peak = process.resourceUsage().maxRSS;
  console.log(`\nA. flights pipeline, 3,000,000 rows (seconds, median of ${runs} runs; the first promotes, the others are also scored against it as champion)`);
  console.log('| stage | s |');
  console.log('|---|---:|');
  for (const s of STAGES) console.log(`| ${s} | ${stageSeconds(s).toFixed(2)} |`);
  console.log(`| **workflow wall time** | ${wall.toFixed(2)} |`);
  console.log(`rows: ${r.clean.inputRows} in, ${r.clean.outputRows} clean; training ${r.training.epochsRun} epochs at ${r.training.samplesPerSecond.toFixed(0)} samples/s (${r.training.backend}); logLoss ${r.metrics.logLoss?.toFixed(4)} against the prior's ${r.baselines.prior?.logLoss?.toFixed(4)}; promoted: ${r.promotion.promoted}`);
  console.log(`worker process peak RSS: ${mb(peak)} MB (${mb(rssBefore)} MB before the run); sampled per stage: ${[...rssByStage].map(([s, b]) => `${s} ${Math.round(b / 1048576)}`).join(', ')} MB`);

  // D. Batch scoring of the whole table with the model the run promoted.
  const jobId = newBatchScoreId('flights');
  const job: BatchScoreInput = { model: 'flights', version: r.modelVersion, alias: null, source: { kind: 'bundled', dataset: 'flights-3m.parquet' }, keep: [], chunkRows: 100_000, actor: 'bench' };
  await createBatchJob(platform.db, jobId, job);
  const tScore = performance.now();
  await startBatchScore({ temporal: platform.temporal, config }, jobId, job);
  let scoringRss = 0;
  const scoringSampler = setInterval(() => (scoringRss = Math.max(scoringRss, process.memoryUsage().rss)), 100);
  const scored = await platform.temporal.workflow.getHandle(jobId).result().finally(() => clearInterval(scoringSampler)) as BatchScoreResult;
  const scoreWall = (performance.now() - tScore) / 1000;
  console.log(`\nD. batch scoring, ${scored.rows} rows in ${scored.chunks} chunks of ${job.chunkRows}`);
  console.log('| | seconds | rows/s |');
  console.log('|---|---:|---:|');
  console.log(`| whole job (plan: read the source, write and hash it in chunks; score: read, encode, forward pass, write each chunk; finish: join + hash) | ${scoreWall.toFixed(2)} | ${(scored.rows / scoreWall).toFixed(0)} |`);
  console.log(`| scoring activity alone | ${scored.scoreSeconds.toFixed(2)} | ${(scored.rows / scored.scoreSeconds).toFixed(0)} |`);
  console.log(`worker process RSS during the job, sampled: at most ${mb(scoringRss / 1024)} MB`);

  // The split's matrices, encoded from the clean dataset (timed: encoding is part of the feature work; the
  // train stage does it a minibatch at a time, evaluation for the held-out rows).
  const runDir = join(config.artifactDir, 'runs', r.workflowId.replace(/[^A-Za-z0-9._=-]/g, '_'));
  const featureDir = join(runDir, 'features');
  const tEncode = performance.now();
  const xAll = await splitMatrix(featureDir, join(runDir, 'clean', 'clean.parquet'), 'train');
  await splitMatrix(featureDir, join(runDir, 'clean', 'clean.parquet'), 'test');
  const encodeSeconds = (performance.now() - tEncode) / 1000;
  const [yAll] = await readSplitLabels(featureDir, ['yTrain']);

  // C. Training throughput on the run's own matrix.
  const cols = xAll.length / yAll.length;
  const rows = Math.min(trainRows, yAll.length);
  const hidden = pipeline.spec.model.hiddenLayers;
  const tfjs: Record<number, number> = {};
  for (const batchSize of batches) {
    const dir = await mkdtemp(join(dataDir, `train-${batchSize}-`));
    const res = await trainMlp({
      features: xAll.slice(0, rows * cols), rows, cols, labels: yAll.slice(0, rows), task: 'classification', numClasses: 2,
      spec: { ...pipeline.spec.model, epochs, batchSize, earlyStoppingPatience: 0, validationFraction: 0 }, modelDir: join(dir, 'm'), checkpointDir: join(dir, 'c'),
    }, () => undefined);
    tfjs[batchSize] = res.samplesPerSecond;
    console.log(`tfjs (${res.backend}) batch ${batchSize}: ${res.samplesPerSecond.toFixed(0)} samples/s`);
  }
  let peers: TrainPeers | null = null;
  if (python) {
    console.log('running scikit-learn on the same matrix…');
    const xFile = join(dataDir, 'x_train.f32');
    await writeFile(xFile, Buffer.from(xAll.buffer, xAll.byteOffset, rows * cols * 4));
    peers = runPython([
      '--what', 'train', '--x', xFile, '--y', join(featureDir, 'y_train.f32'), '--rows', String(rows), '--cols', String(cols),
      ...batches.flatMap((b) => ['--batch', String(b)]), '--epochs', String(epochs), '--hidden', String(hidden[0]), ...(values.keras ? ['--keras'] : []),
    ]) as TrainPeers;
  }
  console.log(`\nC. training, ${rows} rows × ${cols} features, layers ${JSON.stringify(hidden)}, ${epochs} epochs, samples/s`);
  console.log(`| batch | tfjs (platform's step, from a matrix) | scikit-learn | tfjs ÷ scikit-learn |${values.keras ? ' Keras | tfjs ÷ Keras |' : ''}`);
  console.log(`|---:|---:|---:|---:|${values.keras ? '---:|---:|' : ''}`);
  for (const b of batches) {
    const sk = peers?.sklearn.runs.find((p) => p.batch === b)?.samples_per_s;
    const ke = peers?.keras?.runs.find((p) => p.batch === b)?.samples_per_s;
    console.log(`| ${b} | ${tfjs[b].toFixed(0)} | ${sk?.toFixed(0) ?? '-'} | ${sk ? (tfjs[b] / sk).toFixed(2) : '-'} |${values.keras ? ` ${ke?.toFixed(0) ?? '-'} | ${ke ? (tfjs[b] / ke).toFixed(2) : '-'} |` : ''}`);
  }

  // B. Clean + feature beside Python Polars and pandas.
  const ours = median(results.map((x) => (x.r.stageSeconds.clean ?? 0) + (x.r.stageSeconds.feature ?? 0))) + encodeSeconds;
  if (python) {
    console.log('\nrunning the same clean + feature in Python Polars and pandas…');
    const rounds = Array.from({ length: peerRounds }, () => runPython(['--parquet', parquet, '--what', 'clean-feature']) as Record<'polars' | 'pandas', PeerRun>);
    const peers = rounds[0];
    const totals = (lib: 'polars' | 'pandas') => rounds.map((x) => x[lib].seconds.total);
    const total = (p: PeerRun) => median(totals(p === peers.polars ? 'polars' : 'pandas'));
    const peakOf = (p: PeerRun) => Math.max(...Object.values(p.peak_rss_mb));
    console.log(`Python seconds per round: polars ${totals('polars').map((t) => t.toFixed(2)).join(', ')}; pandas ${totals('pandas').map((t) => t.toFixed(2)).join(', ')}`);
    console.log(`\nB. clean + feature, 3,000,000 rows (ours: the clean and feature activities, Parquet in and out included, plus encoding both matrices from the clean dataset, ${encodeSeconds.toFixed(2)} s of it; peers: read + clean + feature in memory, both matrices encoded)`);
    console.log('| | seconds | peak RSS MB | ours ÷ theirs |');
    console.log('|---|---:|---:|---:|');
    console.log(`| platform (nodejs-polars) | ${ours.toFixed(2)} | ${mb(peak)} (whole worker) | 1.00 |`);
    for (const lib of ['polars', 'pandas'] as const) console.log(`| Python ${lib} | ${total(peers[lib]).toFixed(2)} | ${peakOf(peers[lib])} | ${(ours / total(peers[lib])).toFixed(2)} |`);
    // The same work: the platform's training matrix sums, column by column, to what Polars' does.
    // The same work in memory, in this process, as the peers do it: read, clean, split and fit, encode
    // both matrices (the platform's functions, without the stages' Parquet writes, hashes and registry).
    const round = () => {
      const t0 = performance.now();
      const raw = pl.readParquet(parquet);
      const t1 = performance.now();
      const { clean, task } = cleanFrame(raw, pipeline.spec);
      const t2 = performance.now();
      const sets = buildFeatureSets(clean, pipeline.spec, task);
      const columns = historyColumns(sets.fitted, clean);
      encodeColumns(sets.fitted.transform, columns, sets.train.index);
      encodeColumns(sets.fitted.transform, columns, sets.test.index);
      const t3 = performance.now();
      return { read: (t1 - t0) / 1000, clean: (t2 - t1) / 1000, feature: (t3 - t2) / 1000, total: (t3 - t0) / 1000 };
    };
    const inMemory: ReturnType<typeof round>[] = [];
    for (let i = 0; i < peerRounds; i++) {
      inMemory.push(round());
      // The round's frames and matrices are unreachable now: free them before the next.
      releaseUnusedMemory();
    }
    const ourTotal = median(inMemory.map((x) => x.total));
    const theirMedian = (lib: 'polars' | 'pandas', part: 'read' | 'clean' | 'feature') => median(rounds.map((x) => x[lib].seconds[part]));
    console.log(`\nB2. the same clean + feature in memory (read, clean, split + fit + encode both matrices), median of ${peerRounds} rounds, seconds`);
    console.log('| | read | clean | feature | total | platform ÷ theirs |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(`| platform (nodejs-polars + typed arrays) | ${median(inMemory.map((x) => x.read)).toFixed(2)} | ${median(inMemory.map((x) => x.clean)).toFixed(2)} | ${median(inMemory.map((x) => x.feature)).toFixed(2)} | ${ourTotal.toFixed(2)} | 1.00 |`);
    for (const lib of ['polars', 'pandas'] as const) {
      console.log(`| Python ${lib} | ${theirMedian(lib, 'read').toFixed(2)} | ${theirMedian(lib, 'clean').toFixed(2)} | ${theirMedian(lib, 'feature').toFixed(2)} | ${total(peers[lib]).toFixed(2)} | ${(ourTotal / total(peers[lib])).toFixed(2)} |`);
    }
    const x = xAll;
    const theirs = peers.polars.checksums.train_x_column_sums;
    const sums = new Float64Array(theirs.length);
    for (let i = 0; i < x.length; i++) sums[i % theirs.length] += x[i];
    const worst = Math.max(...theirs.map((t, c) => Math.abs(sums[c] - t) / Math.max(1, Math.abs(t))));
    console.log(`the platform's training matrix against Polars': ${x.length / theirs.length} rows each, largest relative difference of a column sum ${worst.toExponential(1)}`);
  }
} finally {
  await stop();
}
