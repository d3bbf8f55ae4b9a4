// The promotion rule, as a pure function: the workflow uses it to decide whether to ask for approval,
// and the promote activity re-checks it before moving the alias. Workflow-safe (no imports at run time).
import type { PipelineSpec } from './spec.js';
import type { EvaluateOutput, MetricSet } from './contract.js';

/** Metrics where smaller is better; every other metric is better when larger. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['logLoss', 'rankedProbabilityScore', 'expectedCalibrationError', 'rmse', 'mae']);

export function promotionMetric(rule: PipelineSpec['promotion'], ev: EvaluateOutput): string {
  return rule.metric ?? ('accuracy' in ev.metrics ? 'logLoss' : 'rmse');
}

/** Why the candidate may not be promoted; empty when it passes the pipeline's rule. */
export function promotionGateReasons(rule: PipelineSpec['promotion'], ev: EvaluateOutput): string[] {
  const metric = promotionMetric(rule, ev);
  const value = ev.metrics[metric];
  if (value === undefined) return [`metric "${metric}" is not reported for this task`];
  const lower = LOWER_IS_BETTER.has(metric);
  const beats = (other: number) => (lower ? value < other : value > other);
  const reasons: string[] = [];
  if (rule.threshold !== undefined && !(lower ? value <= rule.threshold : value >= rule.threshold)) {
    reasons.push(`${metric} ${fmt(value)} does not reach the threshold ${rule.threshold}`);
  }
  if (rule.mustBeatBaselines) {
    for (const [name, m] of Object.entries(ev.baselines) as [string, MetricSet][]) {
      if (m[metric] !== undefined && !beats(m[metric])) reasons.push(`${metric} ${fmt(value)} does not beat the ${name} baseline (${fmt(m[metric])})`);
    }
  }
  if (rule.mustBeatProduction && ev.champion && ev.champion.metrics[metric] !== undefined && !beats(ev.champion.metrics[metric])) {
    reasons.push(`${metric} ${fmt(value)} does not beat production v${ev.champion.version} (${fmt(ev.champion.metrics[metric])}) on the same held-out rows`);
  }
  return reasons;
}

export const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
