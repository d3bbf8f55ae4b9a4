// The API's one error type and its one JSON shape: {"error": {"code", "message", "details"}}.
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler, ValidationTargets } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Logger } from '../runtime/logger.js';
import { ServingError, type ServingErrorReason } from '../serving/errors.js';
import type { ERROR_CODES } from './schemas/common.js';
import { BodyCutShort, BodyTooLarge, readIncoming, readStream, takeArrivedBody } from './request-body.js';

export type ErrorCode = (typeof ERROR_CODES)[number];

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode, readonly code: ErrorCode, message: string, readonly details?: unknown,
    /** Response headers the error needs (Allow on a 405, Connection: close on a 413 cut short). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** An issue's message; a record key or map entry that fails says why (zod nests the reason). */
const issueMessage = (i: z.core.$ZodIssue): string =>
  (i.code === 'invalid_key' || i.code === 'invalid_element') && i.issues.length > 0 ? `${i.message}: ${i.issues.map(issueMessage).join('; ')}` : i.message;

export function fromZod(err: z.ZodError, where: string, status: ContentfulStatusCode = 400): HttpError {
  const issues = err.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: issueMessage(i) }));
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

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

export function handleError(logger: Logger) {
  return (err: Error, c: Context) => {
    // Routes that build their own response (the predict path) leave the request ID to the error response.
    c.header('x-request-id', c.get('requestId'));
    if (err instanceof HttpError) {
      if (err.headers) for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return c.json(errorBody(err.code, err.message, err.details), err.status);
    }
    if (err instanceof ServingError) {
      const { status, code } = SERVING_ERRORS[err.reason];
      return c.json(errorBody(code, err.message), status);
    }
    // Temporal did not answer in time or could not be reached (a query no worker picked up, the cluster
    // down): a backing service is unavailable, not a fault of the request nor of the API.
    const grpc = (err as { cause?: { code?: unknown } }).cause?.code;
    if (err.name === 'ServiceError' && (grpc === GRPC_DEADLINE_EXCEEDED || grpc === GRPC_UNAVAILABLE)) {
      logger.child({ requestId: c.get('requestId') }).warn({ err, route: c.req.routePath }, 'Temporal unavailable');
      return c.json(errorBody('unavailable', 'Temporal or its workers did not answer in time; try again later'), 503);
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

const utf8 = new TextDecoder();

/**
 * The body as text (UTF-8), refused with 413 beyond the configured limit: by Content-Length when sent,
 * else as soon as the bytes read pass it, without reading the rest. The 413 then closes the connection
 * (Connection: close), so a client still sending stops at the next write instead of streaming the rest
 * into a server that only discards it.
 */
export async function bodyText(c: Context): Promise<string> {
  const max = (c.get('maxBodyBytes') as number | undefined) ?? Number.POSITIVE_INFINITY;
  const tooLarge = () => new HttpError(413, 'payload_too_large', `the body exceeds ${max} bytes; send fewer instances per request`, undefined, { connection: 'close' });
  const length = c.req.header('content-length');
  const declared = length === undefined ? -1 : Number(length);
  if (declared > max) throw tooLarge();
  // On @hono/node-server: the Node request (see request-body.ts).
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  try {
    if (!incoming) return utf8.decode(await readStream(c.req.raw.body, max));
    // The handler runs as the request's head is parsed; one microtask later, a body sent with the head is buffered.
    await undefined;
    return utf8.decode(takeArrivedBody(incoming, declared) ?? await readIncoming(incoming, max));
  } catch (err) {
    if (err instanceof BodyTooLarge) throw tooLarge();
    // The client is gone: the answer goes nowhere, but it is not the server's fault (no 500 in the logs).
    if (err instanceof BodyCutShort) throw new HttpError(400, 'bad_request', err.message);
    throw err;
  }
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
