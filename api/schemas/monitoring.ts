// Ground truth and live quality: the feedback a model's outcomes come back through, and its quality as
// served, version by version, beside its offline evaluation.
import { z } from '@hono/zod-openapi';
import { InstantInput, MetricSet, Text } from './common.js';

/** At most this many outcomes per request: one request stays one short transaction. */
export const MAX_OUTCOMES = 1000;

const KeyValue = z.union([Text().max(1000), z.number().finite(), z.boolean()]);

const Outcome = z.object({
  predictionId: Text().min(1).max(40).optional().openapi({ description: 'The `id` a predict response gave the row' }),
  key: z.record(Text().min(1).max(200), KeyValue).optional()
    .openapi({ description: 'Or the row\'s business key: some of its input fields with the values it was sent with, e.g. {"date": "2016-08-13", "home_team": "Hull"}' }),
  label: Text().min(1).max(200).optional().openapi({ description: 'What happened (classification): one of the model\'s classes' }),
  value: z.number().finite().optional().openapi({ description: 'What happened (regression)' }),
}).strict().superRefine((o, ctx) => {
  if ((o.predictionId === undefined) === (o.key === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of predictionId and key' });
  if (o.key !== undefined && (Object.keys(o.key).length < 1 || Object.keys(o.key).length > 20)) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a key has 1 to 20 fields' });
  if ((o.label === undefined) === (o.value === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of label (classification) and value (regression)' });
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
