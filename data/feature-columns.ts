// Which raw columns may become features: a rule of the spec alone, shared by the feature stage and the
// checks made before a run. Pure (no dataframes), so any process can load it.
import type { PipelineSpec } from '../pipelines/spec.js';

/** Raw columns that feed the feature stage (before `include` narrows them). */
export function candidateFeatureColumns(spec: PipelineSpec, columns: string[]): string[] {
  const excluded = new Set([spec.target, ...spec.features.exclude]);
  if (spec.timeColumn) excluded.add(spec.timeColumn);
  if (spec.targetFrom) [spec.targetFrom.homeScore, spec.targetFrom.awayScore].forEach((c) => excluded.add(c));
  const d = spec.features.derive;
  if (d) [d.homeTeam, d.awayTeam, d.homeScore, d.awayScore, d.date].forEach((c) => excluded.add(c));
  const base = spec.features.include ?? columns;
  return base.filter((c) => !excluded.has(c));
}
