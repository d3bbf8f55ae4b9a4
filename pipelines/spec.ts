// A pipeline is data: this schema is the contract for specs created through the API, the CLI or shipped here.
import { z } from 'zod';
import { ModelSpecSchema } from './model-spec.js';
import { dateFormatProblem } from './date-format.js';
import { DATE_PARTS } from './fitted-features.js';
import { HeadToHeadConfigSchema } from './head-to-head-config.js';
import { INT32_MAX, int32, storableText } from './storable.js';
import { MonitoringConfigSchema } from './monitoring-config.js';
import { ValidationConfigSchema } from './validation-config.js';

// Every string of a spec is storable text (storable.ts), and bounded so that a spec fits a Temporal payload.
const columnName = storableText().min(1).max(200);
const columnList = z.array(columnName).max(1000);

/** A `file` source's path that names a URL (any scheme); only http(s) ones are fetched. */
export const isUrlPath = (path: string) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path);
export const isHttpUrl = (path: string) => /^https?:\/\//i.test(path);

function checkSourcePath(path: string, ctx: z.RefinementCtx) {
  if (!isUrlPath(path)) return;
  if (!isHttpUrl(path)) {
    ctx.addIssue({ code: 'custom', message: 'a URL source must be http:// or https://' });
    return;
  }
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a valid URL' });
    return;
  }
  if (url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      message: 'a URL source may not carry credentials (user:password@): specs are stored and shown; remove them and send them as a ' +
        'header reference instead, e.g. "headers": { "Authorization": { "env": "SOURCE_SECRET_DATA_TOKEN" } }',
    });
  }
}

/** Headers the HTTP client sets itself, or that would change where or how the request goes. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection', 'accept-encoding']);

function headerNameProblem(name: string): string | null {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/.test(name)) return 'not an HTTP header name';
  if (RESERVED_HEADERS.has(name.toLowerCase())) return 'a header the worker sets itself';
  return null;
}

const REF_SHAPE = 'a header value is a reference, { "env": "SOURCE_SECRET_<NAME>" } or { "file": "/path" }, never the value itself';

/**
 * Where a header's value comes from, on the worker, when it fetches: an environment variable with the prefix
 * SOURCE_SECRET_ (no other), or a file under SOURCE_HEADER_FILE_ROOTS. The spec holds only the reference.
 */
const HeaderRef = z.object({
  env: storableText().regex(/^SOURCE_SECRET_[A-Z0-9_]+$/, 'a header may reference only an environment variable named SOURCE_SECRET_<NAME>').optional(),
  file: storableText().min(2).max(4096).startsWith('/', 'an absolute path on the worker').optional(),
}, { error: (iss) => (iss.code === 'invalid_type' ? REF_SHAPE : undefined) }).strict().refine((r) => (r.env === undefined) !== (r.file === undefined), REF_SHAPE);

/**
 * How a text file (CSV) is read and what its values mean. Every option is optional: a comma-separated UTF-8
 * file with a header, `.` decimals, no thousands separator and ISO dates needs none.
 */
