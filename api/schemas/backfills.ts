// Pipeline backfills: one run per asOf over a past range, their progress, retries and walk-forward report.
import { z } from '@hono/zod-openapi';
import { DayOrInstantInput, MetricSet, readInstant, Text, Timestamp } from './common.js';

/** Most asOf points (runs) one backfill may have. */
export const MAX_BACKFILL_PARTITIONS = 240;

const BackfillStep = z.union([z.literal('season'), z.literal('month'), z.object({ months: z.number().int().min(1).max(120) })]);

/** Months between a backfill's asOf points. */
export const stepMonthsOf = (step: z.infer<typeof BackfillStep>): number => (step === 'season' ? 12 : step === 'month' ? 1 : step.months);

/**
 * A backfill's asOf points: the start's day of month and time of day, `stepMonths` months apart, up to and
 * including `end`; at most `limit` + 1 of them (one more than allowed is enough to refuse the range).
 */
export function backfillAsOfs(start: Date, end: Date, stepMonths: number, limit = MAX_BACKFILL_PARTITIONS): string[] {
  const out: string[] = [];
  for (let i = 0; out.length <= limit; i++) {
    // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
    const d = new Date(0);
    d.setUTCFullYear(start.getUTCFullYear(), start.getUTCMonth() + i * stepMonths, start.getUTCDate());
    d.setUTCHours(start.getUTCHours(), start.getUTCMinutes());
    if (d > end) break;
    out.push(d.toISOString());
  }
  return out;
}

export const CreateBackfill = z.object({
  start: DayOrInstantInput,
  end: DayOrInstantInput,
  /** Months between asOf points: 1 for monthly, 12 (or "season") for yearly seasons. */
  step: BackfillStep.default('season'),
  concurrency: z.number().int().min(1).max(8).default(2),
  /** Backfilled runs never move an alias unless asked. */
  allowPromotion: z.boolean().default(false),
}).strict().superRefine((b, ctx) => {
  // Only over instants the fields accepted (their own issues are reported alone, and a start after the end
  // is the route's to refuse, naming body.start); readInstant reads them as the route's `new Date()` does.
  const start = readInstant(b.start);
  const end = readInstant(b.end);
  if (!start || !end || !(start <= end)) return;
  const stepMonths = stepMonthsOf(b.step);
  if (backfillAsOfs(start, end, stepMonths).length > MAX_BACKFILL_PARTITIONS) {
    ctx.addIssue({
      code: 'custom', path: ['end'],
      message: `from start to end every ${stepMonths} month${stepMonths === 1 ? '' : 's'} is more than ${MAX_BACKFILL_PARTITIONS} runs; shorten the range or use a larger step`,
    });
  }
});

export const BackfillIdParams = z.object({ id: Text().min(1).max(1000) });
export const PartitionParams = BackfillIdParams.extend({
  /** The partition's asOf; only its date (YYYY-MM-DD) is compared. */
  asOf: Text().min(1).max(100),
});

export const ReportQuery = z.object({ format: z.enum(['json', 'csv', 'svg']).default('json') });

const Partition = z.object({ asOf: Timestamp, workflowId: z.string() });

export const BackfillStarted = z.object({
  backfill: z.object({
    id: z.string(),
    /** True when the same backfill was already submitted: nothing new was started. */
    existing: z.boolean(),
    partitions: z.array(Partition),
    webUiUrl: z.string().nullable(),
  }),
});
export type BackfillStarted = z.infer<typeof BackfillStarted>;

export const PartitionState = Partition.extend({
  status: z.enum(['pending', 'running', 'succeeded', 'failed']),
  modelVersion: z.number().int().optional(),
  metrics: MetricSet.optional(),
  failure: z.string().optional(),
});

export const BackfillProgress = z.object({
  backfillId: z.string(),
  pipeline: z.string(),
  /** The pipeline version every partition runs (pinned when the backfill started). */
  pipelineVersion: z.number().int(),
  total: z.number().int(),
  done: z.number().int(),
  running: z.number().int(),
  failed: z.number().int(),
  remaining: z.number().int(),
  partitions: z.array(PartitionState),
  /** The backfill workflow's Temporal status, e.g. RUNNING or COMPLETED. */
  status: z.string(),
}).openapi('BackfillProgress');
export type BackfillProgress = z.infer<typeof BackfillProgress>;

export const BackfillOne = z.object({ backfill: BackfillProgress });
export type BackfillOne = z.infer<typeof BackfillOne>;

export const PartitionRetry = z.object({
  retry: z.object({ workflowId: z.string(), runId: z.string(), pipelineVersion: z.number().int(), webUiUrl: z.string().nullable() }),
});
export type PartitionRetry = z.infer<typeof PartitionRetry>;

/** Each period's model scored on the period after its training data, beside the baselines on the same rows. */
export const WalkForwardRow = z.object({
  asOf: Timestamp,
  workflowId: z.string(),
  status: z.string(),
  testFrom: z.string().nullable(),
  testTo: z.string().nullable(),
  modelVersion: z.number().int().nullable(),
  metrics: MetricSet.nullable(),
  baselines: z.record(z.string(), MetricSet).nullable(),
});

export const WalkForwardReport = z.object({ backfill: z.string(), pipeline: z.string(), rows: z.array(WalkForwardRow) });
export type WalkForwardReport = z.infer<typeof WalkForwardReport>;
