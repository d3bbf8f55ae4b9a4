// What the monitor watches a production model for, window by window, and what a breach does. The drift
// checks themselves (their thresholds, per column, and whether each finding is `warn` or `fail`) are the
// pipeline's `validation` block: the same rules judge a run's new data and the model's served inputs.
import { z } from 'zod';

const share = z.number().min(0).max(1);

export const MonitoringConfigSchema = z.object({
  /** One window's length; the monitor schedule runs once per window, at its end. */
  windowMinutes: z.number().int().min(1).max(31 * 24 * 60).default(24 * 60),
  /** Fewest served predictions for a window's drift tests to run: fewer, and the window is reported without them. */
  minPredictions: z.number().int().min(1).max(10_000_000).default(50),
  /**
   * Share of a window's predictions that fell back for a team or category training never saw, above which
   * the window has a `warn` finding (an API caller sending names the model does not know is answered by a
   * guess); like the live-quality finding, it makes a breach when `breachOn` is `warn`.
   */
  maxFallbackRate: share.default(0.05),
  /** Live quality: the pipeline's promotion metric worse than the version's offline figure by more than this, once at least `minOutcomes` predictions have outcomes. */
  quality: z.object({
    maxDegradation: z.number().min(0).max(1e6).default(0.1),
    minOutcomes: z.number().int().min(1).max(10_000_000).default(30),
  }).strict().prefault({}),
  /** Which findings make a breach (webhook, alert gauge, retraining): `warn` (any finding) or only `fail`. */
  breachOn: z.enum(['warn', 'fail']).default('warn'),
  /**
   * `on-breach`: a breached window starts one retraining run of the pipeline (exactly one per window, also
   * when the window is monitored again); with `promotion.approval` set, that run waits for an approver.
   */
  retrain: z.enum(['never', 'on-breach']).default('never'),
}).strict();

export type MonitoringConfig = z.infer<typeof MonitoringConfigSchema>;
export type MonitoringConfigInput = z.input<typeof MonitoringConfigSchema>;
