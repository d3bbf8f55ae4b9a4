// The audit log, for admins: newest first, filtered by actor, action, subject and time, in pages.
import { listAudit } from '../../registry/audit.js';
import type { ApiDeps } from '../deps.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { errorResponses, jsonResponse } from '../schemas/common.js';
import { AuditPage, AuditQuery } from '../schemas/keys.js';

const list = guardedRoute({
  method: 'get', path: '/', tags: ['audit'], summary: 'Audit log entries, newest first; nextBefore continues the page',
  access: { needs: 'admin' },
  request: { query: AuditQuery },
  responses: { 200: jsonResponse(AuditPage, 'One page of entries'), ...errorResponses(400) },
});

export function auditRoutes(deps: ApiDeps) {
  const app = apiRouter();
  defineRoute(app, list, async (c) => c.json(await listAudit(deps.db, c.req.valid('query')), 200));
  return app;
}
