// What every route shares: the error body, timestamps as they travel, and the response entries a route
// definition lists. The schemas in this folder describe the API's wire format: the routes validate requests
// with them, the OpenAPI document is generated from them, and the CLI's types are inferred from them.
import { z } from '@hono/zod-openapi';

export const ERROR_CODES = [
  'bad_request', 'validation_failed', 'not_found', 'conflict', 'payload_too_large',
  'unsupported_media_type', 'no_model', 'unavailable', 'internal',
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

export const MetricSet = z.record(z.string(), z.number());

/** Path parameter `name` (a pipeline or a model). */
export const NameParams = z.object({ name: z.string().min(1) });

const json = <S extends z.ZodType>(schema: S) => ({ 'application/json': { schema } });

/** A response with a JSON body. */
export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: json(schema) });

/** A JSON request body (optional bodies may be left empty: `{}` is assumed). */
export const jsonRequest = <S extends z.ZodType>(schema: S, opts: { optional?: boolean; description?: string } = {}) => ({
  required: !opts.optional, ...(opts.description ? { description: opts.description } : {}), content: json(schema),
});

const ERROR_DESCRIPTIONS = {
  400: 'Bad request: malformed JSON, or a query or path parameter that does not validate (bad_request)',
  404: 'Not found (not_found, no_model)',
  409: 'Conflict with the current state (conflict)',
  413: 'Body too large (payload_too_large)',
  415: 'Body not sent as application/json (unsupported_media_type)',
  422: 'Body that does not validate (validation_failed)',
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
