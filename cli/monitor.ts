// `mlp monitor` and `mlp drift`: the monitor of a production model from the command line, through the API.
import { writeFileSync } from 'node:fs';
import type { MonitorReport } from '../pipelines/contract.js';
import type { ApiClient } from './api-client.js';

type Flags = Record<string, string | boolean | undefined>;

interface MonitorView {
  model: string; exists: boolean; paused: boolean | null; note: string | null; windowMinutes: number; retrain: string;
  nextActionTimes: string[]; recentActions: { scheduledAt: string; workflowId: string }[];
  latest: { id: string; breach: boolean; findings: number } | null;
}

const num = (x: number | undefined | null, digits = 3) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x < 1e-3 && x > 0 ? x.toExponential(1) : x.toFixed(digits));

/** A report as a person reads it: one line per compared column, then the findings, the fallbacks and the quality. */
export function printMonitorReport(r: MonitorReport): void {
  console.log(`${r.model} ${r.window.from} .. ${r.window.to}: ${r.predictions} prediction${r.predictions === 1 ? '' : 's'}${r.version !== null ? `, ${r.alias} v${r.version}` : ''} — ${r.breach ? 'BREACH' : 'ok'}`);
  if (r.drift.judged) {
    console.log(`  ${'column'.padEnd(20)} ${'rows'.padStart(8)} ${'psi'.padStart(7)} ${'KS p'.padStart(8)} ${'W/JS'.padStart(7)} ${'missing'.padStart(8)}`);
    for (const c of r.drift.columns) {
      const p = c.ks?.pValue ?? c.chiSquare?.pValue;
      console.log(`  ${c.column.slice(0, 20).padEnd(20)} ${String(c.rows).padStart(8)} ${num(c.psi).padStart(7)} ${num(p).padStart(8)} ${num(c.wasserstein ?? c.jensenShannon).padStart(7)} ${(100 * c.missingShare).toFixed(1).padStart(7)}%`);
    }
  }
  console.log(`  fallbacks (unknown team or category): ${(100 * r.fallbackRate).toFixed(1)}%`);
  if (r.quality) {
    const q = r.quality;
    console.log(`  live ${q.metric}: ${num(q.live?.[q.metric], 4)} over ${q.withOutcome} outcomes (offline ${num(q.offline[q.metric], 4)})`);
  }
  for (const f of r.findings) console.log(`  ${f.action.toUpperCase()} ${f.check}: ${f.message}`);
  for (const n of r.notes) console.log(`  note: ${n}`);
}

/** `mlp monitor <model> [--paused] [--note TEXT]`, `… reports [--limit N]`, `… stop`, `… backfill --start D --end D` */
export async function monitorCommand(api: ApiClient, [model, sub]: string[], f: Flags): Promise<number | null> {
  if (!model || (sub !== undefined && !['reports', 'stop', 'backfill'].includes(sub))) return null;
  const path = `/v1/models/${encodeURIComponent(model)}/monitor`;
  if (sub === 'reports') {
    const { reports } = await api.request<{ reports: MonitorReport[] }>('GET', `${path}/reports?limit=${encodeURIComponent(String(f.limit ?? '20'))}`);
    for (const r of reports) {
      console.log(`${r.window.from} .. ${r.window.to}  ${String(r.predictions).padStart(8)} prediction${r.predictions === 1 ? ' ' : 's'}  ${r.breach ? 'BREACH' : 'ok    '}  ${r.findings.map((x) => `${x.check}:${x.column}`).join(' ')}`);
    }
    return 0;
  }
  let view: MonitorView;
  if (sub === 'stop') {
    view = await api.request<MonitorView>('DELETE', path);
    console.log(`${model} is no longer monitored (its reports stay)`);
  } else if (sub === 'backfill') {
    if (!f.start || !f.end) return null;
    view = await api.request<MonitorView>('POST', `${path}/backfill`, { from: f.start, to: f.end });
    console.log(`${model}: the windows ending from ${f.start} to ${f.end} are being judged (each once)`);
  } else {
    view = await api.request<MonitorView>('PUT', path, { paused: Boolean(f.paused), ...(typeof f.note === 'string' ? { note: f.note } : {}) });
  }
  console.log(`${model}: ${view.exists ? (view.paused ? `monitor PAUSED (${view.note ?? ''})` : 'monitored') : 'not monitored'}, one window every ${view.windowMinutes} min, retraining ${view.retrain}`);
  if (view.nextActionTimes.length) console.log(`  next window ends: ${view.nextActionTimes.slice(0, 3).join(', ')}`);
  if (view.latest) console.log(`  latest window ${view.latest.id}: ${view.latest.breach ? 'BREACH' : 'ok'}, ${view.latest.findings} finding(s)`);
  return 0;
}

/** `mlp drift <model> [--window FROM/TO] [--svg FILE [--statistic S] [--column C]]`: judge a window now (default the last 24 hours). */
export async function driftCommand(api: ApiClient, [model]: string[], f: Flags): Promise<number | null> {
  if (!model) return null;
  let from: string;
  let to: string;
  if (typeof f.window === 'string') {
    const parts = f.window.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      console.error('--window is FROM/TO, two ISO instants, e.g. 2026-11-30T00:00:00Z/2026-12-01T00:00:00Z');
      return 2;
    }
    [from, to] = parts;
  } else {
    to = new Date().toISOString();
    from = new Date(Date.now() - 86_400_000).toISOString();
  }
  const path = `/v1/models/${encodeURIComponent(model)}/monitor`;
  const res = await api.request<{ workflowId: string; report: MonitorReport | null; retraining: { workflowId: string; started: boolean } | null; webhook: string | null }>(
    'POST', `${path}/windows`, { from, to, wait: true });
  if (!res.report) {
    console.log(`the window is still being judged: workflow ${res.workflowId}; see mlp monitor ${model} reports`);
    return 0;
  }
  printMonitorReport(res.report);
  if (res.retraining) console.log(`  retraining: ${res.retraining.workflowId} (${res.retraining.started ? 'started now' : 'already started for this window'})`);
  if (res.report.breach) console.log(`  webhook: ${res.webhook}`);
  if (typeof f.svg === 'string') {
    const q = new URLSearchParams({ statistic: typeof f.statistic === 'string' ? f.statistic : 'psi', ...(typeof f.column === 'string' ? { column: f.column } : {}) });
    const chart = await api.download(`${path}/chart.svg?${q}`);
    writeFileSync(f.svg, await chart.text());
    console.log(`  chart of ${q.get('statistic')} over the latest windows: ${f.svg}`);
  }
  return 0;
}
