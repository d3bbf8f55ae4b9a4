// Drift measures: the distributions' tails and the test statistics against reference values from SciPy 1.17.1
// (hard-coded: Python is not a dependency of the tests; each number's expression is beside it), then the
// behaviour that matters to the monitor on seeded normal samples, and the edge cases.
import { describe, expect, it } from 'vitest';
import { numericFigures } from '../../../data/dataset-statistics.js';
import { categoricalDrift, chiSquarePValue, ksPValue, numericDrift, type CategoricalBaseline, type NumericBaseline } from '../../../data/drift.js';
import { mulberry32 } from '../../../data/prng.js';

/** A numeric baseline as datasetStatistics would store it for these values. */
function numericBaseline(values: ArrayLike<number>): NumericBaseline {
  const sorted = Float64Array.from(values).sort();
  return { name: 'x', type: 'Float64', count: sorted.length, missing: 0, distinct: new Set(sorted).size, kind: 'numeric', ...numericFigures(sorted) };
}

function categoricalBaseline(top: Record<string, number>, extra: { count?: number; distinct?: number } = {}): CategoricalBaseline {
  const list = Object.entries(top).map(([value, count]) => ({ value, count }));
  const listed = list.reduce((s, t) => s + t.count, 0);
  return { name: 'c', type: 'String', kind: 'categorical', count: extra.count ?? listed, missing: 0, distinct: extra.distinct ?? list.length, top: list };
}

const counts = (c: Record<string, number>) => new Map(Object.entries(c));
const sortedOf = (values: number[]) => Float64Array.from(values).sort();

/** Standard normals from a seeded mulberry32, by Box–Muller (both of each pair). */
function normals(seed: number, n: number, mean = 0, sd = 1): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rand(); // (0, 1]: log(0) never happens
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + sd * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(2 * Math.PI * u2);
  }
  return out.sort();
}

