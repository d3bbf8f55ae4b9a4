// Live quality: the logged predictions of a window joined with the outcomes fed back for them (by
// prediction ID, or by a business key read from the logged inputs), scored per model version with the very
// metric functions the offline evaluation uses, so that the same predictions and outcomes give the same
// figures.
import { classificationMetrics, regressionMetrics } from '../models/metrics.js';
import type { Db } from '../db/client.js';
import type { MetricSet } from '../pipelines/contract.js';
import { getVersion } from '../registry/models.js';
import { outcomesSince, type StoredOutcome } from '../registry/outcomes.js';
import { forEachLoggedBatch, type LoggedBatch } from './prediction-log-reader.js';

export interface VersionQuality {
  version: number;
  /** Logged predictions in the window, and how many of them have an outcome. */
  predictions: number;
  withOutcome: number;
  /** Outcomes whose label is none of the version's classes (not scored). */
  unknownLabels: number;
  /** The live figures (absent until a prediction has an outcome), and the version's offline evaluation beside them. */
  live: MetricSet | null;
  offline: MetricSet;
}

/** A logged row's business key for `fields` (sorted names), as registry/outcomes.ts's businessKey writes it. */
function rowKey(batch: LoggedBatch, row: number, fields: string[], index: Map<string, number>): string | null {
  const values: string[] = [];
  for (const name of fields) {
    const j = index.get(name);
    if (j === undefined) return null;
    const column = batch.values[j];
    const dict = batch.dictionaries[j];
    if (dict) {
      const code = (column as Int32Array)[row];
      if (code < 0) return null;
      values.push(dict[code]);
    } else {
      const x = (column as Float64Array)[row];
      if (Number.isNaN(x)) return null;
      values.push(batch.fields[j].kind === 'boolean' ? String(x === 1) : String(x));
    }
  }
  return JSON.stringify(values);
}

/**
 * `scoredOnly`: the caller wants the live figures alone, so a window without any outcome is not read at all
 * (the monitor; the quality route also reports how many predictions each version made).
 */
export async function liveQuality(db: Db, model: string, window: { from: Date; to: Date }, opts: { scoredOnly?: boolean } = {}): Promise<VersionQuality[]> {
  const outcomes = await outcomesSince(db, model, window.from);
  if (opts.scoredOnly && outcomes.length === 0) return [];
  const byId = new Map<string, StoredOutcome>();
  const byKey = new Map<string, Map<string, StoredOutcome>>();
  for (const o of outcomes) {
    if (o.predictionId !== null) byId.set(o.predictionId, o);
    else if (o.keyFields !== null && o.key !== null) {
      let m = byKey.get(o.keyFields);
      if (!m) byKey.set(o.keyFields, (m = new Map()));
      m.set(o.key, o);
    }
  }
  const keySets = [...byKey.keys()].map((fields) => ({ fields: JSON.parse(fields) as string[], outcomes: byKey.get(fields)! }));

  interface Acc { predictions: number; unknownLabels: number; probs: number[]; labels: number[]; pred: number[]; actual: number[]; classes: Map<string, number> | null; offline: MetricSet }
  const versions = new Map<number, Acc>();
  /** Add one prediction (its output row) and its outcome to its version's figures. */
  const score = (acc: Acc, output: Float32Array, at: number, k: number, outcome: StoredOutcome) => {
    if (acc.classes) {
      const y = outcome.label === null ? undefined : acc.classes.get(outcome.label);
      if (y === undefined) {
        acc.unknownLabels++;
        return;
      }
      for (let c = 0; c < k; c++) acc.probs.push(output[at * k + c]);
      acc.labels.push(y);
    } else if (outcome.value !== null) {
      acc.pred.push(output[at * k]);
      acc.actual.push(outcome.value);
    }
  };
  // A business key may match several logged predictions (the same match asked about hourly): its outcome
  // scores only the last one each version made, once.
  const lastByKey = new Map<string, { acc: Acc; output: Float32Array; k: number; at: number; time: number; outcome: StoredOutcome }>();
  const from = window.from.getTime();
  const to = window.to.getTime();
  await forEachLoggedBatch(db, model, window, async (batch) => {
    let acc = versions.get(batch.version);
    if (!acc) {
      const v = await getVersion(db, model, batch.version);
      const classes = v?.transform.classes ?? null;
      acc = { predictions: 0, unknownLabels: 0, probs: [], labels: [], pred: [], actual: [], classes: classes ? new Map(classes.map((c, i) => [c, i])) : null, offline: v?.metrics ?? {} };
      versions.set(batch.version, acc);
    }
    const index = new Map(batch.fields.map((f, j) => [f.name, j]));
    // Only the key sets this batch's fields can make.
    const usable = keySets.filter((s) => s.fields.every((f) => index.has(f)));
    const k = batch.outputs;
    for (let r = 0; r < batch.rows; r++) {
      const time = batch.at[r];
      if (time < from || time >= to) continue;
      acc.predictions++;
      const outcome = byId.get(`${batch.token}.${batch.seq[r].toString(36)}`);
      if (outcome) {
        score(acc, batch.output, r, k, outcome);
        continue;
      }
      for (const set of usable) {
        const key = rowKey(batch, r, set.fields, index);
        const keyed = key === null ? undefined : set.outcomes.get(key);
        if (!keyed) continue;
        const slot = `${batch.version}\u0000${set.fields.join('\u0000')}\u0000${key}`;
        const last = lastByKey.get(slot);
        if (!last || time >= last.time) lastByKey.set(slot, { acc, output: batch.output, k, at: r, time, outcome: keyed });
        break;
      }
    }
  });
  for (const m of lastByKey.values()) score(m.acc, m.output, m.at, m.k, m.outcome);
  return [...versions.entries()].sort(([a], [b]) => a - b).map(([version, acc]) => {
    const withOutcome = acc.classes ? acc.labels.length : acc.actual.length;
    let live: MetricSet | null = null;
    if (withOutcome > 0) {
      live = acc.classes
        ? { ...classificationMetrics(Float32Array.from(acc.probs), acc.labels, acc.classes.size) }
        : { ...regressionMetrics(acc.pred, acc.actual) };
    }
    return { version, predictions: acc.predictions, withOutcome, unknownLabels: acc.unknownLabels, live, offline: acc.offline };
  });
}
