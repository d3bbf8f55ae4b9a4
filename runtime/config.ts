// The one place that reads process.env. Parsed once with zod; everything else receives a Config.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseAllowRule } from './addresses.js';
import { availableCores } from './available-cores.js';

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
/** A comma-separated list; empty entries are dropped. */
const list = z.preprocess(emptyAsUndefined, z.string().optional())
  .transform((v) => (v ?? '').split(',').map((e) => e.trim()).filter(Boolean));

/** More API processes than this is a misconfiguration: each holds its own models, pools and writer thread. */
const MAX_API_PROCESSES = 64;

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Interface the API, the worker's probe port and the Temporal SDK's metrics exporter listen on: this machine
   * only by default. Containers set 0.0.0.0 (Dockerfile, docker-compose.yml, k8s/configmap.yaml).
   */
  HOST: z.string().default('127.0.0.1'),
  /** The worker's own HTTP port: /health/* and /metrics (when it runs without the API). */
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** The Temporal SDK's Prometheus exporter on the worker (0 disables). */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Root of everything the embedded defaults keep on disk (Temporal SQLite file, Postgres cluster, artifacts). */
  DATA_DIR: z.string().default('.data'),
  /** Folder of the artifact store (datasets, models, reports); default DATA_DIR/artifacts. */
  ARTIFACT_DIR: optionalString,
  /**
   * Where artifacts live: `local` (ARTIFACT_DIR, one machine or a shared volume) or `s3` (a bucket of any
   * S3-compatible store, so workers and API replicas on several machines share them without a shared volume).
   */
  ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  /** s3: the bucket (it must exist) and the key prefix under which this platform's artifacts live. */
  ARTIFACT_S3_BUCKET: optionalString,
  ARTIFACT_S3_PREFIX: z.string().max(512).regex(/^[A-Za-z0-9._=/-]*$/, 'letters, digits and . _ = / - only')
    .refine((p) => !p.includes('//') && p.split('/').every((part) => part !== '.' && part !== '..'), 'no "." or ".." parts and no "//": the prefix names one place in the bucket')
    .default(''),
  /** s3: the endpoint of a store other than AWS (MinIO, Versity, Ceph, SeaweedFS…); addressed path-style. */
  ARTIFACT_S3_ENDPOINT: optionalString,
  ARTIFACT_S3_REGION: z.preprocess(emptyAsUndefined, z.string().max(64).default('us-east-1')),
  /**
   * s3: the access key pair. Unset: the AWS SDK's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web
   * identity token in Kubernetes, instance roles). Either may come from a mounted file (…_FILE).
   */
  ARTIFACT_S3_ACCESS_KEY_ID: optionalString,
  ARTIFACT_S3_ACCESS_KEY_ID_FILE: optionalString,
  ARTIFACT_S3_SECRET_ACCESS_KEY: optionalString,
  ARTIFACT_S3_SECRET_ACCESS_KEY_FILE: optionalString,
  /**
   * s3: this machine's working copy of artifacts (what a stage writes before upload, and what it has
   * downloaded); default DATA_DIR/artifact-cache. Never shared between machines; safe to delete when idle.
   */
  ARTIFACT_CACHE_DIR: optionalString,
  /**
   * s3: how many GB the working copy may hold before the runs and jobs used longest ago leave it (their
   * artifacts stay in the bucket; none used in the last 8 hours, longer than any stage runs); 0: no bound.
   */
  ARTIFACT_CACHE_MAX_GB: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(1_000_000).default(20)),
  /** External Temporal frontend (host:port). Unset: the project starts a local dev server. */
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('ml-pipelines'),
  /**
   * What a worker process polls: `pipelines` (workflows and every stage but training, on TEMPORAL_TASK_QUEUE)
   * and/or `training` (on TEMPORAL_TASK_QUEUE-training). Both by default; a GPU or many-core machine may
   * take only training, a small one only the rest.
   */
  WORKER_TASK_QUEUES: z.preprocess((v) => (v === '' ? undefined : typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v),
    z.array(z.enum(['pipelines', 'training'])).min(1, 'name at least one of pipelines, training').default(['pipelines', 'training'])),
  /** The worker's name in workflow histories; default the SDK's pid@hostname (a pod's name in Kubernetes). */
  WORKER_IDENTITY: z.preprocess(emptyAsUndefined, z.string().max(200).optional()),
  /** Stages (other than training) a worker runs at once. */
  WORKER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Trainings a worker runs at once, each in a thread of its own; default the cores this process may use minus one
   * (at least one), which leaves a core for the other stages and heartbeats.
   */
  WORKER_TRAINING_SLOTS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(256).optional()),
  TEMPORAL_DEV_PORT: z.coerce.number().int().default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  /** Base URL of the Temporal Web UI, used to build links to runs. */
  TEMPORAL_UI_URL: optionalString,
  /** Path of the `temporal` binary; found on PATH or in .tools/bin when unset. */
  TEMPORAL_CLI_PATH: optionalString,
  /**
   * TLS to the external Temporal frontend (true/false). Unset: on when a CA, a client certificate or an API key
   * is given, else off. `false` together with any of those is refused (an API key never goes out in clear text).
   */
  TEMPORAL_TLS: z.preprocess(emptyAsUndefined, z.enum(['true', 'false', '1', '0']).optional()).transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')),
  /** PEM file of the CA that signed the frontend's certificate; default: the system's trusted CAs. */
  TEMPORAL_TLS_CA_FILE: optionalString,
  /** mTLS: PEM files of the client certificate and its private key (both or neither); read at connect time. */
  TEMPORAL_TLS_CERT_FILE: optionalString,
  TEMPORAL_TLS_KEY_FILE: optionalString,
  /** The name the frontend's certificate is checked against, when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** API key sent as `Authorization: Bearer ...` on every Temporal call (a secret); implies TLS. */
  TEMPORAL_API_KEY: optionalString,
  /** A file holding TEMPORAL_API_KEY (a mounted secret); used when TEMPORAL_API_KEY itself is unset. */
  TEMPORAL_API_KEY_FILE: optionalString,
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
  /**
   * Processes the API role runs, all serving PORT (node:cluster; app/api-processes.ts): 1 runs it in one
   * process as before. Default: the cores this process may use (runtime/available-cores.ts: the CPUs it may
   * run on, lowered to a container's cgroup CPU limit, which Node 20's os.availableParallelism() does not see).
   */
  API_PROCESSES: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(MAX_API_PROCESSES).optional()),
  /** How often an API replica re-reads aliases so alias moves are served without a restart. */
  MODEL_REFRESH_MS: z.coerce.number().int().min(100).default(2000),
  /**
   * Model versions an API replica keeps loaded besides the ones aliases point at (those are always kept):
   * versions asked for explicitly (`?version=N`) or left behind by an alias move. The least recently used
   * one is evicted when another is loaded.
   */
  MODEL_CACHE_MAX_VERSIONS: z.coerce.number().int().min(1).default(8),
  /** Fraction of predict requests stored in prediction_log (0 disables, 1 logs all). */
  PREDICTION_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  /** Entries held in memory awaiting their batch insert; beyond it new entries are dropped (and counted), never waited for. */
  PREDICTION_LOG_MAX_QUEUE: z.coerce.number().int().min(1).default(10_000),
  /** Days prediction_log keeps an entry; older ones are deleted by the API replicas (0 keeps everything). */
  PREDICTION_LOG_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /** Max request body for the API. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
  /** Predict requests each caller may make per second on one API replica, sustained (0: no limit). */
  RATE_LIMIT_PREDICT_PER_SECOND: z.coerce.number().min(0).default(1000),
  /** Predict requests a caller may make at once before the per-second rate applies. */
  RATE_LIMIT_PREDICT_BURST: z.coerce.number().int().min(1).default(2000),
  /** Changes (POST, PUT, PATCH, DELETE outside predict) each caller may make per minute on one API replica (0: no limit). */
  RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().min(0).default(120),
  /** Changes a caller may make at once before the per-minute rate applies. */
  RATE_LIMIT_MUTATIONS_BURST: z.coerce.number().int().min(1).default(30),
  /** How often an API replica re-reads the API keys: a revoked key stops working on every replica within this time. */
  API_KEY_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /** `true`: GET /metrics needs a caller with the viewer capability (read), like the other routes. Default: open to scrapers. */
  METRICS_REQUIRE_AUTH: z.preprocess(emptyAsUndefined, z.enum(['true', 'false', '1', '0']).optional()).transform((v) => v === 'true' || v === '1'),
  /**
   * The shared secret of a trusted gateway (sent as X-Gateway-Secret): only its requests may name the acting
   * person in X-Actor. Unset: X-Actor is refused.
   */
  TRUSTED_GATEWAY_SECRET: optionalString,
  /** A file holding TRUSTED_GATEWAY_SECRET (a mounted secret). */
  TRUSTED_GATEWAY_SECRET_FILE: optionalString,
  /** OpenID Connect: the identity provider's issuer. Set with OIDC_AUDIENCE and OIDC_JWKS_URL to accept its JWTs as bearer tokens. */
  OIDC_ISSUER: optionalString,
  /** The audience (aud) the tokens must be issued for. */
  OIDC_AUDIENCE: optionalString,
  /** Where the provider publishes its signing keys (JWKS). */
  OIDC_JWKS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  /** The claim that holds the caller's roles or groups (dotted path, e.g. realm_access.roles). */
  OIDC_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** The claim that names the caller in audit rows. */
  OIDC_NAME_CLAIM: z.string().min(1).default('sub'),
  /** Groups mapped to roles, for groups that are not role names: `ml-admins=admin,data-science=scientist`. */
  OIDC_ROLE_MAP: list.pipe(z.array(z.string().regex(/^[^=]+=(viewer|predictor|scientist|approver|admin)$/, 'group=role, the role one of viewer, predictor, scientist, approver, admin'))),
  /**
   * The database owner's login, which applies the migrations (DDL). DATABASE_URL is then the runtime role's
   * (mlp_runtime: no DDL, the audit log append-only). Unset: DATABASE_URL applies them too.
   */
  MIGRATION_DATABASE_URL: optionalString,
  /** A file holding MIGRATION_DATABASE_URL (a mounted secret). */
  MIGRATION_DATABASE_URL_FILE: optionalString,
  /** The API key the CLI sends; default: the admin key `mlp up` stored in DATA_DIR/api-key on first start. */
  MLP_API_KEY: optionalString,
  /** A file holding MLP_API_KEY. */
  MLP_API_KEY_FILE: optionalString,
  /** Where the CLI finds the API; default: this machine on PORT. */
  API_URL: optionalString,
  /** Commit the image was built from (set by the Dockerfile); else read from git. */
  GIT_COMMIT: optionalString,
  /**
   * Where the monitor POSTs a breached window's report (JSON). Set by the operator, never by a pipeline, so
   * it may be an internal address (an Alertmanager or chat relay); redirects are not followed. Unset: no webhook.
   */
  MONITOR_WEBHOOK_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  /**
   * The shared secret the webhook is signed with: X-MLP-Signature is `sha256=` and the hex HMAC-SHA256 of
   * `<X-MLP-Timestamp>.<body>`. Required with MONITOR_WEBHOOK_URL (a receiver must be able to tell us from anyone).
   */
  MONITOR_WEBHOOK_SECRET: optionalString,
  /** A file holding MONITOR_WEBHOOK_SECRET (a mounted secret). */
  MONITOR_WEBHOOK_SECRET_FILE: optionalString,
  /** Milliseconds the monitor waits for the webhook's answer before the attempt counts as failed (then retried with backoff). */
  MONITOR_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
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
const SECRET_SETTINGS = ['DATABASE_URL', 'SOURCE_DATABASE_URL', 'TEMPORAL_API_KEY', 'TRUSTED_GATEWAY_SECRET', 'MIGRATION_DATABASE_URL', 'MLP_API_KEY', 'ARTIFACT_S3_ACCESS_KEY_ID', 'ARTIFACT_S3_SECRET_ACCESS_KEY', 'MONITOR_WEBHOOK_SECRET'] as const;

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

