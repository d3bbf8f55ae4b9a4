// The metrics of an API that runs in several processes (API_PROCESSES), merged into the one Prometheus text
// a scrape gets, whichever process it reached. The primary process collects every process's registry
// (getMetricsAsJSON) and merges them here with prom-client's aggregation, which combines equal label sets by
// each metric's `aggregator`:
//   - the application's counters and histograms (requests, predictions, latencies) have no process label and
//     are summed: /metrics reads as one API, as with one process;
//   - process-level metrics (CPU, memory, event loop, GC) carry a `process` label, so each process keeps its
//     own series;
//   - gauges have their own aggregators (in-flight requests sum; registry mirrors: runtime/metrics.ts).
// A summed counter must never go back, or Prometheus takes the drop for a restart and counts the whole
// value again in rate() and increase(). A process that exits (or does not answer in time) would take its
// share out of the sum, so its counters and histograms as last collected stay in: those of exited processes
// folded into one retained set. What an exited process counted after its last collection is lost, never
// double-counted.
import { AggregatorRegistry, type Registry } from 'prom-client';

export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** The label naming the process a process-level series belongs to (runtime/metrics.ts processLabels). */
export const PROCESS_LABEL = 'process';

export class ProcessMetricsMerge {
  /** Each live process's latest snapshot, by process key. */
  private readonly latest = new Map<string, MetricsSnapshot>();
  /** The cumulative series of processes that have exited, summed into one snapshot. */
  private retained: MetricsSnapshot = [];
  /** Keys of the processes that have exited: a snapshot one sent before it exited is not counted again. */
  private readonly exited = new Set<string>();

  /**
   * The Prometheus text of every process's metrics. `collected` has one entry per live process, under a key
   * that names that process alone (not its successor): its snapshot, or null when it did not answer (its
   * cumulative series as last collected stand in).
   */
  text(collected: { process: string; snapshot: MetricsSnapshot | null }[]): Promise<string> {
    const parts: MetricsSnapshot[] = [this.retained];
    for (const { process, snapshot } of collected) {
      if (this.exited.has(process)) continue;
      if (snapshot) {
        this.latest.set(process, snapshot);
        parts.push(snapshot);
      } else {
        const last = this.latest.get(process);
        if (last) parts.push(cumulativeSeries(last));
      }
    }
    return AggregatorRegistry.aggregate(parts.map(keepPerProcessSeries)).metrics();
  }

  /** A process has exited: its counters and histograms as last collected stay in the sums. */
  retire(process: string): void {
    this.exited.add(process);
    const last = this.latest.get(process);
    this.latest.delete(process);
    if (last) this.retained = sumSeries([this.retained, cumulativeSeries(last)]);
  }
}

/**
 * prom-client's merge drops the metrics it marks `omit` (process_start_time_seconds). Labelled per process,
 * their series never collide, so each is kept as it is.
 */
function keepPerProcessSeries(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.map((m) => (m.aggregator === 'omit' && m.values.length > 0 && m.values.every((v) => v.labels && 'process' in v.labels) ? { ...m, aggregator: 'first' } : m));
}

/**
 * The series that only grow: counters and histograms without a process label (process-level ones start
 * again with the process that takes the exited one's place, under the same label, as a restart should).
 */
function cumulativeSeries(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot
    .filter((m) => String(m.type) === 'counter' || String(m.type) === 'histogram')
    .map((m) => ({ ...m, values: m.values.filter((v) => !(PROCESS_LABEL in v.labels)) }))
    .filter((m) => m.values.length > 0);
}

/** Cumulative series summed by metric, series name (a histogram's _bucket, _sum, _count) and label set. */
function sumSeries(snapshots: MetricsSnapshot[]): MetricsSnapshot {
  const byName = new Map<string, MetricsSnapshot[number]>();
  for (const metric of snapshots.flat()) {
    const into = byName.get(metric.name);
    if (!into) {
      byName.set(metric.name, { ...metric, values: metric.values.map((v) => ({ ...v })) });
      continue;
    }
    for (const v of metric.values) {
      const key = seriesKey(v);
      const same = into.values.find((w) => seriesKey(w) === key);
      if (same) same.value += v.value;
      else into.values.push({ ...v });
    }
  }
  return [...byName.values()];
}

function seriesKey(v: { labels: object; metricName?: string }): string {
  const labels = Object.entries(v.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([v.metricName ?? '', labels.map(([k, x]) => [k, String(x)])]);
}
