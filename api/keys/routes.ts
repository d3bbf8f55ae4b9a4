// API keys, for admins: create (the token is in this one answer only), list, revoke. A change takes effect
// on this replica (all of its processes) at once and on the others within API_KEY_REFRESH_MS.
import { createApiKey, KeyError, listApiKeys, revokeApiKey } from '../../registry/api-keys.js';
import { attribution } from '../auth/access-control.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRouter, defineRoute, guardedRoute } from '../openapi.js';
import { BODY_ERRORS, errorResponses, jsonRequest, jsonResponse } from '../schemas/common.js';
import { CreatedKey, CreateKeyBody, KeyIdParams, KeyList, RevokedKey } from '../schemas/keys.js';

const tags = ['keys'];

const list = guardedRoute({
  method: 'get', path: '/', tags, summary: 'List API keys (never their secrets)',
  access: { needs: 'admin' },
  responses: { 200: jsonResponse(KeyList, 'Every key, newest first, revoked ones included') },
});

const create = guardedRoute({
  method: 'post', path: '/', tags, summary: 'Create an API key; its token is shown in this answer only',
  access: { needs: 'admin', audit: { action: 'key.created', subject: () => 'key' } },
  request: { body: jsonRequest(CreateKeyBody) },
  responses: { 201: jsonResponse(CreatedKey, 'The key and its token'), ...errorResponses(...BODY_ERRORS, 409) },
});

const revoke = guardedRoute({
  method: 'delete', path: '/{id}', tags, summary: 'Revoke an API key (idempotent)',
  access: { needs: 'admin', audit: { action: 'key.revoked', subject: (p) => `key:${p.id}` } },
  request: { params: KeyIdParams },
  responses: { 200: jsonResponse(RevokedKey, 'The key, revoked'), ...errorResponses(400, 404, 409) },
});

export function keyRoutes(deps: ApiDeps) {
  const app = apiRouter();

  defineRoute(app, list, async (c) => c.json({ keys: await listApiKeys(deps.db) }, 200));

  defineRoute(app, create, async (c) => {
    const b = c.req.valid('json');
    const expiresAt = b.expiresAt ? new Date(b.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new HttpError(422, 'validation_failed', 'expiresAt is in the past', { issues: [{ path: 'body.expiresAt', message: 'must be in the future' }] });
    }
    try {
      const created = await createApiKey(deps.db, { name: b.name, role: b.role, expiresAt }, attribution(c));
      c.set('audited', true);
      // The change is committed: a failed re-read only delays it here (the next beat reads it).
      await deps.keys.changed().catch((err: unknown) => deps.logger.warn({ err }, 'API key re-read failed after a change'));
      return c.json(created, 201);
    } catch (err) {
      if (err instanceof KeyError) throw new HttpError(409, 'conflict', err.message);
      throw err;
    }
  });

  defineRoute(app, revoke, async (c) => {
    const { id } = c.req.valid('param');
    try {
      const key = await revokeApiKey(deps.db, id, attribution(c));
      c.set('audited', true);
      // The change is committed: a failed re-read only delays it here (the next beat reads it).
      await deps.keys.changed().catch((err: unknown) => deps.logger.warn({ err }, 'API key re-read failed after a change'));
      return c.json({ key }, 200);
    } catch (err) {
      if (err instanceof KeyError) throw new HttpError(err.code === 'not_found' ? 404 : 409, err.code, err.message);
      throw err;
    }
  });

  return app;
}
