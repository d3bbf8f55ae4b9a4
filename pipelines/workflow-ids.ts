// Workflow IDs, made in one place: business IDs that are findable and sortable in the Web UI, and
// deterministic where a second start must find the first (backfills and their partitions, schedules).

/** One run: `train:<pipeline>:<asOf day>:<suffix>`. */
export function trainingWorkflowId(pipeline: string, asOf: string, suffix: string): string {
  return `train:${pipeline}:${asOf.slice(0, 10)}:${suffix}`;
}

/** The runs a schedule starts (Temporal appends the action time to this prefix). */
export function scheduledWorkflowId(pipeline: string): string {
  return `train:${pipeline}:scheduled`;
}

/** The same backfill (pipeline, range, step) is one workflow, and its partitions too. */
export function backfillIds(pipeline: string, start: string, end: string, stepMonths: number, asOfs: string[]) {
  const range = `${start.slice(0, 10)}-${end.slice(0, 10)}-${stepMonths}m`;
  return {
    backfillId: `backfill:${pipeline}:${start.slice(0, 10)}:${end.slice(0, 10)}:${stepMonths}m`,
    partitions: asOfs.map((asOf) => ({ asOf, workflowId: trainingWorkflowId(pipeline, asOf, `backfill-${range}`) })),
  };
}

/** One batch scoring job: `score:<model>:<day started>:<suffix>`. */
export function batchScoreWorkflowId(model: string, startedAt: string, suffix: string): string {
  return `score:${model}:${startedAt.slice(0, 10)}:${suffix}`;
}

/**
 * The task queue `train` runs on, beside the pipelines' queue it is derived from: workers with cores to
 * spare poll it (WORKER_TASK_QUEUES), with as many trainings at once as they allow.
 */
export function trainingTaskQueue(pipelinesQueue: string): string {
  return `${pipelinesQueue}-training`;
}

/** The monitor schedule of a model (one per model). */
export function monitorScheduleId(model: string): string {
  return `monitor-${model}`;
}

/** The windows a monitor schedule judges (Temporal appends the action time to this prefix). */
export function monitorScheduledWorkflowId(model: string): string {
  return `monitor:${model}:scheduled`;
}

/** One window judged on request: the same window asked for twice is one workflow while it runs. */
export function monitorWindowWorkflowId(model: string, from: string, to: string): string {
  return `monitor:${model}:${from}--${to}`;
}

/**
 * The retraining a breached window starts: one ID per (model, window), so a window judged again (a retried
 * activity, a backfilled schedule, a second request) finds the run it already started.
 */
export function monitorRetrainingWorkflowId(model: string, from: string, to: string): string {
  return trainingWorkflowId(model, to, `monitor-${from}--${to}`);
}
