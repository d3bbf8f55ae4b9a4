// Requests that do not validate are answered in the API's one error shape, with the statuses callers rely
// on: 413 before a body is parsed, 415 without a JSON content type, 400 for malformed JSON and for a query or
// path parameter, 422 for a body the route's schema refuses. No service is reached: the stubs below fail
// the test if one is.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import type { ApiDeps } from '../../../api/deps.js';
import type { TrainingPipelineInput } from '../../../pipelines/contract.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';

const config = loadConfig({});
const unreachable = new Proxy({}, { get: (_t, key) => { throw new Error(`a service was reached: ${String(key)}`); } });
const deps = {
  config: { ...config, serving: { ...config.serving, maxBodyBytes: 1000 } },
  logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu',
  db: unreachable, temporal: { schedule: {}, workflow: unreachable }, serving: unreachable, predictionLog: unreachable,
} as unknown as ApiDeps;
const app = createApp(deps, { version: 'test' });

const JSON_TYPE = { 'content-type': 'application/json' };
async function send(method: string, path: string, body?: string, headers: Record<string, string> = JSON_TYPE) {
  const res = await app.request(path, { method, body, headers });
  return { status: res.status, body: await res.json() as { error: { code: string; message: string; details: unknown } } };
}
const error = (code: string, message: string, details: unknown = null) => ({ error: { code, message, details } });
const issues = (...list: [string, string][]) => ({ issues: list.map(([path, message]) => ({ path, message })) });

describe('a JSON body', () => {
  it('beyond the size limit is refused with 413 before it is parsed', async () => {
    const r = await send('POST', '/v1/pipelines', `{"name":"${'x'.repeat(2000)}"`);
    expect(r).toEqual({ status: 413, body: error('payload_too_large', 'the body exceeds 1000 bytes; send fewer instances per request') });
  });

  it('without a JSON content type is refused with 415, even when empty', async () => {
    const expected = { status: 415, body: error('unsupported_media_type', 'send the body as JSON with Content-Type: application/json') };
    expect(await send('POST', '/v1/pipelines', '{"name":"x"}', { 'content-type': 'text/plain' })).toEqual(expected);
    expect(await send('POST', '/v1/schedules/s1/pause', undefined, {})).toEqual(expected);
    expect(await send('POST', '/v1/pipelines/foo/runs', '{}', {})).toEqual(expected);
  });

  it('that is not JSON is a 400', async () => {
    const expected = { status: 400, body: error('bad_request', 'the request body is not valid JSON') };
    expect(await send('POST', '/v1/pipelines', '{bad')).toEqual(expected);
    expect(await send('POST', '/v1/runs/w1/approval', '')).toEqual(expected);
  });

  it('that its schema refuses is a 422 listing the issues', async () => {
    expect(await send('POST', '/v1/pipelines/foo/runs', '{"extra":1}')).toEqual({
      status: 422, body: error('validation_failed', 'body: Unrecognized key: "extra"', issues(['body', 'Unrecognized key: "extra"'])),
    });
    expect(await send('POST', '/v1/schedules', '{"pipeline":"p"}')).toEqual({
      status: 422, body: error('validation_failed', 'body.cron: give exactly one of cron or interval', issues(['body.cron', 'give exactly one of cron or interval'])),
    });
    const r = await send('POST', '/v1/pipelines/foo/backfills', '{"start":"2020-01-01","end":"2021-01-01","concurrency":99}', { 'content-type': 'application/json; charset=utf-8' });
    expect(r).toEqual({ status: 422, body: error('validation_failed', 'body.concurrency: Too big: expected number to be <=8', issues(['body.concurrency', 'Too big: expected number to be <=8'])) });
  });

  it('is checked before a malformed alias in the path, which is a 422 too', async () => {
    expect((await send('POST', '/v1/models/m/aliases/Bad_Alias', '{"version":0}')).body.error.message).toMatch(/^body\.version/);
    expect(await send('POST', '/v1/models/m/aliases/Bad_Alias', '{"version":1,"reason":"because"}')).toEqual({
      status: 422, body: error('validation_failed', 'alias "Bad_Alias" must be lowercase letters, digits and dashes'),
    });
  });
});

describe('a query or path parameter that does not validate', () => {
  it('is a 400 listing the issues', async () => {
    expect(await send('GET', '/v1/runs?limit=0')).toEqual({
      status: 400, body: error('bad_request', 'query.limit: Too small: expected number to be >=1', issues(['query.limit', 'Too small: expected number to be >=1'])),
    });
    expect((await send('GET', '/v1/pipelines/foo?version=abc')).status).toBe(400);
    expect(await send('GET', '/v1/models/m/versions/abc')).toEqual({
      status: 400, body: error('bad_request', 'params.version: Invalid input: expected number, received NaN', issues(['params.version', 'Invalid input: expected number, received NaN'])),
    });
  });

  it('keeps the report format message', async () => {
    expect(await send('GET', '/v1/backfills/b1/report?format=xml')).toEqual({ status: 400, body: error('bad_request', 'format must be json, csv or svg') });
  });
});

describe('an optional body', () => {
  it('left empty, whatever its content type, starts a run with the defaults', async () => {
    const started: TrainingPipelineInput[] = [];
    const row = { id: 1, name: 'foo', version: 3, spec: { name: 'foo' }, specHash: 'h', createdBy: 'test', createdAt: new Date() };
    const query = { from: () => query, where: () => query, orderBy: () => query, limit: async () => [row] };
    const runApp = createApp({
      ...deps,
      db: { select: () => query },
      temporal: { workflow: { start: async (_type: string, o: { args: TrainingPipelineInput[] }) => (started.push(o.args[0]), { firstExecutionRunId: 'run-1' }) } },
    } as unknown as ApiDeps, { version: 'test' });
    // No body at all; an empty one (sent as text/plain); an empty one sent as JSON.
    for (const [body, headers] of [[undefined, {}], ['', {}], ['', JSON_TYPE]] as const) {
      const res = await runApp.request('/v1/pipelines/foo/runs', { method: 'POST', body, headers });
      expect(res.status).toBe(201);
      expect((await res.json() as { run: { pipelineVersion: number } }).run.pipelineVersion).toBe(3);
    }
    expect(started.map((s) => s.allowPromotion)).toEqual([true, true, true]);
  });
});
