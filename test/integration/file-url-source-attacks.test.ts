// A pipeline's `file` source is a path or URL someone else wrote, read by the worker from inside the
// platform. A path is read only when its real path lies under an allowed root (SOURCE_FILE_ROOTS), never the
// platform's own data; a URL is fetched only from a public address, or one SOURCE_URL_ALLOW opens, at most
// SOURCE_URL_MAX_BYTES, through at most 3 redirects each checked again (data/source-files.ts,
// data/source-urls.ts). Each attack below is refused with a reason a person can act on: 422 when the spec
// alone tells, else a non-retryable InvalidSource failure of the run on its first attempt; no message quotes
// what the file or server holds.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';

/** What the platform's internal endpoint answers: no failure message may quote it. */
const INTERNAL_SECRET = '# internal_metric_hunter2 1';
/** A column name polars would quote in its error about a malformed CSV. */
const COLUMN_SECRET = 'hunter2-column';
const TOKEN = 'Bearer fixture-token-hunter2';
const MAX_BYTES = 64 * 1024;

const vegaData = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');
const penguins = JSON.parse(readFileSync(join(vegaData, 'penguins.json'), 'utf8')) as Record<string, unknown>[];
const cols = ['species', 'island', 'beak_length', 'beak_depth', 'flipper_length', 'body_mass', 'sex'];
const keys = ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex'];
const penguinsCsv = [cols.join(','), ...penguins.map((r) => keys.map((k) => r[k] ?? '').join(','))].join('\n');

/** The one allowed root of this file's platform; the artifact store sits inside it, and stays unreadable. */
const root = mkdtempSync(join(tmpdir(), 'mlp-file-root-'));
const artifactDir = join(root, 'artifacts');

let p: TestPlatform;
/** An allowlisted data server, and an internal one that is not (think the API's /metrics). */
let fixture: Server;
let internal: Server;
let fixturePort = 0;
let internalPort = 0;

function listen(handler: Parameters<typeof createServer>[1]): Promise<[Server, number]> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve([server, (server.address() as AddressInfo).port])));
}

