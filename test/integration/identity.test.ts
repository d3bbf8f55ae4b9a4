// Who may call the API, against the real services: API keys made, used, expired and revoked through the API
// (on this replica at once, on another within the refresh period), the trusted gateway's X-Actor, OIDC
// tokens from a local identity provider, and which routes answer without credentials.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../api/auth/key-ring.js';
import type { Role } from '../../registry/api-keys.js';
import { createLogger } from '../../runtime/logger.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';

const CHALLENGE = 'Bearer realm="mlp"';
const GATEWAY_SECRET = `gw-${randomBytes(16).toString('hex')}`;
const ISSUER = 'https://idp.example.test/realms/ml';
const AUDIENCE = 'mlp-api';

/** The default platform (no gateway, no OIDC, /metrics open). */
let p: TestPlatform;
/** With TRUSTED_GATEWAY_SECRET and METRICS_REQUIRE_AUTH=true. */
let gw: TestPlatform;
/** Accepting JWTs from the local identity provider below. */
let idp: TestPlatform;

// The identity provider's signing key, published as a JWKS by a local HTTP server.
let signing: { privateKey: CryptoKey; publicKey: CryptoKey };
let jwk: JWK;
let jwksServer: Server;
let jwksPort = 0;
let jwksFetches = 0;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A token's secret part (mlp_<id>_<secret>). */
const secretOf = (token: string) => token.split('_').slice(2).join('_');

function listenJwks(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    jwksServer.once('error', reject);
    jwksServer.listen(port, '127.0.0.1', () => resolve((jwksServer.address() as AddressInfo).port));
  });
}
const closeJwks = () => new Promise<void>((resolve) => {
  jwksServer.close(() => resolve());
  jwksServer.closeAllConnections();
});

