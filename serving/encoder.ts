// The predict path's encoder: validated instances (see instance-validation.ts) straight into the model's
// input matrix, through the same per-value code the training path uses.
import { FixtureFeatureSource, HEAD_TO_HEAD_FEATURES } from '../data/head-to-head.js';
import { compileTransform, encodeValue } from '../data/transform.js';
import { type FittedTransform, type TeamRatingsState } from '../pipelines/fitted-features.js';

type Row = Record<string, unknown>;

/**
 * The predict path's encoder for one fitted model: validated instances straight into the model's input
 * matrix, with no intermediate row objects. Head-to-head features come from FixtureFeatureSource and every
 * column goes through transform.ts's encodeValue, so a row encodes exactly as the training path
 * (computeMatchFeatures + applyTransform) encodes a match on the day after the state's last one.
 */
export interface ServingEncoder {
  /** Matrix columns per instance. */
  width: number;
  /** A new rows × width matrix. */
  encode(instances: readonly Row[]): Float32Array;
  /** Into `m`, which must hold instances.length × width values, all zero. */
  encodeInto(instances: readonly Row[], m: Float32Array): void;
  /** Head-to-head features from now on from `state` (the fitted one walked forward over fed-back results). */
  setFeatureState(state: TeamRatingsState): void;
}

export function servingEncoder(t: FittedTransform): ServingEncoder {
  const { cols, width } = compileTransform(t);
  let h2h = t.headToHead ? new FixtureFeatureSource(t.headToHead.state, t.headToHead.config) : null;
  const derived = new Set<string>(t.headToHead?.featureNames ?? []);
  // Per matrix column: which head-to-head feature feeds it (-1: the instance's own field).
  const featureOf = Int32Array.from(cols, (c) => (derived.has(c.name) ? HEAD_TO_HEAD_FEATURES.indexOf(c.name as never) : -1));
  const group0 = t.headToHead?.config.group;
  const groupColumn = group0 ? cols.findIndex((c) => c.name === group0) : -1;
  const features = new Float64Array(HEAD_TO_HEAD_FEATURES.length);
  const ymd = new Int32Array(3);
  const nCols = cols.length;
  const encodeInto = (instances: readonly Row[], m: Float32Array) => {
    const n = instances.length;
    for (let r = 0; r < n; r++) {
      const row = instances[r];
      const group = h2h !== null ? h2h.featuresInto(row, features) : undefined;
      const base = r * width;
      for (let j = 0; j < nCols; j++) {
        const f = featureOf[j];
        encodeValue(cols[j], f >= 0 ? features[f] : j === groupColumn ? group : row[cols[j].name], m, base, ymd);
      }
    }
  };
  return {
    width,
    encodeInto,
    setFeatureState(state) {
      // One assignment: a request encodes wholly from the old state or wholly from the new one.
      if (h2h) h2h = new FixtureFeatureSource(state, h2h.cfg);
    },
    encode(instances) {
      const m = new Float32Array(instances.length * width);
      encodeInto(instances, m);
      return m;
    },
  };
}
