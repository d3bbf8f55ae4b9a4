// A pipeline is data: this schema is the contract for specs created through the API, the CLI or shipped here.
import { z } from 'zod';
import { ModelSpecSchema } from './model-spec.js';
import { HeadToHeadConfigSchema } from './head-to-head-config.js';

const columnName = z.string().min(1).max(200);

export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('bundled'),
    /** A file of the `vega-datasets` package, e.g. `football` or `seattle-weather.csv`. */
    dataset: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a vega-datasets file name such as "football" or "cars.json"'),
  }),
  z.object({
    kind: z.literal('file'),
    /** A local path or an http(s) URL. */
    path: z.string().min(1),
    format: z.enum(['csv', 'json', 'parquet']).optional(),
  }),
  z.object({
    kind: z.literal('sql'),
    /**
     * One SELECT / WITH statement over schema source_data, run by the worker as the read-only source role,
     * with a statement timeout and a row cap (data/sources.ts).
     */
    query: z.string().min(1).refine((q) => /^\s*(select|with)\b/i.test(q), 'only SELECT / WITH queries are allowed'),
  }),
]);

export const SplitSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('time'),
    /** The held-out split is the last period (e.g. a football season) that has data up to `asOf`; training uses everything before it. */
    periodMonths: z.number().int().min(1).max(120).default(12),
    /** Month-day where periods start, e.g. "07-01" for football seasons. */
    anchor: z.string().regex(/^\d{2}-\d{2}$/).default('01-01'),
  }),
  z.object({
    kind: z.literal('random'),
    testFraction: z.number().gt(0).lt(0.9).default(0.2),
    seed: z.number().int().default(42),
  }),
]);

export const FeaturesSchema = z.object({
  /** Raw columns to use; default: every column except the target, the time column and `exclude`. */
  include: z.array(columnName).optional(),
  exclude: z.array(columnName).default([]),
  maxCategories: z.number().int().min(1).max(1000).default(20),
  kinds: z.record(z.string(), z.enum(['numeric', 'categorical', 'date', 'boolean'])).optional(),
  /** Point-in-time features derived from history, e.g. team ratings for match data. */
  derive: HeadToHeadConfigSchema.optional(),
});

export const QualitySchema = z.object({
  minRows: z.number().int().min(1).default(50),
  /** Rows with a missing target are dropped; fail if more than this fraction of rows had one. */
  maxMissingTargetFraction: z.number().min(0).max(1).default(0.05),
  /** Fail if any feature column is missing in more than this fraction of rows. */
  maxMissingFeatureFraction: z.number().min(0).max(1).default(0.5),
  maxDuplicateFraction: z.number().min(0).max(1).default(0.2),
  /** Numeric values further than this many IQRs outside the quartiles are clipped (0 disables). */
  outlierIqr: z.number().min(0).default(0),
});

export const PromotionSchema = z.object({
  metric: z.enum(['accuracy', 'logLoss', 'macroF1', 'rankedProbabilityScore', 'rmse', 'mae', 'r2']).optional(),
  /** Bound the metric must reach: a minimum for accuracy/F1/R², a maximum for losses and errors. */
  threshold: z.number().optional(),
  mustBeatProduction: z.boolean().default(true),
  mustBeatBaselines: z.boolean().default(true),
  alias: z.string().regex(/^[a-z][a-z0-9-]*$/).default('production'),
  /** When set, a candidate that passes the rule waits for a person's approve/reject through the API. */
  approval: z.object({
    /** Without a decision by then, the candidate is not promoted. */
    expiresAfterSeconds: z.number().int().min(1).max(30 * 86_400).default(86_400),
  }).optional(),
});

export const PipelineSpecSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter'),
  description: z.string().max(2000).optional(),
  source: SourceSchema,
  target: columnName,
  /** Build the target from two score columns (home / draw / away) instead of reading it. */
  targetFrom: z.object({ kind: z.literal('match-outcome'), homeScore: columnName, awayScore: columnName }).optional(),
  task: z.enum(['classification', 'regression']).optional(),
  /** Column holding each row's time; rows after the run's `asOf` are never read. */
  timeColumn: columnName.optional(),
  split: SplitSchema.default({ kind: 'random', testFraction: 0.2, seed: 42 }),
  features: FeaturesSchema.default({ exclude: [], maxCategories: 20 }),
  quality: QualitySchema.default({ minRows: 50, maxMissingTargetFraction: 0.05, maxMissingFeatureFraction: 0.5, maxDuplicateFraction: 0.2, outlierIqr: 0 }),
  model: ModelSpecSchema.default(ModelSpecSchema.parse({})),
  promotion: PromotionSchema.default({ mustBeatProduction: true, mustBeatBaselines: true, alias: 'production' }),
}).superRefine((s, ctx) => {
  if (s.split.kind === 'time' && !s.timeColumn) {
    ctx.addIssue({ code: 'custom', path: ['timeColumn'], message: 'a time split needs `timeColumn`' });
  }
  if (s.targetFrom && s.task === 'regression') {
    ctx.addIssue({ code: 'custom', path: ['task'], message: 'a match-outcome target is a classification task' });
  }
});

export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;
