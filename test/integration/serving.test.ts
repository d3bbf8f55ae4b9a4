// Serving: batches, explicit versions, every kind of bad input as a 4xx, the prediction log, and
// checksum verification of model artifacts.
import { readFileSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROW_WARNING_KINDS } from '../../serving/instance-validation.js';
import { PredictionLog } from '../../serving/prediction-log.js';
import { findLoggedPrediction, forEachLoggedBatch } from '../../serving/prediction-log-reader.js';
import { createLogger } from '../../runtime/logger.js';
import { projectRoot } from '../../runtime/project-root.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { shippedSpec } from '../support/specs.js';

let p: TestPlatform;
const day = (i: number) => ({ precipitation: (i % 7) * 1.5, temp_min: 2 + (i % 15), wind: 1 + (i % 6), weather: ['sun', 'rain', 'drizzle', 'fog', 'snow'][i % 5] });

beforeAll(async () => {
  p = await createTestPlatform();
  await p.request('POST', '/v1/pipelines', shippedSpec('seattle-weather.json'));
  const first = await p.runPipeline('seattle-temp');
  await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), model: { ...shippedSpec('seattle-weather.json').model, seed: 2 } });
  const second = await p.runPipeline('seattle-temp', { allowPromotion: false });
  if (first.error || second.error) throw first.error ?? second.error;
});
afterAll(() => p?.stop());

// One real HTTP server for the tests that need a socket.
let served: Promise<string> | undefined;
const listening = () => (served ??= p.listen());

