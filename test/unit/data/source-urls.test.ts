// URL sources: the download itself, against local servers (allowlisted port by port, as an operator would):
// how each answer is classified, redirects, the byte cap, timeouts, and where header references go.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineInputError } from '../../../data/pipeline-error.js';
import { downloadUrl, type HeaderRefs, type UrlSourceAccess } from '../../../data/source-urls.js';

const SECRET_BODY = 'hunter2-in-a-body';
const dir = mkdtempSync(join(tmpdir(), 'mlp-url-'));
const secretsDir = join(dir, 'secrets');
let data: Server;
let other: Server;
let dataPort = 0;
let otherPort = 0;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

function listen(handler: Parameters<typeof createServer>[1]): Promise<[Server, number]> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve([server, (server.address() as AddressInfo).port])));
}

beforeAll(async () => {
  [data, dataPort] = await listen((req, res) => {
    seen.push({ path: req.url!, headers: req.headers });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/ok.csv') return res.end('a,b\n1,2\n');
    if (url.pathname === '/hop') {
      // /hop?n=2 redirects three times: to /hop?n=1, /hop?n=0, then /ok.csv.
      const left = Number(url.searchParams.get('n'));
      return res.writeHead(302, { location: left > 0 ? `/hop?n=${left - 1}` : '/ok.csv' }).end();
    }
    if (url.pathname === '/to-other') return res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/ok.csv` }).end();
    if (url.pathname === '/to-file') return res.writeHead(301, { location: 'file:///etc/passwd' }).end();
    if (url.pathname === '/missing') return res.writeHead(404).end(SECRET_BODY);
    if (url.pathname === '/broken') return res.writeHead(503).end(SECRET_BODY);
    if (url.pathname === '/big') return res.end('x'.repeat(5000));
    if (url.pathname === '/big-chunked') {
      res.writeHead(200, { 'content-type': 'text/csv' });
      for (let i = 0; i < 50; i++) res.write('y'.repeat(100));
      return res.end();
    }
    if (url.pathname === '/silent') return; // never answers
    if (url.pathname === '/stall') return void res.writeHead(200).write('a,b\n'); // starts, then goes silent
    res.writeHead(500).end();
  });
  [other, otherPort] = await listen((req, res) => {
    seen.push({ path: `other:${req.url}`, headers: req.headers });
    res.end('a\n1\n');
  });
  mkdirSync(secretsDir);
  writeFileSync(join(secretsDir, 'token'), 'Bearer from-a-file\n');
});
afterAll(() => {
  for (const s of [data, other]) {
    s?.closeAllConnections();
    s?.close();
  }
});

const access = (over: Partial<UrlSourceAccess> = {}): UrlSourceAccess => ({
  allow: [`127.0.0.1:${dataPort}`], timeoutMs: 1000, maxBytes: 1000, secrets: { SOURCE_SECRET_TOKEN: 'Bearer from-env' },
  headerFileRoots: [secretsDir], headerOrigins: [`http://127.0.0.1:${dataPort}`], artifactDir: join(dir, 'artifacts'), dataDir: join(dir, 'data'), ...over,
});

let n = 0;
async function download(url: string, a = access(), headers?: HeaderRefs) {
  const file = join(dir, `out-${n++}.csv`);
  await downloadUrl(url, headers, a, file);
  return readFileSync(file, 'utf8');
}

async function failure(url: string, a = access(), headers?: HeaderRefs) {
  const err = await download(url, a, headers).then(() => null, (e: unknown) => e as Error);
  expect(err).toBeInstanceOf(Error);
  expect(err!.message).not.toContain(SECRET_BODY);
  return { retried: !(err instanceof PipelineInputError), message: err!.message };
}

describe('downloading a URL source', () => {
  it('reads an allowlisted server, sending the referenced headers', async () => {
    const body = await download(`http://127.0.0.1:${dataPort}/ok.csv`, access(), { Authorization: { env: 'SOURCE_SECRET_TOKEN' }, 'X-From-File': { file: join(secretsDir, 'token') } });
    expect(body).toBe('a,b\n1,2\n');
    expect(seen.at(-1)!.headers).toMatchObject({ authorization: 'Bearer from-env', 'x-from-file': 'Bearer from-a-file' });
  });

  it('refuses what is not public and not allowlisted: another port, localhost, other loopback spellings', async () => {
    for (const url of [`http://127.0.0.1:${otherPort}/`, `http://localhost:${otherPort}/`, `http://[::1]:${otherPort}/`, `http://2130706433:${otherPort}/`, `http://[::ffff:127.0.0.1]:${otherPort}/`]) {
      const f = await failure(url);
      expect(f.retried, url).toBe(false);
      expect(f.message, url).toMatch(/: (IPv4-mapped )?loopback, not a public address; URL sources may reach only public addresses \(an operator can allow a host or network with SOURCE_URL_ALLOW/);
    }
    expect((await failure(`http://localhost:${otherPort}/`)).message).toMatch(/\(localhost resolves to it\)/);
  });

  it('follows up to 3 redirects, checking each target; refuses more, and other schemes', async () => {
    expect(await download(`http://127.0.0.1:${dataPort}/hop?n=2`)).toBe('a,b\n1,2\n');
    const tooMany = await failure(`http://127.0.0.1:${dataPort}/hop?n=3`);
    expect(tooMany).toEqual({ retried: false, message: expect.stringMatching(/redirected more than 3 times/) });
    const toLoopback = await failure(`http://127.0.0.1:${dataPort}/to-other`);
    expect(toLoopback).toEqual({ retried: false, message: expect.stringMatching(new RegExp(`the URL http://127.0.0.1:${otherPort}/ok.csv points at 127.0.0.1: loopback, not a public address`)) });
    expect(await failure(`http://127.0.0.1:${dataPort}/to-file`)).toEqual({ retried: false, message: expect.stringMatching(/URL sources are http\(s\) only; file:\/\/\/etc\/passwd is file/) });
  });

  it('sends header references to the spec\'s origin only: a redirect elsewhere gets none', async () => {
    const a = access({ allow: [`127.0.0.1:${dataPort}`, `127.0.0.1:${otherPort}`] });
    expect(await download(`http://127.0.0.1:${dataPort}/to-other`, a, { Authorization: { env: 'SOURCE_SECRET_TOKEN' } })).toBe('a\n1\n');
    expect(seen.at(-2)!.headers.authorization).toBe('Bearer from-env');
    expect(seen.at(-1)!.path).toBe('other:/ok.csv');
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('sends header references only to an origin in SOURCE_HEADER_ORIGINS: the spec\'s author picks the URL', async () => {
    const before = seen.length;
    const elsewhere = await failure(`http://127.0.0.1:${dataPort}/ok.csv`, access({ headerOrigins: ['https://data.example.com'] }), { Authorization: { env: 'SOURCE_SECRET_TOKEN' } });
    expect(elsewhere).toEqual({ retried: false, message: `header references may be sent only to the origins in SOURCE_HEADER_ORIGINS on the worker, and http://127.0.0.1:${dataPort} is not one of them` });
    expect(seen.length).toBe(before); // refused before any request
  });

  it('classifies answers: 4xx the spec\'s fault, 5xx retried, never quoting the body', async () => {
    expect(await failure(`http://127.0.0.1:${dataPort}/missing`)).toEqual({ retried: false, message: `GET http://127.0.0.1:${dataPort}/missing answered 404` });
    expect(await failure(`http://127.0.0.1:${dataPort}/broken`)).toEqual({ retried: true, message: `GET http://127.0.0.1:${dataPort}/broken answered 503` });
  });

  it('stops past SOURCE_URL_MAX_BYTES, by Content-Length or while streaming', async () => {
    for (const path of ['big', 'big-chunked']) {
      expect(await failure(`http://127.0.0.1:${dataPort}/${path}`)).toEqual({ retried: false, message: expect.stringMatching(/is larger than 1000 bytes \(SOURCE_URL_MAX_BYTES\); the download was stopped/) });
    }
  });

  it('times out a silent server (retried), and a connection refused is retried', async () => {
    const started = Date.now();
    expect(await failure(`http://127.0.0.1:${dataPort}/silent`, access({ timeoutMs: 300 }))).toEqual({ retried: true, message: expect.stringMatching(/timed out: nothing for 300 ms \(SOURCE_URL_TIMEOUT_MS\)/) });
    expect(await failure(`http://127.0.0.1:${dataPort}/stall`, access({ timeoutMs: 300 }))).toEqual({ retried: true, message: expect.stringMatching(/timed out: nothing for 300 ms/) });
    expect(Date.now() - started).toBeLessThan(3000);
    const closed = await listen(() => undefined);
    closed[0].close();
    expect(await failure(`http://127.0.0.1:${closed[1]}/`, access({ allow: [`127.0.0.1:${closed[1]}`] }))).toEqual({ retried: true, message: expect.stringMatching(/failed: ECONNREFUSED/) });
  });

  it('resolves header references on the worker, refusing what they may not read, never showing a value', async () => {
    const missing = await failure(`http://127.0.0.1:${dataPort}/ok.csv`, access(), { Authorization: { env: 'SOURCE_SECRET_NONE' } });
    expect(missing).toEqual({ retried: false, message: 'header Authorization references SOURCE_SECRET_NONE, which is not set on the worker' });
    const outside = await failure(`http://127.0.0.1:${dataPort}/ok.csv`, access(), { Authorization: { file: '/etc/passwd' } });
    expect(outside.message).toMatch(new RegExp(`^header Authorization's file /etc/passwd is outside the folders sources may read; it may be read only from under: ${secretsDir} \\(SOURCE_HEADER_FILE_ROOTS`));
    expect(outside.message).not.toContain('root:');
  });

  it('refuses credentials in the URL, and shows URLs without them', async () => {
    const f = await failure(`http://user:pw@127.0.0.1:${dataPort}/ok.csv`);
    expect(f.retried).toBe(false);
    expect(f.message).toMatch(/carries credentials; send them as a header reference/);
    expect(f.message).not.toMatch(/user|pw@/);
  });
});
