// The one place that reads process.env. Parsed once with zod; everything else receives a Config.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseAllowRule } from './addresses.js';

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
/** A comma-separated list; empty entries are dropped. */
const list = z.preprocess(emptyAsUndefined, z.string().optional())
  .transform((v) => (v ?? '').split(',').map((e) => e.trim()).filter(Boolean));

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** The worker's own HTTP port: /health/* and /metrics (when it runs without the API). */
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** The Temporal SDK's Prometheus exporter on the worker (0 disables). */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Root of everything the embedded defaults keep on disk (Temporal SQLite file, Postgres cluster, artifacts). */
  DATA_DIR: z.string().default('.data'),
  /** Folder of the artifact store (datasets, models, reports); default DATA_DIR/artifacts. */
  ARTIFACT_DIR: optionalString,
  /** External Temporal frontend (host:port). Unset: the project starts a local dev server. */
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('ml-pipelines'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  /** Base URL of the Temporal Web UI, used to build links to runs. */
  TEMPORAL_UI_URL: optionalString,
  /** Path of the `temporal` binary; found on PATH or in .tools/bin when unset. */
  TEMPORAL_CLI_PATH: optionalString,
  /** External Postgres. Unset: the project starts an embedded PostgreSQL under DATA_DIR. */
  DATABASE_URL: optionalString,
  /** A file holding DATABASE_URL (a mounted secret); used when DATABASE_URL itself is unset. */
  DATABASE_URL_FILE: optionalString,
  EMBEDDED_PG_PORT: z.coerce.number().int().default(54329),
  /**
   * The login pipelines' `sql` sources run as: a read-only role (mlp_source_reader, schema source_data), never
   * the registry's. Unset with the embedded Postgres: the platform gives that role a login itself. Unset with
   * DATABASE_URL: `sql` sources are refused.
   */
  SOURCE_DATABASE_URL: optionalString,
  /** A file holding SOURCE_DATABASE_URL (a mounted secret); used when SOURCE_DATABASE_URL itself is unset. */
  SOURCE_DATABASE_URL_FILE: optionalString,
  /** How long one `sql` source query may run before Postgres cancels it (the run fails, not retried). */
  SOURCE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1).max(2_147_483_647).default(30_000),
  /** Most rows a `sql` source may return; a query returning more fails the run instead of being read whole. */
  SOURCE_MAX_ROWS: z.coerce.number().int().min(1).default(5_000_000),
  /**
   * Folders `file` sources may read (besides the bundled vega-datasets); default DATA_DIR/sources, made at
   * worker start. ARTIFACT_DIR and DATA_DIR's own state are never read, even inside one of these.
   */
  SOURCE_FILE_ROOTS: list,
  /**
   * Hosts, host:port pairs, IP addresses or CIDR networks URL sources may reach although they are not public
   * (loopback, private, link-local, ...), e.g. an internal data server.
   */
  SOURCE_URL_ALLOW: list.superRefine((entries, ctx) => {
    for (const e of entries) {
      try {
        parseAllowRule(e);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
  }),
  /** How long a URL source may take to connect, and may stay silent while answering. */
  SOURCE_URL_TIMEOUT_MS: z.coerce.number().int().min(1).max(2_147_483_647).default(30_000),
  /** Most bytes a URL source may download; a larger answer fails the run. */
  SOURCE_URL_MAX_BYTES: z.coerce.number().int().min(1).default(512 * 1024 * 1024),
  /** Folders whose files URL source headers may reference (`{ "file": "/path" }`); none by default. */
  SOURCE_HEADER_FILE_ROOTS: list,
  /** Origins (scheme://host[:port]) that may receive a URL source's header references: credentials go nowhere else. */
  SOURCE_HEADER_ORIGINS: list.pipe(z.array(z.string().refine(isOrigin, 'an origin such as https://data.example.com (scheme, host, optional port; no path)'))),
  /** How often an API replica re-reads aliases so alias moves are served without a restart. */
  MODEL_REFRESH_MS: z.coerce.number().int().min(100).default(2000),
  /** Fraction of predict requests stored in prediction_log (0 disables, 1 logs all). */
  PREDICTION_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  /** Entries held in memory awaiting their batch insert; beyond it new entries are dropped (and counted), never waited for. */
  PREDICTION_LOG_MAX_QUEUE: z.coerce.number().int().min(1).default(10_000),
  /** Days prediction_log keeps an entry; older ones are deleted by the API replicas (0 keeps everything). */
  PREDICTION_LOG_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /** Max request body for the API. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
  /** Who the API records as the actor of changes when the caller sends no X-Actor header. */
  DEFAULT_ACTOR: z.string().default('api'),
  /** Where the CLI finds the API; default: this machine on PORT. */
  API_URL: optionalString,
  /** Commit the image was built from (set by the Dockerfile); else read from git. */
  GIT_COMMIT: optionalString,
});

