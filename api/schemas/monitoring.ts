// Ground truth and live quality: the feedback a model's outcomes come back through, and its quality as
// served, version by version, beside its offline evaluation.
import { z } from '@hono/zod-openapi';
import { InstantInput, MetricSet, Text, VersionText } from './common.js';

/** At most this many outcomes per request: one request stays one short transaction. */
export const MAX_OUTCOMES = 1000;

const KeyValue = z.union([Text().max(1000), z.number().finite(), z.boolean()]);

const Outcome = z.object({
  predictionId: Text().min(1).max(40).optional().openapi({ description: 'The `id` a predict response gave the row' }),
  key: z.record(Text().min(1).max(200), KeyValue).optional()
    .openapi({ description: 'Or the row\'s business key: some of its input fields with the values it was sent with, e.g. {"date": "2016-08-13", "home_team": "Hull"}' }),
  label: Text().min(1).max(200).optional().openapi({ description: 'What happened (classification): one of the model\'s classes' }),
  value: z.number().finite().optional().openapi({ description: 'What happened (regression)' }),
  observed: z.record(Text().min(1).max(200), z.number().int().min(0).max(1_000_000)).optional()
    .openapi({ description: 'For models with point-in-time features (football): the result\'s source columns, e.g. {"home_score": 2, "away_score": 1}. With a business key naming the date and both teams, it walks the serving ratings and form forward.' }),
}).strict().superRefine((o, ctx) => {
  if ((o.predictionId === undefined) === (o.key === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of predictionId and key' });
  if (o.key !== undefined && (Object.keys(o.key).length < 1 || Object.keys(o.key).length > 20)) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a key has 1 to 20 fields' });
  if ((o.label === undefined) === (o.value === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of label (classification) and value (regression)' });
  if (o.observed !== undefined && (Object.keys(o.observed).length < 1 || Object.keys(o.observed).length > 10)) ctx.addIssue({ code: 'custom', path: ['observed'], message: 'observed has 1 to 10 fields' });
});

export const FeedbackBody = z.object({ outcomes: z.array(Outcome).min(1).max(MAX_OUTCOMES) }).strict().openapi('Feedback');
export type FeedbackBody = z.infer<typeof FeedbackBody>;

export const FeedbackResult = z.object({
  model: z.string(),
  stored: z.number().int().openapi({ description: 'Outcomes stored by this request' }),
  duplicates: z.number().int().openapi({ description: 'Outcomes already stored, the same: nothing changed' }),
  conflicts: z.array(z.object({ index: z.number().int(), stored: z.union([z.string(), z.number()]) }))
    .openapi({ description: 'Outcomes whose key already had a different outcome: the stored one stands (index into the request\'s outcomes)' }),
}).openapi('FeedbackResult');

export const QualityQuery = z.object({
  from: InstantInput.optional().openapi({ description: 'Start of the window of predictions (default: 24 hours before `to`)' }),
  to: InstantInput.optional().openapi({ description: 'End of the window, exclusive (default: now)' }),
});

export const QualityResult = z.object({
  model: z.string(),
  from: z.string(),
  to: z.string(),
  versions: z.array(z.object({
    version: z.number().int(),
    predictions: z.number().int().openapi({ description: 'Logged predictions in the window' }),
    withOutcome: z.number().int().openapi({ description: 'Of them, those with an outcome fed back' }),
    unknownLabels: z.number().int().openapi({ description: 'Outcomes whose label is none of the version\'s classes (not scored)' }),
    live: MetricSet.nullable().openapi({ description: 'The metrics over the predictions with an outcome (the offline evaluation\'s functions); null: none yet' }),
    offline: MetricSet.openapi({ description: 'The version\'s evaluation on its held-out split' }),
  })),
}).openapi('LiveQuality');

// ---- the monitor ----

export const MonitorSchedule = z.object({
  model: z.string(),
  scheduleId: z.string(),
  exists: z.boolean(),
  paused: z.boolean().nullable(),
  note: z.string().nullable(),
  windowMinutes: z.number().int().openapi({ description: 'The monitoring block\'s window: one judged per action' }),
  retrain: z.enum(['never', 'on-breach']),
  nextActionTimes: z.array(z.string()),
  recentActions: z.array(z.object({ scheduledAt: z.string(), workflowId: z.string(), webUiUrl: z.string().nullable() })),
  latest: z.object({ id: z.string(), window: z.object({ from: z.string(), to: z.string() }), breach: z.boolean(), findings: z.number().int() }).nullable(),
}).openapi('MonitorSchedule');

export const MonitorScheduleBody = z.object({
  paused: z.boolean().default(false),
  note: Text().max(1000).optional(),
}).strict();

export const MonitorWindowBody = z.object({
  from: InstantInput.openapi({ description: 'Start of the window of served predictions' }),
  to: InstantInput.openapi({ description: 'End of the window, exclusive; at most 31 days after `from`' }),
  wait: z.boolean().default(true).openapi({ description: 'Answer with the report (true, up to 60 s) or as soon as the window\'s workflow started' }),
}).strict();

export const MonitorBackfillBody = z.object({
  from: InstantInput.openapi({ description: 'Windows whose end falls in [from, to] are judged, one per action of the monitor schedule' }),
  to: InstantInput,
}).strict();

const Finding = z.object({
  check: z.string(), column: z.string(), action: z.enum(['warn', 'fail']), value: z.number().optional(), threshold: z.number().optional(), message: z.string(),
});

export const MonitorReportSchema = z.object({
  id: z.string(),
  model: z.string(),
  window: z.object({ from: z.string(), to: z.string() }),
  alias: z.string(),
  version: z.number().int().nullable(),
  predictions: z.number().int(),
  versions: z.array(z.object({ version: z.number().int(), predictions: z.number().int() })),
  drift: z.object({ judged: z.boolean(), columns: z.array(z.record(z.string(), z.unknown())) }),
  warningRates: z.record(z.string(), z.number()),
  fallbackRate: z.number(),
  quality: z.object({
    version: z.number().int(), metric: z.string(), withOutcome: z.number().int(), live: MetricSet.nullable(), offline: MetricSet, degradation: z.number().nullable(),
  }).nullable(),
  findings: z.array(Finding),
  breach: z.boolean(),
  notes: z.array(z.string()),
}).openapi('MonitorReport');

export const MonitorWindowResult = z.object({
  workflowId: z.string(),
  webUiUrl: z.string().nullable(),
  report: MonitorReportSchema.nullable().openapi({ description: 'The window\'s report (null when `wait` was false or it took longer than 60 s)' }),
  retraining: z.object({ workflowId: z.string(), started: z.boolean() }).nullable(),
  webhook: z.enum(['sent', 'not-configured', 'no-breach']).nullable(),
}).openapi('MonitorWindowResult');

export const MonitorReportsQuery = z.object({
  from: InstantInput.optional().openapi({ description: 'Windows ending at or after this instant' }),
  to: InstantInput.optional().openapi({ description: 'Windows ending before this instant' }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const MonitorReportList = z.object({ model: z.string(), reports: z.array(MonitorReportSchema) }).openapi('MonitorReportList');

export const MonitorReportParams = z.object({ name: Text().min(1).max(200), id: Text().min(1).max(100) });

export const CHART_STATISTICS = ['psi', 'ks', 'wasserstein', 'jensenShannon', 'missingShare', 'fallbackRate', 'predictions', 'liveQuality'] as const;
export const MonitorChartQuery = z.object({
  statistic: z.enum(CHART_STATISTICS).default('psi'),
  column: Text().min(1).max(200).optional().openapi({ description: 'For column statistics: the column (default every compared column, one line each)' }),
  limit: z.coerce.number().int().min(2).max(500).default(60).openapi({ description: 'The latest windows drawn' }),
});

export const FeatureStateQuery = z.object({
  alias: Text().min(1).max(64).default('production'),
  version: VersionText.optional().openapi({ description: 'A version instead of the alias' }),
});

export const FeatureStateResult = z.object({
  model: z.string(),
  version: z.number().int(),
  fittedThrough: z.string().nullable().openapi({ description: 'The last match date of the state training left' }),
  through: z.string().nullable().openapi({ description: 'The last match date the served state includes' }),
  resultsApplied: z.number().int().openapi({ description: 'Fed-back results walked into it since training' }),
  outcomeId: z.number().int().openapi({ description: 'The newest stored outcome it read: with outcomesRead, the state\'s version' }),
  outcomesRead: z.number().int().openapi({ description: 'Stored outcomes with an observation it read' }),
}).openapi('FeatureState');
