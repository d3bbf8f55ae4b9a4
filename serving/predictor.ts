// A registered model ready to answer: the network plus the fitted feature pipeline saved beside it. Both
// the API and offline evaluation go through here, so they give the same numbers for the same rows.
import { FITTED_FEATURES_FILE, readFittedFeatures } from '../data/feature-artifacts.js';
import type { FittedFeatures, TeamRatingsState } from '../pipelines/fitted-features.js';
import type { HashedFile } from '../runtime/artifacts.js';
import { servingEncoder } from './encoder.js';
import { loadModel, type InferenceEngine, type ServingModel } from './model-loader.js';

export type Prediction =
  | { label: string; probabilities: Record<string, number> }
  | { value: number };

export interface Predictor {
  fitted: FittedFeatures;
  /** The network, and the engine that runs it. */
  model: ServingModel;
  /** Raw instances (validated against fitted.inputSchema) to predictions. */
  predict(instances: Record<string, unknown>[]): Prediction[];
  /**
   * The same predictions as a JSON array, written directly (what the API sends; JSON.parse gives predict()'s
   * values, with `lead(i)`'s members first in row i's object), and the model output they came from (valid
   * until the next call: copy what is kept).
   */
  predictJson(instances: Record<string, unknown>[], lead?: RowLead): { json: string; output: Float32Array };
  /** Model output for an already encoded matrix: class probabilities or values. */
  predictMatrix(matrix: Float32Array, rows: number): Float32Array;
  /** The head-to-head state serving uses (absent for models without point-in-time features): see feature-state.ts. */
  featureState: FeatureStateInfo | null;
  setFeatureState(state: TeamRatingsState, info: FeatureStateInfo): void;
  dispose(): void;
}

/** Which fed-back results the serving feature state includes: a version of the state, the same on every replica. */
export interface FeatureStateInfo {
  /** The last match date of the state training left. */
  fittedThrough: string | null;
  /** The last match date in the state now. */
  through: string | null;
  /** Fed-back results walked into it, and the newest stored outcome read (the state's version). */
  resultsApplied: number;
  outcomeId: number;
  /** Stored outcomes with an observation it read (some not applicable: before the fitted state, or a repeat of a match). */
  outcomesRead: number;
}

/**
 * `files`: the model directory already read and hashed (what ModelCache verified against the registry's
 * digest); the predictor is then built from those very bytes, with no further file IO.
 */
export async function loadPredictor(modelDir: string, files?: ReadonlyMap<string, HashedFile>, options: { engine?: InferenceEngine } = {}): Promise<Predictor> {
  let fitted: FittedFeatures;
  if (files) {
    // Only from the verified bytes: a directory without its fitted features is not a servable model.
    const fittedFile = files.get(FITTED_FEATURES_FILE);
    if (!fittedFile) throw new Error(`model directory ${modelDir} has no ${FITTED_FEATURES_FILE}`);
    fitted = JSON.parse(fittedFile.data.toString('utf8')) as FittedFeatures;
  } else {
    fitted = await readFittedFeatures(modelDir);
  }
  markTeamFields(fitted);
  const model = await loadModel(modelDir, { files, ...options });
  const classes = fitted.classes;
  const predictMatrix = (matrix: Float32Array, rows: number) => model.predict(matrix, rows);
  const encoder = servingEncoder(fitted.transform);
  const toJson = predictionsJsonWriter(classes);
  // One-row requests, the latency-sensitive case, reuse one input and one output buffer (a typed array
  // of this size is allocated outside the V8 heap, and costs a collector's attention). Encoding, scoring
  // and formatting run synchronously, so no other request can see them half-written.
  const oneRowIn = new Float32Array(encoder.width);
  const oneRowOut = new Float32Array(model.numClasses);
  /** Model output for the instances; valid until the next call. */
  const score = (instances: Record<string, unknown>[]): Float32Array => {
    if (instances.length !== 1) return predictMatrix(encoder.encode(instances), instances.length);
    oneRowIn.fill(0);
    encoder.encodeInto(instances, oneRowIn);
    return model.predictInto(oneRowIn, 1, oneRowOut);
  };
  const fittedThrough = fitted.transform.headToHead?.state.lastDate ?? null;
  const predictor: Predictor = {
    fitted,
    model,
    predictMatrix,
    featureState: fitted.transform.headToHead ? { fittedThrough, through: fittedThrough, resultsApplied: 0, outcomeId: 0, outcomesRead: 0 } : null,
    setFeatureState(state, info) {
      encoder.setFeatureState(state);
      predictor.featureState = info;
    },
    predict: (instances) => predictionsOf(score(instances), instances.length, classes),
    predictJson: (instances, lead) => {
      const output = score(instances);
      return { json: toJson(output, instances.length, lead), output };
    },
    dispose: () => model.dispose(),
  };
  return predictor;
}

