// Requests that do not validate are answered in the API's one error shape, with the statuses callers rely
// on: 413 before a body is parsed, 415 without a JSON content type, 400 for malformed JSON and for a query or
// path parameter, 422 for a body the route's schema refuses. No service is reached: the stubs below fail
// the test if one is.
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { testAccess } from '../../support/access.js';
import type { ApiDeps } from '../../../api/deps.js';
import { backfillAsOfs } from '../../../api/schemas/backfills.js';
import { readInstant } from '../../../api/schemas/common.js';
import type { TrainingPipelineInput } from '../../../pipelines/contract.js';
import { WORKFLOW_TYPES } from '../../../workflows/definitions.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';

const config = loadConfig({});
const auth = testAccess();
const unreachable = new Proxy({}, { get: (_t, key) => { throw new Error(`a service was reached: ${String(key)}`); } });
const deps = {
  config: { ...config, serving: { ...config.serving, maxBodyBytes: 1000 } },
  logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu',
  db: unreachable, temporal: { schedule: {}, workflow: unreachable }, serving: unreachable, predictionLog: unreachable, access: auth.access,
} as unknown as ApiDeps;
const app = createApp(deps, { version: 'test' });

const JSON_TYPE = { 'content-type': 'application/json' };
async function send(method: string, path: string, body?: string, headers: Record<string, string> = JSON_TYPE) {
  const res = await app.request(path, { method, body, headers: { ...auth.as('admin'), ...headers } });
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
      status: 422, body: error('validation_failed', 'alias "Bad_Alias" must be 1-63 lowercase letters, digits and dashes, starting with a letter'),
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
      const res = await runApp.request('/v1/pipelines/foo/runs', { method: 'POST', body, headers: { ...auth.as('admin'), ...headers } });
      expect(res.status).toBe(201);
      expect((await res.json() as { run: { pipelineVersion: number } }).run.pipelineVersion).toBe(3);
    }
    expect(started.map((s) => s.allowPromotion)).toEqual([true, true, true]);
  });
});

describe('an integer beyond a PostgreSQL integer', () => {
  const tooBig = 'Too big: expected number to be <=2147483647';
  it('in a path or a query is a 400 naming it, before any database is asked', async () => {
    expect(await send('GET', '/v1/models/m/versions/3000000000')).toEqual({ status: 400, body: error('bad_request', `params.version: ${tooBig}`, issues(['params.version', tooBig])) });
    expect((await send('GET', '/v1/models/m/versions/3000000000/lineage')).body.error.message).toBe(`params.version: ${tooBig}`);
    expect(await send('GET', '/v1/pipelines/foo?version=3000000000')).toEqual({ status: 400, body: error('bad_request', `query.version: ${tooBig}`, issues(['query.version', tooBig])) });
    expect(await send('POST', '/v1/models/m/predict?version=3000000000', '{"instances":[{}]}')).toEqual({ status: 400, body: error('bad_request', `query.version: ${tooBig}`, issues(['query.version', tooBig])) });
  });

  it('in a body is a 422 naming it', async () => {
    expect(await send('POST', '/v1/pipelines/foo/runs', '{"pipelineVersion":9007199254740990}')).toEqual({
      status: 422, body: error('validation_failed', `body.pipelineVersion: ${tooBig}`, issues(['body.pipelineVersion', tooBig])),
    });
    expect((await send('POST', '/v1/models/m/aliases/production', '{"version":3000000000,"reason":"rollback"}')).body.error.message).toBe(`body.version: ${tooBig}`);
    const spec = { name: 'p', source: { kind: 'bundled', dataset: 'cars.json' }, target: 'Origin' };
    expect((await send('POST', '/v1/pipelines', JSON.stringify({ ...spec, quality: { minRows: 2 ** 31 } }))).body.error.message).toBe(`body.quality.minRows: ${tooBig}`);
    expect((await send('POST', '/v1/pipelines', JSON.stringify({ ...spec, model: { seed: 2 ** 53 - 1 } }))).body.error).toMatchObject({ code: 'validation_failed', message: `body.model.seed: ${tooBig}` });
  });
});