describe('predict', () => {
  it('answers a 500-row batch in one call, row for row', async () => {
    const instances = Array.from({ length: 500 }, (_, i) => day(i));
    const res = await p.request('POST', '/v1/models/seattle-temp/predict', { instances });
    expect(res.status).toBe(200);
    expect(res.body.predictions).toHaveLength(500);
    expect(res.body.predictions.every((x: { value: number }) => Number.isFinite(x.value))).toBe(true);
    const one = await p.request('POST', '/v1/models/seattle-temp/predict', { instances: [instances[123]] });
    expect(one.body.predictions[0].value).toBeCloseTo(res.body.predictions[123].value, 5);
  });

  it('/health names the engine of each served model (the JS forward pass) and counts the loaded versions per engine', async () => {
    const health = await p.request('GET', '/health');
    expect(health.body.serving).toContainEqual({ model: 'seattle-temp', alias: 'production', version: 1, engine: 'js' });
    expect(health.body.inference).toEqual({ js: expect.any(Number), tfjs: 0 });
    expect(health.body.inference.js).toBeGreaterThanOrEqual(1);
    // This process also runs the worker role, which initialises tfjs to train; serving itself does not need it.
    expect(health.body.tfjsBackend).toMatch(/^(wasm|cpu|tensorflow)$/);
  });

  it('every response carries a request ID, over real HTTP: the caller\'s when it is sane, else a new one', async () => {
    const base = await listening();
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}`, ...headers }, body });
    const answered = await post('/v1/models/seattle-temp/predict', JSON.stringify({ instances: [day(1)] }), { 'x-request-id': 'caller-42' });
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-request-id')).toBe('caller-42');
    expect(answered.headers.get('content-type')).toBe('application/json');
    expect(Number(answered.headers.get('content-length'))).toBe(Buffer.byteLength(await answered.text()));
    const generated = /^[0-9a-f]{12}-[0-9a-z]+$/;
    const refused = await post('/v1/models/seattle-temp/predict', '{"instances": []}', { 'x-request-id': 'bad id with spaces' });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('x-request-id')).toMatch(generated);
    expect(((await refused.json()) as any).error.code).toBe('validation_failed');
    const missing = await post('/v1/models/nope/predict', JSON.stringify({ instances: [day(1)] }));
    const again = await post('/v1/models/nope/predict', JSON.stringify({ instances: [day(1)] }));
    expect(again.headers.get('x-request-id')).not.toBe(missing.headers.get('x-request-id'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(generated);
    const elsewhere = await fetch(`${base}/v1/models/seattle-temp/versions`, { headers: { 'x-request-id': 'list-1', authorization: `Bearer ${p.adminKey}` } });
    expect(elsewhere.headers.get('x-request-id')).toBe('list-1');
    // An alias may be called "predict": its path ends like the predict route's but is not it.
    const moved = await post('/v1/models/seattle-temp/aliases/predict', JSON.stringify({ version: 1, reason: 'alias named like the route' }), { 'x-request-id': 'move-1' });
    expect([moved.status, moved.headers.get('x-request-id')]).toEqual([200, 'move-1']);
    const unmatched = await fetch(`${base}/no/such/path`, { headers: { 'x-request-id': 'lost-1' } });
    expect([unmatched.status, unmatched.headers.get('x-request-id')]).toEqual([404, 'lost-1']);
  });

  it('serves an explicit version beside the alias', async () => {
    const byAlias = await p.request('POST', '/v1/models/seattle-temp/predict', { instances: [day(1)] });
    const byVersion = await p.request('POST', '/v1/models/seattle-temp/predict?version=2', { instances: [day(1)] });
    expect(byAlias.body).toMatchObject({ version: 1, alias: 'production' });
    expect(byVersion.body).toMatchObject({ version: 2, alias: null });
    expect(byVersion.body.predictions[0].value).not.toBeCloseTo(byAlias.body.predictions[0].value, 6);
  });

  it('turns every kind of bad input into a 4xx that names the problem', async () => {
    const post = (body: unknown, query = '') => p.request('POST', `/v1/models/seattle-temp/predict${query}`, body);
    const cases: [unknown, string, number, RegExp][] = [
      [{ instances: [{ ...day(0), temp_min: 'twelve' }] }, '', 422, /instances\[0\]\.temp_min: expected a number, got "twelve"/],
      [{ instances: [{ ...day(0), temp_min: 'NaN' }] }, '', 422, /instances\[0\]\.temp_min: required field is null/],
      [{ instances: [{ ...day(0), temp_min: true }] }, '', 422, /instances\[0\]\.temp_min: expected a finite number, got boolean/],
      [{ instances: [{ precipitation: 1, wind: 2, weather: 'sun' }] }, '', 422, /instances\[0\]\.temp_min: required field is missing/],
      [{ instances: [{ ...day(0), weather: 'hail' }] }, '', 422, /instances\[0\]\.weather: unknown category "hail"; known: /],
      [{ instances: [] }, '', 422, /instances: expected a non-empty array/],
      [{ instances: 'all of them' }, '', 422, /instances: expected a non-empty array of objects, got string/],
      [{ instances: [day(0)] }, '?verbose=1', 400, /query: Unrecognized key/i],
      [{ instances: [day(0)] }, '?version=0', 400, /query\.version/],
      [{ instances: [day(0)] }, '?version=3000000000', 400, /query\.version: Too big: expected number to be <=2147483647/],
      [{ instances: [day(0)] }, '?alias=prod%00', 400, /query\.alias/],
      [{ instances: [day(0)] }, '?version=99', 404, /has no version 99/],
    ];
    // Text the training file would have held reads as it did there: "12" is the number 12.
    const asText = await post({ instances: [{ ...day(0), temp_min: String(day(0).temp_min) }] });
    const withoutIds = (predictions: { id: string }[]) => predictions.map(({ id: _id, ...rest }) => rest);
    expect(withoutIds(asText.body.predictions)).toEqual(withoutIds((await post({ instances: [day(0)] })).body.predictions));
    for (const [body, query, status, message] of cases) {
      const res = await post(body, query);
      expect({ status: res.status, message: res.body.error.message }).toEqual({ status, message: expect.stringMatching(message) });
      expect(Object.keys(res.body.error).sort()).toEqual(['code', 'details', 'message']);
    }
    const other = await post({ instances: [{ ...day(0), weather: 'hail' }] }, '?unknownCategories=other');
    expect(other.status).toBe(200);
  });

  it('refuses an oversized body with 413 in the same error shape', async () => {
    const instances = Array.from({ length: 100_000 }, (_, i) => day(i)); // ~8 MB, over the 5 MB default
    const res = await p.request('POST', '/v1/models/seattle-temp/predict', { instances });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('over real HTTP, answers 413 to a chunked body past the limit while it is still being sent, and scores one just under it', async () => {
    const { hostname, port } = new URL(await listening());
    const limit = p.config.serving.maxBodyBytes;
    const upload = (chunks: () => Buffer | null) => new Promise<{ status: number; body: string; written: number; closed: boolean }>((resolve, reject) => {
      const req = request({ hostname, port, method: 'POST', path: '/v1/models/seattle-temp/predict', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}` } });
      req.on('error', () => undefined); // EPIPE / ECONNRESET once the server has closed a refused upload
      req.on('response', (res) => {
        const written = req.socket!.bytesWritten;
        let body = '';
        res.on('data', (d: Buffer) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body, written, closed: res.headers.connection === 'close' }));
        res.on('error', reject);
      });
      Readable.from((function* () { for (let c = chunks(); c; c = chunks()) yield c; })()).pipe(req);
    });
    // 50 MB generated as the socket takes it, ten times the limit.
    let left = 50 * 1024 * 1024;
    const big = await upload(() => (left <= 0 ? null : (left -= 64 * 1024, Buffer.alloc(64 * 1024, ' '))));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe('payload_too_large');
    expect(big.closed).toBe(true);
    expect(big.written).toBeLessThan(limit + 10 * 1024 * 1024);
    // One instance, padded with a field the model ignores to 1 KB under the limit, sent in 1 MB chunks.
    const head = JSON.stringify({ instances: [{ ...day(3), note: '' }] }).slice(0, -4);
    const text = head + 'x'.repeat(limit - 1024 - head.length - 4) + '"}]}';
    const parts = Array.from({ length: Math.ceil(text.length / (1024 * 1024)) }, (_, i) => Buffer.from(text.slice(i * 1024 * 1024, (i + 1) * 1024 * 1024)));
    const fits = await upload(() => parts.shift() ?? null);
    expect(fits.status).toBe(200);
    expect(JSON.parse(fits.body).predictions).toHaveLength(1);
  });
});