/** The object store's settings when ARTIFACT_STORE=s3 (checked together), else the local store's. */
function artifactStoreSettings(e: z.infer<typeof EnvSchema>, dataDir: string) {
  if (e.ARTIFACT_STORE === 'local') return { kind: 'local' as const };
  const problems: string[] = [];
  if (!e.ARTIFACT_S3_BUCKET) problems.push('ARTIFACT_S3_BUCKET: unset, but ARTIFACT_STORE=s3 needs the bucket the artifacts go to');
  else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(e.ARTIFACT_S3_BUCKET)) problems.push('ARTIFACT_S3_BUCKET: not a bucket name (3-63 lowercase letters, digits, dots and hyphens)');
  if (e.ARTIFACT_S3_ENDPOINT !== undefined && !isOrigin(e.ARTIFACT_S3_ENDPOINT)) problems.push('ARTIFACT_S3_ENDPOINT: an http(s) origin such as http://minio:9000, without a path');
  if (!e.ARTIFACT_S3_ACCESS_KEY_ID !== !e.ARTIFACT_S3_SECRET_ACCESS_KEY) problems.push('ARTIFACT_S3_ACCESS_KEY_ID and ARTIFACT_S3_SECRET_ACCESS_KEY go together: set both (or their _FILE forms), or neither to use the AWS SDK\'s credential chain');
  if (problems.length) throw new Error(`Invalid configuration in environment:\n${problems.map((p) => `  ${p}`).join('\n')}\nSee .env.example for every setting.`);
  return {
    kind: 's3' as const,
    bucket: e.ARTIFACT_S3_BUCKET!,
    prefix: e.ARTIFACT_S3_PREFIX.replace(/^\/+|\/+$/g, ''),
    endpoint: e.ARTIFACT_S3_ENDPOINT?.replace(/\/$/, ''),
    region: e.ARTIFACT_S3_REGION,
    credentials: e.ARTIFACT_S3_ACCESS_KEY_ID ? { accessKeyId: e.ARTIFACT_S3_ACCESS_KEY_ID, secretAccessKey: e.ARTIFACT_S3_SECRET_ACCESS_KEY! } : undefined,
    cacheDir: resolve(e.ARTIFACT_CACHE_DIR ?? resolve(dataDir, 'artifact-cache')),
    cacheMaxBytes: Math.round(e.ARTIFACT_CACHE_MAX_GB * 1e9),
  };
}