beforeAll(async () => {
  signing = await generateKeyPair('RS256');
  jwk = { ...(await exportJWK(signing.publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((req, res) => {
    if (req.url !== '/jwks') return void res.writeHead(404).end();
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  // The provider starts unreachable (its port known, nothing listening): the first OIDC test needs the
  // platform's first JWKS fetch to fail. The server listens again on the same port after that test.
  jwksPort = await listenJwks(0);
  await closeJwks();
  [p, gw, idp] = await Promise.all([
    createTestPlatform(),
    createTestPlatform({ env: { TRUSTED_GATEWAY_SECRET: GATEWAY_SECRET, METRICS_REQUIRE_AUTH: 'true' } }),
    createTestPlatform({
      env: {
        OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE, OIDC_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks`,
        OIDC_ROLES_CLAIM: 'realm_access.roles', OIDC_ROLE_MAP: 'ml-admins=admin',
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([p?.stop(), gw?.stop(), idp?.stop()]);
  if (jwksServer?.listening) await closeJwks();
});

/** Every audit row of `platform` (newest first). */
async function auditRows(platform: TestPlatform, query = '') {
  const res = await platform.request('GET', `/v1/audit?limit=1000${query ? `&${query}` : ''}`);
  expect(res.status).toBe(200);
  expect(res.body.nextBefore).toBeNull();
  return res.body.entries as { id: number; actor: string; action: string; subject: string; details: Record<string, unknown>; requestId: string | null; at: string }[];
}

describe('API keys through the API', () => {
  /** Every token this describe made, to look for in the audit log. */
  const tokens: string[] = [];
  /** The keys created and revoked through the API, by ID. */
  const created = new Map<string, { name: string; role: Role }>();
  const revoked = new Set<string>();

  async function createKey(name: string, role: Role, expiresAt?: Date) {
    const res = await p.request('POST', '/v1/keys', { name, role, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { key, token } = res.body as { key: { id: string }; token: string };
    tokens.push(token);
    created.set(key.id, { name, role });
    return { id: key.id, token, body: res.body };
  }

  async function revokeKey(id: string) {
    const res = await p.request('DELETE', `/v1/keys/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    revoked.add(id);
    return res.body.key;
  }

  const listKeys = async () => {
    const res = await p.request('GET', '/v1/keys');
    expect(res.status).toBe(200);
    return res.body.keys as Record<string, unknown>[];
  };

  it('creates a key whose token is shown once, works at once, and is never listed with a secret', async () => {
    const before = Date.now();
    const { id, token, body } = await createKey('ci-scientist', 'scientist');
    expect(token).toMatch(new RegExp(`^mlp_${id}_[A-Za-z0-9_-]{43}$`));
    expect(body.key).toEqual({
      id, name: 'ci-scientist', role: 'scientist', createdBy: 'key:test-admin', createdAt: expect.any(String),
      expiresAt: null, revokedAt: null, revokedBy: null, lastUsedAt: null,
    });
    expect(Date.parse(body.key.createdAt)).toBeGreaterThanOrEqual(before - 1000);

    // No refresh in between: this replica accepts the key in the answer that made it.
    const used = await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'by-ci' }), bearer(token));
    expect(used.status, JSON.stringify(used.body)).toBe(201);
    expect(used.body.pipeline).toMatchObject({ name: 'by-ci', version: 1, createdBy: 'key:ci-scientist' });

    const keys = await listKeys();
    const listed = keys.find((k) => k.id === id);
    expect(listed).toMatchObject({ id, name: 'ci-scientist', role: 'scientist', createdBy: 'key:test-admin', revokedAt: null });
    expect(Object.keys(listed!).sort()).toEqual(['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'revokedBy', 'role']);
    const listing = JSON.stringify(keys);
    expect(listing).not.toMatch(/sha256|secret|token|hash/i);
    expect(listing).not.toContain(secretOf(token));
  });

  it('a viewer key may read but not change, and is told which role and capability it lacks', async () => {
    const { token } = await createKey('dashboards', 'viewer');
    const read = await p.request('GET', '/v1/pipelines', undefined, bearer(token));
    expect(read.status).toBe(200);
    expect(read.body.pipelines.map((x: { name: string }) => x.name)).toContain('by-ci');

    const write = await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'by-viewer' }), bearer(token));
    expect(write).toEqual({
      status: 403,
      body: { error: { code: 'forbidden', message: 'key:dashboards (viewer) may not do this; it needs a role with "author"', details: null } },
    });
    const keysAsViewer = await p.request('GET', '/v1/keys', undefined, bearer(token));
    expect(keysAsViewer.status).toBe(403);
    expect(keysAsViewer.body.error.message).toMatch(/\(viewer\).*"admin"/);
    expect((await p.request('GET', '/v1/pipelines/by-viewer')).status).toBe(404);
  });

  it('refuses a second live key of the same name (409), and allows the name again once it is revoked', async () => {
    const first = await createKey('nightly', 'predictor');
    const again = await p.request('POST', '/v1/keys', { name: 'nightly', role: 'admin' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`a key named "nightly" exists (${first.id})`) });
    expect((await listKeys()).filter((k) => k.name === 'nightly')).toHaveLength(1);

    await revokeKey(first.id);
    const second = await createKey('nightly', 'predictor');
    expect(second.id).not.toBe(first.id);
  });

  it('a revoked key is refused at once here, and by another replica within its refresh period (never before the revoke)', async () => {
    const { id, token } = await createKey('short-lived', 'viewer');
    const other = new KeyRing({ db: p.db, logger: createLogger('error'), refreshMs: 200 });
    await other.refresh();
    other.start();
    try {
      // The other replica accepts the key across several of its refreshes while the key is live.
      const until = Date.now() + 600;
      while (Date.now() < until) {
        expect(other.check(token, Date.now())).toMatchObject({ ok: true, principal: { keyId: id, actor: 'key:short-lived', roles: ['viewer'] } });
        await sleep(20);
      }
      expect((await p.request('GET', '/v1/pipelines', undefined, bearer(token))).status).toBe(200);

      const revokedKey = await revokeKey(id);
      const revokedAt = Date.now();
      expect(revokedKey).toMatchObject({ id, name: 'short-lived', revokedBy: 'key:test-admin', revokedAt: expect.any(String) });

      // This replica: at once.
      const here = await p.request('GET', '/v1/pipelines', undefined, bearer(token));
      expect(here.status).toBe(401);
      expect(here.body.error).toEqual({ code: 'unauthenticated', message: 'unknown or revoked API key', details: null });
      expect(here.headers.get('www-authenticate')).toBe(CHALLENGE);

      // The other replica: within its refresh period (200 ms), well inside 2 s.
      let refusal: ReturnType<KeyRing['check']> | undefined;
      while (Date.now() - revokedAt < 2000) {
        const r = other.check(token, Date.now());
        if (!r.ok) {
          refusal = r;
          break;
        }
        await sleep(20);
      }
      expect(refusal, 'the other replica still accepted the key 2 s after the revoke').toEqual({ ok: false, reason: 'unknown or revoked API key' });
      expect(Date.now() - revokedAt).toBeLessThan(2000);
      // And it stays refused.
      await sleep(300);
      expect(other.check(token, Date.now()).ok).toBe(false);
    } finally {
      other.stop();
    }

    const listed = (await listKeys()).find((k) => k.id === id);
    expect(listed).toMatchObject({ revokedBy: 'key:test-admin', revokedAt: expect.any(String) });
  });

  it('revoking an unknown key ID is 404; a malformed ID is 400', async () => {
    const unknown = await p.request('DELETE', '/v1/keys/0123456789abcdef');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'not_found', message: 'no key with ID "0123456789abcdef"' });
    expect((await p.request('DELETE', '/v1/keys/not-a-key-id')).status).toBe(400);
  });

  it('a key with an expiry works until then, then is refused saying it expired', async () => {
    const expiresAt = new Date(Date.now() + 2000);
    const { id, token, body } = await createKey('temp-contractor', 'viewer', expiresAt);
    expect(body.key.expiresAt).toBe(expiresAt.toISOString());
    expect((await p.request('GET', '/v1/pipelines', undefined, bearer(token))).status).toBe(200);

    await sleep(expiresAt.getTime() - Date.now() + 50);
    const late = await p.request('GET', '/v1/pipelines', undefined, bearer(token));
    expect(late.status).toBe(401);
    expect(late.body.error).toEqual({ code: 'unauthenticated', message: `API key ${id} expired at ${expiresAt.toISOString()}`, details: null });
    expect(late.headers.get('www-authenticate')).toBe(CHALLENGE);

    const past = await p.request('POST', '/v1/keys', { name: 'already-expired', role: 'viewer', expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(422);
    expect(past.body.error.message).toBe('expiresAt is in the past');
  });

  it('records when a key was last used; a key never used shows null', async () => {
    const used = await createKey('last-used', 'viewer');
    const idle = await createKey('never-used', 'viewer');
    const t0 = Date.now();
    expect((await p.request('GET', '/v1/pipelines', undefined, bearer(used.token))).status).toBe(200);
    const t1 = Date.now();
    await p.keys.refresh();

    const keys = await listKeys();
    const lastUsedAt = keys.find((k) => k.id === used.id)!.lastUsedAt as string;
    expect(lastUsedAt).toEqual(expect.any(String));
    expect(Date.parse(lastUsedAt)).toBeGreaterThanOrEqual(t0);
    expect(Date.parse(lastUsedAt)).toBeLessThanOrEqual(t1);
    expect(keys.find((k) => k.id === idle.id)!.lastUsedAt).toBeNull();
  });

  it('refuses malformed or unknown credentials with 401 and a Bearer challenge', async () => {
    const { id } = await createKey('shape-donor', 'viewer');
    const cases: [string, RegExp][] = [
      ['Basic dXNlcjpwYXNz', /must be "Bearer <API key or token>"/],
      ['Bearer ', /must be "Bearer <API key or token>"/],
      ['Bearer not-a-key-at-all', /not an API key of this platform/],
      [`Bearer mlp_${id}_${randomBytes(32).toString('base64url')}`, /^unknown or revoked API key$/],
      [`Bearer mlp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`, /^unknown or revoked API key$/],
      [p.adminKey, /must be "Bearer <API key or token>"/],
    ];
    for (const [authorization, message] of cases) {
      const res = await p.request('GET', '/v1/pipelines', undefined, { authorization });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error, authorization).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(message) });
      expect(res.headers.get('www-authenticate'), authorization).toBe(CHALLENGE);
    }
    const none = await p.request('GET', '/v1/pipelines', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'unauthenticated', message: expect.stringContaining('this route needs credentials') });
    expect(none.headers.get('www-authenticate')).toBe(CHALLENGE);
    // The scheme is case-insensitive (RFC 9110).
    expect((await p.request('GET', '/v1/pipelines', undefined, { authorization: `bearer ${p.adminKey}` })).status).toBe(200);
  });

  it('each create and revoke left exactly one audit row naming the admin and the key, and no row holds a token', async () => {
    const createdRows = await auditRows(p, 'action=key.created');
    for (const [id, { name, role }] of created) {
      const rows = createdRows.filter((r) => r.subject === `key:${id}`);
      expect(rows, `key.created rows of ${name}`).toEqual([expect.objectContaining({
        actor: 'key:test-admin', action: 'key.created', subject: `key:${id}`, details: expect.objectContaining({ name, role }), requestId: expect.any(String),
      })]);
    }
    // The platform's own keys (test-admin) were made by the platform, not through the API.
    expect(createdRows.filter((r) => r.actor === 'key:test-admin')).toHaveLength(created.size);

    const revokedRows = await auditRows(p, 'action=key.revoked');
    expect(revokedRows).toHaveLength(revoked.size);
    for (const id of revoked) {
      expect(revokedRows.filter((r) => r.subject === `key:${id}`)).toEqual([expect.objectContaining({ actor: 'key:test-admin', details: expect.objectContaining({ alreadyRevoked: false }) })]);
    }

    const everything = JSON.stringify(await auditRows(p));
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    for (const token of [...tokens, p.adminKey]) {
      expect(everything).not.toContain(secretOf(token));
    }
  });
});