describe('a string the platform cannot store (NUL, or a lone UTF-16 surrogate)', () => {
  const refused = 'must not contain NUL (\\u0000) or an unpaired UTF-16 surrogate';
  const spec = { name: 'p', source: { kind: 'bundled', dataset: 'cars.json' }, target: 'Origin' };
  const post = (path: string, body: unknown) => send('POST', path, JSON.stringify(body));

  it('in a pipeline spec is a 422 naming the field: names, descriptions, columns, queries, paths', async () => {
    expect(await post('/v1/pipelines', { ...spec, description: 'cars\u0000' })).toEqual({
      status: 422, body: error('validation_failed', `body.description: ${refused}`, issues(['body.description', refused])),
    });
    expect((await post('/v1/pipelines', { ...spec, target: 'Origin\ud800' })).body.error.message).toBe(`body.target: ${refused}`);
    expect((await post('/v1/pipelines', { ...spec, features: { exclude: ['Name', '\udc00'] } })).body.error.message).toBe(`body.features.exclude.1: ${refused}`);
    expect((await post('/v1/pipelines', { ...spec, features: { kinds: { 'Year\u0000': 'date' } } })).body.error.message)
      .toBe(`body.features.kinds.Year\u0000: Invalid key in record: ${refused}`);
    expect((await post('/v1/pipelines', { ...spec, source: { kind: 'sql', query: 'select 1\u0000' } })).body.error.message).toBe(`body.source.query: ${refused}`);
    expect((await post('/v1/pipelines', { ...spec, source: { kind: 'file', path: 'cars\ud800.csv' } })).body.error.message).toMatch(`body.source.path: ${refused}`);
    expect((await post('/v1/pipelines', { ...spec, features: { derive: { kind: 'head-to-head', homeTeam: 'home\u0000' } } })).body.error.message)
      .toBe(`body.features.derive.homeTeam: ${refused}`);
  });

  it('in a reason, a note, a cron expression or an id is a 422 naming it', async () => {
    expect((await post('/v1/runs/w1/approval', { decision: 'approve', reason: 'looks good \ud800' })).body.error.message).toBe(`body.reason: ${refused}`);
    expect((await post('/v1/models/m/aliases/production', { version: 1, reason: 'roll\u0000back' })).body.error.message).toBe(`body.reason: ${refused}`);
    expect((await post('/v1/schedules/s1/pause', { note: 'maintenance\u0000' })).body.error.message).toBe(`body.note: ${refused}`);
    expect((await post('/v1/schedules', { pipeline: 'p', cron: ['0 3 * * 1\u0000'] })).body.error.message).toBe(`body.cron.0: ${refused}`);
    expect((await post('/v1/schedules', { pipeline: 'p\ud800', cron: ['0 3 * * 1'] })).status).toBe(422);
  });

  it('in a path or a query is a 400 naming it', async () => {
    expect(await send('GET', '/v1/pipelines/a%00b')).toEqual({ status: 400, body: error('bad_request', `params.name: ${refused}`, issues(['params.name', refused])) });
    expect((await send('GET', '/v1/runs/train%00x')).body.error.message).toBe(`params.workflowId: ${refused}`);
    expect((await send('GET', '/v1/runs?pipeline=%00')).body.error.message).toBe(`query.pipeline: ${refused}`);
    expect((await send('GET', '/v1/schedules/s%00')).body.error.message).toBe(`params.id: ${refused}`);
    expect((await send('GET', '/v1/backfills/b%00')).body.error.message).toBe(`params.id: ${refused}`);
  });

  it('as the model name of a prediction is a 400 once it would reach the registry', async () => {
    const predictApp = createApp({ ...deps, serving: { current: () => undefined, byAlias: unreachable, byVersion: unreachable } } as unknown as ApiDeps, { version: 'test' });
    const res = await predictApp.request('/v1/models/m%00/predict', { method: 'POST', body: '{"instances":[{}]}', headers: { ...JSON_TYPE, ...auth.as('admin') } });
    expect(res.status).toBe(400);
    expect((await res.json() as { error: { message: string } }).error.message).toBe(`params.name: ${refused}`);
  });

  it('checks the Idempotency-Key header too (its length: Node refuses a NUL in a header)', async () => {
    const r = await send('POST', '/v1/models/m/aliases/production', '{"version":1,"reason":"rollback"}', { ...JSON_TYPE, 'idempotency-key': 'k'.repeat(201) });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'bad_request', message: 'headers.idempotency-key: Too big: expected string to have <=200 characters' } } });
  });
});

