// Over a real socket, as the platform serves the API (@hono/node-server's serve): a body past the size
// limit is answered 413 while the client is still sending it, and the server closes the connection rather
// than read the rest; a body at the limit is read whole, counted in bytes, chunked or not. And TRACE, which
// fetch cannot send, gets the 405 every unserved method gets.
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { testAccess } from '../../support/access.js';
import type { ApiDeps } from '../../../api/deps.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';
import { PredictionIds } from '../../../serving/prediction-ids.js';

const LIMIT = 64 * 1024;
const auth = testAccess();
const config = loadConfig({});
const unreachable = new Proxy({}, { get: (_t, key) => { throw new Error(`a service was reached: ${String(key)}`); } });
const logged: { requestJson: string }[] = [];
// A served model with no inputs, scoring every row 0: enough for the predict route to answer 200.
const served = {
  model: 'm', version: 1,
  predictor: { fitted: { inputSchema: [] }, model: { numClasses: 1 }, predictJson: (rows: unknown[]) => ({ json: JSON.stringify(rows.map(() => ({ value: 0 }))), output: new Float32Array(rows.length) }) },
};
const deps = {
  config: { ...config, serving: { ...config.serving, maxBodyBytes: LIMIT } },
  logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu',
  db: unreachable, temporal: { schedule: {}, workflow: unreachable },
  serving: { current: () => served, byAlias: unreachable, byVersion: unreachable },
  predictionLog: { record: (e: { requestJson: string }) => logged.push(e), ids: new PredictionIds() },
  access: auth.access,
} as unknown as ApiDeps;

let server: ServerType;
let port: number;
// The server side of the connection the last request came on: how much of the upload the server read.
let lastSocket: Socket | undefined;
beforeAll(async () => {
  // As app/platform.ts and the test platform's listen() serve it.
  await new Promise<void>((resolve) => {
    server = serve({ fetch: createApp(deps, { version: 'test' }).fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      port = info.port;
      resolve();
    });
  });
  server.on('request', (req: IncomingMessage) => { lastSocket = req.socket; });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Answer {
  status: number; headers: Record<string, string | string[] | undefined>; body: string;
  /** Bytes the client had written to its socket when the answer's head arrived. */
  sentBeforeAnswer: number;
  /** Bytes the server read from the connection, and whether it closed it (waited for, briefly). */
  serverRead: number; serverClosed: boolean;
}

/**
 * Sends `body` (a stream of `total` bytes generated as the socket takes them, or a string) without
 * Content-Length unless `headers` has one, and reports what each side did.
 */
function send(method: string, path: string, body: { total: number; chunk: Buffer } | string | undefined, contentHeaders: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  const headers = { ...auth.as('admin'), ...contentHeaders };
  return new Promise((resolve, reject) => {
    // A refused upload ends in EPIPE or ECONNRESET on the client: expected, and not the answer.
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      const sentBeforeAnswer = req.socket?.bytesWritten ?? -1;
      const socket = lastSocket!;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const report = () => resolve({
          status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), sentBeforeAnswer,
          serverRead: socket.bytesRead, serverClosed: socket.destroyed,
        });
        if (socket.destroyed) report();
        else {
          const timer = setTimeout(report, 500);
          socket.once('close', () => { clearTimeout(timer); report(); });
        }
      });
    });
    if (body === undefined) {
      req.end();
    } else if (typeof body === 'string') {
      req.end(body);
    } else {
      const { total, chunk } = body;
      let produced = 0;
      const source = new Readable({
        read() {
          if (produced >= total) return void this.push(null);
          const next = chunk.subarray(0, Math.min(chunk.length, total - produced));
          produced += next.length;
          this.push(next);
        },
      });
      source.pipe(req);
      req.on('close', () => source.destroy());
    }
  });
}

const FIFTY_MB = 50 * 1024 * 1024;
const filler = Buffer.alloc(16 * 1024, 'x');

