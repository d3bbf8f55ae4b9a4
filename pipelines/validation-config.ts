// What the validate stage (and the monitor, on served inputs) checks a pipeline's new data for, and what
// each finding does: `fail` stops the run before anything is trained (non-retryable, production untouched),
// `warn` is reported with the run's result, `off` skips the check. Every check has a default, so a pipeline
// without a `validation` block is still checked: a column the production model was trained on that the
// source no longer has, or whose kind changed, fails; drift and odd values warn.
import { z } from 'zod';
import { storableText } from './storable.js';

export const CHECK_ACTIONS = ['fail', 'warn', 'off'] as const;
export type CheckAction = (typeof CHECK_ACTIONS)[number];
const Action = z.enum(CHECK_ACTIONS);

const share = z.number().min(0).max(1);

/** A share of values (unseen categories, out of the training range) above which the check fires. */
const ShareBound = (max: number) => z.object({ max: share.default(max), on: Action.default('warn') }).strict();

/**
 * A two-sample test with an effect size: fires when the p-value is below `significance` (divided by the
 * number of columns tested, Bonferroni, so the chance of any false alarm over a whole dataset or window
 * stays under `significance`) AND the distance is at least `minDistance`, so that a large sample's
 * statistically significant but negligible difference is not called drift.
 */
const DriftTest = z.object({
  significance: z.number().gt(0).lt(1).default(0.05),
  minDistance: z.number().min(0).max(100).default(0.1),
  on: Action.default('warn'),
}).strict();

const checks = {
  /** Share of values of a categorical column that training never saw. */
  unseenCategories: ShareBound(0.05),
  /** Share of values of a numeric column outside training's [min, max]. */
  outOfRange: ShareBound(0.05),
  /** Rise of a column's missing share over training's (0.1: from 2% to more than 12%). */
  missingRate: z.object({ maxIncrease: share.default(0.1), on: Action.default('warn') }).strict(),
  /**
   * Population stability index over ten buckets of training's distribution (by convention under 0.1: no
   * shift; 0.1–0.25: a moderate one; over 0.25: a large one). A descriptive figure, not a test: on a small
   * sample it moves by chance alone (about 9 / rows), which the default bound leaves room for.
   */
  psi: z.object({ max: z.number().min(0).max(100).default(0.25), on: Action.default('warn') }).strict(),
  /** Numeric columns: Kolmogorov–Smirnov p-value, with the Wasserstein distance in training standard deviations as the effect. */
  ks: DriftTest,
  /** Categorical columns: chi-square p-value, with the Jensen–Shannon distance (0..1) as the effect. */
  chiSquare: DriftTest,
};

const ColumnChecksSchema = z.object(Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v.optional()])) as {
  [K in keyof typeof checks]: z.ZodOptional<(typeof checks)[K]>;
}).strict();

export const ValidationConfigSchema = z.object({
  /** A column the production model's training data had is gone. */
  missingColumn: Action.default('fail'),
  /** A column training never had has appeared. */
  newColumn: Action.default('warn'),
  /** A column's kind (numeric, categorical, date) differs from training's. */
  kindChanged: Action.default('fail'),
  unseenCategories: checks.unseenCategories.prefault({}),
  outOfRange: checks.outOfRange.prefault({}),
  missingRate: checks.missingRate.prefault({}),
  psi: checks.psi.prefault({}),
  ks: checks.ks.prefault({}),
  chiSquare: checks.chiSquare.prefault({}),
  /**
   * With a time column, the rows after the production model's asOf are what is new, and are compared once
   * there are at least this many; else (or without a time column) the whole dataset is.
   */
  minNewRows: z.number().int().min(1).max(1_000_000).default(30),
  /** Per-column settings replacing the pipeline-wide ones for that column (each check whole). */
  columns: z.record(storableText().min(1).max(200), ColumnChecksSchema)
    .refine((c) => Object.keys(c).length <= 1000, 'at most 1000 columns').optional(),
}).strict();

export type ValidationConfig = z.infer<typeof ValidationConfigSchema>;
export type ValidationConfigInput = z.input<typeof ValidationConfigSchema>;
export type ColumnChecks = Pick<ValidationConfig, keyof typeof checks>;

/** The checks that apply to one column: the pipeline's, with the column's own replacing them. */
export function columnChecks(config: ValidationConfig, column: string): ColumnChecks {
  const own = config.columns?.[column];
  // A column's own check was parsed whole (its defaults filled in), so it replaces the pipeline's outright.
  const pick = <K extends keyof ColumnChecks>(k: K): ColumnChecks[K] => (own?.[k] as ColumnChecks[K] | undefined) ?? config[k];
  return {
    unseenCategories: pick('unseenCategories'), outOfRange: pick('outOfRange'), missingRate: pick('missingRate'),
    psi: pick('psi'), ks: pick('ks'), chiSquare: pick('chiSquare'),
  };
}