describe('prediction log', () => {
  const loggedRows = async () => {
    const rows: { version: number; id: string; inputs: Record<string, unknown>; output: number[]; warnings: number; at: number }[] = [];
    await forEachLoggedBatch(p.db, 'seattle-temp', { from: new Date(0), to: new Date(Date.now() + 60_000) }, (b) => {
      for (let r = 0; r < b.rows; r++) {
        const inputs: Record<string, unknown> = {};
        b.fields.forEach((f, j) => {
          const dict = b.dictionaries[j];
          const x = b.values[j][r];
          inputs[f.name] = dict ? (x < 0 ? null : dict[x]) : Number.isNaN(x) ? null : x;
        });
        rows.push({ version: b.version, id: `${b.token}.${b.seq[r].toString(36)}`, inputs, output: [...b.output.subarray(r * b.outputs, (r + 1) * b.outputs)], warnings: b.warnings[r], at: b.at[r] });
      }
    });
    return rows;
  };

  it('stores each answered row with its prediction ID, its inputs as sent, the model output and its warnings', async () => {
    await p.predictionLog.flush();
    await p.db.execute(sql`delete from prediction_batches`);
    const before = Date.now();
    const first = await p.request('POST', '/v1/models/seattle-temp/predict', { instances: [day(1), day(2)] });
    // A value out of training's range: the answer says so, and so does the log (extra fields are not logged).
    const odd = { instances: [{ ...day(3), wind: 99, note: 'tab\t nul\u0000 é 😀' }] };
    const second = await p.request('POST', '/v1/models/seattle-temp/predict?version=2', odd);
    await p.request('POST', '/v1/models/seattle-temp/predict', { instances: [{ weather: 'sun' }] }); // 422: not logged
    await p.predictionLog.flush();
    const ids = [...first.body.predictions, ...second.body.predictions].map((x: { id: string }) => x.id);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{10}\.[0-9a-z]+$/);
    expect(first.body.predictions[0]).not.toHaveProperty('warnings');
    expect(second.body.predictions[0].warnings).toEqual([{ field: 'wind', kind: 'out-of-range', message: expect.stringMatching(/^wind: 99 is outside the training range /) }]);

    const rows = await loggedRows();
    expect(rows.map((r) => [r.version, r.id])).toEqual([[1, ids[0]], [1, ids[1]], [2, ids[2]]]);
    expect(rows[0].inputs).toEqual(day(1));
    expect(rows[2].inputs).toEqual({ ...day(3), wind: 99 });
    // The output exactly as answered (a regression: one value per row, float32 as the network computed it).
    expect(rows[0].output).toEqual([Math.fround(first.body.predictions[0].value)]);
    expect(rows.map((r) => r.warnings)).toEqual([0, 0, 1 << ROW_WARNING_KINDS.indexOf('out-of-range')]);
    for (const r of rows) expect(r.at).toBeGreaterThanOrEqual(before);
    // Found again by its ID, as feedback finds it.
    const found = await findLoggedPrediction(p.db, 'seattle-temp', ids[2]);
    expect(found && [found.batch.version, found.row, found.batch.output[found.row]]).toEqual([2, 0, Math.fround(second.body.predictions[0].value)]);
    expect(await findLoggedPrediction(p.db, 'seattle-temp', 'not-an-id')).toBeNull();
    expect(await findLoggedPrediction(p.db, 'other-model', ids[2])).toBeNull();
    // Counted in /metrics by model and kind.
    const scrape = await p.request('GET', '/metrics');
    expect(String(scrape.body)).toMatch(/prediction_warnings_total\{model="seattle-temp",kind="out-of-range"\} [1-9]/);
  });

  it('samples, bounds its queue, and never fails a caller when the database is gone', async () => {
    const logger = createLogger('silent');
    const schema = [{ name: 'x', kind: 'numeric' as const, required: true }];
    const entry = { model: 'm', version: 1, schema, outputs: 1, rows: 1, firstSeq: 0, requestJson: '{"instances":[{"x":1}]}', output: Float32Array.of(0.5), warnings: null };
    const none = new PredictionLog({ databaseUrl: p.databaseUrl, logger, sampleRate: 0, maxQueue: 10 });
    none.record(entry);
    await none.flush();
    expect(none.stats).toEqual({ written: 0, dropped: 0, failedBatches: 0, pruned: 0 });

    let k = 0;
    const half = new PredictionLog({ databaseUrl: p.databaseUrl, logger, sampleRate: 0.5, maxQueue: 100, random: () => [0.1, 0.9][k++ % 2] });
    for (let i = 0; i < 10; i++) half.record(entry);
    await half.flush();
    expect(half.stats.written).toBe(5);
    await half.stop();

    // Nothing listens on port 1: every batch fails, and callers never notice.
    const dead = new PredictionLog({ databaseUrl: 'postgres://nobody:x@127.0.0.1:1/none', logger, sampleRate: 1, maxQueue: 2 });
    for (let i = 0; i < 3; i++) expect(() => dead.record(entry)).not.toThrow();
    await expect(dead.flush()).resolves.toBeUndefined();
    expect(dead.stats).toEqual({ written: 0, dropped: 3, failedBatches: 1, pruned: 0 });
    await dead.stop();
  });
});