describe('a body past the size limit, sent chunked', () => {
  for (const path of ['/v1/pipelines', '/v1/models/m/predict', '/v1/schedules/s1/pause']) {
    it(`is answered 413 on POST ${path} before the client has sent it, and the connection is closed`, async () => {
      const r = await send('POST', path, { total: FIFTY_MB, chunk: filler });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'payload_too_large', message: `the body exceeds ${LIMIT} bytes; send fewer instances per request`, details: null } });
      expect(r.headers.connection).toBe('close');
      // The answer came while the upload was far from done (the sockets' buffers hold a few MB at most) ...
      expect(r.sentBeforeAnswer).toBeGreaterThan(LIMIT);
      expect(r.sentBeforeAnswer).toBeLessThan(FIFTY_MB / 4);
      // ... from a server that had read little more than the limit, and then closed the connection.
      expect(r.serverRead).toBeLessThan(LIMIT + 1024 * 1024);
      expect(r.serverClosed).toBe(true);
    });
  }

  it('is answered 413 at once when Content-Length announces it', async () => {
    const r = await send('POST', '/v1/pipelines', { total: FIFTY_MB, chunk: filler }, { 'content-type': 'application/json', 'content-length': String(FIFTY_MB) });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(r.serverRead).toBeLessThan(LIMIT + 1024 * 1024);
    expect(r.serverClosed).toBe(true);
  });
});

describe('a body at the size limit', () => {
  /** A JSON object padded to exactly `bytes` bytes with `unit` (1 to 3 bytes in UTF-8). */
  const padded = (prefix: string, suffix: string, bytes: number, unit = 'x') => {
    const room = bytes - Buffer.byteLength(prefix + suffix);
    const units = Math.floor(room / Buffer.byteLength(unit));
    return prefix + unit.repeat(units) + 'x'.repeat(room - units * Buffer.byteLength(unit)) + suffix;
  };

  it('is read whole and validated, chunked or with Content-Length; one byte more is a 413', async () => {
    const atLimit = padded('{"pad":"', '"}', LIMIT);
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', 'content-length': String(LIMIT) }] as Record<string, string>[]) {
      const r = await send('POST', '/v1/pipelines/foo/runs', atLimit, headers);
      expect(r.status).toBe(422);
      expect(JSON.parse(r.body).error.message).toBe('body: Unrecognized key: "pad"');
    }
    // LIMIT bytes in small chunks (a repeated prefix): read whole, then found not to be JSON.
    const chunked = await send('POST', '/v1/pipelines/foo/runs', { total: LIMIT, chunk: Buffer.from(atLimit.slice(0, 1000)) });
    expect(chunked.status).toBe(400);
    expect(JSON.parse(chunked.body).error.message).toBe('the request body is not valid JSON');
    expect((await send('POST', '/v1/pipelines/foo/runs', padded('{"pad":"', '"}', LIMIT + 1))).status).toBe(413);
  });

  it('is counted in bytes, not characters', async () => {
    // Under the limit in characters (a third of it), over it in bytes: "€" is 3 bytes in UTF-8.
    const euros = padded('{"pad":"', '"}', LIMIT + 3, '€');
    expect(euros.length).toBeLessThan(LIMIT);
    expect((await send('POST', '/v1/pipelines/foo/runs', euros)).status).toBe(413);
    const fits = padded('{"pad":"', '"}', LIMIT, '€');
    const r = await send('POST', '/v1/pipelines/foo/runs', fits);
    expect(r.status).toBe(422);
  });

  it('is scored on the predict route, from the bytes as sent', async () => {
    const body = padded('{"instances":[{"note":"', '"}]}', LIMIT, 'é');
    const r = await send('POST', '/v1/models/m/predict', body);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ model: 'm', version: 1, alias: 'production', predictions: [{ value: 0 }] });
    expect(logged.at(-1)!.requestJson).toBe(body);
  });
});

describe('TRACE on a served path', () => {
  it('is a 405 with Allow; on an unknown path a 404', async () => {
    const r = await send('TRACE', '/v1/pipelines', undefined, {});
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD, POST');
    expect(JSON.parse(r.body).error.code).toBe('method_not_allowed');
    expect((await send('TRACE', '/v1/nothing', undefined, {})).status).toBe(404);
  });
});
