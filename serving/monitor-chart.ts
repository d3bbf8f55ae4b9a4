// A statistic of the monitor's reports over their windows as an SVG line chart (one line per column), with
// the threshold it is judged against as a dashed line: what a person opens to see when a column started to
// move. Plain SVG text, no library; every label is escaped (column names come from users' data).
import type { MonitorReport } from '../pipelines/contract.js';

export type ChartStatistic = 'psi' | 'ks' | 'wasserstein' | 'jensenShannon' | 'missingShare' | 'fallbackRate' | 'predictions' | 'liveQuality';

const WIDTH = 720;
const HEIGHT = 320;
const PAD = { left: 56, right: 150, top: 28, bottom: 40 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const short = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : String(Number(x.toPrecision(3))));

/** The value of `statistic` for `column` in one report; null when the report has none. */
function valueOf(report: MonitorReport, statistic: ChartStatistic, column: string | null): number | null {
  if (statistic === 'fallbackRate') return report.fallbackRate;
  if (statistic === 'predictions') return report.predictions;
  if (statistic === 'liveQuality') return report.quality?.live?.[report.quality.metric] ?? null;
  const c = report.drift.columns.find((x) => x.column === column);
  if (!c) return null;
  const v = statistic === 'ks' ? c.ks?.statistic : c[statistic];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The bound a statistic is judged against, when one fired in any report (so the line is drawn where it applies). */
function thresholdOf(reports: MonitorReport[], statistic: ChartStatistic): number | null {
  const check = statistic === 'fallbackRate' ? 'fallbackRate' : statistic === 'psi' ? 'psi' : null;
  if (!check) return null;
  for (const r of reports) for (const f of r.findings) if (f.check === check && f.threshold !== undefined) return f.threshold;
  return null;
}

/**
 * `reports` in any order (drawn oldest first). Column statistics draw `column`, or every column the reports
 * compared (at most ten, the first by name); the others draw one line.
 */
export function monitorChartSvg(model: string, reports: MonitorReport[], statistic: ChartStatistic, column?: string): string {
  const ordered = [...reports].sort((a, b) => Date.parse(a.window.to) - Date.parse(b.window.to));
  const perColumn = !['fallbackRate', 'predictions', 'liveQuality'].includes(statistic);
  const columns = perColumn
    ? (column ? [column] : [...new Set(ordered.flatMap((r) => r.drift.columns.map((c) => c.column)))].sort().slice(0, COLOURS.length))
    : [null];
  const series = columns.map((c) => ({ name: c ?? statistic, points: ordered.map((r) => valueOf(r, statistic, c)) }));
  const threshold = thresholdOf(ordered, statistic);
  const values = series.flatMap((s) => s.points.filter((v): v is number => v !== null));
  if (threshold !== null) values.push(threshold);
  const max = values.length ? Math.max(...values, 0) : 1;
  const min = values.length ? Math.min(...values, 0) : 0;
  const span = max - min || 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (ordered.length <= 1 ? plotW / 2 : (i * plotW) / (ordered.length - 1));
  const y = (v: number) => PAD.top + plotH - ((v - min) / span) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${escape(`${model}: ${statistic}${column ? ` of ${column}` : ''} over ${ordered.length} windows`)}</title>`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`);
  parts.push(`<text x="${PAD.left}" y="16" font-size="13">${escape(`${model} — ${statistic}${column ? ` (${column})` : ''}`)}</text>`);
  // Axes and the value range.
  parts.push(`<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}" stroke="#999"/>`);
  parts.push(`<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${PAD.top + plotH}" stroke="#999"/>`);
  parts.push(`<text x="${PAD.left - 4}" y="${y(max) + 4}" text-anchor="end">${short(max)}</text>`);
  parts.push(`<text x="${PAD.left - 4}" y="${y(min) + 4}" text-anchor="end">${short(min)}</text>`);
  if (ordered.length > 0) {
    const first = ordered[0].window.to.slice(0, 16).replace('T', ' ');
    const last = ordered[ordered.length - 1].window.to.slice(0, 16).replace('T', ' ');
    parts.push(`<text x="${PAD.left}" y="${HEIGHT - 12}">${escape(first)}</text>`);
    parts.push(`<text x="${PAD.left + plotW}" y="${HEIGHT - 12}" text-anchor="end">${escape(last)}</text>`);
  } else {
    parts.push(`<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle">no monitored windows yet</text>`);
  }
  if (threshold !== null) {
    parts.push(`<line x1="${PAD.left}" y1="${y(threshold)}" x2="${PAD.left + plotW}" y2="${y(threshold)}" stroke="#d62728" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${PAD.left + plotW + 4}" y="${y(threshold) + 4}" fill="#d62728">threshold ${short(threshold)}</text>`);
  }
  series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    // A window without the value breaks the line rather than joining across it.
    let path = '';
    let pen = false;
    s.points.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      path += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      pen = true;
    });
    if (path) parts.push(`<path d="${path.trim()}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    s.points.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${ordered[i].breach ? '#d62728' : colour}"><title>${escape(`${s.name} ${short(v)} · ${ordered[i].id}`)}</title></circle>`);
    });
    parts.push(`<text x="${PAD.left + plotW + 4}" y="${PAD.top + 14 * k + 10}" fill="${colour}">${escape(s.name.slice(0, 24))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
