// Configuration: one schema, every setting documented in .env.example, and clear errors.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvSchema, loadConfig } from '../../../runtime/config.js';

const example = readFileSync(join(import.meta.dirname, '..', '..', '..', '.env.example'), 'utf8');
const exampleVars = Object.fromEntries(example.split('\n').filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));

describe('config', () => {
  it('.env.example lists every setting the platform reads, and nothing else', () => {
    expect(Object.keys(exampleVars).sort()).toEqual(Object.keys(EnvSchema.shape).sort());
  });

  it('the example values are valid and give the embedded defaults', () => {
    const c = loadConfig(exampleVars);
    expect(c.database.url).toBeUndefined();
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.uiUrl).toBe('http://localhost:8233');
    expect(c.port).toBe(3000);
    expect(c.sources).toEqual({
      databaseUrl: undefined, statementTimeoutMs: 30_000, maxRows: 5_000_000,
      files: { roots: [join(c.dataDir, 'sources')], createRoot: join(c.dataDir, 'sources') },
      urls: { allow: [], timeoutMs: 30_000, maxBytes: 512 * 1024 * 1024 },
      headers: { secrets: {}, fileRoots: [], origins: [] },
    });
  });

  it('takes the monitor webhook with a secret of some length, and never a URL carrying credentials', () => {
    expect(loadConfig({}).monitor.webhook).toBeNull();
    const secret = 'sixteen-chars-at-least';
    expect(loadConfig({ MONITOR_WEBHOOK_URL: 'http://alerts.internal:9093/hook', MONITOR_WEBHOOK_SECRET: secret }).monitor.webhook)
      .toEqual({ url: 'http://alerts.internal:9093/hook', secret, timeoutMs: 10_000 });
    expect(() => loadConfig({ MONITOR_WEBHOOK_URL: 'http://alerts.internal/hook' })).toThrow(/MONITOR_WEBHOOK_SECRET: set it \(at least 16 characters\)/);
    expect(() => loadConfig({ MONITOR_WEBHOOK_URL: 'http://alerts.internal/hook', MONITOR_WEBHOOK_SECRET: 'short' })).toThrow(/at least 16 characters/);
    let message = '';
    try {
      loadConfig({ MONITOR_WEBHOOK_URL: 'https://bot:hunter2-password@alerts.internal/hook', MONITOR_WEBHOOK_SECRET: secret });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/MONITOR_WEBHOOK_URL: carries a user name or password/);
    expect(message).not.toContain('hunter2');
  });

  it('reads what file and URL sources may reach, and the secrets their headers may reference', () => {
    const c = loadConfig({
      DATA_DIR: '/srv/mlp', SOURCE_FILE_ROOTS: '/data/a, /data/b,', SOURCE_URL_ALLOW: 'data.internal,10.2.0.0/16,127.0.0.1:8080,[::1]:9000',
      SOURCE_URL_TIMEOUT_MS: '500', SOURCE_URL_MAX_BYTES: '1024', SOURCE_HEADER_FILE_ROOTS: '/run/secrets',
      SOURCE_HEADER_ORIGINS: 'https://data.example.com, http://10.2.0.5:8080/',
      SOURCE_SECRET_DATA_TOKEN: 'Bearer abc', DATABASE_URL: 'postgres://app:pw@db/mlp',
    });
    expect(c.sources.files).toEqual({ roots: ['/data/a', '/data/b'], createRoot: null });
    expect(c.sources.urls).toEqual({ allow: ['data.internal', '10.2.0.0/16', '127.0.0.1:8080', '[::1]:9000'], timeoutMs: 500, maxBytes: 1024 });
    // Only SOURCE_SECRET_* variables can be referenced: never DATABASE_URL.
    expect(c.sources.headers).toEqual({ secrets: { SOURCE_SECRET_DATA_TOKEN: 'Bearer abc' }, fileRoots: ['/run/secrets'], origins: ['https://data.example.com', 'http://10.2.0.5:8080'] });
    expect(() => loadConfig({ SOURCE_HEADER_ORIGINS: 'https://data.example.com/path' })).toThrow(/SOURCE_HEADER_ORIGINS/);
    expect(() => loadConfig({ SOURCE_URL_ALLOW: '10.0.0.0/33' })).toThrow(/SOURCE_URL_ALLOW: "10.0.0.0\/33" is neither an IP address nor a CIDR network/);
    expect(() => loadConfig({ SOURCE_SECRET_bad: 'x' })).toThrow(/SOURCE_SECRET_\*: names are SOURCE_SECRET_ then A-Z/);
  });

  it('reads the sql sources\' login and limits, the login also from a mounted file', () => {
    const c = loadConfig({ SOURCE_DATABASE_URL: 'postgres://mlp_source_reader:pw@db:5432/mlplatform', SOURCE_STATEMENT_TIMEOUT_MS: '500', SOURCE_MAX_ROWS: '1000' });
    expect(c.sources).toMatchObject({ databaseUrl: 'postgres://mlp_source_reader:pw@db:5432/mlplatform', statementTimeoutMs: 500, maxRows: 1000 });
    const file = join(mkdtempSync(join(tmpdir(), 'mlp-secret-')), 'source-database-url');
    writeFileSync(file, 'postgres://mlp_source_reader:s3cret@db:5432/mlplatform\n');
    expect(loadConfig({ SOURCE_DATABASE_URL_FILE: file }).sources.databaseUrl).toBe('postgres://mlp_source_reader:s3cret@db:5432/mlplatform');
    expect(() => loadConfig({ SOURCE_DATABASE_URL_FILE: '/nonexistent/source' })).toThrow(/SOURCE_DATABASE_URL_FILE points at \/nonexistent\/source/);
    expect(() => loadConfig({ SOURCE_MAX_ROWS: '0', SOURCE_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/SOURCE_STATEMENT_TIMEOUT_MS: .*\n.*SOURCE_MAX_ROWS: /s);
  });

  it('reads a secret from a mounted file when only <NAME>_FILE is set', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mlp-secret-')), 'database-url');
    writeFileSync(file, 'postgres://app:s3cret@db:5432/mlplatform\n');
    expect(loadConfig({ DATABASE_URL_FILE: file }).database.url).toBe('postgres://app:s3cret@db:5432/mlplatform');
    expect(loadConfig({ DATABASE_URL_FILE: file, DATABASE_URL: 'postgres://x@y/z' }).database.url).toBe('postgres://x@y/z');
    expect(() => loadConfig({ DATABASE_URL_FILE: '/nonexistent/secret' })).toThrow(/DATABASE_URL_FILE points at \/nonexistent\/secret, which cannot be read \(ENOENT\)/);
  });

  it('checks the S3 store\'s settings together, and reads the worker\'s queues and slots', () => {
    expect(loadConfig({}).artifactStore).toEqual({ kind: 'local' });
    expect(() => loadConfig({ ARTIFACT_STORE: 's3' })).toThrow(/ARTIFACT_S3_BUCKET: unset, but ARTIFACT_STORE=s3 needs the bucket/);
    expect(() => loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'Bad_Bucket' })).toThrow(/ARTIFACT_S3_BUCKET: not a bucket name/);
    expect(() => loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'b1', ARTIFACT_S3_ENDPOINT: 'http://minio:9000/path' })).toThrow(/ARTIFACT_S3_ENDPOINT: an http\(s\) origin/);
    expect(() => loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'b1', ARTIFACT_S3_ACCESS_KEY_ID: 'k' })).toThrow(/go together/);
    expect(() => loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'b1', ARTIFACT_S3_PREFIX: '../x y' })).toThrow(/ARTIFACT_S3_PREFIX: letters, digits/);
    const dir = mkdtempSync(join(tmpdir(), 'mlp-config-'));
    writeFileSync(join(dir, 'secret'), 'from-a-file\n');
    const s3 = loadConfig({
      ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'mlp-artifacts', ARTIFACT_S3_PREFIX: '/team-a/', ARTIFACT_S3_ENDPOINT: 'http://object-store:7070/',
      ARTIFACT_S3_ACCESS_KEY_ID: 'key', ARTIFACT_S3_SECRET_ACCESS_KEY_FILE: join(dir, 'secret'), DATA_DIR: dir,
    }).artifactStore;
    expect(s3).toEqual({
      kind: 's3', bucket: 'mlp-artifacts', prefix: 'team-a', endpoint: 'http://object-store:7070', region: 'us-east-1',
      credentials: { accessKeyId: 'key', secretAccessKey: 'from-a-file' }, cacheDir: join(dir, 'artifact-cache'), cacheMaxBytes: 20e9,
    });
    expect(loadConfig({ WORKER_TASK_QUEUES: 'training, training', WORKER_TRAINING_SLOTS: '3' }).temporal.worker).toMatchObject({ queues: ['training'], slots: { activities: 4, training: 3 } });
    expect(() => loadConfig({ WORKER_TASK_QUEUES: 'gpu' })).toThrow(/WORKER_TASK_QUEUES/);
    expect(() => loadConfig({ WORKER_TASK_QUEUES: ',' })).toThrow(/name at least one of pipelines, training/);
    // Empty means the default, as for every other setting.
    expect(loadConfig({ WORKER_TASK_QUEUES: '', WORKER_TRAINING_SLOTS: '' }).temporal.worker.queues).toEqual(['pipelines', 'training']);
    const empties = loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'bk1', ARTIFACT_S3_REGION: '', ARTIFACT_CACHE_MAX_GB: '' }).artifactStore;
    expect(empties.kind === 's3' && [empties.region, empties.cacheMaxBytes]).toEqual(['us-east-1', 20e9]);
    for (const prefix of ['a/../b', 'a//b', './a', 'a/..']) {
      expect(() => loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'bk1', ARTIFACT_S3_PREFIX: prefix }), prefix).toThrow(/ARTIFACT_S3_PREFIX: no "\." or "\.\." parts/);
    }
  });

  it('names every bad setting and points at .env.example', () => {
    expect(() => loadConfig({ PORT: 'eighty', PREDICTION_LOG_SAMPLE_RATE: '2' })).toThrow(/PORT: .*\n.*PREDICTION_LOG_SAMPLE_RATE: .*\nSee \.env\.example/s);
  });
});
