// A registered model ready to answer: the network plus the fitted feature pipeline saved beside it. Both
// the API and offline evaluation go through here, so they give the same numbers for the same rows.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHistory, servingEncoder, type FittedFeatures } from '../data/feature-pipeline.js';
import { loadModel, type LoadedModel } from './inference.js';

export type Prediction =
  | { label: string; probabilities: Record<string, number> }
  | { value: number };

export interface Predictor {
  fitted: FittedFeatures;
  model: LoadedModel;
  /** Raw instances (validated against fitted.inputSchema) to predictions. */
  predict(instances: Record<string, unknown>[]): Prediction[];
  /** Model output for an already encoded matrix: class probabilities or values. */
  predictMatrix(matrix: Float32Array, rows: number): Float32Array;
  /** Scores rows of a time-ordered history the way training encoded them (for champion/challenger). */
  predictHistory(history: Record<string, unknown>[], index: number[]): Float32Array;
  dispose(): void;
}

export async function loadPredictor(modelDir: string): Promise<Predictor> {
  const fitted = JSON.parse(await readFile(join(modelDir, 'fitted.json'), 'utf8')) as FittedFeatures;
  const model = await loadModel(modelDir);
  const classes = fitted.classes;
  const predictMatrix = (matrix: Float32Array, rows: number) => model.predict(matrix, rows);
  const encode = servingEncoder(fitted.transform);
  return {
    fitted,
    model,
    predictMatrix,
    predict(instances) {
      const out = predictMatrix(encode(instances), instances.length);
      return decode(out, instances.length, classes);
    },
    predictHistory(history, index) {
      return predictMatrix(encodeHistory(fitted, history, index), index.length);
    },
    dispose: () => model.dispose(),
  };
}

function decode(out: Float32Array, rows: number, classes: string[] | null): Prediction[] {
  const res: Prediction[] = new Array(rows);
  if (!classes) {
    for (let i = 0; i < rows; i++) res[i] = { value: out[i] };
    return res;
  }
  const k = classes.length;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    const probabilities: Record<string, number> = {};
    for (let j = 0; j < k; j++) {
      const p = out[i * k + j];
      probabilities[classes[j]] = p;
      if (p > out[i * k + best]) best = j;
    }
    res[i] = { label: classes[best], probabilities };
  }
  return res;
}
