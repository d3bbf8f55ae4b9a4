// Task-queue priority of what the platform starts (Temporal's priorityKey: 1 is dispatched first, 5 last,
// 3 when unset). Work a person waits for, or a retraining that is due, goes ahead of bulk work queued
// before it; children and activities inherit their workflow's key, so a backfill's partitions and all
// their stages queue behind a run started by hand, on every queue they share.
export const TASK_PRIORITY = {
  /** A pipeline check someone's request waits on (POST /v1/pipelines). */
  interactive: 1,
  /** A run started through the API or the CLI. */
  run: 2,
  /**
   * A batch scoring job; also what a schedule's runs get, as Temporal's default (the SDK's schedule action
   * cannot set a key), which still puts them ahead of backfills.
   */
  batchScore: 3,
  /** A backfill and its partitions, and a retried partition. */
  backfill: 4,
} as const;
