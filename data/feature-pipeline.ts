// The feature stage end to end: split in time (or at random), derive point-in-time features, fit the
// transform on the training split only, and encode every split. serving/encoder.ts is the prediction
// path's half of the same code (transform.ts's encodeValue), so training and serving cannot drift apart.
import type { Task } from '../pipelines/contract.js';
import type { FittedFeatures, TextRules } from '../pipelines/fitted-features.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import { candidateFeatureColumns } from './feature-columns.js';
import { computeMatchFeatures, OUTCOME_CLASSES } from './head-to-head.js';
import { mulberry32 } from './prng.js';
import { PipelineInputError } from './pipeline-error.js';
import { periodContaining, toMillis } from './dates.js';
import { applyTransform, fitTransform, inputSchema } from './transform.js';

export interface EncodedSplit {
  matrix: Float32Array;
  labels: Float32Array;
  rows: number;
  /** Positions of these rows in the clean dataset. */
  index: number[];
}

export interface FeatureSets {
  fitted: FittedFeatures;
  train: EncodedSplit;
  test: EncodedSplit;
  cols: number;
  testPeriod: { from: string; to: string } | null;
  notes: string[];
}

type Row = Record<string, unknown>;

export function buildFeatureSets(rows: Row[], spec: PipelineSpec, task: Task, text?: TextRules): FeatureSets {
  const notes: string[] = [];
  const { trainIdx, testIdx, testPeriod } = splitRows(rows, spec);
  if (trainIdx.length < 10) throw new PipelineInputError('DataQuality', `the training split has only ${trainIdx.length} rows${testPeriod ? ` before ${testPeriod.from}` : ''}; choose a later asOf or a different split`, { rows: trainIdx.length, rule: 'split' });
  if (testIdx.length < 5) throw new PipelineInputError('DataQuality', `the held-out split has only ${testIdx.length} rows${testPeriod ? ` in ${testPeriod.from}..${testPeriod.to}` : ''}; choose a different asOf or split`, { rows: testIdx.length, rule: 'split' });

  // Point-in-time features walk all rows in time order: each row sees only rows dated before it.
  const { featureRows, headToHead } = deriveTrainingRows(rows, spec);
  const trainRows = trainIdx.map((i) => featureRows[i]);
  const candidates = [...(headToHead?.featureNames ?? []), ...candidateFeatureColumns(spec, Object.keys(rows[0] ?? {}))];
  const transform = fitTransform(trainRows, {
    target: spec.target,
    features: { include: spec.features.include ? [...spec.features.include, ...(headToHead?.featureNames ?? [])] : undefined, exclude: spec.features.exclude, maxCategories: spec.features.maxCategories, kinds: spec.features.kinds },
    candidateColumns: candidates,
    headToHead: headToHead ? { config: headToHead.config, state: headToHead.state } : undefined,
  });
  if (transform.outputNames.length === 0) throw new PipelineInputError('InvalidSpec', 'no usable feature columns remain after include/exclude; list some in features.include');

  const classes = task === 'classification' ? classOrder(trainRows.map((r) => String(r[spec.target])), spec) : null;
  const encode = (idx: number[]): EncodedSplit => {
    let keep = idx;
    if (classes) {
      const known = new Set(classes);
      keep = idx.filter((i) => known.has(String(featureRows[i][spec.target])));
      if (keep.length < idx.length) notes.push(`${idx.length - keep.length} held-out rows have a class unseen in training and were left out`);
    }
    const { matrix, rows: n } = applyTransform(transform, keep.map((i) => featureRows[i]));
    const labels = new Float32Array(n);
    keep.forEach((i, k) => {
      const y = featureRows[i][spec.target];
      labels[k] = classes ? classes.indexOf(String(y)) : Number(y);
    });
    return { matrix, labels, rows: n, index: keep };
  };
  const fitted: FittedFeatures = { version: 1, task, target: spec.target, classes, transform, inputSchema: inputSchema(transform), ...(text ? { text } : {}) };
  return { fitted, train: encode(trainIdx), test: encode(testIdx), cols: transform.outputNames.length, testPeriod, notes };
}

/**
 * Encodes the rows at `index` of a time-ordered history the way training did (point-in-time derived
 * features, then the fitted transform). Used to score a champion on the candidate's held-out rows.
 */
export function encodeHistory(fitted: FittedFeatures, history: Row[], index: number[]): Float32Array {
  const h2h = fitted.transform.headToHead;
  let rows = history;
  if (h2h) {
    const { features } = computeMatchFeatures(history, h2h.config);
    rows = history.map((r, i) => ({ ...r, ...features[i] }));
  }
  return applyTransform(fitted.transform, index.map((i) => rows[i])).matrix;
}

function deriveTrainingRows(rows: Row[], spec: PipelineSpec) {
  const cfg = spec.features.derive;
  if (!cfg) return { featureRows: rows, headToHead: null };
  const { features, state } = computeMatchFeatures(rows, cfg);
  const featureRows = rows.map((r, i) => ({ ...r, ...features[i] }));
  return { featureRows, headToHead: { config: cfg, state, featureNames: Object.keys(features[0] ?? {}) } };
}

function classOrder(labels: string[], spec: PipelineSpec): string[] {
  const seen = [...new Set(labels)];
  // Match outcomes keep their natural order (home, draw, away) so the ranked probability score is meaningful.
  if (spec.targetFrom) return OUTCOME_CLASSES.filter((c) => seen.includes(c));
  return seen.sort();
}

function splitRows(rows: Row[], spec: PipelineSpec): { trainIdx: number[]; testIdx: number[]; testPeriod: { from: string; to: string } | null } {
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  if (spec.split.kind === 'time') {
    const col = spec.timeColumn!;
    const t = rows.map((r) => toMillis(r[col]));
    // A loop, not Math.max(...t): spreading a few hundred thousand arguments overflows the call stack.
    let last = -Infinity;
    for (const ms of t) if (ms > last) last = ms;
    // The held-out split is the last period with data: e.g. the latest season up to asOf.
    const period = periodContaining(last, spec.split.periodMonths, spec.split.anchor);
    t.forEach((ms, i) => (ms >= period.from ? testIdx : trainIdx).push(i));
    return { trainIdx, testIdx, testPeriod: { from: iso(period.from), to: iso(period.to) } };
  }
  // Seeded: the same seed gives the same random split on every machine.
  const rand = mulberry32(spec.split.seed);
  const frac = spec.split.testFraction;
  rows.forEach((_, i) => (rand() < frac ? testIdx : trainIdx).push(i));
  return { trainIdx, testIdx, testPeriod: null };
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
