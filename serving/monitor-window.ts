// One window of a production model's served predictions, judged: its logged inputs against the statistics
// of the data the model was trained on, its predictions against what it predicted on its held-out rows (the
// validation block's checks, data/drift-checks.ts, over both at once so one Bonferroni correction covers
// every test of the window), the share of answers that fell back for a name it never saw, and its live
// quality against its offline evaluation. Reads the prediction log one batch at a time: a window of a
// million predictions holds its numeric columns as typed arrays and its categories as counts, nothing per row.
import type { Db } from '../db/client.js';
import { checkDrift, type ColumnSample } from '../data/drift-checks.js';
import type { ColumnStatistics, DatasetStatistics, MonitorFinding, MonitorReport } from '../pipelines/contract.js';
import type { MonitoringConfig } from '../pipelines/monitoring-config.js';
import { LOWER_IS_BETTER } from '../pipelines/promotion-rule.js';
import type { ValidationConfig } from '../pipelines/validation-config.js';
import { ROW_WARNING_KINDS } from './instance-validation.js';
import { liveQuality } from './live-quality.js';
import { forEachLoggedBatch } from './prediction-log-reader.js';

/** The drift checks' name for the model's output among the input columns. */
export const PREDICTION_COLUMN = '(prediction)';

const FALLBACK_BITS = (1 << ROW_WARNING_KINDS.indexOf('unknown-team')) | (1 << ROW_WARNING_KINDS.indexOf('unknown-category'));

export interface MonitorBaseline {
  version: number;
  /** The clean dataset the version was trained on; null when it was trained before statistics were kept. */
  statistics: DatasetStatistics | null;
  /** What the version predicted on its held-out rows; null for versions evaluated before these were kept. */
  predictions: ColumnStatistics | null;
  classes: string[] | null;
  offlineMetrics: Record<string, number>;
}

export interface JudgeWindowInput {
  model: string;
  alias: string;
  window: { from: Date; to: Date };
  /** The alias's version and what it was trained on; null when the alias points nowhere. */
  baseline: MonitorBaseline | null;
  validation: ValidationConfig;
  monitoring: MonitoringConfig;
  /** The pipeline's promotion metric (absent: log-loss or RMSE). */
  metric?: string;
  /** Never compared: its values move by definition. */
  timeColumn?: string;
  notes?: string[];
}

/** A window's report ID: the window itself, so judging it again finds the same report. */
export const monitorReportId = (window: { from: Date; to: Date }) => `${window.from.toISOString()}--${window.to.toISOString()}`;

/** A field's served values while the window is read: numbers in a growing typed array, text as counts. */
class FieldValues {
  numbers = new Float64Array(1024);
  size = 0;
  counts = new Map<string, number>();
  missing = 0;

  pushNumber(x: number): void {
    if (this.size === this.numbers.length) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[this.size++] = x;
  }

  count(value: string, n = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + n);
  }

  /** As the baseline column's kind reads it: a number field compared with categories counts its values as text, and the reverse. */
  sample(kind: ColumnStatistics['kind'], boolean: boolean): ColumnSample {
    const numbers = this.numbers.subarray(0, this.size);
    if (kind === 'date') return { kind: 'date', present: this.size + sumOf(this.counts), missing: this.missing };
    if (kind === 'numeric') {
      const fromText: number[] = [];
      let unreadable = 0;
      for (const [value, n] of this.counts) {
        const x = Number(value);
        if (value.trim() === '' || !Number.isFinite(x)) unreadable += n;
        else for (let i = 0; i < n; i++) fromText.push(x);
      }
      const sorted = new Float64Array(numbers.length + fromText.length);
      sorted.set(numbers);
      sorted.set(fromText, numbers.length);
      sorted.sort();
      return { kind: 'numeric', sorted, missing: this.missing + unreadable };
    }
    const counts = new Map(this.counts);
    for (const x of numbers) {
      const text = boolean ? String(x === 1) : String(x);
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    return { kind: 'categorical', counts, missing: this.missing };
  }
}

function sumOf(values: Map<string, number>): number {
  let total = 0;
  for (const n of values.values()) total += n;
  return total;
}

