// The monitor of a production model as one durable workflow per window: judge the window (its report is
// stored once per window), start one retraining run when the window breached and the pipeline's monitoring
// block says so (its workflow ID is the window's, so judging the window again starts nothing new; with
// approval configured the run waits for a person), then announce the breach on the operator's webhook.
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { ApplicationFailure, ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import { FAILURE_TYPES, type ModelMonitorInput, type ModelMonitorResult, type MonitorActivities, type TrainingPipelineInput } from '../pipelines/contract.js';
import { monitorRetrainingWorkflowId } from '../pipelines/workflow-ids.js';
import { SCHEDULED_START_TIME, SEARCH_ATTRIBUTES, WORKFLOW_TYPES, type TrainingPipelineWorkflow } from './definitions.js';
import { describeFailure } from './failure-description.js';

const nonRetryableErrorTypes = [...FAILURE_TYPES];

// Reading a window of the prediction log: seconds for a million predictions; a lost worker is noticed
// within the heartbeat timeout and the retry finds the report if the first attempt stored it.
const judging = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

// The webhook: a receiver down for a while is waited out (about an hour of backoff) rather than missed.
const announcing = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 12, nonRetryableErrorTypes },
});

export async function modelMonitor(input: ModelMonitorInput): Promise<ModelMonitorResult> {
  const info = workflowInfo();
  // A scheduled window ends at the action's nominal time, so a late or backfilled action judges the window it was for.
  const end = (info.typedSearchAttributes.get(SCHEDULED_START_TIME) ?? info.startTime).toISOString();
  try {
    const judged = await judging.monitorWindow({ model: input.model, window: input.window, end, windowMinutes: input.windowMinutes });
    const { report } = judged;
    let retraining: ModelMonitorResult['retraining'] = null;
    if (judged.retrainingRecorded) {
      retraining = { workflowId: judged.retrainingRecorded, started: false };
    } else if (judged.retrain) {
      const workflowId = monitorRetrainingWorkflowId(input.model, report.window.from, report.window.to);
      const run: TrainingPipelineInput = {
        pipeline: input.model, trigger: 'monitor', allowPromotion: true, actor: `monitor:${input.model}`, accountable: input.accountable ?? input.actor,
      };
      try {
        await startChild<TrainingPipelineWorkflow>(WORKFLOW_TYPES.training, {
          workflowId, args: [run],
          // The run outlives this window's workflow, and a second start of the same window is refused.
          parentClosePolicy: ParentClosePolicy.ABANDON, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.pipeline.key, value: input.model }],
          staticSummary: `Retraining of ${input.model}: the monitor's window ${report.window.from} to ${report.window.to} breached`,
        });
        retraining = { workflowId, started: true };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        retraining = { workflowId, started: false };
      }
    }
    let webhook: ModelMonitorResult['webhook'] = report.breach ? 'not-configured' : 'no-breach';
    if (judged.webhook) {
      await announcing.notifyBreach({ model: input.model, reportId: report.id });
      webhook = 'sent';
    }
    return { report, webhook, retraining };
  } catch (err) {
    const failure = describeFailure(err);
    throw ApplicationFailure.create({ type: failure.type, message: `monitoring ${input.model} failed: ${failure.message}`, nonRetryable: true, cause: err instanceof Error ? err : undefined });
  }
}
