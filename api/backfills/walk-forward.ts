// The walk-forward report of a backfill: each period's model scored on the period after its training
// data, next to the baselines of the same rows. JSON rows, CSV, and an SVG line chart.
import { inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { modelVersions, runs } from '../../db/schema.js';
import type { MetricSet, PartitionState } from '../../pipelines/contract.js';

export interface WalkForwardRow {
  asOf: string;
  workflowId: string;
  status: string;
  testFrom: string | null;
  testTo: string | null;
  modelVersion: number | null;
  metrics: MetricSet | null;
  baselines: Record<string, MetricSet> | null;
}

export async function walkForwardRows(db: Db, partitions: Pick<PartitionState, 'asOf' | 'workflowId'>[]): Promise<WalkForwardRow[]> {
  const ids = partitions.map((p) => p.workflowId);
  const runRows = ids.length ? await db.select().from(runs).where(inArray(runs.workflowId, ids)) : [];
  const versionRows = ids.length ? await db.select({ run: modelVersions.runWorkflowId, lineage: modelVersions.lineage }).from(modelVersions).where(inArray(modelVersions.runWorkflowId, ids)) : [];
  const byRun = new Map(runRows.map((r) => [r.workflowId, r]));
  const lineage = new Map(versionRows.map((v) => [v.run, v.lineage]));
  return partitions.map((p) => {
    const r = byRun.get(p.workflowId);
    const period = lineage.get(p.workflowId)?.testPeriod ?? null;
    return {
      asOf: p.asOf, workflowId: p.workflowId, status: r?.status ?? 'pending',
      testFrom: period?.from ?? null, testTo: period?.to ?? null, modelVersion: r?.modelVersion ?? null,
      metrics: r?.status === 'succeeded' ? r.summary?.metrics ?? null : null,
      baselines: r?.status === 'succeeded' ? r.summary?.baselines ?? null : null,
    };
  });
}

const METRIC_ORDER = ['accuracy', 'logLoss', 'rankedProbabilityScore', 'macroF1', 'rmse', 'mae', 'r2'];

export function walkForwardCsv(rows: WalkForwardRow[]): string {
  const metricNames = METRIC_ORDER.filter((m) => rows.some((r) => r.metrics && m in r.metrics));
  const baselineNames = [...new Set(rows.flatMap((r) => Object.keys(r.baselines ?? {})))].sort();
  const header = ['as_of', 'test_from', 'test_to', 'status', 'model_version', ...metricNames,
    ...baselineNames.flatMap((b) => metricNames.map((m) => `${b}_${m}`))];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'number' ? String(Number(v.toFixed(6))) : String(v));
  const lines = rows.map((r) => [
    r.asOf.slice(0, 10), r.testFrom, r.testTo, r.status, r.modelVersion,
    ...metricNames.map((m) => r.metrics?.[m]),
    ...baselineNames.flatMap((b) => metricNames.map((m) => r.baselines?.[b]?.[m])),
  ].map(cell).join(','));
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** One panel per metric: the model and each baseline over the test periods. Plain SVG, no dependencies. */
export function walkForwardSvg(rows: WalkForwardRow[], opts: { title: string; metrics: string[] }): string {
  const done = rows.filter((r) => r.metrics);
  const panelW = 520;
  const panelH = 260;
  const pad = { l: 60, r: 40, t: 40, b: 60 };
  const width = opts.metrics.length * panelW;
  const legendTop = panelH + 30;
  const height = legendTop + 16 * (new Set(rows.flatMap((r) => Object.keys(r.baselines ?? {}))).size + 1) + 10;
  const series = ['model', ...[...new Set(done.flatMap((r) => Object.keys(r.baselines ?? {})))].sort()];
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  opts.metrics.forEach((metric, k) => {
    const x0 = k * panelW;
    const valuesOf = (s: string) => done.map((r) => (s === 'model' ? r.metrics![metric] : r.baselines?.[s]?.[metric])).filter((v): v is number => Number.isFinite(v));
    const modelValues = valuesOf('model');
    if (modelValues.length === 0) return;
    // A baseline far off the model's scale (e.g. the log-loss of an always-one-class forecast) would
    // flatten every other line: it is listed in the legend with its range instead of drawn.
    const mLo = Math.min(...modelValues);
    const mHi = Math.max(...modelValues);
    const spread = Math.max(mHi - mLo, 0.02 * Math.abs((mLo + mHi) / 2), 1e-9);
    const distance = (v: number) => (v < mLo ? mLo - v : v > mHi ? v - mHi : 0);
    const offScale = new Set(series.filter((s) => s !== 'model' && valuesOf(s).length > 0 && Math.min(...valuesOf(s).map(distance)) > 5 * spread));
    const values = series.filter((s) => !offScale.has(s)).flatMap(valuesOf);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    const margin = (hi - lo) * 0.1 || 0.05;
    lo -= margin;
    hi += margin;
    const px = (i: number) => x0 + pad.l + (done.length === 1 ? 0.5 : i / (done.length - 1)) * (panelW - pad.l - pad.r);
    const py = (v: number) => 20 + pad.t + (1 - (v - lo) / (hi - lo)) * (panelH - pad.t - pad.b);
    parts.push(`<text x="${x0 + panelW / 2}" y="${20 + pad.t - 12}" text-anchor="middle" font-weight="bold">${esc(metric)}</text>`);
    parts.push(`<line x1="${x0 + pad.l}" y1="${py(lo)}" x2="${x0 + panelW - pad.r}" y2="${py(lo)}" stroke="#999"/>`);
    parts.push(`<line x1="${x0 + pad.l}" y1="${py(lo)}" x2="${x0 + pad.l}" y2="${py(hi)}" stroke="#999"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = lo + ((hi - lo) * t) / 4;
      parts.push(`<text x="${x0 + pad.l - 6}" y="${py(v) + 4}" text-anchor="end" fill="#555">${v.toFixed(3)}</text>`);
    }
    done.forEach((r, i) => parts.push(`<text x="${px(i)}" y="${py(lo) + 18}" text-anchor="middle" fill="#555">${esc(r.testFrom && r.testTo ? `${r.testFrom.slice(0, 4)}-${r.testTo.slice(2, 4)}` : r.asOf.slice(0, 10))}</text>`));
    series.forEach((s, j) => {
      const color = colors[j % colors.length];
      const legendX = x0 + pad.l + 10;
      const legendY = legendTop + 16 * j;
      if (offScale.has(s)) {
        const vs = valuesOf(s);
        parts.push(`<text x="${legendX}" y="${legendY}" fill="${color}">┅ ${esc(s)} ${Math.min(...vs).toFixed(2)}–${Math.max(...vs).toFixed(2)} (off scale)</text>`);
        return;
      }
      const pts = done.map((r, i) => [px(i), (s === 'model' ? r.metrics![metric] : r.baselines?.[s]?.[metric])] as const)
        .filter((pt): pt is readonly [number, number] => Number.isFinite(pt[1]));
      if (pts.length === 0) return;
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="${s === 'model' ? 3 : 1.5}" ${s === 'model' ? '' : `stroke-dasharray="${j === 1 ? '6,4' : '2,3'}"`} points="${pts.map(([x, v]) => `${x.toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, v] of pts) parts.push(`<circle cx="${x.toFixed(1)}" cy="${py(v).toFixed(1)}" r="3.5" fill="${color}"/>`);
      parts.push(`<text x="${legendX}" y="${legendY}" fill="${color}">${s === 'model' ? '━ model' : `┅ ${esc(s)}`}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}