/**
 * A model saved before its schema marked head-to-head team fields gets them marked from its config, so that
 * its predictions say when a team was rated as a newcomer, as a newer model's do.
 */
function markTeamFields(fitted: FittedFeatures): void {
  const cfg = fitted.transform.headToHead?.config;
  if (!cfg) return;
  for (const f of fitted.inputSchema) if (f.name === cfg.homeTeam || f.name === cfg.awayTeam) f.team = true;
}

/**
 * Probabilities are returned to 7 decimal places: the network computes in float32 (about 7 significant
 * digits), so the other 9 or 10 digits of the float32 value printed as a double carry nothing.
 */
export const PROBABILITY_DECIMALS = 7;
const SCALE = 10 ** PROBABILITY_DECIMALS;
const roundProbability = (p: number) => Math.round(p * SCALE) / SCALE;

/** Model output (rows × classes probabilities, or rows values) to prediction objects. */
export function predictionsOf(out: Float32Array, rows: number, classes: string[] | null): Prediction[] {
  const res: Prediction[] = new Array(rows);
  if (!classes) {
    for (let i = 0; i < rows; i++) res[i] = { value: out[i] };
    return res;
  }
  const k = classes.length;
  for (let i = 0; i < rows; i++) {
    const probabilities: Record<string, number> = {};
    for (let j = 0; j < k; j++) probabilities[classes[j]] = roundProbability(out[i * k + j]);
    res[i] = { label: classes[bestClass(out, i * k, k)], probabilities };
  }
  return res;
}

function bestClass(out: Float32Array, at: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (out[at + j] > out[at + best]) best = j;
  return best;
}

const ZEROS = Array.from({ length: PROBABILITY_DECIMALS + 1 }, (_, n) => '0'.repeat(n));

/**
 * A probability rounded as roundProbability does, as JSON text. Formatting the integer of its 7 decimals
 * costs a third of formatting the double (the largest cost of answering a 100-row request); JSON.parse of
 * the text gives exactly roundProbability(p), as n / 10^7 is the same correctly rounded division.
 */
function probabilityJson(p: number): string {
  const n = Math.round(p * SCALE);
  if (n > 0 && n < SCALE) {
    const digits = String(n);
    return `0.${ZEROS[PROBABILITY_DECIMALS - digits.length]}${digits}`;
  }
  return Number.isFinite(n) ? String(n / SCALE) : 'null';
}

const numberJson = (v: number) => (Number.isFinite(v) ? String(v) : 'null');

/** JSON members (each followed by a comma) that open row i's object, before its prediction: its ID, its warnings. */
export type RowLead = (i: number) => string;

/** A writer of predictionsOf(out, rows, classes) as JSON text, without building the objects. */
export function predictionsJsonWriter(classes: string[] | null): (out: Float32Array, rows: number, lead?: RowLead) => string {
  if (!classes) {
    return (out, rows, lead) => {
      const parts: string[] = new Array(rows);
      for (let i = 0; i < rows; i++) parts[i] = `{${lead ? lead(i) : ''}"value":${numberJson(out[i])}}`;
      return `[${parts.join(',')}]`;
    };
  }
  const k = classes.length;
  const heads = classes.map((c) => `"label":${JSON.stringify(c)},"probabilities":{`);
  const keys = classes.map((c, j) => `${j === 0 ? '' : ','}${JSON.stringify(c)}:`);
  return (out, rows, lead) => {
    const parts: string[] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const at = i * k;
      let row = `{${lead ? lead(i) : ''}${heads[bestClass(out, at, k)]}`;
      for (let j = 0; j < k; j++) row += keys[j] + probabilityJson(out[at + j]);
      parts[i] = `${row}}}`;
    }
    return `[${parts.join(',')}]`;
  };
}