export async function judgeWindow(db: Db, input: JudgeWindowInput): Promise<MonitorReport> {
  const { window, baseline, validation, monitoring } = input;
  const from = window.from.getTime();
  const to = window.to.getTime();
  const notes = [...(input.notes ?? [])];
  const perVersion = new Map<number, number>();
  const warningCounts = new Array<number>(ROW_WARNING_KINDS.length).fill(0);
  let fallbacks = 0;
  let predictions = 0;
  // The baseline version's rows only: another version's inputs say nothing about this one's training data.
  const fields = new Map<string, { values: FieldValues; boolean: boolean; coded: boolean }>();
  const predicted = new FieldValues();

  await forEachLoggedBatch(db, input.model, window, (batch) => {
    const ours = baseline !== null && batch.version === baseline.version;
    const columns = ours ? batch.fields.map((f) => {
      let field = fields.get(f.name);
      if (!field) fields.set(f.name, (field = { values: new FieldValues(), boolean: f.kind === 'boolean', coded: f.kind === 'categorical' || f.kind === 'date' }));
      return field;
    }) : [];
    const k = batch.outputs;
    let rows = 0;
    for (let r = 0; r < batch.rows; r++) {
      const t = batch.at[r];
      if (t < from || t >= to) continue;
      rows++;
      const bits = batch.warnings[r];
      if (bits !== 0) {
        for (let b = 0; b < ROW_WARNING_KINDS.length; b++) if (bits & (1 << b)) warningCounts[b]++;
        if (bits & FALLBACK_BITS) fallbacks++;
      }
      if (!ours) continue;
      for (let j = 0; j < columns.length; j++) {
        const { values, coded } = columns[j];
        if (coded) {
          const code = (batch.values[j] as Int32Array)[r];
          if (code < 0) values.missing++;
          else values.count(batch.dictionaries[j]![code]);
        } else {
          const x = (batch.values[j] as Float64Array)[r];
          if (Number.isFinite(x)) values.pushNumber(x);
          else values.missing++;
        }
      }
      if (baseline.classes) {
        let best = 0;
        for (let c = 1; c < k; c++) if (batch.output[r * k + c] > batch.output[r * k + best]) best = c;
        predicted.count(baseline.classes[best] ?? String(best));
      } else {
        const y = batch.output[r * k];
        if (Number.isFinite(y)) predicted.pushNumber(y);
        else predicted.missing++;
      }
    }
    if (rows > 0) perVersion.set(batch.version, (perVersion.get(batch.version) ?? 0) + rows);
    predictions += rows;
  });

  const findings: MonitorFinding[] = [];
  const share = (n: number) => (predictions > 0 ? n / predictions : 0);
  const warningRates = Object.fromEntries(ROW_WARNING_KINDS.map((kind, b) => [kind, share(warningCounts[b])]));
  const fallbackRate = share(fallbacks);
  if (predictions > 0 && fallbackRate > monitoring.maxFallbackRate) {
    findings.push({
      check: 'fallbackRate', column: '*', action: 'warn', value: fallbackRate, threshold: monitoring.maxFallbackRate,
      message: `${(100 * fallbackRate).toFixed(1)}% of ${predictions} predictions were answered for a team or category the model never saw (more than ${(100 * monitoring.maxFallbackRate).toFixed(1)}%): check the names callers send`,
    });
  }

  // Drift: the baseline version's served inputs and predictions, one family of tests.
  const ourRows = baseline ? perVersion.get(baseline.version) ?? 0 : 0;
  let drift: MonitorReport['drift'] = { judged: false, columns: [] };
  if (!baseline) notes.push(`the ${input.alias} alias points at no version: nothing to compare with`);
  else if (!baseline.statistics) notes.push(`${input.model} v${baseline.version} was trained before dataset statistics were kept: its inputs are not compared`);
  else if (ourRows < monitoring.minPredictions) notes.push(`${ourRows} prediction${ourRows === 1 ? '' : 's'} of v${baseline.version} in the window (fewer than monitoring.minPredictions, ${monitoring.minPredictions}): drift not judged`);
  else {
    const trained = new Map(baseline.statistics.columns.map((c) => [c.name, c]));
    const columns: ColumnStatistics[] = [];
    const samples = new Map<string, ColumnSample>();
    for (const [name, field] of fields) {
      const b = trained.get(name);
      if (!b || name === input.timeColumn) continue;
      columns.push(b);
      samples.set(name, field.values.sample(b.kind, field.boolean));
    }
    if (baseline.predictions) {
      columns.push({ ...baseline.predictions, name: PREDICTION_COLUMN });
      samples.set(PREDICTION_COLUMN, predicted.sample(baseline.predictions.kind, false));
    } else {
      notes.push(`v${baseline.version} was evaluated before its predictions' statistics were kept: the predicted distribution is not compared`);
    }
    const checked = checkDrift({
      baseline: { rows: baseline.statistics.rows, columns }, samples, config: validation, schemaChecks: false,
      baselineName: `${input.model} v${baseline.version}`,
    });
    drift = { judged: true, columns: checked.columns };
    findings.push(...checked.findings);
  }

  // Live quality of the baseline version against its offline evaluation.
  let quality: MonitorReport['quality'] = null;
  if (baseline) {
    const metric = input.metric ?? (baseline.classes ? 'logLoss' : 'rmse');
    const versions = await liveQuality(db, input.model, window, { scoredOnly: true });
    const mine = versions.find((v) => v.version === baseline.version);
    const live = mine?.live ?? null;
    const withOutcome = mine?.withOutcome ?? 0;
    const offline = baseline.offlineMetrics;
    let degradation: number | null = null;
    if (live && live[metric] !== undefined && offline[metric] !== undefined && withOutcome >= monitoring.quality.minOutcomes) {
      degradation = LOWER_IS_BETTER.has(metric) ? live[metric] - offline[metric] : offline[metric] - live[metric];
      if (degradation > monitoring.quality.maxDegradation) {
        findings.push({
          check: 'liveQuality', column: '*', action: 'warn', value: degradation, threshold: monitoring.quality.maxDegradation,
          message: `live ${metric} ${live[metric].toFixed(4)} over ${withOutcome} outcomes is worse than the offline ${offline[metric].toFixed(4)} by ${degradation.toFixed(4)} (more than ${monitoring.quality.maxDegradation})`,
        });
      }
    }
    quality = { version: baseline.version, metric, withOutcome, live, offline, degradation };
  }

  const breach = findings.some((f) => f.action === 'fail' || monitoring.breachOn === 'warn');
  return {
    id: monitorReportId(window), model: input.model, window: { from: window.from.toISOString(), to: window.to.toISOString() },
    alias: input.alias, version: baseline?.version ?? null, predictions,
    versions: [...perVersion].sort(([a], [b]) => a - b).map(([version, n]) => ({ version, predictions: n })),
    drift, warningRates, fallbackRate, quality, findings, breach, notes,
  };
}