beforeAll(async () => {
  [internal, internalPort] = await listen((_req, res) => res.end(`${INTERNAL_SECRET}\n`));
  [fixture, fixturePort] = await listen((req, res) => {
    if (req.url === '/penguins.csv') {
      if (req.headers.authorization !== TOKEN) return res.writeHead(401).end('who are you?');
      return res.end(penguinsCsv);
    }
    if (req.url === '/to-internal.csv') return res.writeHead(302, { location: `http://127.0.0.1:${internalPort}/metrics` }).end();
    if (req.url === '/big.csv') return res.end(`a,b\n${'1,2\n'.repeat(MAX_BYTES)}`);
    res.writeHead(404).end();
  });
  writeFileSync(join(root, 'penguins.csv'), penguinsCsv);
  writeFileSync(join(root, 'malformed.csv'), `${COLUMN_SECRET},b\n1,2,3,4\n"x`);
  symlinkSync('/etc/passwd', join(root, 'passwd.csv'));
  p = await createTestPlatform({
    artifactDir,
    env: {
      SOURCE_FILE_ROOTS: root, SOURCE_URL_ALLOW: `127.0.0.1:${fixturePort}`, SOURCE_URL_MAX_BYTES: String(MAX_BYTES),
      SOURCE_SECRET_FIXTURE_TOKEN: TOKEN, SOURCE_HEADER_ORIGINS: `http://127.0.0.1:${fixturePort}`,
    },
  });
});
afterAll(async () => {
  await p?.stop();
  for (const s of [fixture, internal]) {
    s?.closeAllConnections();
    s?.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const model = { hiddenLayers: [8], epochs: 15, learningRate: 0.01, earlyStoppingPatience: 5 };
const spec = (name: string, source: Record<string, unknown>) => ({ name, source: { kind: 'file', ...source }, target: 'species', split: { kind: 'random', testFraction: 0.25, seed: 3 }, model });

const leaks = (message: string) => {
  expect(message).not.toMatch(/root:x?:0:0/);
  expect(message).not.toContain('hunter2');
  expect(message).not.toContain('Adelie');
};

describe('what still works', () => {
  it('a CSV under an allowed root', async () => {
    expect((await p.request('POST', '/v1/pipelines', spec('root-csv', { path: join(root, 'penguins.csv') }))).status).toBe(201);
    const run = await p.runPipeline('root-csv');
    if (run.error) throw run.error;
    expect(run.result!.metrics.accuracy).toBeGreaterThan(0.8);
  });

  it('a URL to an allowlisted server, its credential sent from a reference the spec holds instead of the value', async () => {
    const created = await p.request('POST', '/v1/pipelines', spec('fixture-url', {
      path: `http://127.0.0.1:${fixturePort}/penguins.csv`, headers: { Authorization: { env: 'SOURCE_SECRET_FIXTURE_TOKEN' } },
    }));
    expect(created.status).toBe(201);
    const run = await p.runPipeline('fixture-url');
    if (run.error) throw run.error;
    expect(run.result!.metrics.accuracy).toBeGreaterThan(0.8);
    const listed = await p.request('GET', '/v1/pipelines');
    const stored = (listed.body.pipelines as { name: string; spec: { source: unknown } }[]).find((x) => x.name === 'fixture-url')!;
    expect(stored.spec.source).toEqual({ kind: 'file', path: `http://127.0.0.1:${fixturePort}/penguins.csv`, headers: { Authorization: { env: 'SOURCE_SECRET_FIXTURE_TOKEN' } } });
    expect(JSON.stringify(listed.body)).not.toContain('hunter2');
  });
});

describe('specs refused at POST /v1/pipelines (422)', () => {
  it.each([
    ['a URL with credentials', { path: 'https://user:hunter2@example.com/data.csv' }, /body\.source\.path: a URL source may not carry credentials .*send them as a header reference instead/],
    ['a URL with a token as its user', { path: 'https://hunter2@example.com/data.csv' }, /body\.source\.path: a URL source may not carry credentials/],
    ['a file:// URL', { path: 'file:///etc/passwd' }, /body\.source\.path: a URL source must be http:\/\/ or https:\/\//],
    ['a header holding its value', { path: 'https://example.com/data.csv', headers: { Authorization: 'Bearer hunter2' } }, /body\.source\.headers\.Authorization: a header value is a reference/],
    ['a header referencing a platform setting', { path: 'https://example.com/data.csv', headers: { Authorization: { env: 'DATABASE_URL' } } }, /body\.source\.headers\.Authorization\.env: a header may reference only an environment variable named SOURCE_SECRET_<NAME>/],
  ])('%s', async (_what, source, message) => {
    const res = await p.request('POST', '/v1/pipelines', spec(`refused-${randomBytes(3).toString('hex')}`, source));
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(message);
    expect(res.body.error.message).not.toContain('hunter2');
  });
});

describe('sources refused when the run reads them: InvalidSource on the first attempt of collect', () => {
  const OUTSIDE = /is outside the folders sources may read; it may be read only from under: .* \(SOURCE_FILE_ROOTS on the worker adds folders\)/;
  const NOT_PUBLIC = (address: string, reason: string) =>
    new RegExp(`points at ${address.replace(/[.]/g, '\\.')}: ${reason}, not a public address; URL sources may reach only public addresses \\(an operator can allow a host or network with SOURCE_URL_ALLOW`);
  // Sources and messages are functions: the servers' ports are known once they listen.
  const cases: [string, () => Record<string, unknown>, () => RegExp[]][] = [
    ['/etc/passwd', () => ({ path: '/etc/passwd', format: 'csv' }), () => [/source file \/etc\/passwd is outside/, OUTSIDE]],
    ['a dataset in the platform\'s artifact folder, inside an allowed root', () => ({ path: artifactFile() }),
      () => [/is part of the platform's own data \(the artifact store or DATA_DIR's state\), which sources never read/]],
    ['../ out of a root', () => ({ path: join(root, '..', '..', '..', '..', 'etc', 'passwd'), format: 'csv' }), () => [OUTSIDE]],
    ['../ out of a root, relative to it', () => ({ path: '../../../../etc/passwd', format: 'csv' }), () => [/source file \.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd is outside/]],
    ['a symbolic link inside a root pointing out of it', () => ({ path: join(root, 'passwd.csv') }), () => [/resolves \(through a symbolic link or ".."\) to a place outside those folders/]],
    ['a malformed file whose column name the reader would quote', () => ({ path: join(root, 'malformed.csv') }),
      () => [/could not read .*malformed\.csv as csv: it is not valid csv that polars can read \(the reader's message is in the worker log/]],
    ['the platform\'s own endpoint on 127.0.0.1', () => ({ path: `http://127.0.0.1:${internalPort}/metrics.csv` }), () => [NOT_PUBLIC('127.0.0.1', 'loopback')]],
    ['[::1]', () => ({ path: `http://[::1]:${internalPort}/metrics.csv` }), () => [NOT_PUBLIC('::1', 'loopback')]],
    ['the cloud metadata service 169.254.169.254', () => ({ path: 'http://169.254.169.254/latest/meta-data/iam.json' }), () => [NOT_PUBLIC('169.254.169.254', 'link-local \\(where cloud metadata services answer\\)')]],
    ['a private 10.x address', () => ({ path: 'http://10.0.0.1/data.csv' }), () => [NOT_PUBLIC('10.0.0.1', 'private \\(RFC 1918\\)')]],
    ['a host name that resolves to loopback', () => ({ path: `http://localhost:${internalPort}/metrics.csv` }), () => [/\(localhost resolves to it\): loopback, not a public address/]],
    ['an allowlisted server redirecting to 127.0.0.1', () => ({ path: `http://127.0.0.1:${fixturePort}/to-internal.csv` }),
      () => [new RegExp(`the URL http://127.0.0.1:${internalPort}/metrics points at 127.0.0.1: loopback, not a public address`)]],
    ['a response larger than SOURCE_URL_MAX_BYTES', () => ({ path: `http://127.0.0.1:${fixturePort}/big.csv` }),
      () => [new RegExp(`is larger than ${MAX_BYTES} bytes \\(SOURCE_URL_MAX_BYTES\\); the download was stopped`)]],
  ];

  it.each(cases)('%s', async (_what, source, messages) => {
    const name = `attack-${randomBytes(3).toString('hex')}`;
    // The check before saving refuses a local file now, with the run's own reasons and nothing saved; a
    // URL is fetched only by a run.
    const src = source();
    const checked = await p.request('POST', '/v1/pipelines', spec(name, src));
    if (String(src.path).startsWith('http')) expect(checked.status).toBe(201);
    else {
      expect(checked.status).toBe(422);
      for (const m of messages()) expect(checked.body.error.message).toMatch(m);
      leaks(checked.body.error.message);
      expect((await p.request('GET', `/v1/pipelines/${name}`)).status).toBe(404);
    }
    // The run checks again: saved unchecked, it refuses the same source.
    const created = await p.request('POST', '/v1/pipelines?check=false', spec(name, src));
    expect([200, 201]).toContain(created.status);
    const run = await p.runPipeline(name);
    const { failure, maxAttempt, stage } = await failureOf(p, run);
    expect(failure.type).toBe('InvalidSource');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^collect failed: /);
    for (const m of messages()) expect(failure.message).toMatch(m);
    leaks(failure.message);
    expect(failure.message).not.toContain('internal_metric');
    expect(maxAttempt, 'no retries').toBe(1);
    expect(stage).toBe('collect');
  });
});

/** A dataset the first run wrote to the artifact store. */
function artifactFile(): string {
  const found = readdirSync(artifactDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('raw.parquet'));
  expect(found, 'the first run wrote its raw dataset').toBeDefined();
  return join(artifactDir, found!);
}