/** |actual − expected| ≤ rel·|expected|. */
const expectRelative = (actual: number, expected: number, rel: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

describe('chiSquarePValue', () => {
  // Series (x < df/2 + 1) and continued-fraction branches, deep into the tail. Both sides are double-precision
  // evaluations of the same function (Lanczos ln Γ here, Cephes igamc there): 1e-10 relative leaves room for
  // the ~1e-13 the exponent's rounding can cost at 1e-208 and nothing for a wrong formula.
  it.each([
    // scipy.stats.chi2.sf(x, df)
    [3.841458820694124, 1, 0.04999999999999989],
    [0.01, 1, 0.920344325445942],
    [10, 3, 0.01856613546304325],
    [0.5, 4, 0.9735009788392561],
    [7.3, 5, 0.19926778992124214],
    [42.5, 2, 5.905303998944051e-10],
    [100, 50, 3.454931382984871e-05],
    [250, 199, 0.008230113044724758],
    [1000, 10, 1.870290720915977e-208],
  ])('P(χ² ≥ %d | df %d) = %d', (x, df, expected) => {
    expectRelative(chiSquarePValue(x, df), expected, 1e-10);
  });

  it('is 1 at and below 0', () => {
    expect(chiSquarePValue(0, 3)).toBe(1);
    expect(chiSquarePValue(-1, 3)).toBe(1);
  });
});

describe('ksPValue', () => {
  // The asymptotic formula, so compared with the asymptotic distribution at the corrected λ:
  // en = sqrt(n1*n2/(n1+n2)); lam = (en + 0.12 + 0.11/en)*d; scipy.stats.kstwobign.sf(lam). Both branches of the
  // series (λ < 1.18 and above), 1e-10 relative (both are the same convergent series summed in double precision).
  it.each([
    [0.05, 1000, 200, 0.7890282482741171], // λ 0.652
    [0.1, 100, 100, 0.676620149700246], // λ 0.721
    [0.0236, 1000, 1000, 0.9408964327058739], // λ 0.531
    [0.3, 40, 15, 0.23256500653778955], // λ 1.037
    [0.2, 50, 80, 0.15039595199107123], // λ 1.137
    [0.03, 20000, 5000, 0.0014523133564891433], // λ 1.901
    [0.5, 1000, 15, 0.000690310195330138], // λ 1.996
    [0.1, 5000, 5000, 3.0201924956259483e-22], // λ 5.012
  ])('P(D ≥ %d | n1 %d, n2 %d) = %d', (d, n1, n2, expected) => {
    expectRelative(ksPValue(d, n1, n2), expected, 1e-10);
  });

  it('is 1 for no gap', () => {
    expect(ksPValue(0, 100, 100)).toBe(1);
  });
});

describe('numericDrift against SciPy', () => {
  // 1,000 values i²/999²·10 (skewed: dense near 0), and 15 sample values of which two are outside 0..10.
  const base = Array.from({ length: 1000 }, (_, i) => (i / 999) * (i / 999) * 10);
  const baseline = numericBaseline(base);
  const sample = sortedOf([-0.2, 0.05, 0.4, 0.9, 1.3, 2.2, 2.2, 3.1, 4.5, 5.0, 6.25, 7.7, 8.8, 9.9, 10.5]);
  const d = numericDrift(baseline, sample)!;

  it('measures KS against the percentiles\' piecewise-linear CDF, on both sides of each step', () => {
    // pct = np.quantile(base, np.arange(101)/100)
    // scipy.stats.kstest(sample, lambda x: np.interp(x, pct, np.arange(101)/100)).statistic — the same CDF, so
    // only rounding separates the two.
    expect(d.ks.statistic).toBeCloseTo(0.14415231940892104, 12);
    // en = sqrt(1000*15/1015); scipy.stats.kstwobign.sf((en + 0.12 + 0.11/en)*0.14415231940892104)
    expectRelative(d.ks.pValue, 0.8948709304082821, 1e-9);
    // scipy.stats.ks_2samp(sample, base, method='exact').pvalue = 0.878938102421301: against the empirical
    // baseline and the exact small-sample law, so only close (statistic 0.1437 there).
    expect(Math.abs(d.ks.pValue - 0.878938102421301)).toBeLessThan(0.03);
    expect(d.n).toBe(15);
  });

  it('measures the Wasserstein distance in baseline standard deviations', () => {
    // Exactly what is integrated: the percentiles' piecewise-linear quantile function against the sample's step,
    // by a 4,000,000-point midpoint rule (error ~1e-7 std):
    // u = (np.arange(M) + 0.5)/M; qb = np.interp(u, np.arange(101)/100, pct)
    // qs = sample[np.minimum(14, np.ceil(u*15).astype(int) - 1)]; np.mean(np.abs(qb - qs))/np.std(base, ddof=1)
    expect(Math.abs(d.wasserstein - 0.29326018654781383)).toBeLessThan(1e-6);
    // scipy.stats.wasserstein_distance(sample, base)/np.std(base, ddof=1): against the empirical baseline, which
    // the percentiles approximate (linear between them instead of 10 values each): within 0.005 std (here 6e-4).
    expect(Math.abs(d.wasserstein - 0.29269635227291896)).toBeLessThan(0.005);
  });

  it('counts what falls outside the range and bins the sample on the baseline\'s histogram for PSI', () => {
    expect(d.outOfRange).toBeCloseTo(2 / 15, 15);
    // e = np.maximum(counts.reshape(10, 2).sum(1)/1000, 1e-4); a = np.maximum(act.reshape(10, 2).sum(1)/15, 1e-4);
    // np.sum((a - e)*np.log(a/e)), with counts the histogram and act the sample binned by floor((v - min)/width)
    // clamped to 0..19: the 20 bins merged pairwise into PSI's 10 buckets.
    expect(d.psi).toBeCloseTo(0.14659865740326092, 12);
  });

  it('falls back to the histogram (linear within bins) when the statistics predate percentiles', () => {
    const { percentiles: _, ...old } = baseline;
    for (const b of [old, { ...baseline, percentiles: null }]) {
      const h = numericDrift(b, sample)!;
      // cum = np.concatenate([[0], np.cumsum(counts)])/1000
      // scipy.stats.kstest(sample, lambda x: np.interp(x, edges, cum)).statistic
      expect(h.ks.statistic).toBeCloseTo(0.1438666666666667, 12);
      // As above with qb = np.interp(u, cum, edges)
      expect(Math.abs(h.wasserstein - 0.2935218344014002)).toBeLessThan(1e-6);
      expect(h.psi).toBe(d.psi);
      expect(h.outOfRange).toBe(d.outOfRange);
    }
  });
});

describe('numericDrift on normal samples', () => {
  const baseline = numericBaseline(normals(1, 20_000, 50, 10));

  it('sees no drift in a sample from the same distribution', () => {
    const d = numericDrift(baseline, normals(2, 5_000, 50, 10))!;
    expect(d.psi).toBeLessThan(0.1);
    expect(d.ks.pValue).toBeGreaterThan(0.05);
    expect(d.wasserstein).toBeLessThan(0.1);
    expect(d.n).toBe(5_000);
  });

  it('sees a shift of 0.7 standard deviations', () => {
    const d = numericDrift(baseline, normals(2, 5_000, 57, 10))!;
    expect(d.psi).toBeGreaterThan(0.2);
    expect(d.ks.pValue).toBeLessThan(1e-6);
    expect(d.wasserstein).toBeGreaterThan(0.6);
    expect(d.wasserstein).toBeLessThan(0.8);
  });

  it('runs over a million values', () => {
    const d = numericDrift(baseline, normals(3, 1_000_000, 50, 10))!;
    expect(d.n).toBe(1_000_000);
    expect(d.wasserstein).toBeLessThan(0.05);
  });
});

describe('numericDrift edge cases', () => {
  it('is null for an empty sample or a baseline without values', () => {
    expect(numericDrift(numericBaseline([1, 2, 3]), new Float64Array(0))).toBeNull();
    expect(numericDrift(numericBaseline([]), sortedOf([1]))).toBeNull();
  });

  it('reads a constant baseline as a point: no drift at the value, absolute distance away from it', () => {
    const baseline = numericBaseline([5, 5, 5, 5]);
    expect(baseline.std).toBe(0);
    const same = numericDrift(baseline, sortedOf([5, 5, 5]))!;
    expect(same).toEqual({ psi: 0, ks: { statistic: 0, pValue: 1 }, wasserstein: 0, outOfRange: 0, n: 3 });
    const moved = numericDrift(baseline, sortedOf([4, 5, 5, 7]))!;
    expect(moved.outOfRange).toBe(0.5);
    // std 0: the distance in the column's own units, mean |x − 5| = (1 + 0 + 0 + 2)/4.
    expect(moved.wasserstein).toBeCloseTo(0.75, 12);
    // F jumps 0 → 1 at 5; the ECDF is ¼ just below it and ¾ at it.
    expect(moved.ks.statistic).toBeCloseTo(0.25, 12);
    // Below/at/above buckets: (¼ − ε)ln(¼/ε) twice, plus (½ − 1)ln(½).
    const eps = 1e-4;
    expect(moved.psi).toBeCloseTo(2 * (0.25 - eps) * Math.log(0.25 / eps) + (0.5 - 1) * Math.log(0.5), 12);
    // A single value: std null, the distance is absolute too.
    expect(numericDrift(numericBaseline([5]), sortedOf([6]))!.wasserstein).toBeCloseTo(1, 12);
  });

  it('sees a sample entirely outside the range', () => {
    const baseline = numericBaseline(Array.from({ length: 101 }, (_, i) => i));
    const d = numericDrift(baseline, sortedOf([150, 160, 170, 180]))!;
    expect(d.outOfRange).toBe(1);
    expect(d.ks.statistic).toBe(1);
    expect(d.ks.pValue).toBeLessThan(1e-3);
    // Uniform 0..100 against mean 165: the distance is 165 − 50 = 115 over std √(101·102/12)… exactly, as the
    // percentiles of 0..100 are the values themselves.
    const std = baseline.std!;
    expect(d.wasserstein).toBeCloseTo(115 / std, 9);
    // All in the last bin (open to +∞), which held 10/101 of the baseline, the other bins nothing.
    expect(d.psi).toBeGreaterThan(5);
  });

  it('follows a baseline\'s jump at a repeated value (zero-inflated column) instead of smearing it', () => {
    const values = [...new Array<number>(500).fill(0), ...Array.from({ length: 500 }, (_, i) => i + 1)];
    const d = numericDrift(numericBaseline(values), sortedOf(values))!;
    // At 0, F(0⁻) = 0 as the ECDF's G(0⁻), and F(0) = 0.49 (percentiles 0..49 are 0, the 50th 0.5) against
    // G(0) = 0.5: one percentile's resolution. Reading only one side of the step would see a gap of ½.
    expect(d.ks.statistic).toBeCloseTo(0.01, 12);
    expect(d.ks.pValue).toBeGreaterThan(0.99);
    expect(d.psi).toBeLessThan(1e-9);
  });
});

describe('categoricalDrift', () => {
  it('matches SciPy on the chi-square and Jensen–Shannon distance', () => {
    const d = categoricalDrift(categoricalBaseline({ a: 50, b: 30, c: 20 }), counts({ a: 45, b: 35, c: 20 }))!;
    // scipy.stats.chisquare([45, 35, 20], f_exp=[50, 30, 20]) → statistic 1.3333333333333335, p 0.5134171190325921
    expect(d.chiSquare.statistic).toBeCloseTo(1.3333333333333335, 12);
    expect(d.chiSquare.df).toBe(2);
    expectRelative(d.chiSquare.pValue, 0.5134171190325921, 1e-10);
    expect(d.unseen).toBe(0);
    expect(d.n).toBe(100);
  });

  it('sees the same proportions as no drift', () => {
    const d = categoricalDrift(categoricalBaseline({ a: 500, b: 300, c: 200 }), counts({ c: 20, a: 50, b: 30 }))!;
    expect(d.chiSquare.statistic).toBeCloseTo(0, 12);
    expect(d.chiSquare.pValue).toBeGreaterThan(0.05);
    expect(d.jensenShannon).toBeCloseTo(0, 6);
    expect(d.psi).toBeCloseTo(0, 12);
  });

  it('counts a value never seen exactly, and heavily in the chi-square', () => {
    const d = categoricalDrift(categoricalBaseline({ a: 50, b: 30, c: 20 }), counts({ a: 40, b: 40, c: 15, d: 5 }))!;
    expect(d.unseen).toBe(0.05);
    // scipy.spatial.distance.jensenshannon([.5, .3, .2, 0], [.40, .40, .15, .05], base=2)
    expect(d.jensenShannon).toBeCloseTo(0.1917576638750537, 12);
    // 4 buckets (a, b, c, other); the unseen "d" expects 100·1e-9:
    // (40-50)**2/50 + (40-30)**2/30 + (15-20)**2/20 + (5-100e-9)**2/100e-9
    expectRelative(d.chiSquare.statistic, 249999996.5833334, 1e-12);
    expect(d.chiSquare.df).toBe(3);
    expect(d.chiSquare.pValue).toBe(0);
  });

  it('puts the baseline\'s values past its top list and the sample\'s unlisted values in one "other" bucket', () => {
    // 5 distinct values, 3 listed: 20 of 120 rows are "other".
    const baseline = categoricalBaseline({ a: 50, b: 30, c: 20 }, { count: 120, distinct: 5 });
    const d = categoricalDrift(baseline, counts({ a: 40, b: 30, c: 20, e: 10 }))!;
    // Not the whole vocabulary: "e" may be one of the two values the list left out.
    expect(d.unseen).toBeNull();
    // scipy.stats.chisquare([40, 30, 20, 10], f_exp=np.array([50, 30, 20, 20])/120*100) → 4.4, p 0.2213853871894879
    expect(d.chiSquare.statistic).toBeCloseTo(4.4, 12);
    expect(d.chiSquare.df).toBe(3);
    expectRelative(d.chiSquare.pValue, 0.2213853871894879, 1e-10);
    // scipy.spatial.distance.jensenshannon(np.array([50,30,20,20])/120, np.array([40,30,20,10])/100, base=2)
    expect(d.jensenShannon).toBeCloseTo(0.0945214579693689, 12);
    // pp = np.array([50,30,20,20])/120; qq = np.array([40,30,20,10])/100; np.sum((qq - pp)*np.log(qq/pp))
    expect(d.psi).toBeCloseTo(0.04992887122589983, 12);
  });

  it('leaves out a bucket empty on both sides, and is null with nothing to compare', () => {
    // No "other" on either side: two buckets, df 1.
    const d = categoricalDrift(categoricalBaseline({ x: 10, y: 10 }), counts({ x: 10, y: 10 }))!;
    expect(d.chiSquare.df).toBe(1);
    expect(d.chiSquare.pValue).toBe(1);
    expect(categoricalDrift(categoricalBaseline({ x: 1 }), new Map())).toBeNull();
    expect(categoricalDrift(categoricalBaseline({ x: 1 }), counts({ x: 0 }))).toBeNull();
    expect(categoricalDrift(categoricalBaseline({}), counts({ x: 3 }))).toBeNull();
  });

  it('puts a completely different sample at the maximum distance', () => {
    const d = categoricalDrift(categoricalBaseline({ a: 10 }), counts({ z: 10 }))!;
    expect(d.unseen).toBe(1);
    expect(d.jensenShannon).toBeCloseTo(1, 12);
  });
});
