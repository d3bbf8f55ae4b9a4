// Registry bookkeeping and the promote stage. Promotion is exactly once: the alias move is keyed by the
// run, so a retried activity (or a replayed workflow) finds its earlier move instead of making another.
import { moveAlias } from '../registry/models.js';
import { beginRun, finishRun } from '../registry/runs.js';
import type { EvaluateOutput, MetricSet, PromoteOutput, RunRef, Trigger } from '../workflows/shared.js';
import { beginStageAttempt } from './attempt.js';
import { classifyFailures } from './failures.js';
import type { ActivityDeps } from './index.js';

/** Metrics where smaller is better; every other metric is better when larger. */
const LOWER_IS_BETTER = new Set(['logLoss', 'rankedProbabilityScore', 'expectedCalibrationError', 'rmse', 'mae']);

export function createRegistryActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async beginRun(r: { workflowId: string; temporalRunId: string; pipeline: string; pipelineVersion: number; asOf: string; trigger: Trigger }): Promise<void> {
      await beginRun(db, r);
    },

    async finishRun(r:
      | { workflowId: string; status: 'succeeded'; modelVersion: number; summary: Record<string, unknown> }
      | { workflowId: string; status: 'failed'; failure: { stage: string; type: string; message: string } },
    ): Promise<void> {
      await finishRun(db, r.workflowId, r);
    },

    async promote({ run, evaluated, allowPromotion, actor }: { run: RunRef; evaluated: EvaluateOutput; allowPromotion: boolean; actor: string }): Promise<PromoteOutput> {
      return classifyFailures(async () => {
        await beginStageAttempt(deps, 'promote', run.workflowId);
        const rule = run.spec.promotion;
        const task = 'accuracy' in evaluated.metrics ? 'classification' : 'regression';
        const metric = rule.metric ?? (task === 'classification' ? 'logLoss' : 'rmse');
        const reasons = gateReasons(metric, rule, evaluated);
        const base = { alias: rule.alias, toVersion: evaluated.modelVersion };
        if (!allowPromotion) {
          return { ...base, promoted: false, fromVersion: evaluated.champion?.version ?? null, reasons: ['promotion is disabled for this run (e.g. a backfill)', ...reasons] };
        }
        if (reasons.length > 0) return { ...base, promoted: false, fromVersion: evaluated.champion?.version ?? null, reasons };
        const better = evaluated.champion ? `beats v${evaluated.champion.version}` : 'first version';
        const move = await moveAlias(db, {
          model: run.pipeline, alias: rule.alias, toVersion: evaluated.modelVersion, actor,
          reason: `${metric} ${fmt(evaluated.metrics[metric])} passes the pipeline's rule (${better})`,
          idempotencyKey: `promote:${run.workflowId}`,
          expectedFrom: evaluated.champion?.version ?? null,
        });
        return move.moved
          ? { ...base, promoted: true, fromVersion: move.fromVersion, reasons: [] }
          : { ...base, promoted: false, fromVersion: move.fromVersion, reasons: move.reasons };
      });
    },
  };
}

function gateReasons(metric: string, rule: RunRef['spec']['promotion'], ev: EvaluateOutput): string[] {
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

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
