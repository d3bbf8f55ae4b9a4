// The worker as it runs in a container: `mlp worker` on its own, with probes and /metrics on WORKER_PORT
// and the Temporal SDK's metrics on TEMPORAL_METRICS_PORT.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../app/free-port.js';
import { startRole, type RoleProcess } from '../support/role-process.js';

let worker: RoleProcess;
let workerPort: number;
let sdkPort: number;

beforeAll(async () => {
  const db = `w_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  [workerPort, sdkPort] = [await freePort(), await freePort()];
  worker = await startRole('worker', {
    env: {
      DATABASE_URL: inject('pgAdminUrl').replace(/\/postgres$/, `/${db}`), TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `worker-process-${db}`, WORKER_PORT: String(workerPort), TEMPORAL_METRICS_PORT: String(sdkPort), LOG_LEVEL: 'info',
    },
    startupUrl: `http://127.0.0.1:${workerPort}/health/startup`,
  });
});
afterAll(() => worker?.stop());

describe('mlp worker', () => {
  it('answers the probes on its own port', async () => {
    expect(await (await fetch(`http://127.0.0.1:${workerPort}/health/live`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${workerPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', components: { postgres: { ok: true }, temporal: { ok: true }, artifacts: { ok: true }, worker: { ok: true } } });
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
    const lines = worker.output().trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('worker polling');
    expect(await worker.stop()).toBe(0);
  });
});
