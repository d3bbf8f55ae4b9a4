/**
 * Evaluation metrics and naive baselines. Pure functions over plain arrays so
 * they run anywhere (activities, API, tests) without tfjs.
 * Probabilities are row-major rows*numClasses, as returned by LoadedModel.predict.
 */

export interface ClassificationMetrics {
  accuracy: number;
  /** Mean negative log-likelihood of the true class, probabilities clipped to [1e-15, 1]. */
  logLoss: number;
  /** Unweighted mean of per-class F1 over classes present in labels or predictions (as sklearn). */
  macroF1: number;
  /**
   * Ranked probability score for ordered classes: mean over rows of
   * sum_k (cumP_k - cumO_k)^2 / (K-1). 0 is perfect, 1 is maximally wrong.
   */
  rankedProbabilityScore: number;
  /** Expected calibration error: 10 equal-width bins on the max probability. */
  expectedCalibrationError: number;
  n: number;
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  /** 1 - SS_res/SS_tot; for a constant actual: 1 if predictions are exact, else 0 (sklearn's convention). */
  r2: number;
  n: number;
}

const LOG_LOSS_EPS = 1e-15;
const ECE_BINS = 10;

export function classificationMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): ClassificationMetrics {
  const n = labels.length;
  const k = numClasses;
  if (!Number.isInteger(k) || k < 2) throw new Error(`numClasses must be >= 2, got ${numClasses}`);
  if (probs.length !== n * k) throw new Error(`probs has ${probs.length} values, expected rows*numClasses = ${n * k}`);
  if (n === 0) throw new Error('classificationMetrics needs at least one row');

  let correct = 0;
  let nll = 0;
  let rps = 0;
  const tp = new Float64Array(k);
  const predicted = new Float64Array(k);
  const actual = new Float64Array(k);
  const binCount = new Float64Array(ECE_BINS);
  const binCorrect = new Float64Array(ECE_BINS);
  const binConf = new Float64Array(ECE_BINS);

  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new Error(`label at row ${i} is ${y}; expected 0..${k - 1}`);
    const row = i * k;

    let best = 0; // ties go to the lowest class index
    for (let c = 1; c < k; c++) if (probs[row + c] > probs[row + best]) best = c;
    const conf = probs[row + best];
    const hit = best === y;
    if (hit) {
      correct++;
      tp[y]++;
    }
    predicted[best]++;
    actual[y]++;

    nll -= Math.log(Math.min(1, Math.max(LOG_LOSS_EPS, probs[row + y])));

    let cumP = 0;
    let sq = 0;
    for (let c = 0; c < k - 1; c++) {
      cumP += probs[row + c];
      const cumO = c >= y ? 1 : 0;
      sq += (cumP - cumO) ** 2;
    }
    rps += sq / (k - 1);

    // Bin b covers (b/10, (b+1)/10]; confidence 0 falls in the first bin.
    const b = Math.min(ECE_BINS - 1, Math.max(0, Math.ceil(conf * ECE_BINS) - 1));
    binCount[b]++;
    binConf[b] += conf;
    if (hit) binCorrect[b]++;
  }

  let f1Sum = 0;
  let f1Classes = 0;
  for (let c = 0; c < k; c++) {
    const denom = predicted[c] + actual[c]; // = 2TP + FP + FN
    if (denom === 0) continue;
    f1Sum += (2 * tp[c]) / denom;
    f1Classes++;
  }

  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    if (binCount[b] === 0) continue;
    ece += (binCount[b] / n) * Math.abs(binCorrect[b] / binCount[b] - binConf[b] / binCount[b]);
  }

  return {
    accuracy: correct / n,
    logLoss: nll / n,
    macroF1: f1Classes > 0 ? f1Sum / f1Classes : 0,
    rankedProbabilityScore: rps / n,
    expectedCalibrationError: ece,
    n,
  };
}

export function regressionMetrics(pred: ArrayLike<number>, actual: ArrayLike<number>): RegressionMetrics {
  const n = actual.length;
  if (pred.length !== n) throw new Error(`pred has ${pred.length} values, actual has ${n}`);
  if (n === 0) throw new Error('regressionMetrics needs at least one row');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let absSum = 0;
  for (let i = 0; i < n; i++) {
    const e = actual[i] - pred[i];
    ssRes += e * e;
    absSum += Math.abs(e);
    ssTot += (actual[i] - mean) ** 2;
  }
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : 0;
  return { rmse: Math.sqrt(ssRes / n), mae: absSum / n, r2, n };
}

// ---- baselines: what a model has to beat ----

/** Class frequencies in the training labels (sum to 1). Unseen classes get 0, which log loss clips to 1e-15. */
export function classPriorProbs(trainLabels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < trainLabels.length; i++) {
    const y = trainLabels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new Error(`label at row ${i} is ${y}; expected 0..${numClasses - 1}`);
    counts[y]++;
  }
  const n = trainLabels.length;
  if (n === 0) throw new Error('classPriorProbs needs at least one label');
  return counts.map((c) => c / n);
}

/** Most frequent training class (lowest index on ties): the usual "always class X". */
export function majorityClass(trainLabels: ArrayLike<number>, numClasses: number): number {
  const prior = classPriorProbs(trainLabels, numClasses);
  let best = 0;
  for (let c = 1; c < numClasses; c++) if (prior[c] > prior[best]) best = c;
  return best;
}

/**
 * Probability vector for an "always class X" baseline. A hard one-hot would
 * give infinite (1e-15-clipped, ≈34.5 per miss) log loss and dominate any
 * comparison, so the predicted class gets `confidence` (default 0.98) and the
 * rest share 1 - confidence equally. Accuracy/F1 are the same as a hard
 * one-hot; log loss and RPS are those of a very confident forecaster.
 */
export function alwaysClassProbs(numClasses: number, cls: number, confidence = 0.98): number[] {
  if (!Number.isInteger(cls) || cls < 0 || cls >= numClasses) throw new Error(`class ${cls} out of range 0..${numClasses - 1}`);
  if (!(confidence > 0 && confidence <= 1)) throw new Error(`confidence must be in (0, 1], got ${confidence}`);
  const rest = (1 - confidence) / (numClasses - 1);
  return Array.from({ length: numClasses }, (_, c) => (c === cls ? confidence : rest));
}

/** Repeats one probability vector for `rows` rows (row-major), e.g. a prior or always-class baseline. */
export function constantProbs(rows: number, probs: ArrayLike<number>): Float32Array {
  const k = probs.length;
  const out = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) for (let c = 0; c < k; c++) out[i * k + c] = probs[c];
  return out;
}

/** Regression baseline: predicts the training-target mean for every one of `rows` rows. */
export function meanBaseline(trainTargets: ArrayLike<number>, rows: number): Float32Array {
  if (trainTargets.length === 0) throw new Error('meanBaseline needs at least one training target');
  let sum = 0;
  for (let i = 0; i < trainTargets.length; i++) sum += trainTargets[i];
  return new Float32Array(rows).fill(sum / trainTargets.length);
}
