// New values of each column against the statistics of the data a model was trained on: the schema checks
// (a column gone, new, or of another kind), the odd-value checks (unseen categories, out of range, more
// missing) and the drift tests (PSI; KS with the Wasserstein distance for numbers; chi-square with the
// Jensen–Shannon distance for categories). The validate stage runs it over a run's new rows, the monitor
// over a window's served inputs; each finding is `warn` or `fail` as the pipeline's validation block says.
// No dataframe library: a column's values come in as a sample (column-samples.ts builds them from a table).
import type { ColumnComparison, ColumnStatistics, DatasetStatistics, ValidationCheck, ValidationFinding } from '../pipelines/contract.js';
import { columnChecks, type CheckAction, type ValidationConfig } from '../pipelines/validation-config.js';
import { categoricalDrift, numericDrift } from './drift.js';

/** A column's new values: numbers ascending (finite only), or category counts; `missing` counts the rest. */
export type ColumnSample =
  | { kind: 'numeric'; sorted: Float64Array; missing: number }
  | { kind: 'categorical'; counts: ReadonlyMap<string, number>; missing: number }
  | { kind: 'date'; present: number; missing: number };

export interface DriftCheckInput {
  baseline: DatasetStatistics;
  samples: ReadonlyMap<string, ColumnSample>;
  config: ValidationConfig;
  /** Columns never compared (the time column: its values move by definition). */
  ignore?: readonly string[];
  /** Whether a column the baseline has and the sample lacks is a finding (served inputs carry only the model's inputs). */
  schemaChecks: boolean;
  /** How the baseline is named in messages, e.g. `the production model (football v3)`. */
  baselineName: string;
}

export interface DriftCheckResult {
  columns: ColumnComparison[];
  findings: ValidationFinding[];
}

const sampleRows = (s: ColumnSample) => (s.kind === 'numeric' ? s.sorted.length : s.kind === 'categorical' ? sum(s.counts.values()) : s.present) + s.missing;
function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fmt = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(3))));
const kindOf = (c: ColumnStatistics) => c.kind;

export function checkDrift(input: DriftCheckInput): DriftCheckResult {
  const { baseline, samples, config } = input;
  const ignore = new Set(input.ignore ?? []);
  const findings: ValidationFinding[] = [];
  const fire = (check: ValidationCheck, column: string, action: CheckAction, message: string, value?: number, threshold?: number) => {
    if (action === 'off') return;
    findings.push({ check, column, action, message, ...(value !== undefined ? { value, threshold } : {}) });
  };

  const base = new Map(baseline.columns.filter((c) => !ignore.has(c.name)).map((c) => [c.name, c]));
  if (input.schemaChecks) {
    for (const name of base.keys()) {
      if (!samples.has(name)) fire('missingColumn', name, config.missingColumn, `column "${name}" is missing: ${input.baselineName} was trained with it`);
    }
    for (const name of samples.keys()) {
      if (!base.has(name) && !ignore.has(name)) fire('newColumn', name, config.newColumn, `column "${name}" is new: ${input.baselineName} was trained without it`);
    }
  }

  // Bonferroni over the columns a drift test runs on: the chance of any false alarm over the whole dataset
  // (or window) stays under the configured significance, however many columns it has.
  const tested = [...base.values()].filter((b) => {
    const s = samples.get(b.name);
    if (!s || s.kind !== b.kind) return false;
    const c = columnChecks(config, b.name);
    return (b.kind === 'numeric' && c.ks.on !== 'off') || (b.kind === 'categorical' && c.chiSquare.on !== 'off');
  }).length;

  const columns: ColumnComparison[] = [];
  for (const [name, b] of base) {
    const s = samples.get(name);
    if (!s) continue;
    if (s.kind !== kindOf(b)) {
      fire('kindChanged', name, config.kindChanged, `column "${name}" is ${s.kind} but was ${b.kind} when ${input.baselineName} was trained`);
      continue;
    }
    const checks = columnChecks(config, name);
    const rows = sampleRows(s);
    const missingShare = rows > 0 ? s.missing / rows : 0;
    const baselineMissingShare = baseline.rows > 0 ? b.missing / baseline.rows : 0;
    const row: ColumnComparison = { column: name, kind: b.kind, rows, missingShare, baselineMissingShare };
    columns.push(row);
    const rise = missingShare - baselineMissingShare;
    if (rows > 0 && rise > checks.missingRate.maxIncrease) {
      fire('missingRate', name, checks.missingRate.on, `${name}: ${pct(missingShare)} of values are missing against ${pct(baselineMissingShare)} in training (a rise of more than ${pct(checks.missingRate.maxIncrease)})`, rise, checks.missingRate.maxIncrease);
    }
    const alpha = (significance: number) => significance / Math.max(1, tested);
    if (s.kind === 'numeric' && b.kind === 'numeric') {
      const d = numericDrift(b, s.sorted);
      if (!d) continue;
      Object.assign(row, { psi: d.psi, ks: d.ks, wasserstein: d.wasserstein, outOfRange: d.outOfRange });
      if (d.outOfRange > checks.outOfRange.max) {
        fire('outOfRange', name, checks.outOfRange.on, `${name}: ${pct(d.outOfRange)} of values are outside training's range ${fmt(b.min!)}..${fmt(b.max!)} (more than ${pct(checks.outOfRange.max)})`, d.outOfRange, checks.outOfRange.max);
      }
      if (d.psi > checks.psi.max) fire('psi', name, checks.psi.on, `${name}: population stability index ${fmt(d.psi)} > ${fmt(checks.psi.max)}`, d.psi, checks.psi.max);
      const a = alpha(checks.ks.significance);
      if (d.ks.pValue < a && d.wasserstein >= checks.ks.minDistance) {
        fire('ks', name, checks.ks.on, `${name} drifted: Kolmogorov–Smirnov p-value ${fmt(d.ks.pValue)} < ${fmt(a)} (${checks.ks.significance} over ${tested} column${tested === 1 ? '' : 's'}), Wasserstein distance ${fmt(d.wasserstein)} ≥ ${checks.ks.minDistance} ${b.std ? 'training standard deviations' : 'in the column\'s units (training had no spread)'}`, d.ks.pValue, a);
      }
    } else if (s.kind === 'categorical' && b.kind === 'categorical') {
      const d = categoricalDrift(b, s.counts);
      if (!d) continue;
      Object.assign(row, { psi: d.psi, chiSquare: d.chiSquare, jensenShannon: d.jensenShannon, unseen: d.unseen });
      if (d.unseen !== null && d.unseen > checks.unseenCategories.max) {
        fire('unseenCategories', name, checks.unseenCategories.on, `${name}: ${pct(d.unseen)} of values were never seen in training (more than ${pct(checks.unseenCategories.max)})`, d.unseen, checks.unseenCategories.max);
      }
      if (d.psi > checks.psi.max) fire('psi', name, checks.psi.on, `${name}: population stability index ${fmt(d.psi)} > ${fmt(checks.psi.max)}`, d.psi, checks.psi.max);
      const a = alpha(checks.chiSquare.significance);
      if (d.chiSquare.pValue < a && d.jensenShannon >= checks.chiSquare.minDistance) {
        fire('chiSquare', name, checks.chiSquare.on, `${name} drifted: chi-square p-value ${fmt(d.chiSquare.pValue)} < ${fmt(a)} (${checks.chiSquare.significance} over ${tested} column${tested === 1 ? '' : 's'}), Jensen–Shannon distance ${fmt(d.jensenShannon)} ≥ ${checks.chiSquare.minDistance}`, d.chiSquare.pValue, a);
      }
    }
  }
  return { columns, findings };
}