/** OIDC settings, all three of issuer, audience and JWKS URL, or none. */
function monitorWebhookSettings(e: z.infer<typeof EnvSchema>) {
  if (!e.MONITOR_WEBHOOK_URL) return null;
  const url = new URL(e.MONITOR_WEBHOOK_URL);
  // fetch refuses a URL with credentials, and would name them in every failure it records: the secret signs instead.
  if (url.username || url.password) throw new Error('Invalid configuration in environment:\n  MONITOR_WEBHOOK_URL: carries a user name or password; remove them (the webhook is signed with MONITOR_WEBHOOK_SECRET)\nSee .env.example for every setting.');
  if (!e.MONITOR_WEBHOOK_SECRET || e.MONITOR_WEBHOOK_SECRET.length < 16) {
    throw new Error('Invalid configuration in environment:\n  MONITOR_WEBHOOK_SECRET: set it (at least 16 characters) with MONITOR_WEBHOOK_URL, so the receiver can check the webhook came from this platform\nSee .env.example for every setting.');
  }
  return { url: e.MONITOR_WEBHOOK_URL, secret: e.MONITOR_WEBHOOK_SECRET, timeoutMs: e.MONITOR_WEBHOOK_TIMEOUT_MS };
}

function oidcSettings(e: z.infer<typeof EnvSchema>) {
  const given = [e.OIDC_ISSUER, e.OIDC_AUDIENCE, e.OIDC_JWKS_URL].filter((v) => v !== undefined).length;
  if (given === 0) return null;
  if (given < 3) throw new Error('Invalid configuration in environment:\n  OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL go together: set all three to accept the identity provider\'s tokens, or none\nSee .env.example for every setting.');
  return {
    issuer: e.OIDC_ISSUER!, audience: e.OIDC_AUDIENCE!, jwksUrl: e.OIDC_JWKS_URL!, rolesClaim: e.OIDC_ROLES_CLAIM, nameClaim: e.OIDC_NAME_CLAIM,
    roleMap: Object.fromEntries(e.OIDC_ROLE_MAP.map((entry) => entry.split('=') as [string, string])) as Record<string, 'viewer' | 'predictor' | 'scientist' | 'approver' | 'admin'>,
  };
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
    apiProcesses: e.API_PROCESSES ?? Math.min(MAX_API_PROCESSES, availableCores()),
    host: e.HOST,
    workerPort: e.WORKER_PORT,
    temporalMetricsPort: e.TEMPORAL_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    dataDir,
    artifactDir: resolve(e.ARTIFACT_DIR ?? resolve(dataDir, 'artifacts')),
    artifactStore: artifactStoreSettings(e, dataDir),
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      worker: { queues: [...new Set(e.WORKER_TASK_QUEUES)], identity: e.WORKER_IDENTITY, slots: { activities: e.WORKER_ACTIVITY_SLOTS, training: e.WORKER_TRAINING_SLOTS ?? Math.max(1, availableCores() - 1) } },
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? (e.TEMPORAL_ADDRESS ? undefined : `http://localhost:${e.TEMPORAL_UI_PORT}`),
      cliPath: e.TEMPORAL_CLI_PATH,
      /** TLS and API key of the connection (files are read at connect time: runtime/temporal-connection.ts). */
      connection: temporalConnectionSettings(e, env),
    },
    database: { url: e.DATABASE_URL, migrationUrl: e.MIGRATION_DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
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
    serving: { refreshMs: e.MODEL_REFRESH_MS, maxBodyBytes: e.MAX_BODY_BYTES, cacheMaxVersions: e.MODEL_CACHE_MAX_VERSIONS },
    /** Token buckets per caller (api/rate-limit.ts); ratePerSecond 0 means no limit. */
    rateLimits: {
      predict: { ratePerSecond: e.RATE_LIMIT_PREDICT_PER_SECOND, burst: e.RATE_LIMIT_PREDICT_BURST },
      mutations: { ratePerSecond: e.RATE_LIMIT_MUTATIONS_PER_MINUTE / 60, burst: e.RATE_LIMIT_MUTATIONS_BURST },
    },
    predictionLog: { sampleRate: e.PREDICTION_LOG_SAMPLE_RATE, maxQueue: e.PREDICTION_LOG_MAX_QUEUE, retentionDays: e.PREDICTION_LOG_RETENTION_DAYS },
    auth: {
      keyRefreshMs: e.API_KEY_REFRESH_MS,
      metricsRequireAuth: e.METRICS_REQUIRE_AUTH,
      gatewaySecret: e.TRUSTED_GATEWAY_SECRET ?? null,
      oidc: oidcSettings(e),
    },
    monitor: { webhook: monitorWebhookSettings(e) },
    gitCommit: e.GIT_COMMIT,
    apiUrl: e.API_URL ?? `http://localhost:${e.PORT}`,
    apiKey: e.MLP_API_KEY,
  };
}

