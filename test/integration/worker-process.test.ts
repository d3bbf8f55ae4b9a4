// The worker as it runs in a container: `mlp worker` on its own, with probes and /metrics on WORKER_PORT
// and the Temporal SDK's metrics on TEMPORAL_METRICS_PORT.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';

let child: ChildProcess;
let workerPort: number;
let sdkPort: number;
let output = '';

beforeAll(async () => {
  const db = `w_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  [workerPort, sdkPort] = [await freePort(), await freePort()];
  child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'mlp.mjs'), 'worker'], {
    env: {
      ...process.env, DATABASE_URL: inject('pgAdminUrl').replace(/\/postgres$/, `/${db}`), TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `worker-process-${db}`, WORKER_PORT: String(workerPort), TEMPORAL_METRICS_PORT: String(sdkPort), LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${workerPort}/health/startup`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

describe('mlp worker', () => {
  it('answers the probes on its own port', async () => {
    expect(await (await fetch(`http://127.0.0.1:${workerPort}/health/live`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${workerPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', components: { postgres: { ok: true }, temporal: { ok: true }, worker: { ok: true } } });
    // The worker trains, so it has initialised tfjs; it serves no models, so it reports no inference engines.
    const health = (await (await fetch(`http://127.0.0.1:${workerPort}/health`)).json()) as Record<string, unknown>;
    expect(health.tfjsBackend).toMatch(/^(wasm|cpu|tensorflow)$/);
    expect(health).not.toHaveProperty('inference');
  });

  it('serves its own metrics and the Temporal SDK\'s', async () => {
    const own = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();
    expect(own).toMatch(/^# HELP pipeline_runs_started_total /m);
    expect(own).toMatch(/^# HELP pipeline_stage_duration_seconds /m);
    const sdk = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
    expect(sdk).toMatch(/^temporal_\w+/m);
  });

  it('logs JSON lines and stops cleanly on SIGTERM', async () => {
    const lines = output.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('worker polling');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
