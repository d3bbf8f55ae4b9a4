// Counters and histograms updated on every HTTP request and every prediction. prom-client hashes the
// label set and turns the bucket bound into a property name on each update (about 1 µs apiece, five of
// them per predict request). Here a label set is bound once to a slot of plain numbers, an update is an
// addition, and the Prometheus text is built at scrape time. They register in the same prom-client
// Registry as every other metric, and /metrics prints them in the same format prom-client does.
import type { Metric, Registry } from 'prom-client';

type LabelValues = Record<string, string>;
interface ExportedValue { labels: Record<string, string | number>; value: number; metricName?: string }

abstract class HotMetric<Slot> {
  private readonly slots = new Map<string, { labels: LabelValues; slot: Slot }>();
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;

  constructor(readonly name: string, readonly help: string, private readonly labelNames: readonly string[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The slot for one label set, in labelNames order; keep it: looking it up again costs a string join. */
  labels(...values: string[]): Slot {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    const key = values.join('\u0000');
    let entry = this.slots.get(key);
    if (!entry) {
      const labels: LabelValues = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]));
      entry = { labels, slot: this.newSlot() };
      this.slots.set(key, entry);
    }
    return entry.slot;
  }

  protected abstract newSlot(): Slot;
  protected abstract export(labels: LabelValues, slot: Slot): ExportedValue[];

  /** The shape prom-client's Registry formats (Registry.metrics) and merges (getMetricsAsJSON). */
  async get() {
    const values: ExportedValue[] = [];
    for (const { labels, slot } of this.slots.values()) values.push(...this.export(labels, slot));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /**
   * Zeroes every series in place: callers keep the slots they bound, and what they count afterwards is
   * printed again. A series at zero is not printed, as prom-client prints a labelled series only once it
   * has been updated (after a reset too).
   */
  reset(): void {
    for (const { slot } of this.slots.values()) this.zero(slot);
  }

  protected abstract zero(slot: Slot): void;
}

export interface CounterSlot { value: number }

export class HotCounter extends HotMetric<CounterSlot> {
  readonly type = 'counter' as const;
  protected newSlot(): CounterSlot {
    return { value: 0 };
  }
  protected export(labels: LabelValues, slot: CounterSlot): ExportedValue[] {
    return slot.value === 0 ? [] : [{ labels, value: slot.value }];
  }
  protected zero(slot: CounterSlot): void {
    slot.value = 0;
  }
}

export class HistogramSlot {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram extends HotMetric<HistogramSlot> {
  readonly type = 'histogram' as const;
  private readonly bounds: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) throw new Error(`${name}: buckets must be finite and increasing`);
    this.bounds = Float64Array.from(buckets);
  }

  protected newSlot(): HistogramSlot {
    return new HistogramSlot(this.bounds);
  }

  protected zero(slot: HistogramSlot): void {
    slot.counts.fill(0);
    slot.sum = 0;
    slot.count = 0;
  }

  protected export(labels: LabelValues, slot: HistogramSlot): ExportedValue[] {
    if (slot.count === 0) return [];
    const out: ExportedValue[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += slot.counts[i];
      out.push({ labels: { le: this.bounds[i], ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    out.push({ labels: { le: '+Inf', ...labels }, value: slot.count, metricName: `${this.name}_bucket` });
    out.push({ labels, value: slot.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: slot.count, metricName: `${this.name}_count` });
    return out;
  }
}