/**
 * The Temporal connection's TLS and API key (TEMPORAL_TLS*, TEMPORAL_API_KEY), checked together. The files
 * are only named here; runtime/temporal-connection.ts reads them when it connects.
 */
function temporalConnectionSettings(e: z.infer<typeof EnvSchema>, env: NodeJS.ProcessEnv) {
  const tlsSettings = (['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const)
    .filter((name) => e[name] !== undefined);
  const problems: string[] = [];
  if (env.TEMPORAL_API_KEY_FILE && !env.TEMPORAL_API_KEY && e.TEMPORAL_API_KEY === undefined) {
    problems.push(`TEMPORAL_API_KEY_FILE: ${env.TEMPORAL_API_KEY_FILE} is empty; put the API key in it or unset TEMPORAL_API_KEY_FILE`);
  }
  if (!e.TEMPORAL_TLS_CERT_FILE !== !e.TEMPORAL_TLS_KEY_FILE) {
    const missing = e.TEMPORAL_TLS_CERT_FILE ? 'TEMPORAL_TLS_KEY_FILE' : 'TEMPORAL_TLS_CERT_FILE';
    problems.push(`${missing}: unset, but mTLS needs both TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE (the client certificate and its key)`);
  }
  if (e.TEMPORAL_TLS === false && tlsSettings.length) {
    problems.push(`TEMPORAL_TLS: false, but ${tlsSettings.join(', ')} ${tlsSettings.length > 1 ? 'are set, which need' : 'is set, which needs'} TLS; unset TEMPORAL_TLS or ${tlsSettings.length > 1 ? 'them' : 'it'}`);
  }
  if (!e.TEMPORAL_ADDRESS && (e.TEMPORAL_TLS || tlsSettings.length)) {
    const named = [...(e.TEMPORAL_TLS ? ['TEMPORAL_TLS'] : []), ...tlsSettings];
    problems.push(`TEMPORAL_ADDRESS: unset, which starts the local dev server (no TLS, no API key), but ${named.join(', ')} ${named.length > 1 ? 'are' : 'is'} set; set TEMPORAL_ADDRESS to your Temporal frontend or unset ${named.length > 1 ? 'them' : 'it'}`);
  }
  if (problems.length) throw new Error(`Invalid configuration in environment:\n${problems.map((p) => `  ${p}`).join('\n')}\nSee .env.example for every setting.`);
  return {
    /** TLS on: TEMPORAL_TLS, else whether any TLS setting or an API key is given. */
    tls: e.TEMPORAL_TLS ?? tlsSettings.length > 0,
    caFile: e.TEMPORAL_TLS_CA_FILE,
    certFile: e.TEMPORAL_TLS_CERT_FILE,
    keyFile: e.TEMPORAL_TLS_KEY_FILE,
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
    apiKey: e.TEMPORAL_API_KEY,
  };
}
