// The feature stage end to end: split in time (or at random), derive point-in-time features, fit the
// transform on the training split only, and encode every split. serving/encoder.ts is the prediction
// path's half of the same code (transform.ts's encodeValue), so training and serving cannot drift apart.
import type pl from 'nodejs-polars';
import type { Task } from '../pipelines/contract.js';
import type { FittedFeatures, TeamRatingsState, TextRules } from '../pipelines/fitted-features.js';
import type { HeadToHeadConfig } from '../pipelines/head-to-head-config.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import { codedColumn, isoOfMillis, joinColumns, rowColumns, type ColumnData, type Columns } from './column-data.js';
import { periodContaining } from './dates.js';
import { candidateFeatureColumns } from './feature-columns.js';
import { frameColumns } from './frame-columns.js';
import { computeMatchFeatures, OUTCOME_CLASSES } from './head-to-head.js';
import { mulberry32 } from './prng.js';
import { PipelineInputError } from './pipeline-error.js';
import { timeMillis } from './time-column.js';
import { encodeColumns, fitColumns, inputSchema } from './transform.js';

export interface SplitRows {
  labels: Float32Array;
  rows: number;
  /** Positions of these rows in the clean dataset. */
  index: Int32Array;
}

export interface FeatureSets {
  fitted: FittedFeatures;
  train: SplitRows;
  test: SplitRows;
  cols: number;
  testPeriod: { from: string; to: string } | null;
  notes: string[];
}

/**
 * The clean dataset (in time order when the spec has a time column) → fitted features and encoded splits.
 * Columns are read as typed arrays (./frame-columns.ts); no row becomes a JS object, except for the
 * head-to-head walk, which needs each match in turn.
 */
export function buildFeatureSets(df: pl.DataFrame, spec: PipelineSpec, task: Task, text?: TextRules): FeatureSets {
  const notes: string[] = [];
  const { trainIdx, testIdx, testPeriod } = splitRows(df, spec, notes);
  if (trainIdx.length < 10) throw new PipelineInputError('DataQuality', `the training split has only ${trainIdx.length} rows${testPeriod ? ` before ${testPeriod.from}` : ''}; choose a later asOf or a different split`, { rows: trainIdx.length, rule: 'split' });
  if (testIdx.length < 5) throw new PipelineInputError('DataQuality', `the held-out split has only ${testIdx.length} rows${testPeriod ? ` in ${testPeriod.from}..${testPeriod.to}` : ''}; choose a different asOf or split${spec.split.kind === 'time' && !spec.split.minTestRows ? ', or set split.minTestRows to skip thin trailing periods' : ''}`, { rows: testIdx.length, rule: 'split' });

  // Point-in-time features walk all rows in time order: each row sees only rows dated before it.
  const { data, headToHead } = featureColumns(df, spec.features.derive);
  const candidates = [...(headToHead?.featureNames ?? []), ...candidateFeatureColumns(spec, df.columns)];
  const transform = fitColumns(data, trainIdx, {
    target: spec.target,
    features: { include: spec.features.include ? [...spec.features.include, ...(headToHead?.featureNames ?? [])] : undefined, exclude: spec.features.exclude, maxCategories: spec.features.maxCategories, kinds: spec.features.kinds, dateParts: spec.features.dateParts },
    candidateColumns: candidates,
    headToHead: headToHead ? { config: headToHead.config, state: headToHead.state } : undefined,
  });
  if (transform.outputNames.length === 0) throw new PipelineInputError('InvalidSpec', 'no usable feature columns remain after include/exclude; list some in features.include');

  const target = targetValues(data.column(spec.target), task);
  const classes = target.labels ? classOrder(target.labels, target.codes!, trainIdx, spec) : null;
  const split = (idx: Int32Array): SplitRows => {
    let keep = idx;
    const labelOf = new Float32Array(idx.length);
    if (classes) {
      const codes = target.codes!;
      const classOfCode = Int32Array.from(target.labels!, (l) => classes.indexOf(l));
      const kept = new Int32Array(idx.length);
      let n = 0;
      for (let k = 0; k < idx.length; k++) {
        const code = codes[idx[k]];
        const cls = code < 0 ? -1 : classOfCode[code];
        if (cls >= 0) {
          labelOf[n] = cls;
          kept[n++] = idx[k];
        }
      }
      if (n < idx.length) {
        notes.push(`${idx.length - n} held-out rows have a class unseen in training and were left out`);
        keep = kept.slice(0, n);
      }
    } else {
      const values = target.values!;
      for (let k = 0; k < idx.length; k++) labelOf[k] = values[idx[k]];
    }
    return { labels: labelOf.slice(0, keep.length), rows: keep.length, index: keep };
  };
  const fitted: FittedFeatures = { version: 1, task, target: spec.target, classes, transform, inputSchema: inputSchema(transform), ...(text ? { text } : {}) };
  return { fitted, train: split(trainIdx), test: split(testIdx), cols: transform.outputNames.length, testPeriod, notes };
}

