// How far new values of a column have moved from the statistics of the data a model was trained on: the
// numbers behind the drift checks (drift-checks.ts). Pure arithmetic over a sorted sample or a map of counts:
// no dataframe library and no Node built-ins, so the API process, the monitor and the validate stage can all
// run it. It runs over up to a million served values per column per window, so every pass over the sample is
// a single loop with no allocation per value, O(n + bins).
import type { ColumnStatistics } from '../pipelines/contract.js';

export type NumericBaseline = Extract<ColumnStatistics, { kind: 'numeric' }>;
export type CategoricalBaseline = Extract<ColumnStatistics, { kind: 'categorical' }>;

export interface NumericDrift {
  /** Population stability index over the baseline's histogram bins (first and last bin extended to ±∞). */
  psi: number;
  /** Two-sample Kolmogorov–Smirnov: the largest gap between the baseline's CDF and the sample's ECDF, and its p-value. */
  ks: { statistic: number; pValue: number };
  /** Wasserstein-1 distance between the two distributions, divided by the baseline's std (0 when std is 0 or null: then use absolute). */
  wasserstein: number;
  /** Share of sample values outside [baseline.min, baseline.max]. */
  outOfRange: number;
  /** Sample size used. */
  n: number;
}

export interface CategoricalDrift {
  psi: number;
  /** Pearson chi-square goodness of fit of the sample's counts against the baseline's proportions. */
  chiSquare: { statistic: number; df: number; pValue: number };
  /** Jensen–Shannon distance (square root of the divergence, log base 2: in [0, 1]). */
  jensenShannon: number;
  /** Share of sample values the baseline never had; null when the baseline's `top` is not its whole vocabulary (distinct > top.length). */
  unseen: number | null;
  n: number;
}

/**
 * Proportions below this are raised to it in the PSI, on both sides: a bin one side never saw would otherwise
 * make ln(a/e) infinite. 1e-4 is the usual choice: a bin empty in the baseline and holding 1% of the sample then
 * adds ≈ 0.01·ln(100) ≈ 0.05, noticeable but not by itself over the customary 0.1/0.25 thresholds.
 */
export const PSI_EPSILON = 1e-4;
/** Buckets of a numeric PSI: the baseline's histogram bins merged in adjacent groups. */
export const PSI_BUCKETS = 10;
/**
 * The baseline proportion the chi-square gives a category the baseline never had (p = 0 has no expected count
 * to divide by). Deliberately tiny rather than the PSI's ε: a value training never saw is the strongest sign of
 * change there is, so each such row adds ≈ O²/(n·1e-9) and the test rejects; whether the change is large enough
 * to matter is the Jensen–Shannon distance's job (drift-checks.ts gates on both). Small enough to be decisive,
 * large enough that the statistic stays finite (≤ n/1e-9).
 */
export const CHI_SQUARE_UNSEEN_PROPORTION = 1e-9;

// ---------------------------------------------------------------------------------------------------------
// Numbers

/**
 * The baseline's distribution as a piecewise-linear CDF through knots (xs[k], us[k]), both non-decreasing,
 * us from 0 to 1. Equal xs are a jump of the CDF (a value the baseline holds many times: percentiles 0..40 all
 * 0 in a zero-inflated column); equal us are a gap where the baseline had nothing (an empty histogram bin). The
 * same knots read the other way are the quantile function, piecewise linear in u.
 *
 * From the percentiles when they are there: 101 points of the baseline's own quantile function (linear
 * interpolation between ranks), so linear between them is within one percentile of the real CDF everywhere,
 * and much closer where the density is smooth. The weak spots are the two outer segments (min..p1, p99..max),
 * where a long tail is drawn as a straight line: with a very large baseline and sample the KS test can see that
 * approximation itself, which is why drift-checks.ts also asks for a Wasserstein distance before calling drift.
 * Older statistics have no percentiles: then the histogram's cumulative counts at its edges, linear within
 * each bin (a uniform density per bin) — coarser (20 bins) but exact at the edges.
 */
interface Knots {
  xs: Float64Array;
  us: Float64Array;
}

