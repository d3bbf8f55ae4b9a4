// The monitor on real data with real shifts: a Seattle weather classifier trained through 2014 serves 2015.
// Unshifted, in 20 windows of random halves of the year, the drift checks' false alarms are counted; with
// temp_max raised by 5 °C, drift is reported on temp_max and on no other input. A breached window starts
// exactly one retraining run, also when its judging is retried or the window is judged again (on request or
// by a backfill of the monitor schedule), and with approval configured that run waits for an approver; the
// breach is announced on the operator's webhook, signed, retried until the receiver takes it.
import { copyFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSignature } from '../../activities/monitor.js';
import { resolveBundled } from '../../data/sources.js';
import { mulberry32 } from '../../data/prng.js';
import type { MonitorReport } from '../../pipelines/contract.js';
import { progressQuery } from '../../workflows/definitions.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { seattleWeatherDays, type WeatherDay as Day } from '../support/seattle-weather.js';
import { failureOf } from '../support/run-failure.js';
import { waitFor } from '../support/wait.js';

const MODEL = 'weather-monitor';
const SECRET = 'a-webhook-secret-of-some-length';
const INPUTS = ['precipitation', 'temp_max', 'temp_min', 'wind'];

let p: TestPlatform;
let hook: Server;
const received: { headers: IncomingMessage['headers']; body: string; status: number }[] = [];
/** The judging of the first shifted window fails once after storing its report, as a lost worker would. */
let failNextJudging = false;
let days2015: Day[];

const spec = (extra: Record<string, unknown> = {}) => ({
  name: MODEL, source: { kind: 'file', path: 'weather.csv' }, target: 'weather', timeColumn: 'date',
  split: { kind: 'time', periodMonths: 12, anchor: '01-01' },
  model: { hiddenLayers: [8], epochs: 3, batchSize: 64, learningRate: 0.01, seed: 1 },
  promotion: { metric: 'logLoss', mustBeatProduction: false, mustBeatBaselines: false },
  monitoring: { windowMinutes: 1, minPredictions: 30 },
  // 2015 was a warm year in Seattle: against 2012-2014 its temperatures sit 0.2-0.28 standard deviations
  // higher in every half of it (a real shift, which the defaults' 0.1 flags in some windows). This team
  // calls a shift drift from 0.4 standard deviations, or a PSI over 0.35.
  validation: { ks: { minDistance: 0.4 }, psi: { max: 0.35 } },
  ...extra,
});