/**
 * Encodes the rows at `index` of a time-ordered history the way training did (point-in-time derived
 * features, then the fitted transform). Used to score a champion on the candidate's held-out rows.
 */
export function encodeHistory(fitted: FittedFeatures, history: pl.DataFrame, index: Int32Array): Float32Array {
  return encodeColumns(fitted.transform, historyColumns(fitted, history), index);
}

/** A time-ordered history's columns as the fitted transform reads them: with its point-in-time features. */
export function historyColumns(fitted: FittedFeatures, history: pl.DataFrame): Columns {
  return featureColumns(history, fitted.transform.headToHead?.config).data;
}

/** The frame's columns, with the head-to-head features of each match added when the spec derives them. */
function featureColumns(df: pl.DataFrame, derive: HeadToHeadConfig | undefined): { data: Columns; headToHead: { config: HeadToHeadConfig; state: TeamRatingsState; featureNames: string[] } | null } {
  const data = frameColumns(df);
  if (!derive) return { data, headToHead: null };
  const { features, state } = computeMatchFeatures(df.toRecords() as Record<string, unknown>[], derive);
  const featureNames = Object.keys(features[0] ?? {});
  return { data: joinColumns(data, rowColumns(features, featureNames)), headToHead: { config: derive, state, featureNames } };
}

/** Class labels (as text) with each row's code into them, or numbers for a regression. */
function targetValues(c: ColumnData, task: Task): { labels: string[] | null; codes: Int32Array | null; values: Float64Array | null } {
  if (task === 'classification') {
    const { codes, uniques } = codedColumn(c, isoOfMillis);
    return { labels: uniques.map(String), codes, values: null };
  }
  if (c.type === 'number') return { labels: null, codes: null, values: c.values };
  const { codes, uniques } = codedColumn(c, isoOfMillis);
  const perCode = uniques.map(Number);
  return { labels: null, codes: null, values: Float64Array.from(codes, (code) => (code < 0 ? Number.NaN : perCode[code])) };
}

function classOrder(labels: string[], codes: Int32Array, trainIdx: Int32Array, spec: PipelineSpec): string[] {
  const present = new Uint8Array(labels.length);
  for (const i of trainIdx) if (codes[i] >= 0) present[codes[i]] = 1;
  const seen = [...new Set(labels.filter((_, u) => present[u]))];
  // Match outcomes keep their natural order (home, draw, away) so the ranked probability score is meaningful.
  if (spec.targetFrom?.kind === 'match-outcome') return OUTCOME_CLASSES.filter((c) => seen.includes(c));
  return seen.sort();
}

function splitRows(df: pl.DataFrame, spec: PipelineSpec, notes: string[]): { trainIdx: Int32Array; testIdx: Int32Array; testPeriod: { from: string; to: string } | null } {
  const n = df.height;
  const inTest = new Uint8Array(n);
  const left = new Uint8Array(n); // rows in neither split
  let testPeriod: { from: string; to: string } | null = null;
  if (spec.split.kind === 'time') {
    const { periodMonths, anchor, minTestRows } = spec.split;
    const t = timeMillis(df, spec.timeColumn!);
    // A loop, not Math.max(...t): spreading a few hundred thousand arguments overflows the call stack.
    let last = -Infinity;
    for (const ms of t) if (ms > last) last = ms;
    // The held-out split is the last period with data (e.g. the latest season up to asOf), or with
    // at least minTestRows rows when that is set.
    let period = periodContaining(last, periodMonths, anchor);
    while (minTestRows) {
      let rows = 0;
      let before = -Infinity;
      for (const ms of t) {
        if (ms >= period.from && ms < period.to) rows++;
        else if (ms < period.from && ms > before) before = ms;
      }
      if (rows >= minTestRows || before === -Infinity) break;
      period = periodContaining(before, periodMonths, anchor);
    }
    let after = 0;
    for (let i = 0; i < n; i++) {
      if (t[i] >= period.to) { left[i] = 1; after++; } else if (t[i] >= period.from) inTest[i] = 1;
    }
    if (after) notes.push(`${after} rows after the held-out period ${iso(period.from)}..${iso(period.to)} (periods with fewer than ${minTestRows} rows) were left out`);
    testPeriod = { from: iso(period.from), to: iso(period.to) };
  } else {
    // Seeded: the same seed gives the same random split on every machine.
    const rand = mulberry32(spec.split.seed);
    const frac = spec.split.testFraction;
    for (let i = 0; i < n; i++) inTest[i] = rand() < frac ? 1 : 0;
  }
  let nTest = 0;
  let nLeft = 0;
  for (let i = 0; i < n; i++) { nTest += inTest[i]; nLeft += left[i]; }
  const trainIdx = new Int32Array(n - nTest - nLeft);
  const testIdx = new Int32Array(nTest);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (inTest[i]) testIdx[b++] = i;
    else if (!left[i]) trainIdx[a++] = i;
  }
  return { trainIdx, testIdx, testPeriod };
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