function baselineKnots(b: NumericBaseline): Knots | null {
  const p = b.percentiles;
  if (p && p.length >= 2 && p.every(Number.isFinite)) {
    const m = p.length;
    const xs = new Float64Array(m);
    const us = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      // a + (b − a)·f can round a hair past b: keep the knots monotone, or the CDF would step backwards.
      xs[k] = k === 0 ? p[0] : Math.max(p[k], xs[k - 1]);
      us[k] = k / (m - 1);
    }
    us[m - 1] = 1;
    return { xs, us };
  }
  const h = b.histogram;
  if (!h || h.counts.length === 0 || h.edges.length !== h.counts.length + 1 || !h.edges.every(Number.isFinite)) return null;
  let total = 0;
  for (const c of h.counts) total += c;
  if (!(total > 0)) return null;
  const m = h.edges.length;
  const xs = new Float64Array(m);
  const us = new Float64Array(m);
  let cumulative = 0;
  for (let k = 0; k < m; k++) {
    xs[k] = k === 0 ? h.edges[0] : Math.max(h.edges[k], xs[k - 1]);
    us[k] = cumulative / total;
    if (k < h.counts.length) cumulative += h.counts[k];
  }
  us[m - 1] = 1;
  return { xs, us };
}

/**
 * Kolmogorov–Smirnov statistic of an ascending sample against the baseline CDF. F is non-decreasing and the
 * ECDF G is constant between two sample values, so |F − G| on each such interval is largest at its ends: the
 * sup is attained at the sample values themselves, on one side or the other of each step. So at each distinct
 * value s: F(s) − G(s) and F(s⁻) − G(s⁻) (F's left limit matters where the baseline itself jumps, at a repeated
 * value). Both limits come from a pointer over the knots that only moves forward: O(n + knots).
 */
function ksStatistic(knots: Knots, sorted: Float64Array): number {
  const { xs, us } = knots;
  const last = xs.length - 1;
  const n = sorted.length;
  // right: the last knot with xs ≤ x (F(x)); left: the last knot with xs < x (F(x⁻)); −1 before the first.
  let right = -1;
  let left = -1;
  const cdf = (k: number, x: number) => {
    if (k < 0) return 0;
    if (k >= last) return 1;
    // xs[k] ≤ x ≤ xs[k + 1] and xs[k] < xs[k + 1] here (k is the last knot at or below x, or strictly below).
    const span = xs[k + 1] - xs[k];
    return span > 0 ? us[k] + (us[k + 1] - us[k]) * ((x - xs[k]) / span) : us[k + 1];
  };
  let d = 0;
  let i = 0;
  while (i < n) {
    const s = sorted[i];
    let j = i + 1;
    while (j < n && sorted[j] === s) j++;
    while (right < last && xs[right + 1] <= s) right++;
    while (left < last && xs[left + 1] < s) left++;
    const below = Math.abs(cdf(left, s) - i / n);
    const at = Math.abs(cdf(right, s) - j / n);
    if (below > d) d = below;
    if (at > d) d = at;
    i = j;
  }
  return d;
}

/**
 * W₁ = ∫₀¹ |Q_base(u) − Q_sample(u)| du, integrated exactly over the merged breakpoints of the two quantile
 * functions: the sample's is a step (s[i] on (i/n, (i+1)/n]), the baseline's linear between knots, so on each
 * piece the integrand is |linear − constant|, whose integral has a closed form. Exact for the piecewise-linear
 * baseline (no grid error), one pass: O(n + knots).
 */
function wasserstein1(knots: Knots, sorted: Float64Array): number {
  const { xs, us } = knots;
  const n = sorted.length;
  const segments = xs.length - 1;
  let k = 0;
  while (k < segments - 1 && !(us[k + 1] > us[k])) k++;
  const quantile = (u: number) => {
    const du = us[k + 1] - us[k];
    return du > 0 ? xs[k] + (xs[k + 1] - xs[k]) * ((u - us[k]) / du) : xs[k + 1];
  };
  let total = 0;
  let u = 0;
  for (let i = 0; i < n; i++) {
    const c = sorted[i];
    const end = i === n - 1 ? 1 : (i + 1) / n;
    while (u < end) {
      // The baseline segment holding u: move past segments that end at or before it.
      while (k < segments - 1 && us[k + 1] <= u) k++;
      const next = k < segments - 1 ? Math.min(end, us[k + 1]) : end;
      const length = next - u;
      if (length > 0) {
        const d1 = quantile(u) - c;
        const d2 = quantile(next) - c;
        // Same sign: a trapezoid; opposite signs: two triangles either side of the crossing.
        total += d1 * d2 >= 0 ? (length * Math.abs(d1 + d2)) / 2 : (length * (d1 * d1 + d2 * d2)) / (2 * (Math.abs(d1) + Math.abs(d2)));
      }
      u = next;
      if (next === end) break;
    }
  }
  return total;
}

