// Who may call what, checked against the API's own OpenAPI document: every operation refuses a caller
// without credentials (401), refuses every role its x-roles leave out (403) and lets the others through
// (neither). Every route the application serves is in the document or in the short list of routes kept out
// of it, so a route added without an access rule fails here. The README's route → role table is the
// document's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../registry/api-keys.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';

type Operation = { 'x-roles': Role[]; 'x-audit-action'?: string; security?: unknown[]; requestBody?: unknown };
type Document = { paths: Record<string, Record<string, Operation>> };

let p: TestPlatform;
let doc: Document;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  p = await createTestPlatform();
  for (const role of ROLES) tokens[role] = await p.keyFor(role);
  doc = (await p.request('GET', '/openapi.json', undefined, { authorization: `Bearer ${tokens.predictor}` })).body;
});
afterAll(() => p?.stop());

/** Values for path parameters that reach each handler without naming anything that exists. */
const PARAMS: Record<string, string> = {
  name: 'nothing-here', version: '1', workflowId: 'train:nothing-here:2020-01-01:0', alias: 'production', asOf: '2020-01-01',
};
const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(
  k === 'id' ? (path.startsWith('/v1/keys') ? '0123456789abcdef' : 'nothing-here') : PARAMS[k] ?? 'x',
));

const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

/** Routes served but kept out of the document, with their rule. */
const UNDOCUMENTED = {
  'GET /openapi.json': 'any authenticated caller',
  'GET /metrics': 'open to scrapers unless METRICS_REQUIRE_AUTH',
};

describe('the access rule of every route', () => {
  it('is in the document: bearer security and the roles that may call it', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(30);
    for (const { method, path, op } of ops) {
      expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
      expect(op['x-roles'].length, `${method} ${path}`).toBeGreaterThan(0);
      expect(op['x-roles'], `${method} ${path}`).toContain('admin');
      // Nothing that changes state is open to a reader or a predictor.
      if (method !== 'GET' && !path.endsWith('/predict')) expect(op['x-roles'], `${method} ${path}`).not.toContain('viewer');
      if (method !== 'GET' && !path.endsWith('/predict')) expect(op['x-roles'], `${method} ${path}`).not.toContain('predictor');
    }
  });

  it('covers every route the application serves', () => {
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path}`));
    const served = [...new Set(p.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`))];
    const outside = served.filter((r) => !documented.has(r) && !r.includes(' /health') && !(r in UNDOCUMENTED));
    expect(outside, 'routes with no access rule in the document').toEqual([]);
  });

  it('refuses a caller without credentials (401), each role it leaves out (403), and lets the others through', async () => {
    const wrong: string[] = [];
    for (const { method, path, op } of operations()) {
      const url = fill(path);
      const body = op.requestBody ? {} : undefined;
      const anonymous = await p.request(method, url, body, { authorization: '' });
      if (anonymous.status !== 401 || anonymous.body?.error?.code !== 'unauthenticated' || anonymous.headers.get('www-authenticate') !== 'Bearer realm="mlp"') {
        wrong.push(`${method} ${path} without credentials → ${anonymous.status}`);
      }
      for (const role of ROLES) {
        const r = await p.request(method, url, body, { authorization: `Bearer ${tokens[role]}` });
        const allowed = op['x-roles'].includes(role);
        if (allowed && (r.status === 401 || r.status === 403)) wrong.push(`${method} ${path} as ${role} (allowed) → ${r.status} ${JSON.stringify(r.body)}`);
        if (!allowed && (r.status !== 403 || r.body?.error?.code !== 'forbidden')) wrong.push(`${method} ${path} as ${role} (not allowed) → ${r.status}`);
        if (r.status >= 500) wrong.push(`${method} ${path} as ${role} → ${r.status} ${JSON.stringify(r.body)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('guards the undocumented routes as listed', async () => {
    expect((await p.request('GET', '/openapi.json', undefined, { authorization: '' })).status).toBe(401);
    expect((await p.request('GET', '/metrics', undefined, { authorization: '' })).status).toBe(200);
    expect((await p.request('GET', '/health/live', undefined, { authorization: '' })).body).toEqual({ status: 'ok' });
  });

  it('names an audit action for every operation that changes something', () => {
    const mutating = operations().filter(({ method, path }) => method !== 'GET' && !path.endsWith('/predict'));
    expect(mutating.filter(({ op }) => !op['x-audit-action']).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it('is the README\'s route → role table', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- route-roles:start -->'), readme.indexOf('<!-- route-roles:end -->'));
    const rows = [...section.matchAll(/^\| `(GET|POST|PATCH|PUT|DELETE) ([^`]+)` \| ([^|]+) \|/gm)].map((m) => [`${m[1]} ${m[2]}`, m[3].trim()]);
    const expected = operations().map(({ method, path, op }) => [`${method} ${path}`, op['x-roles'].join(', ')]);
    expect(rows.sort()).toEqual(expected.sort());
  });
});

describe('the rate limits', () => {
  it('answer 429 with Retry-After past a key\'s burst, per key, and let reads through', async () => {
    const q = await createTestPlatform({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '6', RATE_LIMIT_MUTATIONS_BURST: '3', RATE_LIMIT_PREDICT_PER_SECOND: '0.01', RATE_LIMIT_PREDICT_BURST: '2' } });
    try {
      const change = (key?: string) => q.request('POST', '/v1/pipelines/nothing-here/runs', {}, key ? { authorization: `Bearer ${key}` } : {});
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await change()).status);
      expect(statuses).toEqual([404, 404, 404, 429]);
      const limited = await change();
      expect(limited.status).toBe(429);
      expect(limited.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^too many changes from key:test-admin; retry in \d+ s$/) });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Reads are not counted; another key has its own bucket.
      expect((await q.request('GET', '/v1/pipelines')).status).toBe(200);
      expect((await change(await q.keyFor('scientist'))).status).toBe(404);
      const predict = () => q.request('POST', '/v1/models/nothing-here/predict', { instances: [{}] });
      expect([(await predict()).status, (await predict()).status, (await predict()).status]).toEqual([404, 404, 429]);
    } finally {
      await q.stop();
    }
  });
});

