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

export async function liveQuality(db: Db, model: string, window: { from: Date; to: Date }): Promise<VersionQuality[]> {
  const outcomes = await outcomesSince(db, model, window.from);
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
  const keySets = [...byKey.keys()].map((fields) => ({ fields: fields.split(','), outcomes: byKey.get(fields)! }));

  interface Acc { predictions: number; unknownLabels: number; probs: number[]; labels: number[]; pred: number[]; actual: number[]; classes: Map<string, number> | null; offline: MetricSet }
  const versions = new Map<number, Acc>();
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
    const k = batch.outputs;
    for (let r = 0; r < batch.rows; r++) {
      const at = batch.at[r];
      if (at < from || at >= to) continue;
      acc.predictions++;
      let outcome = byId.get(`${batch.token}.${batch.seq[r].toString(36)}`);
      for (let s = 0; outcome === undefined && s < keySets.length; s++) {
        const key = rowKey(batch, r, keySets[s].fields, index);
        if (key !== null) outcome = keySets[s].outcomes.get(key);
      }
      if (!outcome) continue;
      if (acc.classes) {
        const y = outcome.label === null ? undefined : acc.classes.get(outcome.label);
        if (y === undefined) {
          acc.unknownLabels++;
          continue;
        }
        for (let c = 0; c < k; c++) acc.probs.push(batch.output[r * k + c]);
        acc.labels.push(y);
      } else if (outcome.value !== null) {
        acc.pred.push(batch.output[r * k]);
        acc.actual.push(outcome.value);
      }
    }
  });
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