beforeAll(async () => {
  // The operator's webhook receiver: refuses the first delivery (a receiver briefly down), takes the rest.
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const status = received.length === 0 ? 503 : 204;
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  p = await createTestPlatform({
    env: { MONITOR_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/mlp`, MONITOR_WEBHOOK_SECRET: SECRET },
    faults: (point) => {
      if (point === 'monitor-window' && failNextJudging) {
        failNextJudging = false;
        throw new Error('injected: the worker was lost after storing the report');
      }
    },
  });
  await copyFile(resolveBundled('seattle-weather.csv'), join(p.config.sources.files.roots[0], 'weather.csv'));
  expect((await p.request('POST', '/v1/pipelines', spec())).status).toBe(201);
  const run = await p.runPipeline(MODEL, { asOf: '2014-12-31T23:59:59Z' });
  if (run.error) throw new Error((await failureOf(p, run)).failure.message);
  days2015 = await seattleWeatherDays('2015');
}, 240_000);
afterAll(async () => {
  await p?.stop();
  await new Promise((r) => hook?.close(r));
});

/** Serves `days` (inputs only, in requests of 50) and returns the window that holds exactly their predictions. */
async function serve(days: Day[], change: (d: Day) => Day = (d) => d): Promise<{ from: string; to: string }> {
  await new Promise((r) => setTimeout(r, 3));
  const from = new Date(Date.now() - 1);
  for (let at = 0; at < days.length; at += 50) {
    const res = await p.request('POST', `/v1/models/${MODEL}/predict`, {
      instances: days.slice(at, at + 50).map(change).map((d) => ({ precipitation: d.precipitation, temp_max: d.temp_max, temp_min: d.temp_min, wind: d.wind })),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const to = new Date(Date.now() + 1);
  await new Promise((r) => setTimeout(r, 3));
  await p.predictionLog.flush();
  return { from: from.toISOString(), to: to.toISOString() };
}

async function judge(window: { from: string; to: string }) {
  const res = await p.request('POST', `/v1/models/${MODEL}/monitor/windows`, { ...window, wait: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { workflowId: string; report: MonitorReport; retraining: { workflowId: string; started: boolean } | null; webhook: string };
}

const driftedInputs = (r: MonitorReport) => [...new Set(r.findings.filter((f) => INPUTS.includes(f.column)).map((f) => f.column))];

describe('the monitor', () => {
  let falseAlarms = 0;
  let atDefaults = 0;

  it('unshifted 2015 inputs, 20 windows of random halves: false alarms stay under the significance', async () => {
    const random = mulberry32(2015);
    for (let w = 0; w < 20; w++) {
      const half = days2015.filter(() => random() < 0.5);
      const { report } = await judge(await serve(half));
      expect(report.predictions).toBe(half.length);
      expect(report.drift.judged).toBe(true);
      expect(report.drift.columns.map((c) => c.column).sort()).toEqual(['(prediction)', ...INPUTS].sort());
      if (driftedInputs(report).length > 0) falseAlarms++;
      // What the default thresholds (KS at 0.05 over the window's 5 tests with a Wasserstein distance of 0.1;
      // PSI 0.25) would have said of the same window.
      if (report.drift.columns.some((c) => INPUTS.includes(c.column) && ((c.ks!.pValue < 0.05 / 5 && c.wasserstein! >= 0.1) || c.psi! > 0.25))) atDefaults++;
    }
    console.log(`[monitor] unshifted 2015, 20 windows of random halves: ${falseAlarms} window(s) with an input drift finding (false-alarm rate ${falseAlarms / 20}); at the default thresholds ${atDefaults}`);
    // The default significance is 0.05 over the whole window (Bonferroni over its columns).
    expect(falseAlarms / 20).toBeLessThanOrEqual(0.05);
  }, 600_000);

  let shifted: { from: string; to: string };
  let first: Awaited<ReturnType<typeof judge>>;

  it('2015 with temp_max raised by 5 °C: drift on temp_max and no other input; one retraining, waiting for approval; the webhook, signed', async () => {
    // From now on a breach retrains, and a candidate waits for an approver.
    const v2 = await p.request('POST', '/v1/pipelines', spec({
      monitoring: { windowMinutes: 1, minPredictions: 30, retrain: 'on-breach' },
      promotion: { metric: 'logLoss', mustBeatProduction: false, mustBeatBaselines: false, approval: { expiresAfterSeconds: 3600 } },
    }));
    expect(v2.status, JSON.stringify(v2.body)).toBe(201);
    // At the start of a minute, so that the monitor schedule's minute window holds these predictions alone (the backfill below).
    await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 50));
    shifted = await serve(days2015, (d) => ({ ...d, temp_max: d.temp_max + 5 }));
    failNextJudging = true;
    first = await judge(shifted);
    expect(failNextJudging).toBe(false);
    const { report } = first;
    expect(report).toMatchObject({ model: MODEL, version: 1, predictions: 365, breach: true, drift: { judged: true } });
    expect(driftedInputs(report)).toEqual(['temp_max']);
    const ks = report.findings.find((f) => f.column === 'temp_max' && f.check === 'ks')!;
    expect(ks.message).toMatch(/temp_max drifted: Kolmogorov–Smirnov p-value/);
    expect(report.drift.columns.find((c) => c.column === 'temp_max')!.wasserstein).toBeGreaterThan(0.5);

    // One retraining run, started by the monitor, waiting for a person.
    expect(first.retraining).toMatchObject({ started: true });
    const handle = p.temporal.workflow.getHandle(first.retraining!.workflowId);
    await waitFor(async () => ((await handle.query(progressQuery).catch(() => null))?.stage === 'awaiting-approval' ? true : undefined), 'the retraining to wait for approval', 180_000);
    const [runRow] = (await p.owner.execute(sql`SELECT trigger, started_by FROM runs WHERE workflow_id = ${first.retraining!.workflowId}`)).rows as { trigger: string; started_by: string }[];
    expect(runRow).toEqual({ trigger: 'monitor', started_by: `monitor:${MODEL}` });

    // The webhook: refused once, delivered on the retry, signed over the timestamp and the body.
    expect(first.webhook).toBe('sent');
    expect(received.map((r) => r.status)).toEqual([503, 204]);
    const delivered = received[1];
    expect(delivered.headers['x-mlp-signature']).toBe(webhookSignature(SECRET, String(delivered.headers['x-mlp-timestamp']), delivered.body));
    expect(delivered.headers['x-mlp-signature']).not.toBe(webhookSignature('another secret entirely', String(delivered.headers['x-mlp-timestamp']), delivered.body));
    const payload = JSON.parse(delivered.body);
    expect(payload).toMatchObject({ event: 'monitor.breach', model: MODEL, report: { id: report.id, breach: true } });
    expect(received[0].headers['x-mlp-delivery']).toBe(delivered.headers['x-mlp-delivery']);
  }, 400_000);

  it('the same window judged again finds its report and its retraining: nothing new starts', async () => {
    const again = await judge(shifted);
    expect(again.report).toEqual(first.report);
    expect(again.retraining).toEqual({ workflowId: first.retraining!.workflowId, started: false });
    const { rows } = await p.owner.execute(sql`SELECT count(*)::int AS n FROM monitor_reports WHERE model = ${MODEL} AND window_from = ${shifted.from}`);
    expect(rows[0]).toEqual({ n: 1 });
    const { rows: runs } = await p.owner.execute(sql`SELECT count(*)::int AS n FROM runs WHERE pipeline = ${MODEL} AND trigger = 'monitor'`);
    expect(runs[0]).toEqual({ n: 1 });
  }, 120_000);

  it('serves reports, a chart over the windows and gauges for the alert rules', async () => {
    const viewer = { authorization: `Bearer ${await p.keyFor('viewer')}` };
    const list = await p.request('GET', `/v1/models/${MODEL}/monitor/reports?limit=100`, undefined, viewer);
    expect(list.status).toBe(200);
    expect(list.body.reports).toHaveLength(21);
    expect(list.body.reports[0].id).toBe(first.report.id);
    const one = await p.request('GET', `/v1/models/${MODEL}/monitor/reports/${encodeURIComponent(first.report.id)}`, undefined, viewer);
    expect(one.body).toEqual(first.report);
    expect((await p.request('GET', `/v1/models/${MODEL}/monitor/reports/not-a-window`, undefined, viewer)).status).toBe(404);

    const svg = await p.request('GET', `/v1/models/${MODEL}/monitor/chart.svg?statistic=psi&column=temp_max`, undefined, viewer);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.body).toMatch(/^<svg /);
    // 21 windows, one point each; the breached window's point is red.
    expect((svg.body.match(/<circle /g) ?? []).length).toBe(21);
    expect(svg.body).toContain('fill="#d62728"><title>temp_max');

    await p.request('GET', '/health/ready');
    await waitFor(async () => {
      const text = await (await p.app.request('/metrics')).text();
      return /model_monitor_breach\{model="weather-monitor"\} 1/.test(text) ? text : undefined;
    }, 'the breach gauge', 10_000).then((text) => {
      expect(text).toMatch(/model_monitor_findings\{model="weather-monitor",check="ks"\} [1-9]/);
      expect(text).toMatch(/model_monitor_drift_psi\{model="weather-monitor",column="temp_max"\} \d/);
    });
  });

  it('a backfill of the monitor schedule judges each window once, and a second backfill starts no more retraining', async () => {
    const put = await p.request('PUT', `/v1/models/${MODEL}/monitor`, { paused: true, note: 'backfill only' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ model: MODEL, exists: true, paused: true, windowMinutes: 1, retrain: 'on-breach' });
    // The minute windows that hold the shifted predictions (their actions' nominal times are the windows' ends).
    const firstEnd = Math.floor(Date.parse(shifted.from) / 60_000) * 60_000 + 60_000;
    const lastEnd = Math.ceil(Date.parse(shifted.to) / 60_000) * 60_000;
    const from = new Date(firstEnd - 1000);
    const to = new Date(lastEnd + 1000);
    // A backfill judges windows that are over.
    await new Promise((r) => setTimeout(r, Math.max(0, to.getTime() + 500 - Date.now())));
    const backfill = async () => {
      const res = await p.request('POST', `/v1/models/${MODEL}/monitor/backfill`, { from: from.toISOString(), to: to.toISOString() });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    };
    const windows = (lastEnd - firstEnd) / 60_000 + 1;
    const minuteReports = async () => (await p.owner.execute(sql`SELECT count(*)::int AS n FROM monitor_reports WHERE model = ${MODEL} AND window_to - window_from = interval '1 minute'`)).rows[0] as { n: number };
    await backfill();
    await waitFor(async () => ((await minuteReports()).n === windows ? true : undefined), `${windows} backfilled windows`, 120_000);
    const retrainings = async () => ((await p.owner.execute(sql`SELECT count(*)::int AS n FROM runs WHERE pipeline = ${MODEL} AND trigger = 'monitor'`)).rows[0] as { n: number }).n;
    const afterFirst = await waitFor(async () => {
      const n = await retrainings();
      return n >= 2 ? n : undefined;
    }, 'the backfilled windows\' retraining', 60_000);
    expect(afterFirst).toBeLessThanOrEqual(1 + windows);
    await backfill();
    // The second backfill's workflows run and find their windows' reports and retraining runs.
    await waitFor(async () => {
      const listed = await p.temporal.workflow.list({ query: `WorkflowType = 'modelMonitor' AND WorkflowId STARTS_WITH 'monitor:${MODEL}:scheduled' AND ExecutionStatus = 'Running'` });
      for await (const _ of listed) return undefined;
      return true;
    }, 'the second backfill to finish', 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await minuteReports()).toEqual({ n: windows });
    expect(await retrainings()).toBe(afterFirst);
  }, 300_000);

  it('refuses what it cannot judge with a reason', async () => {
    const scientist = { authorization: `Bearer ${await p.keyFor('viewer')}` };
    const denied = await p.request('POST', `/v1/models/${MODEL}/monitor/windows`, { from: shifted.from, to: shifted.to }, scientist);
    expect(denied.status).toBe(403);
    const backwards = await p.request('POST', `/v1/models/${MODEL}/monitor/windows`, { from: shifted.to, to: shifted.from });
    expect(backwards.status).toBe(422);
    expect(backwards.body.error.message).toMatch(/`from` must be before `to`/);
    const long = await p.request('POST', `/v1/models/${MODEL}/monitor/windows`, { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' });
    expect(long.status).toBe(422);
    const none = await p.request('POST', '/v1/models/no-such-model/monitor/windows', { from: shifted.from, to: shifted.to });
    expect(none.status).toBe(404);
  });

  afterAll(async () => {
    // The retraining runs wait for an approver nobody will be: end them with the test.
    const { rows } = await p.owner.execute(sql`SELECT workflow_id FROM runs WHERE pipeline = ${MODEL} AND trigger = 'monitor'`);
    for (const r of rows as { workflow_id: string }[]) await p.temporal.workflow.getHandle(r.workflow_id).terminate('test over').catch(() => undefined);
    await p.temporal.schedule.getHandle(`monitor-${MODEL}`).delete().catch(() => undefined);
  });
});
