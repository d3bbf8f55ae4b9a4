// The clean stage's data work: target construction, missing values, duplicates, outliers, and the quality
// rules of the spec. A broken rule throws PipelineInputError naming the column, the count and the rule.
import pl from 'nodejs-polars';
import { targetInputColumns, type PipelineSpec } from '../pipelines/spec.js';
import type { CleanReport, IngestionReport, Task } from '../pipelines/contract.js';
import { outcomeLabel } from './head-to-head.js';
import { candidateFeatureColumns } from './feature-columns.js';
import { PipelineInputError } from './pipeline-error.js';
import { sortByTime } from './time-column.js';
import { dtypeName, isNumericDtype, isTemporalColumn } from './frame-columns.js';


export function cleanFrame(raw: pl.DataFrame, spec: PipelineSpec, ingestion?: IngestionReport): { clean: pl.DataFrame; report: CleanReport; task: Task } {
  const columns = raw.columns;
  const missing = (c: string) => !columns.includes(c);
  const need = (c: string, role: string) => {
    if (missing(c)) {
      throw new PipelineInputError('InvalidSource', `${role} column "${c}" is not in the source; its columns are: ${columns.join(', ')}`, { column: c });
    }
  };
  const notes: string[] = [];
  if (ingestion) {
    if (ingestion.blankRowsIgnored) notes.push(`ignored ${ingestion.blankRowsIgnored} blank rows of the source`);
    for (const c of ingestion.coercions) notes.push(`${c.column}: ${c.change} (${c.count} values, e.g. ${c.examples.map((e) => JSON.stringify(e)).join(', ')})`);
  }
  const inputRows = raw.height;
  let df = raw;

  for (const c of targetInputColumns(spec)) need(c, spec.targetFrom ? 'target-building' : 'target');
  for (const c of spec.features.include ?? []) need(c, 'feature');
  if (spec.timeColumn) need(spec.timeColumn, 'time');

  // 1. Target: build it (match outcome) or read it; rows without one are dropped and counted.
  let droppedMissingTarget = 0;
  if (spec.targetFrom?.kind === 'threshold') {
    const { column, above, labels } = spec.targetFrom;
    if (!isNumericDtype(df.getColumn(column).dtype)) {
      throw new PipelineInputError('InvalidSpec', `targetFrom.column "${column}" is not numeric (${dtypeName(df.getColumn(column).dtype)}), so it cannot be compared with ${above}`, { column });
    }
    const before = df.height;
    df = df.filter(pl.col(column).isNotNull().and(pl.col(column).isNotNan()));
    droppedMissingTarget = before - df.height;
    df = df.withColumn(pl.when(pl.col(column).gt(above)).then(pl.lit(labels[1])).otherwise(pl.lit(labels[0])).alias(spec.target));
    if (droppedMissingTarget) notes.push(`dropped ${droppedMissingTarget} rows with a missing ${column} (no label to learn from)`);
  } else if (spec.targetFrom) {
    const { homeScore, awayScore } = spec.targetFrom;
    const before = df.height;
    df = df.filter(pl.col(homeScore).isNotNull().and(pl.col(awayScore).isNotNull()));
    droppedMissingTarget = before - df.height;
    const h = df.getColumn(homeScore).toArray() as number[];
    const a = df.getColumn(awayScore).toArray() as number[];
    df = df.withColumn(pl.Series(spec.target, h.map((x, i) => outcomeLabel(x, a[i]))));
    if (droppedMissingTarget) notes.push(`dropped ${droppedMissingTarget} rows with a missing ${homeScore} or ${awayScore} (no result to learn from)`);
  } else {
    const before = df.height;
    df = df.filter(pl.col(spec.target).isNotNull());
    droppedMissingTarget = before - df.height;
    if (droppedMissingTarget) notes.push(`dropped ${droppedMissingTarget} rows with a missing ${spec.target}`);
  }
  const missingTargetFraction = inputRows === 0 ? 0 : droppedMissingTarget / inputRows;
  if (missingTargetFraction > spec.quality.maxMissingTargetFraction) {
    throw new PipelineInputError(
      'DataQuality',
      `${droppedMissingTarget} of ${inputRows} rows (${pct(missingTargetFraction)}) have no ${spec.target}; the rule quality.maxMissingTargetFraction allows ${pct(spec.quality.maxMissingTargetFraction)}`,
      { column: spec.target, rows: droppedMissingTarget, rule: 'maxMissingTargetFraction' },
    );
  }

  // 2. Task: as declared, or inferred from the target (numbers with many distinct values are a regression).
  const targetSeries = df.getColumn(spec.target);
  const numericTarget = isNumericDtype(targetSeries.dtype);
  const task: Task = spec.targetFrom ? 'classification' : spec.task ?? (numericTarget && targetSeries.nUnique() > 20 ? 'regression' : 'classification');
  let droppedInvalid = 0;
  if (task === 'regression') {
    if (!numericTarget) {
      const values = targetSeries.toArray() as unknown[];
      const bad = values.filter((v) => typeof v !== 'number' && !(typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))));
      if (bad.length > 0) {
        throw new PipelineInputError(
          'InvalidSpec',
          `target "${spec.target}" is not numeric (${dtypeName(targetSeries.dtype)}; ${bad.length} of ${values.length} rows, e.g. ${JSON.stringify(bad[0])}), so it cannot be a regression target; use task "classification" or pick a numeric target`,
          { column: spec.target, rows: bad.length, rule: 'regression target must be numeric' },
        );
      }
      df = df.withColumn(pl.col(spec.target).cast(pl.Float64));
    }
    const before = df.height;
    df = df.filter(pl.col(spec.target).isNotNan());
    droppedInvalid += before - df.height;
  } else if (numericTarget) {
    // Class labels are strings everywhere (API responses, vocabularies), also when stored as numbers.
    df = df.withColumn(pl.col(spec.target).cast(pl.Utf8));
  }

  // 3. Exact duplicate rows carry no information and inflate metrics when they straddle the split.
  const beforeDedup = df.height;
  // With a Date/Datetime time column, the time order (step 6) is taken here in the same query: Polars
  // plans the two together. Nothing in between depends on the order of the rows.
  const sortedHere = spec.timeColumn !== undefined && df.columns.includes(spec.timeColumn) && isTemporalColumn(df, spec.timeColumn);
  df = sortedHere
    ? df.lazy().unique({ maintainOrder: true }).sort({ by: spec.timeColumn!, maintainOrder: true }).collectSync()
    : df.unique({ maintainOrder: true });
  const droppedDuplicates = beforeDedup - df.height;
  if (beforeDedup > 0 && droppedDuplicates / beforeDedup > spec.quality.maxDuplicateFraction) {
    throw new PipelineInputError(
      'DataQuality',
      `${droppedDuplicates} of ${beforeDedup} rows (${pct(droppedDuplicates / beforeDedup)}) are exact duplicates; the rule quality.maxDuplicateFraction allows ${pct(spec.quality.maxDuplicateFraction)}`,
      { rows: droppedDuplicates, rule: 'maxDuplicateFraction' },
    );
  }
  if (droppedDuplicates) notes.push(`dropped ${droppedDuplicates} duplicate rows`);

  // 4. Missing feature values are imputed later (from the training split only), unless too many.
  const features = candidateFeatureColumns(spec, df.columns);
  const missingByColumn: Record<string, number> = {};
  const nulls = df.nullCount().toRecords()[0] as Record<string, number>;
  for (const c of features) {
    const n = Number(nulls[c] ?? 0);
    if (n > 0) missingByColumn[c] = n;
    if (df.height > 0 && n / df.height > spec.quality.maxMissingFeatureFraction) {
      throw new PipelineInputError(
        'DataQuality',
        `feature "${c}" is missing in ${n} of ${df.height} rows (${pct(n / df.height)}); the rule quality.maxMissingFeatureFraction allows ${pct(spec.quality.maxMissingFeatureFraction)} — exclude the column or fix the source`,
        { column: c, rows: n, rule: 'maxMissingFeatureFraction' },
      );
    }
  }

  // 5. Optional outlier clipping (Tukey fences) on numeric features.
  let clippedOutliers = 0;
  if (spec.quality.outlierIqr > 0) {
    for (const c of features) {
      const s = df.getColumn(c);
      if (!isNumericDtype(s.dtype)) continue;
      const q1 = Number(s.quantile(0.25));
      const q3 = Number(s.quantile(0.75));
      const lo = q1 - spec.quality.outlierIqr * (q3 - q1);
      const hi = q3 + spec.quality.outlierIqr * (q3 - q1);
      const n = df.filter(pl.col(c).lt(lo).or(pl.col(c).gt(hi))).height;
      if (n > 0) {
        clippedOutliers += n;
        df = df.withColumn(pl.col(c).clip(lo, hi));
      }
    }
    if (clippedOutliers) notes.push(`clipped ${clippedOutliers} outlying values`);
  }

  if (df.height < spec.quality.minRows) {
    throw new PipelineInputError(
      'DataQuality',
      `only ${df.height} usable rows remain after cleaning (from ${inputRows}); the rule quality.minRows needs ${spec.quality.minRows}`,
      { rows: df.height, rule: 'minRows' },
    );
  }

  // 6. Time order: the split and point-in-time features walk rows in time.
  if (spec.timeColumn && !sortedHere) df = sortByTime(df, spec.timeColumn);

  return {
    clean: df,
    task,
    report: { inputRows, outputRows: df.height, droppedMissingTarget, droppedDuplicates, droppedInvalid, clippedOutliers, missingByColumn, notes, ...(ingestion ? { ingestion } : {}) },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
