// One schemathesis run against a served API, and what it found: every request it sent (logged by a hook),
// the operations it covered and every 5xx answer. Used by scripts/fuzz.ts, which `npm run fuzz`
// runs and test/integration/fuzz.test.ts spawns (tests import nothing of scripts/). The pinned schemathesis
// lives in .tools/fuzz-venv (scripts/fuzz-venv.mjs, run by `node scripts/setup.mjs --test`).
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseToken } from '../registry/api-keys.js';
import { projectRoot } from '../runtime/project-root.js';

export const FUZZ_VENV = join(projectRoot, '.tools', 'fuzz-venv');
export const SCHEMATHESIS_BIN = join(FUZZ_VENV, 'bin', 'schemathesis');
const MARKER = join(FUZZ_VENV, '.schemathesis-version');

/** The pinned version as scripts/fuzz-venv.mjs installs it (the marker it writes), or null when missing. */
export function installedSchemathesis(): string | null {
  if (!existsSync(SCHEMATHESIS_BIN) || !existsSync(MARKER)) return null;
  return readFileSync(MARKER, 'utf8').trim() || null;
}

export const MISSING_VENV = `schemathesis is not installed in ${FUZZ_VENV}; run \`node scripts/setup.mjs --test\` (or \`node scripts/fuzz-venv.mjs\`)`;