describe('an instant', () => {
  const outside = 'an instant in years 0001-9999 (UTC)';
  it('outside years 0001-9999 (UTC), where PostgreSQL and Temporal cannot keep it, is a 422 naming it', async () => {
    expect(await send('POST', '/v1/pipelines/foo/runs', '{"asOf":"0000-01-01T00:00:00+01:00"}')).toEqual({
      status: 422, body: error('validation_failed', `body.asOf: ${outside}`, issues(['body.asOf', outside])),
    });
    expect((await send('POST', '/v1/pipelines/foo/runs', '{"asOf":"9999-12-31T23:59:59-00:01"}')).body.error.message).toBe(`body.asOf: ${outside}`);
    expect((await send('POST', '/v1/pipelines/foo/backfills', '{"start":"0000-12-31","end":"2001-01-01"}')).body.error.message).toBe(`body.start: ${outside}`);
    expect((await send('POST', '/v1/schedules', '{"pipeline":"p","cron":["0 3 * * 1"],"startAt":"0000-06-01T00:00:00Z"}')).body.error.message).toBe(`body.startAt: ${outside}`);
  });

  it('that is not ISO 8601 with Z or an offset is a 422', async () => {
    for (const asOf of ['2016-07-01T00:00:00+0100', '2016-07-01T24:00:00Z', '2016-07-01 00:00:00Z', '2015-02-29', '2016-07-01T00:00:00', 'July 1, 2016']) {
      expect((await send('POST', '/v1/pipelines/foo/runs', JSON.stringify({ asOf }))).status, asOf).toBe(422);
    }
  });

  it('is read field by field, offsets of up to 23:59 included, as new Date() reads it', () => {
    expect(readInstant('2016-07-01T00:00:00+14:59')?.toISOString()).toBe('2016-06-30T09:01:00.000Z');
    expect(readInstant('2016-07-01T00:00:00-23:59')?.toISOString()).toBe('2016-07-01T23:59:00.000Z');
    expect(readInstant('0016-07-01')?.toISOString()).toBe('0016-07-01T00:00:00.000Z');
    expect(readInstant('2016-07-01T00:00:00.123456789Z')?.toISOString()).toBe('2016-07-01T00:00:00.123Z');
    expect(readInstant('2016-07-01T00:00:00.5+02:00')?.toISOString()).toBe('2016-06-30T22:00:00.500Z');
    expect(readInstant('0001-01-01T00:00:00Z')?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(readInstant('9999-12-31T23:59:59.999Z')?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(readInstant('0001-01-01T00:00:00+00:01')).toBeNull();
    expect(readInstant('2016-07-01T00:00:00+0100')).toBeNull();
  });

  it('of a backfill in years 0-99 is not read as 1900-1999 (Date.UTC\'s reading)', async () => {
    const started: { workflowId: string; args: { partitions: { asOf: string }[] }[] }[] = [];
    const row = { id: 1, name: 'foo', version: 1, spec: { name: 'foo' }, specHash: 'h', createdBy: 'test', createdAt: new Date() };
    const query = { from: () => query, where: () => query, orderBy: () => query, limit: async () => [row] };
    const backfillApp = createApp({
      ...deps, db: { select: () => query },
      temporal: { workflow: { start: async (_type: string, o: (typeof started)[number]) => { started.push(o); } } },
    } as unknown as ApiDeps, { version: 'test' });
    // What a fuzzer sent: the start (0043-11-18T18:48:03.919+21:20 is 0043-11-17T21:28:03.919Z) is before the end.
    const res = await backfillApp.request('/v1/pipelines/foo/backfills', {
      method: 'POST', headers: { ...JSON_TYPE, ...auth.as('admin') }, body: '{"start":"0043-11-18T18:48:03.919+21:20","end":"0045-01-01T00:00:00Z","step":"season"}',
    });
    expect(res.status).toBe(201);
    expect(started[0].args[0].partitions.map((x) => x.asOf)).toEqual(['0043-11-17T21:28:00.000Z', '0044-11-17T21:28:00.000Z']);
    expect(backfillAsOfs(new Date('0099-12-31T23:59:00Z'), new Date('0100-02-01T00:00:00Z'), 1)).toEqual(['0099-12-31T23:59:00.000Z', '0100-01-31T23:59:00.000Z']);
  });

  it('ends a schedule after it starts', async () => {
    expect((await send('POST', '/v1/schedules', '{"pipeline":"p","cron":["0 3 * * 1"],"startAt":"2020-01-01T00:00:00Z","endAt":"2019-01-01T00:00:00+01:00"}')).body)
      .toEqual(error('validation_failed', 'body.endAt: must be after startAt', issues(['body.endAt', 'must be after startAt'])));
  });
});

describe('a method a path is not served with', () => {
  it('is a 405 with the methods it is served with in Allow', async () => {
    for (const [method, path, allow] of [
      ['PATCH', '/v1/pipelines', 'GET, HEAD, POST'],
      ['DELETE', '/v1/pipelines/foo', 'GET, HEAD'],
      ['GET', '/v1/models/m/predict', 'POST'],
      ['PUT', '/v1/schedules/s1', 'GET, HEAD, PATCH, DELETE'],
      ['POST', '/openapi.json', 'GET, HEAD'],
      ['OPTIONS', '/v1/runs', 'GET, HEAD'],
    ]) {
      const res = await app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(await res.json()).toEqual(error('method_not_allowed', `${method} is not allowed on ${path}; allowed: ${allow}`));
    }
  });

  it('on a path that does not exist stays a 404', async () => {
    expect(await send('PATCH', '/v1/nothing')).toEqual({ status: 404, body: error('not_found', 'no route for PATCH /v1/nothing') });
    expect((await send('GET', '/v1/pipelines/')).status).toBe(404);
  });
});

describe('Temporal not answering in time', () => {
  it('is a 503 (a backing service is unavailable), not a 500', async () => {
    const timedOut = new ServiceError('Failed to query Workflow', { cause: Object.assign(new Error('4 DEADLINE_EXCEEDED: query timed out before a worker could process it'), { code: 4 }) });
    const handle = { describe: async () => ({ status: { name: 'RUNNING' }, type: WORKFLOW_TYPES.backfill, taskQueue: config.temporal.taskQueue }), query: async () => { throw timedOut; } };
    const slowApp = createApp({ ...deps, temporal: { schedule: {}, workflow: { getHandle: () => handle } } } as unknown as ApiDeps, { version: 'test' });
    const res = await slowApp.request('/v1/backfills/backfill:foo:2015-07-01:2017-07-01:12m', { headers: auth.as('viewer') });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual(error('unavailable', 'Temporal or its workers did not answer in time; try again later'));
  });
});
