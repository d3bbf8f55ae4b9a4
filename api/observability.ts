// Per-request observability: a request ID on every response and log line, and HTTP metrics labelled by
// route template (c.req.routePath), never by raw path, so label sets stay bounded.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';

export type ApiEnv = { Variables: { requestId: string; log: Logger } };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function observe(logger: Logger, metrics: Metrics): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('log', logger.child({ requestId }));
    c.header('x-request-id', requestId);
    const started = performance.now();
    metrics.httpInFlight.inc();
    try {
      await next();
    } finally {
      metrics.httpInFlight.dec();
      // Unmatched paths share one label value instead of one per path a scanner tries.
      const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
      const seconds = (performance.now() - started) / 1000;
      metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
      metrics.httpDuration.observe({ route, method: c.req.method }, seconds);
      if (c.res.status >= 500) c.var.log.error({ method: c.req.method, route, status: c.res.status, ms: seconds * 1000 }, 'request failed');
      else c.var.log.debug({ method: c.req.method, route, status: c.res.status, ms: seconds * 1000 }, 'request');
    }
  };
}