/** The check that fails on any 5xx answer: the one the fuzz runs gate on. */
export const SERVER_ERROR_CHECK = 'not_a_server_error';
/** Its failure codes (a 5xx; a 5xx for an undeclared Content-Type). */
export const SERVER_ERROR_CODES = ['ST101', 'ST102'];
/** Checks of the answers against the document: reported by `npm run fuzz -- --conformance`, never gated on. */
export const CONFORMANCE_CHECKS = ['status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];

export interface SchemathesisOptions {
  /** Where the API is served, e.g. http://127.0.0.1:3000 (the document is read from <baseUrl>/openapi.json). */
  baseUrl: string;
  /** An API key the document and every operation accept (an admin's): sent as `Authorization: Bearer`. */
  token: string;
  /** Test cases per operation and phase (schemathesis --max-examples). */
  maxExamples: number;
  seed?: number;
  /** Concurrent schemathesis workers (1 or 2 on a small machine). */
  workers: number;
  /** Seconds each request may take before schemathesis counts it as an error. */
  requestTimeoutS: number;
  /** Checks to run; `not_a_server_error` is always among them. */
  checks?: string[];
  /** Phases to run; default all of schemathesis's (examples, coverage, fuzzing, stateful). */
  phases?: string[];
  /**
   * Values that name existing things, by path parameter (`name`: ["football"], ...): each is used for about
   * half of that parameter's generated values, so requests reach past the 404 (see discoverIdentifiers).
   */
  identifiers?: Record<string, (string | number)[]>;
  /** Also record every request and answer whole, as HAR (large: some 4 KB a request). */
  har?: boolean;
  /** Folder for the reports, the config and hooks files. */
  workDir: string;
  /** Each line schemathesis prints (default: nothing is shown). */
  onOutput?: (line: string) => void;
}

export interface FuzzRequest {
  method: string;
  url: string;
  status: number;
  requestId: string | null;
  /** The request body as sent (truncated); logged for a 5xx only. */
  requestBody: string | null;
  /** The answer's body (truncated); logged for a 5xx only. */
  responseBody: string | null;
}

export interface CheckFailure {
  code: string;
  title: string;
  count: number;
  operations: string[];
}

export interface SchemathesisResult {
  version: string;
  /** The command line, without the token. */
  command: string;
  exitCode: number | null;
  durationMs: number;
  /** Requests schemathesis sent (each one logged by the run's after_call hook). */
  requests: number;
  /** Operations in the document, and how many were tested. */
  operations: { total: number; tested: number; errored: number; skipped: number };
  /** Answers by status code, e.g. { "200": 12, "400": 300 }. */
  statuses: Record<string, number>;
  /** Every answer with a status of 500 or more. */
  serverErrors: FuzzRequest[];
  /** The failed checks schemathesis reports, grouped (5xx ones and, when enabled, conformance). */
  failures: CheckFailure[];
  /** Errors schemathesis met (timeouts, connection errors, schema problems). */
  errors: { title: string; count: number }[];
  /** The files of the run, for a closer look: one JSON line per request, schemathesis's report and output, its HAR recording when asked for. */
  reports: { requests: string; json: string; output: string; har: string | null };
}

const TOKEN_ENV = 'MLP_FUZZ_API_KEY';
const REQUEST_LOG_ENV = 'MLP_FUZZ_REQUEST_LOG';
const TRUNCATE = 2000;

/** Runs schemathesis once; resolves with what it found (a non-zero exit of schemathesis is not a throw). */
export async function runSchemathesis(opts: SchemathesisOptions): Promise<SchemathesisResult> {
  const version = installedSchemathesis();
  if (!version) throw new Error(MISSING_VENV);
  await mkdir(opts.workDir, { recursive: true });
  const requestLog = join(opts.workDir, 'requests.ndjson');
  const har = opts.har ? join(opts.workDir, 'requests.har') : null;
  const json = join(opts.workDir, 'report.json');
  const output = join(opts.workDir, 'output.txt');
  const config = join(opts.workDir, 'schemathesis.toml');
  // The token goes through the environment (schemathesis resolves ${NAME} in its config), not the command
  // line, where any user of the machine could read it.
  await writeFile(config, configFile(opts.identifiers ?? {}));
  const hooks = join(opts.workDir, 'fuzz_hooks.py');
  await writeFile(hooks, hooksModule(parseToken(opts.token)?.id ?? null));
  await writeFile(requestLog, '');
  // The document needs a key too, which schemathesis sends only with its test requests: read it here.
  const document = join(opts.workDir, 'openapi.json');
  const res = await fetch(`${opts.baseUrl}/openapi.json`, { headers: { authorization: `Bearer ${opts.token}` } });
  if (!res.ok) throw new Error(`GET ${opts.baseUrl}/openapi.json answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  await writeFile(document, await res.text());
  const checks = [...new Set([SERVER_ERROR_CHECK, ...(opts.checks ?? [])])];
  const args = [
    '--config-file', config, '--no-color',
    'run', document, '--url', opts.baseUrl,
    '--checks', checks.join(','),
    '--max-examples', String(opts.maxExamples),
    '--workers', String(opts.workers),
    '--request-timeout', String(opts.requestTimeoutS),
    ...(opts.seed === undefined ? [] : ['--seed', String(opts.seed)]),
    ...(opts.phases?.length ? ['--phases', opts.phases.join(',')] : []),
    // Every failure of every test case is counted, not only the first of an operation.
    '--continue-on-failure',
    '--suppress-health-check', 'all',
    '--report', har ? 'json,har' : 'json', '--report-json-path', json, ...(har ? ['--report-har-path', har] : []),
    '--output-truncate', 'true',
    // The bearer scheme is filled from the config's header, not generated.
    '--generation-with-security-parameters', 'false',
    // No example database: a run is reproducible from its seed alone.
    '--generation-database', 'none',
  ];
  const command = [SCHEMATHESIS_BIN, ...args].join(' ');
  const started = Date.now();
  const lines: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(SCHEMATHESIS_BIN, args, {
      cwd: opts.workDir,
      env: { ...process.env, [TOKEN_ENV]: opts.token, SCHEMATHESIS_HOOKS: hooks, [REQUEST_LOG_ENV]: requestLog, NO_COLOR: '1', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        opts.onOutput?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      if (pending) {
        lines.push(pending);
        opts.onOutput?.(pending);
      }
      resolve(code);
    });
  });
  const durationMs = Date.now() - started;
  await writeFile(output, `${lines.join('\n')}\n`);
  if (!existsSync(json)) throw new Error(`schemathesis exited with ${exitCode} without a report; its output:\n${lines.slice(-40).join('\n')}`);
  const report = JSON.parse(await readFile(json, 'utf8')) as JsonReport;
  // One line per request (the hook's after_call), read as a stream: a long run sends hundreds of thousands.
  let requests = 0;
  const statuses: Record<string, number> = {};
  const serverErrors: FuzzRequest[] = [];
  for await (const line of createInterface({ input: createReadStream(requestLog, 'utf8'), crlfDelay: Infinity })) {
    if (!line) continue;
    const r = JSON.parse(line) as FuzzRequest;
    requests++;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status >= 500) serverErrors.push(r);
  }
  return {
    version,
    command,
    exitCode,
    durationMs,
    requests,
    operations: {
      total: report.operations?.total ?? 0, tested: report.operations?.tested ?? 0,
      errored: report.operations?.errored ?? 0, skipped: report.operations?.skipped ?? 0,
    },
    statuses,
    serverErrors,
    failures: report.failures.map((f) => ({ code: f.code, title: f.title, count: f.count, operations: f.operations })),
    errors: report.errors,
    reports: { requests: requestLog, json, output, har },
  };
}

/**
 * schemathesis.toml: the bearer header from the environment, and one dictionary per path parameter with
 * known values, drawn for half of that parameter's values. (TOML strings take JSON's escapes.)
 */
function configFile(identifiers: Record<string, (string | number)[]>): string {
  const lines = [`headers = { Authorization = "Bearer \${${TOKEN_ENV}}" }`, ''];
  const known = Object.entries(identifiers).filter(([, v]) => v.length > 0);
  for (const [param, values] of known) lines.push(`[dictionaries.${param}]`, `values = ${JSON.stringify(values)}`, '');
  if (known.length) lines.push('[parameters]', ...known.map(([param]) => `"path.${param}" = { dictionary = "${param}", probability = 0.5 }`), '');
  return lines.join('\n');
}

/**
 * What exists on the API, by the path parameter that names it: pipeline and model names, model versions,
 * aliases, run workflow IDs, schedule IDs (GET /v1/pipelines, /v1/models, /v1/runs, /v1/schedules).
 */
export async function discoverIdentifiers(baseUrl: string, token: string): Promise<Record<string, (string | number)[]>> {
  // A listing that fails or has another shape gives nothing: the run goes on with generated values only.
  const list = async <T>(path: string, field: string): Promise<T[]> => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = res.ok ? ((await res.json().catch(() => null)) as Record<string, unknown> | null) : (await res.arrayBuffer(), null);
    const items = body?.[field];
    return Array.isArray(items) ? (items as T[]) : [];
  };
  const pipelines = await list<{ name: string }>('/v1/pipelines', 'pipelines');
  const models = await list<{ name: string; latestVersion: number | null; aliases: Record<string, number> | null }>('/v1/models', 'models');
  const runs = await list<{ workflowId: string; asOf: string }>('/v1/runs?limit=50', 'runs');
  const schedules = await list<{ id: string }>('/v1/schedules', 'schedules');
  const unique = <T>(values: T[]) => [...new Set(values.filter((v) => v !== undefined && v !== null && v !== ''))];
  const latest = Math.max(0, ...models.map((m) => m.latestVersion ?? 0));
  return {
    name: unique([...pipelines.map((p) => p.name), ...models.map((m) => m.name)]),
    version: Array.from({ length: Math.min(latest, 20) }, (_, i) => i + 1),
    alias: unique(['production', ...models.flatMap((m) => Object.keys(m.aliases ?? {}))]),
    workflowId: unique(runs.map((r) => r.workflowId)),
    id: unique(schedules.map((s) => s.id)),
    asOf: unique(runs.map((r) => String(r.asOf ?? '').slice(0, 10))),
  };
}

/** The ID every DELETE /v1/keys/{id} of the fuzzing key is sent to instead: well-formed, never made. */
export const UNKNOWN_KEY_ID = '0000000000000000';

/**
 * The schemathesis hooks module of a run. `before_call`: schemathesis learns key IDs from GET /v1/keys and
 * sends them to DELETE /v1/keys/{id}; unguarded, it revoked its own key within seconds and every later
 * request was a 401, so that one call goes to an unknown key instead. `after_call`: one JSON line per request
 * (method, URL, status, request ID; the bodies too for a 5xx) in the file the environment names.
 */
function hooksModule(keyId: string | null): string {
  return [
    '# Written by scripts/schemathesis.ts for one fuzz run.',
    'import json',
    'import os',
    'import threading',
    '',
    'import schemathesis',
    '',
    `PROTECTED = ${JSON.stringify(keyId === null ? [] : [keyId])}`,
    `LOG = open(os.environ["${REQUEST_LOG_ENV}"], "a", encoding="utf-8", buffering=1)`,
    'LOCK = threading.Lock()',
    '',
    '',
    'def _text(data):',
    '    if data is None:',
    '        return None',
    '    if isinstance(data, bytes):',
    '        data = data.decode("utf-8", "replace")',
    `    return data if len(data) <= ${TRUNCATE} else data[:${TRUNCATE}] + "..."`,
    '',
    '',
    '@schemathesis.hook',
    'def before_call(context, case, kwargs):',
    '    if str(case.method).upper() == "DELETE" and case.path == "/v1/keys/{id}" and str(case.path_parameters.get("id")) in PROTECTED:',
    `        case.path_parameters["id"] = "${UNKNOWN_KEY_ID}"`,
    '',
    '',
    '@schemathesis.hook',
    'def after_call(context, case, response):',
    '    request = response.request',
    '    entry = {"method": request.method, "url": request.url, "status": response.status_code,',
    '             "requestId": (response.headers.get("x-request-id") or [None])[0], "requestBody": None, "responseBody": None}',
    '    if response.status_code >= 500:',
    '        entry["requestBody"] = _text(request.body)',
    '        entry["responseBody"] = _text(response.content)',
    '    line = json.dumps(entry)',
    '    with LOCK:',
    '        LOG.write(line + "\\n")',
    '',
  ].join('\n');
}

/** One line per 5xx answer: method, URL, status, request ID. */
export function formatServerErrors(errors: FuzzRequest[]): string {
  return errors.map((e) => `${e.method} ${e.url} -> ${e.status}${e.requestId ? ` (x-request-id ${e.requestId})` : ''}`
    + `${e.requestBody ? `\n    body: ${e.requestBody}` : ''}\n    answer: ${e.responseBody ?? ''}`).join('\n');
}

interface JsonReport {
  operations: { total: number; selected: number; tested: number; errored: number; skipped: number } | null;
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: { title: string; count: number }[];
}