/**
 * PSI over the baseline's histogram bins, merged into PSI_BUCKETS buckets. The sample is binned with numericFigures' own arithmetic
 * (⌊(x − min)/width⌋, the maximum in the last bin), so a value lands in the bin the baseline would have put it
 * in, and values beyond the range in the outer bins (open to ±∞): out-of-range values are counted by
 * `outOfRange`, here they only move mass into the end bins. A constant baseline (all values equal, width 0) has
 * one bin that would swallow every sample value: it is read as three buckets instead — below, at, above the
 * value — with the baseline all at it.
 */
function numericPsi(h: { edges: number[]; counts: number[] }, sorted: Float64Array): number {
  const bins = h.counts.length;
  const min = h.edges[0];
  const max = h.edges[bins];
  const n = sorted.length;
  let total = 0;
  for (const c of h.counts) total += c;
  const width = (max - min) / bins;
  if (!(width > 0)) {
    let below = 0;
    let above = 0;
    for (let i = 0; i < n; i++) {
      if (sorted[i] < min) below++;
      else if (sorted[i] > min) above++;
    }
    return psiTerm(below / n, 0) + psiTerm((n - below - above) / n, 1) + psiTerm(above / n, 0);
  }
  // The sample's count per histogram bin, then adjacent bins merged into PSI_BUCKETS buckets: PSI's usual
  // ten (its conventional 0.1 / 0.25 bounds assume them), and each bucket's share far less noisy on a
  // window of a few hundred values than twenty half-size bins (a sample of n from the same distribution
  // scores about (buckets − 1)/n by chance alone).
  const inBin = new Float64Array(bins);
  for (let i = 0; i < n; i++) inBin[Math.min(bins - 1, Math.max(0, Math.floor((sorted[i] - min) / width)))]++;
  const buckets = Math.min(PSI_BUCKETS, bins);
  const actual = new Float64Array(buckets);
  const expected = new Float64Array(buckets);
  for (let b = 0; b < bins; b++) {
    const to = Math.floor((b * buckets) / bins);
    actual[to] += inBin[b];
    expected[to] += h.counts[b];
  }
  let psi = 0;
  for (let b = 0; b < buckets; b++) psi += psiTerm(actual[b] / n, expected[b] / total);
  return psi;
}

/** One bucket's (a − e)·ln(a/e), with proportions raised to PSI_EPSILON so the log is finite. */
function psiTerm(actual: number, expected: number): number {
  const a = Math.max(actual, PSI_EPSILON);
  const e = Math.max(expected, PSI_EPSILON);
  return (a - e) * Math.log(a / e);
}

/**
 * Drift of an ascending sample of finite numbers from a numeric baseline; null when the baseline has no values
 * (or neither percentiles nor a histogram to describe them) or the sample is empty.
 */