describe('prediction log storage', () => {
  it('migration 0002 rewrites rows stored compressed as jsonb into uncompressed json', async () => {
    // The migration's own SQL, on a copy of the table as migration 0001 made it, holding a compressed row.
    const migration = readFileSync(join(projectRoot, 'db', 'migrations', '0002_prediction_log_json.sql'), 'utf8')
      .replaceAll('"prediction_log"', '"prediction_log_0001"').replaceAll('--> statement-breakpoint', '');
    await p.owner.execute(sql.raw(`create table prediction_log_0001 (id bigserial primary key, request jsonb not null, response jsonb not null)`));
    const big = JSON.stringify({ instances: Array.from({ length: 300 }, (_, i) => day(i)) });
    await p.db.execute(sql`insert into prediction_log_0001 (request, response) values (${big}::jsonb, ${big}::jsonb)`);
    const compression = async () => (await p.db.execute(sql.raw(`select pg_column_compression(request) as req, pg_column_compression(response) as res,
      request::text as body from prediction_log_0001`))).rows[0] as { req: string | null; res: string | null; body: string };
    expect(await compression()).toMatchObject({ req: 'pglz', res: 'pglz' });
    await p.owner.execute(sql.raw(migration));
    const after = await compression();
    expect([after.req, after.res]).toEqual([null, null]);
    expect(JSON.parse(after.body)).toEqual(JSON.parse(big));
    await p.owner.execute(sql.raw('drop table prediction_log_0001'));
  });

  it('keeps the log\'s blobs out of line and uncompressed', async () => {
    const columns = (await p.db.execute(sql`select attname, attstorage from pg_attribute where attrelid = 'prediction_batches'::regclass and attname = 'data'`)).rows;
    expect(columns).toEqual([{ attname: 'data', attstorage: 'e' }]);
  });

  it('keeps bodies of the log before 0007 as json, stored uncompressed', async () => {
    const columns = (await p.db.execute(sql`select attname, format_type(atttypid, atttypmod) as type, attstorage from pg_attribute
      where attrelid = 'prediction_log'::regclass and attname in ('request', 'response') order by attname`)).rows;
    expect(columns).toEqual([
      { attname: 'request', type: 'json', attstorage: 'e' },
      { attname: 'response', type: 'json', attstorage: 'e' },
    ]);
  });
});