export const ReadOptionsSchema = z.object({
  /** One character between fields: `;` for many European exports, `\t` for TSV. */
  delimiter: storableText().length(1).refine((d) => d !== '"' && d !== '\n' && d !== '\r', 'a delimiter other than a quote or a line break').optional(),
  encoding: z.enum(['utf-8', 'latin1', 'windows-1252', 'utf-16le']).optional(),
  /** false: the first line is data; columns are named column_1, column_2, … */
  header: z.boolean().optional(),
  /** Values that mean missing, replacing the defaults (NA, N/A, n/a, NaN, null, None, #N/A); "" always does. */
  nullValues: z.array(storableText().max(50)).max(50).optional(),
  decimal: z.enum(['.', ',']).optional(),
  thousands: z.enum([',', '.', ' ', "'", '_']).optional(),
  /** How text dates are written, strftime-style (%d/%m/%Y); without it only ISO 8601 dates are read as dates. */
  dateFormat: storableText().max(50).superRefine((f, ctx) => {
    const problem = dateFormatProblem(f);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
}).strict().refine((r) => r.thousands === undefined || r.thousands !== (r.decimal ?? '.'), { message: 'thousands and decimal separators must differ', path: ['thousands'] });
export type ReadOptions = z.infer<typeof ReadOptionsSchema>;

export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('bundled'),
    /** A file of the `vega-datasets` package, e.g. `football` or `seattle-weather.csv`. */
    dataset: storableText().max(200).regex(/^[A-Za-z0-9_.-]+$/, 'a vega-datasets file name such as "football" or "cars.json"'),
  }),
  z.object({
    kind: z.literal('file'),
    /**
     * A path under the worker's file roots (SOURCE_FILE_ROOTS; relative: from the first), or an http(s) URL
     * to a public address (SOURCE_URL_ALLOW widens it). Never credentials in the URL: see `headers`.
     */
    path: storableText().min(1).max(4096).superRefine(checkSourcePath),
    /** Default: the extension, else the content (Parquet's magic bytes, a JSON array, else CSV). */
    format: z.enum(['csv', 'json', 'parquet']).optional(),
    read: ReadOptionsSchema.optional(),
    /** Request headers of a URL source, each value a reference resolved by the worker when it fetches. */
    headers: z.record(storableText().max(100), HeaderRef).refine((h) => Object.keys(h).length <= 20, 'at most 20 headers').optional(),
  }).superRefine((s, ctx) => {
    if (!s.headers) return;
    if (!isHttpUrl(s.path)) ctx.addIssue({ code: 'custom', path: ['headers'], message: 'headers are sent only with an http(s) URL source' });
    for (const name of Object.keys(s.headers)) {
      const problem = headerNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', path: ['headers', name], message: problem });
    }
  }),
  z.object({
    kind: z.literal('sql'),
    /**
     * One SELECT / WITH statement over schema source_data, run by the worker as the read-only source role,
     * with a statement timeout and a row cap (data/sources.ts).
     */
    query: storableText().min(1).max(100_000).refine((q) => /^\s*(select|with)\b/i.test(q), 'only SELECT / WITH queries are allowed'),
  }),
]);

export const SplitSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('time'),
    /** The held-out split is the last period (e.g. a football season) that has data up to `asOf`; training uses everything before it. */
    periodMonths: z.number().int().min(1).max(120).default(12),
    /** Month-day where periods start, e.g. "07-01" for football seasons. */
    anchor: storableText().regex(/^\d{2}-\d{2}$/).default('01-01'),
    /**
     * The held-out period is the latest one with at least this many rows; rows of later, thinner periods
     * (a few stragglers past a month's end) are left out of both splits, and the run's notes say how many.
     */
    minTestRows: int32(1, INT32_MAX).optional(),
  }),
  z.object({
    kind: z.literal('random'),
    testFraction: z.number().gt(0).lt(0.9).default(0.2),
    seed: int32().default(42),
  }),
]);

export const FeaturesSchema = z.object({
  /** Raw columns to use; default: every column except the target, the time column and `exclude`. */
  include: columnList.optional(),
  exclude: columnList.default([]),
  maxCategories: z.number().int().min(1).max(1000).default(20),
  kinds: z.record(columnName, z.enum(['numeric', 'categorical', 'date', 'boolean']))
    .refine((k) => Object.keys(k).length <= 1000, 'at most 1000 columns').optional(),
  /**
   * Which parts of a date column become features: year, month, weekday, dayOfYear, timeOfDay. Default: the
   * four calendar parts, and the time of day too when the training values carry one. Seasonal parts
   * (month, dayOfYear) extrapolate badly when the held-out period is a month training never saw.
   */
  dateParts: z.record(columnName, z.array(z.enum(DATE_PARTS)).min(1).max(DATE_PARTS.length).refine((p) => new Set(p).size === p.length, 'each part at most once'))
    .refine((k) => Object.keys(k).length <= 1000, 'at most 1000 columns').optional(),
  /** Point-in-time features derived from history, e.g. team ratings for match data. */
  derive: HeadToHeadConfigSchema.optional(),
});

