// Per-request observability: a request ID on every response and log line, and HTTP metrics labelled by
// route template (c.req.routePath), never by raw path, so label sets stay bounded. Kept cheap: it runs on
// every prediction.
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';

export type ApiEnv = { Variables: { requestId: string; maxBodyBytes: number } };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The request's logger, made on first use: most requests never log. */
export function requestLog(c: Context, base: Logger): Logger {
  return base.child({ requestId: c.get('requestId') });
}

export function observe(logger: Logger, metrics: Metrics): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    const started = performance.now();
    metrics.httpInFlight.value++;
    try {
      await next();
    } finally {
      metrics.httpInFlight.value--;
      // Unmatched paths share one label value instead of one per path a scanner tries.
      const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
      const method = c.req.method;
      const status = c.res.status;
      const seconds = (performance.now() - started) / 1000;
      metrics.httpRequests.labels(route, method, String(status)).value++;
      metrics.httpDuration.labels(route, method).observe(seconds);
      if (status >= 500) requestLog(c, logger).error({ method, route, status, ms: seconds * 1000 }, 'request failed');
    }
  };
}
