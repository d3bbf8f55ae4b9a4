import { describe, expect, it } from 'vitest';
import {
  alwaysClassProbs,
  classificationMetrics,
  classPriorProbs,
  constantProbs,
  majorityClass,
  meanBaseline,
  regressionMetrics,
} from '../../../models/metrics.js';

describe('classificationMetrics', () => {
  // row 0: label 0, predicted 0 (conf .75)
  // row 1: label 2, predicted 1 (conf .65)  — the miss
  // row 2: label 2, predicted 2 (conf .65)
  const probs = new Float32Array([0.75, 0.15, 0.1, 0.1, 0.65, 0.25, 0.2, 0.15, 0.65]);
  const labels = [0, 2, 2];
  const m = classificationMetrics(probs, labels, 3);

  it('computes accuracy and log loss', () => {
    expect(m.n).toBe(3);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.75) + Math.log(0.25) + Math.log(0.65)) / 3, 6);
  });

  it('macro F1 averages per-class F1 (1, 0, 2/3)', () => {
    expect(m.macroF1).toBeCloseTo(5 / 9, 12);
  });

  it('ranked probability score uses cumulative distributions / (K-1)', () => {
    // rows: (.25²+.1²)/2, (.1²+.75²)/2, (.2²+.35²)/2
    expect(m.rankedProbabilityScore).toBeCloseTo((0.03625 + 0.28625 + 0.08125) / 3, 6);
  });

  it('ECE bins on max probability', () => {
    // bin (.7,.8]: 1 row, acc 1, conf .75 ; bin (.6,.7]: 2 rows, acc .5, conf .65
    expect(m.expectedCalibrationError).toBeCloseTo((1 / 3) * 0.25 + (2 / 3) * 0.15, 6);
    const e = classificationMetrics([0.95, 0.05, 0.95, 0.05, 0.55, 0.45], [0, 1, 0], 2);
    expect(e.expectedCalibrationError).toBeCloseTo((2 / 3) * 0.45 + (1 / 3) * 0.45, 6);
  });

  it('clips zero probabilities to 1e-15 in log loss', () => {
    const worst = classificationMetrics([1, 0], [1], 2);
    expect(worst.logLoss).toBeCloseTo(-Math.log(1e-15), 9);
    expect(worst.rankedProbabilityScore).toBeCloseTo(1, 12);
    const perfect = classificationMetrics([0, 1], [1], 2);
    expect(perfect.logLoss).toBe(0);
    expect(perfect.rankedProbabilityScore).toBe(0);
    expect(perfect.macroF1).toBe(1);
  });

  it('rejects mismatched shapes and bad labels', () => {
    expect(() => classificationMetrics([0.5, 0.5], [0, 1], 2)).toThrow(/expected rows\*numClasses/);
    expect(() => classificationMetrics([0.5, 0.5], [2], 2)).toThrow(/label at row 0/);
  });
});

describe('regressionMetrics', () => {
  it('computes rmse, mae and r2 by hand', () => {
    const r = regressionMetrics([1, 2, 3], [1, 2, 5]);
    expect(r.rmse).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(r.mae).toBeCloseTo(2 / 3, 12);
    expect(r.r2).toBeCloseTo(7 / 13, 12);
    expect(r.n).toBe(3);
  });

  it('r2 for a constant actual follows sklearn (1 if exact, else 0)', () => {
    expect(regressionMetrics([2, 2], [2, 2]).r2).toBe(1);
    expect(regressionMetrics([1, 3], [2, 2]).r2).toBe(0);
  });
});

describe('baselines', () => {
  it('class prior is the training frequency', () => {
    expect(classPriorProbs([0, 0, 1, 2], 3)).toEqual([0.5, 0.25, 0.25]);
    expect(majorityClass([2, 1, 2, 0], 3)).toBe(2);
  });

  it('constantProbs repeats the vector per row', () => {
    expect(Array.from(constantProbs(2, [0.5, 0.25, 0.25]))).toEqual([0.5, 0.25, 0.25, 0.5, 0.25, 0.25]);
  });

  it('always-class uses a clipped one-hot so log loss stays finite', () => {
    const p = alwaysClassProbs(3, 1);
    expect(p[1]).toBeCloseTo(0.98, 12);
    expect(p[0]).toBeCloseTo(0.01, 12);
    expect(p[2]).toBeCloseTo(0.01, 12);
    const m = classificationMetrics(constantProbs(2, p), [1, 0], 3);
    expect(m.accuracy).toBe(0.5);
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.98) + Math.log(0.01)) / 2, 6);
  });

  it('meanBaseline predicts the training mean', () => {
    expect(Array.from(meanBaseline([1, 2, 3], 2))).toEqual([2, 2]);
  });
});
