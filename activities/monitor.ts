// The monitor's activities: judge one window of a production model's served predictions and store its
// report (once per window), and announce a breached window on the operator's webhook, signed.
import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { PipelineInputError } from '../data/pipeline-error.js';
import { getMonitorReport, saveMonitorReport } from '../registry/monitor-reports.js';
import { getPipeline } from '../registry/pipelines.js';
import { getRun } from '../registry/runs.js';
import { monitorRetrainingWorkflowId } from '../pipelines/workflow-ids.js';
import { judgeWindow, type MonitorBaseline } from '../serving/monitor-window.js';
import type { MonitorActivities, MonitorWindowInput, MonitorWindowOutput } from '../pipelines/contract.js';
import { MonitoringConfigSchema } from '../pipelines/monitoring-config.js';
import { ValidationConfigSchema } from '../pipelines/validation-config.js';
import { classifyFailures } from './failures.js';
import type { ActivityDeps } from './deps.js';
import { heartbeatWhile } from './heartbeat-while.js';
import { heldOutPredictions, trainingBaseline } from './training-statistics.js';

/** The header names a receiver checks: the signature covers the timestamp, so a captured request cannot be replayed later as new. */
export const WEBHOOK_HEADERS = { signature: 'x-mlp-signature', timestamp: 'x-mlp-timestamp', delivery: 'x-mlp-delivery' } as const;

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: what X-MLP-Signature holds. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createMonitorActivities(deps: ActivityDeps): MonitorActivities {
  const { db, artifacts } = deps;
  return {
    async monitorWindow({ model, window, end, windowMinutes }: MonitorWindowInput): Promise<MonitorWindowOutput> {
      return classifyFailures(async () => {
        const pipeline = await getPipeline(db, model);
        if (!pipeline) throw new PipelineInputError('MonitorUnavailable', `no pipeline "${model}": a monitor watches the production model of a pipeline; delete its schedule or create the pipeline`);
        const spec = pipeline.spec;
        const monitoring = MonitoringConfigSchema.parse(spec.monitoring ?? {});
        const to = new Date(window?.to ?? end);
        const from = new Date(window?.from ?? to.getTime() - (windowMinutes ?? monitoring.windowMinutes) * 60_000);
        if (!(from.getTime() < to.getTime())) throw new PipelineInputError('MonitorUnavailable', `the window ${from.toISOString()} to ${to.toISOString()} is empty: its start must be before its end`);
        const alias = spec.promotion.alias;

        const trained = await trainingBaseline(db, artifacts, model, alias);
        const notes: string[] = [];
        let baseline: MonitorBaseline | null = null;
        const row = trained.row;
        if ('note' in trained) notes.push(trained.note);
        if (row) {
          baseline = {
            version: row.version, statistics: 'note' in trained ? null : trained.statistics, predictions: await heldOutPredictions(artifacts, row),
            classes: row.transform.classes ?? null, offlineMetrics: row.metrics,
          };
        }
        const ctx = Context.current();
        const report = await heartbeatWhile(ctx, { window: { from, to } }, 5_000, () => judgeWindow(db, {
          model, alias, window: { from, to }, baseline, notes,
          validation: ValidationConfigSchema.parse(spec.validation ?? {}), monitoring, metric: spec.promotion.metric, timeColumn: spec.timeColumn,
        }));
        const saved = await saveMonitorReport(db, report);
        // Test seam: a fault after the report is stored, as a worker lost right then would be.
        await deps.faults?.('monitor-window', ctx.info.attempt, { workflowId: ctx.info.workflowExecution?.workflowId ?? model });
        const stored = saved.report;
        deps.logger.info({ model, window: stored.id, breach: stored.breach, findings: stored.findings.length, created: saved.created }, 'monitor window judged');
        const retrain = stored.breach && monitoring.retrain === 'on-breach';
        const retrainingId = monitorRetrainingWorkflowId(model, stored.window.from, stored.window.to);
        return {
          report: { id: stored.id, window: stored.window, breach: stored.breach, version: stored.version, predictions: stored.predictions, findings: stored.findings.length },
          created: saved.created,
          retrain,
          retrainingRecorded: retrain && (await getRun(db, retrainingId)) ? retrainingId : null,
          webhook: stored.breach && !!deps.monitorWebhook,
        };
      });
    },

    notifyBreach: ({ model, reportId }) => classifyFailures(async () => {
      const hook = deps.monitorWebhook;
      if (!hook) throw new PipelineInputError('MonitorUnavailable', 'MONITOR_WEBHOOK_URL is not set on this worker: set it (and MONITOR_WEBHOOK_SECRET) on every worker');
      const [from, to] = reportId.split('--');
      const report = await getMonitorReport(db, model, new Date(from), new Date(to));
      if (!report) throw new PipelineInputError('MonitorUnavailable', `no report of ${model} for the window ${reportId}`);
      const body = JSON.stringify({ event: 'monitor.breach', model, report });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await fetch(hook.url, {
        method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(hook.timeoutMs),
        headers: {
          'content-type': 'application/json',
          [WEBHOOK_HEADERS.timestamp]: timestamp,
          [WEBHOOK_HEADERS.signature]: webhookSignature(hook.secret, timestamp, body),
          // The same for every attempt of one window: a receiver that saw it already can drop the repeat.
          [WEBHOOK_HEADERS.delivery]: `${model}:${reportId}`,
        },
      });
      await res.body?.cancel();
      // Anything but a 2xx is retried with backoff (a receiver down, a proxy's 502, a redirect we do not follow).
      if (res.status < 200 || res.status >= 300) throw new Error(`the monitor webhook answered HTTP ${res.status}`);
      return { status: res.status };
    }),
  };
}
