// What every route shares: the error body, timestamps as they travel, and the response entries a route
// definition lists. The schemas in this folder describe the API's wire format: the routes validate requests
// with them, the OpenAPI document is generated from them, and the CLI's types are inferred from them.
import { z } from '@hono/zod-openapi';
import { INT32_MAX, isStorableText, STORABLE_TEXT_MESSAGE } from '../../pipelines/storable.js';

export const ERROR_CODES = [
  'bad_request', 'validation_failed', 'not_found', 'method_not_allowed', 'conflict', 'payload_too_large',
  'unsupported_media_type', 'no_model', 'unavailable', 'internal', 'unauthenticated', 'forbidden', 'rate_limited',
] as const;

export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** Validation failures list their issues; other errors have none. */
    details: z.object({ issues: z.array(z.looseObject({ path: z.string(), message: z.string() })) }).nullable(),
  }),
}).openapi('Error');
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * A schema made elsewhere, under a component name in the document. Through a copy: zod gives a schema the
 * methods its prototype had when the schema was made, so one made before @hono/zod-openapi loaded (the
 * pipeline spec, when the CLI loads pipelines/ first) has no `.openapi()`. Schemas made in this folder come
 * after the import above and can call it directly.
 */
export const named = <S extends z.ZodType>(schema: S, name: string): S => schema.clone().openapi(name);

/** An instant as JSON carries it (a Date serialises to this). */
export const Timestamp = z.iso.datetime({ offset: true });

/**
 * Free text a request carries (names, ids, reasons, notes, cron expressions, ...): storable and forwardable,
 * without NUL or a lone UTF-16 surrogate (pipelines/storable.ts, the check the pipeline spec uses). Every
 * string of a request schema is one of these, a format (dates) or an enum; test/unit/api/request-bounds.test.ts
 * walks the routes to keep it so.
 */
export const Text = () => z.string().refine(isStorableText, STORABLE_TEXT_MESSAGE);

/** A version number as a body carries it: 1 to the largest PostgreSQL integer (the versions' column type). */
export const VersionNumber = z.number().int().min(1).max(INT32_MAX);
/** The same in a path or a query string. */
export const VersionText = z.coerce.number().int().min(1).max(INT32_MAX);

// The instants a request may name: the years PostgreSQL and Temporal both hold (0001-01-01 to 9999-12-31, UTC).
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
const ISO_PARTS = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Reads an ISO 8601 date (UTC midnight) or date-time with `Z` or an offset, as zod's formats accept them,
 * field by field: the instant, or null outside years 0001-9999 (UTC) or when `new Date()`, which the routes
 * and the platform use, would read the text as another instant. Fractions beyond milliseconds are cut, as
 * `new Date()` cuts them.
 */
export function readInstant(text: string): Date | null {
  const m = ISO_PARTS.exec(text);
  if (!m) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = m;
  const t = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  t.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  t.setUTCHours(Number(hour), Number(minute), Number(second), Number(`${fraction}000`.slice(0, 3)));
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  const ms = t.getTime() - offset * 60_000;
  if (!(ms >= FIRST_INSTANT && ms <= LAST_INSTANT) || new Date(text).getTime() !== ms) return null;
  return new Date(ms);
}

const INSTANT_MESSAGE = 'an instant in years 0001-9999 (UTC)';
/** An instant a request sends: ISO 8601 with `Z` or an offset (e.g. 2016-07-01T00:00:00+02:00). */
export const InstantInput = z.iso.datetime({ offset: true }).refine((s) => readInstant(s) !== null, INSTANT_MESSAGE);
/** An instant or a day (YYYY-MM-DD, meaning its UTC midnight). */
export const DayOrInstantInput = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).refine((s) => readInstant(s) !== null, INSTANT_MESSAGE);

export const MetricSet = z.record(z.string(), z.number());

/** Path parameter `name` (a pipeline or a model). */
export const NameParams = z.object({ name: Text().min(1).max(200) });

const json = <S extends z.ZodType>(schema: S) => ({ 'application/json': { schema } });

/** A response with a JSON body. */
export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: json(schema) });

/** A JSON request body (optional bodies may be left empty: `{}` is assumed). */
export const jsonRequest = <S extends z.ZodType>(schema: S, opts: { optional?: boolean; description?: string } = {}) => ({
  required: !opts.optional, ...(opts.description ? { description: opts.description } : {}), content: json(schema),
});

const ERROR_DESCRIPTIONS = {
  400: 'Bad request: malformed JSON, or a query or path parameter that does not validate (bad_request)',
  401: 'No credentials, or credentials that are not valid (unauthenticated); see WWW-Authenticate',
  403: 'The caller\'s role may not do this (forbidden)',
  404: 'Not found (not_found, no_model)',
  409: 'Conflict with the current state (conflict)',
  413: 'Body too large (payload_too_large)',
  415: 'Body not sent as application/json (unsupported_media_type)',
  422: 'Body that does not validate (validation_failed)',
  429: 'Too many requests from this caller (rate_limited); see Retry-After',
  500: 'Internal error (internal)',
  503: 'A backing service is unavailable (unavailable)',
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;
type ErrorResponse = { description: string; content: { 'application/json': { schema: typeof ErrorBody } } };

/** Error responses, each with the one error body. Every route can answer 500. */
export function errorResponses<const S extends readonly ErrorStatus[]>(...statuses: S): Record<S[number] | 500, ErrorResponse> {
  const all: ErrorStatus[] = [...statuses, 500];
  return Object.fromEntries(all.map((s) => [s, { description: ERROR_DESCRIPTIONS[s], content: json(ErrorBody) }])) as Record<S[number] | 500, ErrorResponse>;
}

/** What a route with a JSON body can answer besides its own errors: 400, 413, 415, 422. */
export const BODY_ERRORS = [400, 413, 415, 422] as const;