export function numericDrift(baseline: NumericBaseline, sortedSample: Float64Array): NumericDrift | null {
  const n = sortedSample.length;
  if (n === 0 || !(baseline.count > 0) || baseline.min === null || baseline.max === null || !baseline.histogram) return null;
  const knots = baselineKnots(baseline);
  if (!knots) return null;
  const { min, max } = baseline;
  let outside = 0;
  for (let i = 0; i < n; i++) {
    const x = sortedSample[i];
    if (x < min || x > max) outside++;
  }
  const statistic = ksStatistic(knots, sortedSample);
  const std = baseline.std;
  const w = wasserstein1(knots, sortedSample);
  return {
    psi: numericPsi(baseline.histogram, sortedSample),
    // The baseline's sample size is its count: the test is two-sample even though one side is a summary of it.
    ks: { statistic, pValue: ksPValue(statistic, baseline.count, n) },
    wasserstein: std !== null && std > 0 ? w / std : w,
    outOfRange: outside / n,
    n,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Categories

/**
 * Drift of a sample's category counts from a categorical baseline; null when either side has no values. The
 * buckets are the baseline's listed values plus one "other": the baseline's remaining mass (count − Σ top, the
 * values past its top list) and the sample's values outside the list. A bucket empty on both sides is left out
 * (it carries no information, and would add a degree of freedom for nothing).
 */
export function categoricalDrift(baseline: CategoricalBaseline, sampleCounts: ReadonlyMap<string, number>): CategoricalDrift | null {
  const top = baseline.top;
  const buckets = top.length + 1;
  const index = new Map<string, number>();
  let listed = 0;
  top.forEach((t, i) => {
    index.set(t.value, i);
    listed += t.count;
  });
  const other = Math.max(0, baseline.count - listed);
  const baselineTotal = listed + other;
  const observed = new Float64Array(buckets);
  let n = 0;
  let outside = 0;
  for (const [value, count] of sampleCounts) {
    if (!(count > 0)) continue;
    const i = index.get(value);
    if (i === undefined) {
      observed[top.length] += count;
      outside += count;
    } else {
      observed[i] += count;
    }
    n += count;
  }
  if (n === 0 || !(baselineTotal > 0)) return null;

  let psi = 0;
  let chi = 0;
  let used = 0;
  let js = 0;
  for (let i = 0; i < buckets; i++) {
    const p = (i < top.length ? top[i].count : other) / baselineTotal;
    const o = observed[i];
    if (p === 0 && o === 0) continue;
    used++;
    const a = o / n;
    psi += psiTerm(a, p);
    const expected = n * (p > 0 ? p : CHI_SQUARE_UNSEEN_PROPORTION);
    chi += ((o - expected) * (o - expected)) / expected;
    // ½ KL(p‖m) + ½ KL(a‖m) with m the mixture, in bits; 0·log 0 = 0 (no smoothing needed: m > 0 wherever p or a is).
    const m = (p + a) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
  }
  const df = Math.max(1, used - 1);
  return {
    psi,
    chiSquare: { statistic: chi, df, pValue: chiSquarePValue(chi, df) },
    // Rounding can leave the divergence a hair below 0 or above 1.
    jensenShannon: Math.sqrt(Math.min(1, Math.max(0, js))),
    // Only a complete top list says which values training never had: past it, "other" is a mix of both.
    unseen: baseline.distinct > top.length ? null : outside / n,
    n,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Distributions

/**
 * P(D ≥ d) for the two-sample KS statistic with sample sizes n1, n2 (asymptotic Kolmogorov distribution with the
 * usual small-sample correction, en = sqrt(n1 n2/(n1+n2)), λ = (en + 0.12 + 0.11/en)·d).
 */
export function ksPValue(d: number, n1: number, n2: number): number {
  if (!(d > 0) || !(n1 > 0) || !(n2 > 0)) return 1;
  const en = Math.sqrt((n1 * n2) / (n1 + n2));
  return kolmogorovSurvival((en + 0.12 + 0.11 / en) * d);
}

/**
 * Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}: that alternating series converges fast for large λ but not for
 * small, where the Jacobi-theta form of the CDF, √(2π)/λ Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)}, does instead. Switching
 * at λ = 1.18 (as SciPy's `kolmogorov` does) keeps both to a handful of terms and full double precision; the
 * complement 1 − CDF is taken only where the CDF is ≤ 0.88, so nothing cancels.
 */
function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const w = (-Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let j = 1; j < 100; j++) {
      const term = Math.exp((2 * j - 1) * (2 * j - 1) * w);
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    return clamp01(1 - (Math.sqrt(2 * Math.PI) / lambda) * sum);
  }
  const w = -2 * lambda * lambda;
  let sum = 0;
  for (let j = 1; j < 100; j++) {
    const term = Math.exp(j * j * w);
    sum += j % 2 === 1 ? term : -term;
    if (term <= 1e-17 * sum) break;
  }
  return clamp01(2 * sum);
}

/**
 * Upper tail of the chi-square distribution, P(X ≥ x) with df degrees of freedom: the regularized upper
 * incomplete gamma Q(df/2, x/2).
 */
export function chiSquarePValue(x: number, df: number): number {
  if (!(df > 0)) return x > 0 ? 0 : 1;
  if (!(x > 0)) return 1;
  return clamp01(gammaQ(df / 2, x / 2));
}

/**
 * Q(a, x) = Γ(a, x)/Γ(a). Below x = a + 1 the series for P converges quickly and P is not close to 1, so
 * 1 − P loses nothing; above it the continued fraction for Q (modified Lentz) converges quickly and gives a
 * small Q directly, to full relative precision deep into the tail, where 1 − P would be all rounding.
 */
function gammaQ(a: number, x: number): number {
  const prefix = Math.exp(-x + a * Math.log(x) - lnGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 100_000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * prefix;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return prefix * h;
}

/** Lanczos coefficients for g = 7, n = 9: ln Γ to ~1e-15 relative for positive arguments. */
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

function lnGamma(z: number): number {
  // Reflection for z < ½ (df < 1): the Lanczos sum is accurate for Re z ≥ ½.
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lnGamma(1 - z);
  const y = z - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

const clamp01 = (p: number) => (p < 0 ? 0 : p > 1 ? 1 : p);
