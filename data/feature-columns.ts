// Which raw columns may become features: a rule of the spec alone, shared by the feature stage and the
// checks made before a run. Pure (no dataframes), so any process can load it.
import { targetInputColumns, type PipelineSpec } from '../pipelines/spec.js';

/** Raw columns that feed the feature stage (before `include` narrows them). */
export function candidateFeatureColumns(spec: PipelineSpec, columns: string[]): string[] {
  const excluded = new Set([spec.target, ...spec.features.exclude, ...targetInputColumns(spec)]);
  // The time column orders and splits the rows; it is a feature too only when `include` names it.
  if (spec.timeColumn && !spec.features.include?.includes(spec.timeColumn)) excluded.add(spec.timeColumn);
  const d = spec.features.derive;
  if (d) [d.homeTeam, d.awayTeam, d.homeScore, d.awayScore, d.date].forEach((c) => excluded.add(c));
  const base = spec.features.include ?? columns;
  return base.filter((c) => !excluded.has(c));
}
