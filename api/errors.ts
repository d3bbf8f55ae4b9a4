// The API's one error type and its one JSON shape: {"error": {"code", "message", "details"}}.
import type { Context, MiddlewareHandler, ValidationTargets } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Logger } from '../runtime/logger.js';
import { ServingError, type ServingErrorReason } from '../serving/errors.js';
import type { ERROR_CODES } from './schemas/common.js';

export type ErrorCode = (typeof ERROR_CODES)[number];

export class HttpError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: ErrorCode, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'HttpError';
  }
}

export function fromZod(err: z.ZodError, where: string, status: ContentfulStatusCode = 400): HttpError {
  const issues = err.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  return new HttpError(status, status === 422 ? 'validation_failed' : 'bad_request', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message, details: details ?? null } };
}

const SERVING_ERRORS: Record<ServingErrorReason, { status: ContentfulStatusCode; code: ErrorCode }> = {
  no_model: { status: 404, code: 'no_model' },
  no_version: { status: 404, code: 'not_found' },
  unavailable: { status: 503, code: 'unavailable' },
};

export function handleError(logger: Logger) {
  return (err: Error, c: Context) => {
    // Routes that build their own response (the predict path) leave the request ID to the error response.
    c.header('x-request-id', c.get('requestId'));
    if (err instanceof HttpError) return c.json(errorBody(err.code, err.message, err.details), err.status);
    if (err instanceof ServingError) {
      const { status, code } = SERVING_ERRORS[err.reason];
      return c.json(errorBody(code, err.message), status);
    }
    // Hono's own HTTPException (e.g. body limit) carries a status; keep the shape.
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
      return c.json(errorBody(code, err.message), status as ContentfulStatusCode);
    }
    logger.child({ requestId: c.get('requestId') }).error({ err, route: c.req.routePath }, 'unhandled API error');
    return c.json(errorBody('internal', 'internal error; see the API logs'), 500);
  };
}

/** The body as text, refused with 413 beyond the configured limit (by Content-Length when sent, else by size read). */
export async function bodyText(c: Context): Promise<string> {
  const max = (c.get('maxBodyBytes') as number | undefined) ?? Number.POSITIVE_INFINITY;
  const tooLarge = () => new HttpError(413, 'payload_too_large', `the body exceeds ${max} bytes; send fewer instances per request`);
  const declared = Number(c.req.header('content-length'));
  if (declared > max) throw tooLarge();
  const text = await c.req.text();
  // Characters, not bytes: a cheap upper bound check; multi-byte text is at most 3 bytes a character here.
  if (text.length > max) throw tooLarge();
  return text;
}

/** Reads a JSON body, turning a malformed one into a 400 instead of a 500. */
export async function jsonBody(c: Context, opts: { optional?: boolean } = {}): Promise<unknown> {
  const text = await bodyText(c);
  if (opts.optional && text.trim() === '') return {};
  return parseJsonBody(c, text);
}

/** A body already read, as JSON: 415 without a JSON content type, 400 when malformed. Synchronous, for the predict path. */
export function parseJsonBody(c: Context, text: string): unknown {
  const type = c.req.header('content-type') ?? '';
  if (!type.includes('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_request', 'the request body is not valid JSON');
  }
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string, status: ContentfulStatusCode = 400): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw fromZod(r.error, where, status);
  return r.data;
}

/** Where a request part's schema failure points, and its status: a body is 422, anything else 400. */
const VALIDATION_TARGETS: Record<keyof ValidationTargets, { where: string; status: ContentfulStatusCode }> = {
  json: { where: 'body', status: 422 },
  form: { where: 'body', status: 422 },
  query: { where: 'query', status: 400 },
  param: { where: 'params', status: 400 },
  header: { where: 'headers', status: 400 },
  cookie: { where: 'cookies', status: 400 },
};

type ValidationResult = { target: keyof ValidationTargets } & ({ success: true } | { success: false; error: z.ZodError });

/**
 * The routers' defaultHook: a request part that fails its route schema is answered like parseWith always
 * answered it (fromZod: `{error: {code, message, details: {issues}}}`), through handleError.
 */
export function validationHook(result: ValidationResult): void {
  if (result.success) return;
  const { where, status } = VALIDATION_TARGETS[result.target];
  throw fromZod(result.error, where, status);
}

/**
 * A route's JSON body, checked in the order and shape jsonBody and parseWith answer: 413 beyond the size
 * limit (before anything parses it), 415 without a JSON content type, 400 when malformed, 422 when the
 * route's schema refuses it. The parsed value becomes the route's validated `json` input.
 */
export function validJsonBody(schema: z.ZodType, opts: { optional?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    c.req.addValidatedData('json', parseWith(schema, await jsonBody(c, opts), 'body', 422) as object);
    await next();
  };
}
