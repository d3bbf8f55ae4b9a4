// Per-request context and observability: a request ID on every response and log line, the body limit, and
// HTTP metrics labelled by route template (c.req.routePath), never by raw path, so label sets stay bounded.
// Kept cheap: it runs on every prediction.
import { randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditDetails } from '../pipelines/contract.js';
import type { Access } from './auth/access.js';
import type { AccessControl, Principal } from './auth/access-control.js';
import type { Logger } from '../runtime/logger.js';
import type { CounterSlot, HistogramSlot } from '../runtime/hot-metrics.js';
import type { Metrics } from '../runtime/metrics.js';

export type ApiEnv = {
  Variables: {
    requestId: string;
    maxBodyBytes: number;
    /** The trust boundary (api/auth/access-control.ts), set for every request. */
    access: AccessControl;
    /** The authenticated caller; set by the route's access rule before its handler runs. */
    principal: Principal;
    /** What a mutation's audit row says beyond its route's rule (set by the handler). */
    audit?: { subject?: string; details?: AuditDetails };
    /** Set by a handler that wrote its audit row in the change's own transaction (or by recordChange). */
    audited?: boolean;
    /** The route's audit rule, for recordChange (api/auth/access-control.ts). */
    auditRule?: NonNullable<Access['audit']>;
  };
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;

// A request ID this replica makes: a random prefix per process and a counter. Unique across replicas like
// a UUID, at a tenth of the cost (no random bytes per request) and half the header length.
const REPLICA_PREFIX = randomBytes(6).toString('hex');
let requestCounter = 0;
const newRequestId = () => `${REPLICA_PREFIX}-${(++requestCounter).toString(36)}`;

/** The request's logger, made on first use: most requests never log. */
export function requestLog(c: Context, base: Logger): Logger {
  return base.child({ requestId: c.get('requestId') });
}

interface RouteMeters { duration: HistogramSlot; byStatus: Map<number, CounterSlot> }

export interface PerRequestOptions {
  maxBodyBytes: number;
  access: AccessControl;
  /**
   * Paths whose handler returns a Response carrying x-request-id itself, with plain headers. Setting the
   * header here makes Hono keep a fetch Headers object for the response, which costs the predict path
   * about as much as scoring a row. Their error responses get it from handleError (and notFound).
   */
  ownRequestIdHeader?: (path: string) => boolean;
}

/**
 * The one middleware every request passes: request ID, body limit, HTTP metrics. One layer rather than
 * several, because each Hono layer costs a dispatch and a promise on every prediction.
 */
export function perRequest(logger: Logger, metrics: Metrics, opts: PerRequestOptions): MiddlewareHandler<ApiEnv> {
  // route template → method → meters. Nested maps of strings Hono hands out unchanged, not a joined key:
  // no string is built to count a request.
  const meters = new Map<string, Map<string, RouteMeters>>();
  const metersOf = (route: string, method: string): RouteMeters => {
    let byMethod = meters.get(route);
    if (!byMethod) meters.set(route, (byMethod = new Map()));
    let m = byMethod.get(method);
    if (!m) byMethod.set(method, (m = { duration: metrics.httpDuration.labels(route, method), byStatus: new Map() }));
    return m;
  };
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : newRequestId();
    c.set('requestId', requestId);
    c.set('maxBodyBytes', opts.maxBodyBytes);
    c.set('access', opts.access);
    if (!opts.ownRequestIdHeader?.(c.req.path)) c.header('x-request-id', requestId);
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
      const m = metersOf(route, method);
      let count = m.byStatus.get(status);
      if (!count) m.byStatus.set(status, (count = metrics.httpRequests.labels(route, method, String(status))));
      count.value++;
      m.duration.observe(seconds);
      if (status >= 500) requestLog(c, logger).error({ method, route, status, ms: seconds * 1000 }, 'request failed');
    }
  };
}