export const QualitySchema = z.object({
  minRows: int32(1, INT32_MAX).default(50),
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
  alias: storableText().max(63).regex(/^[a-z][a-z0-9-]*$/).default('production'),
  /** When set, a candidate that passes the rule waits for a person's approve/reject through the API. */
  approval: z.object({
    /** Without a decision by then, the candidate is not promoted. */
    expiresAfterSeconds: z.number().int().min(1).max(30 * 86_400).default(86_400),
    /** Four eyes by default: whoever started a run may not approve or reject its candidate. */
    allowSelfApproval: z.boolean().optional(),
  }).optional(),
});

export const PipelineSpecSchema = z.object({
  name: storableText().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter'),
  description: storableText().max(2000).optional(),
  source: SourceSchema,
  target: columnName,
  /** Build the target from other columns instead of reading it; those columns are then no features. */
  targetFrom: z.discriminatedUnion('kind', [
    /** Home / draw / away from two score columns. */
    z.object({ kind: z.literal('match-outcome'), homeScore: columnName, awayScore: columnName }),
    /** Two classes from a number: labels[1] when the column is above `above`, labels[0] otherwise (e.g. a delay over 15 minutes). */
    z.object({
      kind: z.literal('threshold'), column: columnName, above: z.number().finite(),
      labels: z.tuple([storableText().min(1).max(64), storableText().min(1).max(64)]).refine(([a, b]) => a !== b, 'the two labels must differ').default(['no', 'yes']),
    }),
  ]).optional(),
  task: z.enum(['classification', 'regression']).optional(),
  /** Column holding each row's time; rows after the run's `asOf` are never read. */
  timeColumn: columnName.optional(),
  split: SplitSchema.default({ kind: 'random', testFraction: 0.2, seed: 42 }),
  features: FeaturesSchema.default({ exclude: [], maxCategories: 20 }),
  quality: QualitySchema.default({ minRows: 50, maxMissingTargetFraction: 0.05, maxMissingFeatureFraction: 0.5, maxDuplicateFraction: 0.2, outlierIqr: 0 }),
  model: ModelSpecSchema.default(ModelSpecSchema.parse({})),
  promotion: PromotionSchema.default({ mustBeatProduction: true, mustBeatBaselines: true, alias: 'production' }),
  /**
   * What the validate stage checks new data for against the production model's training data, and what
   * each finding does (pipelines/validation-config.ts). Absent: every check at its default.
   */
  validation: ValidationConfigSchema.optional(),
  /**
   * What the monitor watches the production model's served predictions for, per window, and what a breach
   * does (pipelines/monitoring-config.ts). Absent: the defaults (daily windows, no retraining).
   */
  monitoring: MonitoringConfigSchema.optional(),
}).superRefine((s, ctx) => {
  if (s.split.kind === 'time' && !s.timeColumn) {
    ctx.addIssue({ code: 'custom', path: ['timeColumn'], message: 'a time split needs `timeColumn`' });
  }
  if (s.targetFrom && s.task === 'regression') {
    ctx.addIssue({ code: 'custom', path: ['task'], message: `a ${s.targetFrom.kind} target is a classification task` });
  }
});

export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;

/** The source columns the target is read or built from. */
export function targetInputColumns(spec: Pick<PipelineSpec, 'target' | 'targetFrom'>): string[] {
  const from = spec.targetFrom;
  if (!from) return [spec.target];
  return from.kind === 'match-outcome' ? [from.homeScore, from.awayScore] : [from.column];
}
