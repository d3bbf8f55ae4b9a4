// The metrics of an API in several processes, merged as a scrape sees them: the application's counters and
// histograms summed, process-level series kept apart by their process label, registry mirrors not counted
// once per process, and sums that never go back when a process exits or does not answer.
import { describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../../runtime/metrics.js';
import { ProcessMetricsMerge } from '../../../runtime/process-metrics.js';

/** One API process's registry, as app/api-process.ts makes it (process-level metrics labelled). */
const apiProcess = (name: string) => createMetrics({ processLabels: { process: name } });
const snapshot = (m: Metrics) => m.registry.getMetricsAsJSON();

/** The value of the one series of `name` whose labels are exactly `labels` in the text; undefined if none. */
function valueOf(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const seriesOf = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

function predict(m: Metrics, n: number, seconds = 0.003) {
  for (let i = 0; i < n; i++) {
    m.predictions.labels('football', '3').value++;
    m.predictionDuration.labels('football').observe(seconds);
  }
}

describe('merging the metrics of an API\'s processes', () => {
  it('sums the application\'s counters and histograms into one series each, as one process would print them', async () => {
    const [a, b] = [apiProcess('api-1'), apiProcess('api-2')];
    predict(a, 3);
    predict(b, 4, 0.2);
    a.httpInFlight.value = 2;
    b.httpInFlight.value = 5;
    const text = await new ProcessMetricsMerge().text([{ process: 'api-1', snapshot: await snapshot(a) }, { process: 'api-2', snapshot: await snapshot(b) }]);
    expect(seriesOf(text, 'predictions_total')).toEqual(['predictions_total{model="football",version="3"} 7']);
    expect(valueOf(text, 'prediction_duration_seconds_count', 'model="football"')).toBe(7);
    expect(valueOf(text, 'prediction_duration_seconds_bucket', 'le="0.005",model="football"')).toBe(3);
    expect(valueOf(text, 'prediction_duration_seconds_bucket', 'le="0.25",model="football"')).toBe(7);
    expect(valueOf(text, 'prediction_duration_seconds_sum', 'model="football"')).toBeCloseTo(3 * 0.003 + 4 * 0.2, 9);
    // Requests in flight in the whole API: the sum of each process's.
    expect(valueOf(text, 'http_requests_in_flight', '')).toBe(7);
  });

  it('keeps process-level series apart, by their process label', async () => {
    const [a, b] = [apiProcess('api-1'), apiProcess('api-2')];
    const text = await new ProcessMetricsMerge().text([{ process: 'api-1', snapshot: await snapshot(a) }, { process: 'api-2', snapshot: await snapshot(b) }]);
    const rss = seriesOf(text, 'process_resident_memory_bytes');
    expect(rss).toHaveLength(2);
    expect(rss.map((l) => /process="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(['api-1', 'api-2']);
    expect(seriesOf(text, 'process_cpu_seconds_total').length).toBe(2);
    // prom-client's merge would drop the start time (its aggregator is `omit`): each process keeps its own.
    expect(seriesOf(text, 'process_start_time_seconds').map((l) => /process="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(['api-1', 'api-2']);
  });

  it('reports what an alias points at once, not once per process', async () => {
    const [a, b] = [apiProcess('api-1'), apiProcess('api-2')];
    for (const m of [a, b]) {
      m.aliasVersion.set({ model: 'football', alias: 'production' }, 3);
      m.modelMetric.set({ model: 'football', alias: 'production', metric: 'accuracy' }, 0.56);
    }
    // A primary that serves no API has the same metrics, without values.
    const primary = createMetrics({ processLabels: { process: 'primary' } });
    const text = await new ProcessMetricsMerge().text([
      { process: 'primary', snapshot: await snapshot(primary) },
      { process: 'api-1', snapshot: await snapshot(a) }, { process: 'api-2', snapshot: await snapshot(b) },
    ]);
    expect(seriesOf(text, 'model_alias_version')).toEqual(['model_alias_version{model="football",alias="production"} 3']);
    expect(valueOf(text, 'model_evaluation_metric', 'model="football",alias="production",metric="accuracy"')).toBe(0.56);
  });

  it('never lets a sum go back: an exited process\'s counts as last collected stay in, and so do those of one that does not answer', async () => {
    const merge = new ProcessMetricsMerge();
    const [a, b] = [apiProcess('api-1'), apiProcess('api-2')];
    predict(a, 10);
    predict(b, 5);
    const first = await merge.text([{ process: 'api-1', snapshot: await snapshot(a) }, { process: 'api-2', snapshot: await snapshot(b) }]);
    expect(valueOf(first, 'predictions_total', 'model="football",version="3"')).toBe(15);

    // api-1 does not answer this time: its counters as last collected stand in; its gauges and process-level series do not.
    predict(b, 1);
    a.httpInFlight.value = 4;
    const silent = await merge.text([{ process: 'api-1', snapshot: null }, { process: 'api-2', snapshot: await snapshot(b) }]);
    expect(valueOf(silent, 'predictions_total', 'model="football",version="3"')).toBe(16);
    expect(valueOf(silent, 'prediction_duration_seconds_count', 'model="football"')).toBe(16);
    expect(seriesOf(silent, 'process_resident_memory_bytes').map((l) => /process="([^"]+)"/.exec(l)?.[1])).toEqual(['api-2']);

    // api-2 exits; a new api-2 takes its place and counts from zero.
    // (Processes are keyed by incarnation: the replacement serves as api-2 under another key.)
    const lastWords = await snapshot(b);
    merge.retire('api-2');
    const replacement = apiProcess('api-2');
    predict(replacement, 2);
    predict(a, 1);
    // A snapshot the exited process sent before it went, arriving late, is not counted again.
    const after = await merge.text([
      { process: 'api-1', snapshot: await snapshot(a) }, { process: 'api-2', snapshot: lastWords }, { process: 'api-2b', snapshot: await snapshot(replacement) },
    ]);
    expect(valueOf(after, 'predictions_total', 'model="football",version="3"')).toBe(11 + 6 + 2);
    expect(valueOf(after, 'prediction_duration_seconds_bucket', 'le="+Inf",model="football"')).toBe(19);
    // The replacement's process-level series start again under the same label, once.
    expect(seriesOf(after, 'process_resident_memory_bytes')).toHaveLength(2);

    // Exits of both, later: the sums stay where they were.
    merge.retire('api-1');
    merge.retire('api-2b');
    const none = await merge.text([]);
    expect(valueOf(none, 'predictions_total', 'model="football",version="3"')).toBe(19);
    expect(seriesOf(none, 'process_resident_memory_bytes')).toEqual([]);
  });
});