describe('trusted gateway (X-Actor)', () => {
  const spec = (name: string) => quickFootballSpec({ name });

  it('refuses X-Actor without the gateway secret or with a wrong one, and changes nothing', async () => {
    const auditBefore = await auditRows(gw);
    const attempts: Record<string, string>[] = [
      { 'x-actor': 'alice' },
      { 'x-actor': 'alice', 'x-gateway-secret': 'wrong' },
      { 'x-actor': 'alice', 'x-gateway-secret': `${GATEWAY_SECRET.slice(0, -1)}x` },
      { 'x-actor': 'alice', 'x-gateway-secret': '' },
    ];
    for (const headers of attempts) {
      const res = await gw.request('POST', '/v1/pipelines', spec('spoofed'), headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('X-Actor is accepted only from the trusted gateway') });
    }
    expect((await gw.request('GET', '/v1/pipelines/spoofed')).status).toBe(404);
    expect(await auditRows(gw)).toEqual(auditBefore);
  });

  it('records the X-Actor value as the actor when the gateway sends the right secret', async () => {
    const res = await gw.request('POST', '/v1/pipelines', spec('via-gateway'), { 'x-actor': 'alice@example.com', 'x-gateway-secret': GATEWAY_SECRET });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.pipeline).toMatchObject({ name: 'via-gateway', createdBy: 'alice@example.com' });
    const rows = (await auditRows(gw, 'action=pipeline.saved')).filter((r) => r.subject === 'pipeline:via-gateway');
    expect(rows).toEqual([expect.objectContaining({ actor: 'alice@example.com', action: 'pipeline.saved' })]);
    // The gateway's own key still needs the capability: a viewer gateway key cannot author as anyone.
    const viewer = await gw.request('POST', '/v1/pipelines', spec('viewer-gateway'), {
      ...bearer(await gw.keyFor('viewer')), 'x-actor': 'alice@example.com', 'x-gateway-secret': GATEWAY_SECRET,
    });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.message).toMatch(/^key:test-viewer \(viewer\) may not do this/);
  });

  it('refuses the platform\'s own actor names (with ":") even from the gateway', async () => {
    const auditBefore = await auditRows(gw);
    for (const actor of ['workflow:train:x', 'key:test-admin', 'oidc:bob']) {
      const res = await gw.request('POST', '/v1/pipelines', spec('platform-named'), { 'x-actor': actor, 'x-gateway-secret': GATEWAY_SECRET });
      expect(res.status, actor).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('names with ":" are the platform\'s own') });
    }
    expect((await gw.request('GET', '/v1/pipelines/platform-named')).status).toBe(404);
    expect(await auditRows(gw)).toEqual(auditBefore);
  });

  it('without a configured gateway secret, X-Actor is always refused', async () => {
    const auditBefore = await auditRows(p);
    const attempts: Record<string, string>[] = [{ 'x-actor': 'alice' }, { 'x-actor': 'alice', 'x-gateway-secret': GATEWAY_SECRET }];
    for (const headers of attempts) {
      const get = await p.request('GET', '/v1/pipelines', undefined, headers);
      expect(get.status).toBe(403);
      expect(get.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('X-Actor is accepted only from the trusted gateway') });
      const post = await p.request('POST', '/v1/pipelines', spec('no-gateway'), headers);
      expect(post.status).toBe(403);
    }
    expect((await p.request('GET', '/v1/pipelines/no-gateway')).status).toBe(404);
    expect(await auditRows(p)).toEqual(auditBefore);
  });
});

