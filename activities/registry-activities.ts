// Registry bookkeeping and the promote stage. Promotion is exactly once: the alias move is keyed by the
// run, so a retried activity (or a replayed workflow) finds its earlier move instead of making another.
import { moveAlias } from '../registry/models.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { getPipeline } from '../registry/pipelines.js';
import { beginRun, finishRun } from '../registry/runs.js';
import { fmt, promotionGateReasons, promotionMetric } from '../pipelines/promotion-rule.js';
import type { BeginRunInput, FinishRunInput, PromoteInput, PromoteOutput, ResolvedPipeline, ResolvePipelineInput } from '../pipelines/contract.js';
import { stageAttempt } from './attempt.js';
import { classifyFailures } from './failures.js';
import type { ActivityDeps } from './deps.js';

export function createRegistryActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async resolvePipeline({ pipeline, version }: ResolvePipelineInput): Promise<ResolvedPipeline> {
      return classifyFailures(async () => {
        const p = await getPipeline(db, pipeline, version);
        if (!p) throw new PipelineInputError('InvalidSpec', `pipeline "${pipeline}"${version ? ` version ${version}` : ''} does not exist (deleted after the schedule was created?)`);
        return { spec: p.spec, version: p.version };
      });
    },

    async beginRun(r: BeginRunInput): Promise<void> {
      await beginRun(db, r);
      deps.metrics?.runsStarted.inc({ pipeline: r.pipeline });
    },

    async finishRun(r: FinishRunInput): Promise<void> {
      await finishRun(db, r.workflowId, r);
      // Counted once the row is written: a failed attempt counts nothing, its retry counts the run.
      deps.metrics?.runsFinished.inc({ pipeline: r.pipeline, outcome: r.status, stage: r.status === 'failed' ? r.failure.stage : 'none' });
    },

    async promote({ run, evaluated, allowPromotion, actor, approval }: PromoteInput): Promise<PromoteOutput> {
      return stageAttempt(deps, 'promote', run, async (attempt) => {
        const rule = run.spec.promotion;
        const metric = promotionMetric(rule, evaluated);
        const reasons = promotionGateReasons(rule, evaluated);
        const base = { alias: rule.alias, toVersion: evaluated.modelVersion };
        if (!allowPromotion) {
          return { ...base, promoted: false, fromVersion: evaluated.champion?.version ?? null, reasons: ['promotion is disabled for this run (e.g. a backfill)', ...reasons] };
        }
        if (reasons.length > 0) return { ...base, promoted: false, fromVersion: evaluated.champion?.version ?? null, reasons };
        const better = evaluated.champion ? `beats v${evaluated.champion.version}` : 'first version';
        const approved = approval ? `; approved by ${approval.by}: ${approval.reason}` : '';
        const move = await moveAlias(db, {
          model: run.pipeline, alias: rule.alias, toVersion: evaluated.modelVersion, actor: approval ? `${actor} (approved by ${approval.by})` : actor,
          reason: `${metric} ${fmt(evaluated.metrics[metric])} passes the pipeline's rule (${better})${approved}`,
          idempotencyKey: `promote:${run.workflowId}`,
          expectedFrom: evaluated.champion?.version ?? null,
        });
        // Test seam: a crash after the move committed but before Temporal heard of it.
        await deps.faults?.('promote:after-move', attempt, { workflowId: run.workflowId });
        return move.moved
          ? { ...base, promoted: true, fromVersion: move.fromVersion, reasons: [] }
          : { ...base, promoted: false, fromVersion: move.fromVersion, reasons: move.reasons };
      });
    },
  };
}
