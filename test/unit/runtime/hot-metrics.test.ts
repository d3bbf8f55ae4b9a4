import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../../runtime/hot-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('hot-path metrics', () => {
  it('print exactly what prom-client prints for the same updates', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const hotCount = new HotCounter('requests_total', 'Requests', ['route', 'status'], ours);
    const hotHist = new HotHistogram('latency_seconds', 'Latency', ['route'], BUCKETS, ours);
    const count = new Counter({ name: 'requests_total', help: 'Requests', labelNames: ['route', 'status'], registers: [theirs] });
    const hist = new Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
    // Values on bucket bounds, between them, above all of them, and a route label that needs escaping.
    const observations: [string, string, number][] = [
      ['/a', '200', 0.001], ['/a', '200', 0.0005], ['/a', '500', 0.05], ['/b"x\\', '200', 7], ['/a', '200', 1], ['/b"x\\', '404', 0.01],
    ];
    for (const [route, status, v] of observations) {
      hotCount.labels(route, status).value++;
      hotHist.labels(route).observe(v);
      count.labels(route, status).inc();
      hist.labels(route).observe(v);
    }
    hotCount.labels('/a', '200').value += 4;
    count.labels('/a', '200').inc(4);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('latency_seconds_bucket{le="0.001",route="/a"} 2');
    expect(await ours.metrics()).toContain('latency_seconds_bucket{le="+Inf",route="/b\\"x\\\\"} 2');

    // After a reset, slots bound before it keep counting and are printed again, as prom-client's children are;
    // series nobody touched since are not printed.
    const boundCount = hotCount.labels('/a', '200');
    const boundHist = hotHist.labels('/a');
    const theirCount = count.labels('/a', '200');
    const theirHist = hist.labels('/a');
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).not.toContain('requests_total{');
    expect(await ours.metrics()).toBe(await theirs.metrics());
    boundCount.value += 2;
    theirCount.inc(2);
    boundHist.observe(0.05);
    theirHist.observe(0.05);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('requests_total{route="/a",status="200"} 2');
  });

  it('refuses a wrong number of label values and unordered buckets', () => {
    const r = new Registry();
    expect(() => new HotCounter('c_total', 'c', ['a', 'b'], r).labels('x')).toThrow(/takes 2 label values \(a, b\), got 1/);
    expect(() => new HotHistogram('h', 'h', [], [1, 0.5], r)).toThrow(/increasing/);
  });
});