describe('OIDC tokens', () => {
  /** A token signed by the provider's key unless `opts` says otherwise. */
  async function mint(claims: JWTPayload, opts: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number; iat?: number } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? jwk.kid })
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? AUDIENCE)
      .setIssuedAt(opts.iat ?? now)
      .setExpirationTime(opts.exp ?? now + 300)
      .sign(opts.key ?? signing.privateKey);
  }
  const withRoles = (sub: string, roles: string[]) => ({ sub, realm_access: { roles } });

  // First: the platform has never read the provider's keys, and the provider is down.
  it('answers 503 unavailable, not 500 or 401, when the provider\'s keys cannot be read', async () => {
    expect(jwksServer.listening).toBe(false);
    const token = await mint(withRoles('carol', ['scientist']), { kid: 'rotated-key-7' });
    const res = await idp.request('GET', '/v1/pipelines', undefined, bearer(token));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'unavailable', message: expect.stringContaining('identity provider\'s keys could not be read') });
    expect(res.headers.get('www-authenticate')).toBeNull();
    // API keys do not depend on the provider.
    expect((await idp.request('GET', '/v1/pipelines')).status).toBe(200);

    // The provider comes back: the next token is checked against its keys (no failure cached).
    expect(await listenJwks(jwksPort)).toBe(jwksPort);
    const ok = await idp.request('GET', '/v1/pipelines', undefined, bearer(await mint(withRoles('carol', ['viewer']))));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(jwksFetches).toBe(1);
  });

  it('a scientist token may create a pipeline, recorded as oidc:<sub>', async () => {
    const token = await mint(withRoles('dana', ['scientist', 'some-other-group']));
    const res = await idp.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'by-oidc' }), bearer(token));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.pipeline).toMatchObject({ name: 'by-oidc', createdBy: 'oidc:dana' });
    const rows = (await auditRows(idp, 'action=pipeline.saved')).filter((r) => r.subject === 'pipeline:by-oidc');
    expect(rows).toEqual([expect.objectContaining({ actor: 'oidc:dana' })]);
  });

  it('maps provider groups to roles (ml-admins=admin)', async () => {
    const token = await mint(withRoles('erin', ['ml-admins']));
    const res = await idp.request('GET', '/v1/keys', undefined, bearer(token));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.keys.map((k: { name: string }) => k.name)).toContain('test-admin');
    // Roles as a space-separated string are read too.
    const spaced = await idp.request('GET', '/v1/keys', undefined, bearer(await mint({ sub: 'erin', realm_access: { roles: 'offline_access ml-admins' } })));
    expect(spaced.status).toBe(200);
  });

  it('a viewer token may read but not change', async () => {
    const token = await mint(withRoles('frank', ['viewer']));
    expect((await idp.request('GET', '/v1/pipelines', undefined, bearer(token))).status).toBe(200);
    const res = await idp.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'by-oidc-viewer' }), bearer(token));
    expect(res.status).toBe(403);
    expect(res.body.error).toEqual({ code: 'forbidden', message: 'oidc:frank (viewer) may not do this; it needs a role with "author"', details: null });
  });

  it('refuses tokens not meant for this platform with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = await generateKeyPair('RS256');
    const cases: [string, Promise<string>, RegExp][] = [
      ['wrong audience', mint(withRoles('gina', ['admin']), { aud: 'another-api' }), /the token's aud claim is not accepted here/],
      ['wrong issuer', mint(withRoles('gina', ['admin']), { iss: 'https://evil.example.test' }), /the token's iss claim is not accepted here/],
      // Beyond the 30 s clock tolerance.
      ['expired', mint(withRoles('gina', ['admin']), { iat: now - 3600, exp: now - 120 }), /expired/],
      ['another key, same kid', mint(withRoles('gina', ['admin']), { key: other.privateKey }), /signature does not verify/],
      ['another key, unknown kid', mint(withRoles('gina', ['admin']), { key: other.privateKey, kid: 'attacker' }), /not signed by a key of the identity provider/],
      ['no roles', mint({ sub: 'gina' }), /realm_access\.roles claim grants no role/],
      ['only unknown roles', mint(withRoles('gina', ['superuser', 'ml-users'])), /grants no role/],
      ['not a JWT at all', Promise.resolve('abc.def.ghi'), /not a valid JWT/],
    ];
    for (const [what, token, message] of cases) {
      const res = await idp.request('GET', '/v1/keys', undefined, bearer(await token));
      expect(res.status, what).toBe(401);
      expect(res.body.error, what).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(message) });
      expect(res.headers.get('www-authenticate'), what).toBe(CHALLENGE);
    }
    // Refusals did not make the platform hammer the provider (cooldown).
    expect(jwksFetches).toBe(1);
  });

  it('an API key still works alongside OIDC', async () => {
    const token = await idp.keyFor('scientist');
    const res = await idp.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'by-key-on-oidc' }), bearer(token));
    expect(res.status).toBe(201);
    expect(res.body.pipeline.createdBy).toBe('key:test-scientist');
  });
});

