// Benchmark: the football pipeline on the real platform (embedded Postgres + Temporal dev server).
//   A. wall time per stage over several runs, and the orchestration overhead: workflow wall time divided
//      by the sum of its stage times (1.00 would mean Temporal adds nothing).
//   B. training throughput on the run's real feature matrix, for each tfjs backend that loads here, as a
//      ratio against the plain-JS `cpu` backend measured in the same process.
// Run: npm run bench:pipeline  (or: npx tsx bench/pipeline.ts --runs 3)
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readSplitLabels } from '../data/feature-artifacts.js';
import { splitMatrix } from '../data/split-rows.js';
import { startTrainingRun } from '../api/launcher.js';
import { initBackend, tf } from '../models/backend.js';
import { trainMlp } from '../models/training.js';
import { loadShippedPipeline } from '../pipelines/shipped.js';
import { savePipeline } from '../registry/pipelines.js';
import { STAGES, type TrainingPipelineResult } from '../pipelines/contract.js';
import { startBenchPlatform } from './bench-platform.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, epochs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { config, platform, dataDir, stop } = await startBenchPlatform('pipeline');
try {
  const { pipeline } = await savePipeline(platform.db, loadShippedPipeline('football'), { actor: 'platform:bench', requestId: null });
  const results: { wall: number; r: TrainingPipelineResult }[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const started = await startTrainingRun({ temporal: platform.temporal, config }, pipeline, { trigger: 'cli', allowPromotion: i === 0, actor: 'bench' });
    const r = await platform.temporal.workflow.getHandle(started.workflowId).result() as TrainingPipelineResult;
    const wall = (performance.now() - t0) / 1000;
    results.push({ wall, r });
    console.log(`run ${i + 1}/${runs}: ${wall.toFixed(2)} s, ${r.training.epochsRun} epochs on ${r.training.backend}`);
  }

  console.log('\nA. football pipeline, median of', runs, 'runs (seconds)');
  console.log('| stage | median s | share |');
  console.log('|---|---:|---:|');
  const stageMedians = STAGES.map((s) => median(results.map((x) => x.r.stageSeconds[s] ?? 0)));
  const stageSum = stageMedians.reduce((a, b) => a + b, 0);
  STAGES.forEach((s, i) => console.log(`| ${s} | ${stageMedians[i].toFixed(3)} | ${((stageMedians[i] / stageSum) * 100).toFixed(1)}% |`));
  const wall = median(results.map((x) => x.wall));
  console.log(`| **workflow wall time** | ${wall.toFixed(3)} | |`);
  console.log(`ratio wall / sum of stages: ${(wall / stageSum).toFixed(2)} (orchestration, registry bookkeeping and polling overhead)`);
  console.log(`training in the pipeline: ${median(results.map((x) => x.r.training.samplesPerSecond)).toFixed(0)} samples/s on ${results[0].r.training.backend}`);

  // B. Same rows, same spec, each backend, on this thread.
  const featureDir = join(config.artifactDir, 'runs', results[0].r.workflowId.replace(/[^A-Za-z0-9._=-]/g, '_'), 'features');
  const cleanDir = join(config.artifactDir, 'runs', results[0].r.workflowId.replace(/[^A-Za-z0-9._=-]/g, '_'), 'clean');
  const x = await splitMatrix(featureDir, join(cleanDir, 'clean.parquet'), 'train');
  const [y] = await readSplitLabels(featureDir, ['yTrain']);
  const cols = x.length / y.length;
  const spec = { ...pipeline.spec.model, epochs: Number(values.epochs), earlyStoppingPatience: 0 };
  const best = await initBackend();
  const backends = [...new Set(['cpu', best])];
  const perBackend: Record<string, number> = {};
  for (const b of backends) {
    await tf.setBackend(b);
    await tf.ready();
    const dir = await mkdtemp(join(dataDir, `train-${b}-`));
    const r = await trainMlp({ features: x, rows: y.length, cols, labels: y, task: 'classification', numClasses: 3, spec, modelDir: join(dir, 'm'), checkpointDir: join(dir, 'c') }, () => undefined);
    perBackend[b] = r.samplesPerSecond;
  }
  console.log(`\nB. training throughput, ${y.length} rows × ${cols} features, ${spec.epochs} epochs, batch ${spec.batchSize}, layers ${JSON.stringify(spec.hiddenLayers)}`);
  console.log('| backend | samples/s | ratio vs cpu |');
  console.log('|---|---:|---:|');
  for (const b of backends) console.log(`| ${b} | ${perBackend[b].toFixed(0)} | ${(perBackend[b] / perBackend.cpu).toFixed(2)} |`);
} finally {
  await stop();
}
process.exit(0);