export type Config = ReturnType<typeof loadConfig>;

function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * Values URL source headers may reference (`{ "env": "SOURCE_SECRET_TOKEN" }`): only variables with this
 * prefix, so a spec can never send the platform's own settings (DATABASE_URL, ...) to a server.
 */
export const SOURCE_SECRET_PREFIX = 'SOURCE_SECRET_';
const SourceSecretsSchema = z.record(z.string().regex(/^SOURCE_SECRET_[A-Z0-9_]+$/), z.string());

function sourceSecrets(env: NodeJS.ProcessEnv): Record<string, string> {
  const entries = Object.entries(env).filter((e): e is [string, string] => e[0].startsWith(SOURCE_SECRET_PREFIX) && typeof e[1] === 'string');
  const parsed = SourceSecretsSchema.safeParse(Object.fromEntries(entries));
  if (!parsed.success) {
    throw new Error(`Invalid configuration in environment:\n  ${SOURCE_SECRET_PREFIX}*: names are ${SOURCE_SECRET_PREFIX} then A-Z, 0-9 or _\nSee .env.example for every setting.`);
  }
  return parsed.data;
}

/** Secrets may come from mounted files: `<NAME>_FILE` names a file whose content is the value. */
const SECRET_SETTINGS = ['DATABASE_URL', 'SOURCE_DATABASE_URL'] as const;

function withFileSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    if (!env[name] && file) {
      try {
        out[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new Error(`${name}_FILE points at ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); mount the secret there or set ${name}`);
      }
    }
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(withFileSecrets(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration in environment:\n${lines}\nSee .env.example for every setting.`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  const defaultFileRoot = resolve(dataDir, 'sources');
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    workerPort: e.WORKER_PORT,
    temporalMetricsPort: e.TEMPORAL_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    dataDir,
    artifactDir: resolve(e.ARTIFACT_DIR ?? resolve(dataDir, 'artifacts')),
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? (e.TEMPORAL_ADDRESS ? undefined : `http://localhost:${e.TEMPORAL_UI_PORT}`),
      cliPath: e.TEMPORAL_CLI_PATH,
    },
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
    sources: {
      databaseUrl: e.SOURCE_DATABASE_URL, statementTimeoutMs: e.SOURCE_STATEMENT_TIMEOUT_MS, maxRows: e.SOURCE_MAX_ROWS,
      files: {
        roots: e.SOURCE_FILE_ROOTS.length ? e.SOURCE_FILE_ROOTS.map((r) => resolve(r)) : [defaultFileRoot],
        /** The default root, made by the worker when missing; null when SOURCE_FILE_ROOTS names the roots. */
        createRoot: e.SOURCE_FILE_ROOTS.length ? null : defaultFileRoot,
      },
      urls: { allow: e.SOURCE_URL_ALLOW, timeoutMs: e.SOURCE_URL_TIMEOUT_MS, maxBytes: e.SOURCE_URL_MAX_BYTES },
      headers: { secrets: sourceSecrets(env), fileRoots: e.SOURCE_HEADER_FILE_ROOTS.map((r) => resolve(r)), origins: e.SOURCE_HEADER_ORIGINS.map((o) => new URL(o).origin) },
    },
    serving: { refreshMs: e.MODEL_REFRESH_MS, maxBodyBytes: e.MAX_BODY_BYTES },
    predictionLog: { sampleRate: e.PREDICTION_LOG_SAMPLE_RATE, maxQueue: e.PREDICTION_LOG_MAX_QUEUE, retentionDays: e.PREDICTION_LOG_RETENTION_DAYS },
    defaultActor: e.DEFAULT_ACTOR,
    gitCommit: e.GIT_COMMIT,
    apiUrl: e.API_URL ?? `http://localhost:${e.PORT}`,
  };
}