describe('routes without credentials', () => {
  it('/metrics is open by default', async () => {
    const res = await p.request('GET', '/metrics', undefined, { authorization: '' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('http_requests_in_flight');
  });

  it('/metrics with METRICS_REQUIRE_AUTH=true needs a caller who may read', async () => {
    const none = await gw.request('GET', '/metrics', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthenticated');
    expect(none.headers.get('www-authenticate')).toBe(CHALLENGE);

    const viewer = await gw.request('GET', '/metrics', undefined, bearer(await gw.keyFor('viewer')));
    expect(viewer.status).toBe(200);
    expect(viewer.body).toContain('http_requests_in_flight');

    const predictor = await gw.request('GET', '/metrics', undefined, bearer(await gw.keyFor('predictor')));
    expect(predictor.status).toBe(403);
    expect(predictor.body.error).toMatchObject({ code: 'forbidden', message: 'key:test-predictor (predictor) may not do this; it needs a role with "read"' });
  });

  it('the liveness probe answers without credentials', async () => {
    for (const platform of [p, gw, idp]) {
      expect(await platform.request('GET', '/health/live', undefined, { authorization: '' })).toEqual({ status: 200, body: { status: 'ok' } });
    }
  });

  it('/openapi.json needs credentials, any role', async () => {
    const none = await p.request('GET', '/openapi.json', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(CHALLENGE);
    const predictor = await p.request('GET', '/openapi.json', undefined, bearer(await p.keyFor('predictor')));
    expect(predictor.status).toBe(200);
    expect(predictor.body.openapi).toBe('3.1.0');
    expect(Object.keys(predictor.body.paths)).toContain('/v1/keys');
  });
});