describe('prediction log retention', () => {
  it('deletes entries past the retention, chunk after chunk, and nothing newer', async () => {
    await p.predictionLog.flush();
    await p.db.execute(sql`delete from prediction_log`);
    const add = (n: number, age: string) => p.db.execute(sql`insert into prediction_log (model, version, alias, rows, latency_ms, request, response, at)
      select 'm', 1, null, 1, 1, '{"instances":[]}', '{"predictions":[]}', now() - ${age}::interval from generate_series(1, ${n})`);
    await add(25_000, '3 days'); // more than two pruning chunks
    await add(3, '20 hours');
    await add(2, '1 minute');
    const count = async () => Number(((await p.db.execute(sql`select count(*) as n from prediction_log`)).rows[0] as { n: string }).n);
    const logger = createLogger('silent');

    const keepAll = new PredictionLog({ databaseUrl: p.databaseUrl, logger, sampleRate: 1, maxQueue: 10, retentionDays: 0 });
    expect(await keepAll.prune()).toBe(0);
    expect(await count()).toBe(25_005);

    const log = new PredictionLog({ databaseUrl: p.databaseUrl, logger, sampleRate: 1, maxQueue: 10, retentionDays: 1 });
    try {
      expect(await log.prune()).toBe(25_000);
      expect(await count()).toBe(5);
      expect(await log.prune()).toBe(0);
      expect(log.stats.pruned).toBe(25_000);
      const halfDay = new PredictionLog({ databaseUrl: p.databaseUrl, logger, sampleRate: 0, maxQueue: 10, retentionDays: 0.5 });
      expect(await halfDay.prune()).toBe(3);
      await halfDay.stop();
      expect(await count()).toBe(2);
    } finally {
      await log.stop();
      await keepAll.stop();
    }
  });
});

describe('artifact integrity', () => {
  it('refuses to serve a version whose files no longer match the registered checksum', async () => {
    await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), model: { ...shippedSpec('seattle-weather.json').model, seed: 3 } });
    const third = await p.runPipeline('seattle-temp', { allowPromotion: false });
    if (third.error) throw third.error;
    const v = await p.request('GET', '/v1/models/seattle-temp/versions/3/lineage');
    await appendFile(join(await p.artifacts.localPath(v.body.artifactUri), 'weights.bin'), Buffer.from([0]));
    const res = await p.request('POST', '/v1/models/seattle-temp/predict?version=3', { instances: [day(0)] });
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(/does not match its registered checksum/);
  });

  it('answers 503 naming the version, not a 500, when a version\'s artifact is gone', async () => {
    const v = await p.request('GET', '/v1/models/seattle-temp/versions/3/lineage');
    await rm(await p.artifacts.localPath(v.body.artifactUri), { recursive: true });
    const res = await p.request('POST', '/v1/models/seattle-temp/predict?version=3', { instances: [day(0)] });
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({ code: 'unavailable', message: 'seattle-temp v3 could not be loaded on this replica; it will not be served (the API logs say why)', details: null });
  });
});
