import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HeadToHeadConfigSchema } from '../../../pipelines/head-to-head-config.js';
import { HEAD_TO_HEAD_FEATURES, OUTCOME_CLASSES, REST_DAYS_CAP, UNKNOWN_TEAM_FALLBACK, computeMatchFeatures, eloDelta, emptyState, featuresForFixture, outcomeLabel } from '../../../data/head-to-head.js';
import { servingEncoder } from '../../../serving/encoder.js';
import { applyTransform, fitTransform, inputSchema } from '../../../data/transform.js';

const cfg = HeadToHeadConfigSchema.parse({ kind: 'head-to-head' });

type Match = { date: string; division?: string; home_team: string; away_team: string; home_score: number; away_score: number };

function loadFootball(): Match[] {
  // vega-datasets' package "exports" only exposes the JS entry, so
  // require('vega-datasets/data/football.json') throws ERR_PACKAGE_PATH_NOT_EXPORTED;
  // resolve the package entry and read the data file beside it instead.
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('vega-datasets')), '..', 'data', 'football.json');
  const rows = JSON.parse(readFileSync(file, 'utf8')) as (Omit<Match, 'home_score' | 'away_score'> & { home_score: number | null; away_score: number | null })[];
  return rows.filter((r): r is Match => r.home_score !== null && r.away_score !== null);
}

const small: Match[] = [
  { date: '2020-01-01', division: 'L', home_team: 'A', away_team: 'B', home_score: 2, away_score: 0 },
  { date: '2020-01-01', division: 'L', home_team: 'C', away_team: 'D', home_score: 1, away_score: 1 },
  { date: '2020-01-05', division: 'L', home_team: 'B', away_team: 'C', home_score: 0, away_score: 3 },
  { date: '2020-01-05', division: 'L', home_team: 'D', away_team: 'A', home_score: 2, away_score: 2 },
  { date: '2020-01-09', division: 'L', home_team: 'A', away_team: 'C', home_score: 1, away_score: 0 },
  { date: '2020-01-09', division: 'L', home_team: 'B', away_team: 'D', home_score: 4, away_score: 1 },
  { date: '2020-01-12', division: 'L', home_team: 'C', away_team: 'A', home_score: 0, away_score: 0 },
];

describe('config and labels', () => {
  it('applies the documented defaults', () => {
    expect(cfg).toEqual({
      kind: 'head-to-head', date: 'date', homeTeam: 'home_team', awayTeam: 'away_team', homeScore: 'home_score', awayScore: 'away_score',
      group: 'division', elo: { k: 20, homeAdvantage: 60, initial: 1500, goalDiffMultiplier: true }, formWindow: 5,
    });
    expect(HeadToHeadConfigSchema.parse({ kind: 'head-to-head', elo: { k: 32 } }).elo).toEqual({ k: 32, homeAdvantage: 60, initial: 1500, goalDiffMultiplier: true });
  });
  it('labels outcomes in ranked order', () => {
    expect(OUTCOME_CLASSES).toEqual(['home', 'draw', 'away']);
    expect([outcomeLabel(2, 1), outcomeLabel(1, 1), outcomeLabel(0, 3)]).toEqual(['home', 'draw', 'away']);
  });
});

describe('computeMatchFeatures', () => {
  it('returns one feature record per match with all feature names', () => {
    const { features, state } = computeMatchFeatures(small, cfg);
    expect(features).toHaveLength(small.length);
    for (const f of features) {
      expect(Object.keys(f)).toEqual([...HEAD_TO_HEAD_FEATURES]);
      for (const v of Object.values(f)) expect(Number.isFinite(v)).toBe(true);
    }
    expect(state.matchesProcessed).toBe(small.length);
    expect(state.lastDate).toBe('2020-01-12');
    // first matches: everyone unknown
    expect(features[0].home_elo).toBe(1500);
    expect(features[0].elo_diff).toBe(60);
    expect(features[0].home_rest_days).toBe(REST_DAYS_CAP);
    // A played on 01-01 and 01-05 → 4 days rest on 01-09; A has 2 matches before 01-09
    expect(features[4].home_rest_days).toBe(4);
    expect(features[4].home_matches_log1p).toBeCloseTo(Math.log1p(2));
  });

  it('has no leakage: a later score never changes earlier features', () => {
    const base = computeMatchFeatures(small, cfg).features;
    const changed = small.map((m, i) => (i === 5 ? { ...m, home_score: 0, away_score: 7 } : m));
    const after = computeMatchFeatures(changed, cfg).features;
    for (let i = 0; i <= 5; i++) expect(after[i]).toEqual(base[i]); // includes the changed match and its same-date sibling
    expect(after[6]).not.toEqual(base[6]);
  });

  it('matches on the same date do not see each other', () => {
    const base = computeMatchFeatures(small, cfg).features;
    // change match 0; match 1 is on the same date (and would see league stats/teams if not batched)
    const changed = small.map((m, i) => (i === 0 ? { ...m, home_score: 0, away_score: 5 } : m));
    const after = computeMatchFeatures(changed, cfg).features;
    expect(after[1]).toEqual(base[1]);
    expect(after[0]).toEqual(base[0]);
    expect(after[2]).not.toEqual(base[2]);
    // a team playing twice on one date gets the same pre-date features in both
    const twice = [
      ...small,
      { date: '2020-01-20', division: 'L', home_team: 'A', away_team: 'B', home_score: 3, away_score: 0 },
      { date: '2020-01-20', division: 'L', home_team: 'A', away_team: 'D', home_score: 0, away_score: 1 },
    ];
    const f = computeMatchFeatures(twice, cfg).features;
    expect(f[7].home_elo).toBe(f[8].home_elo);
    expect(f[7].home_form_ppg).toBe(f[8].home_form_ppg);
  });

  it('is independent of input order within and across dates (output keeps input order)', () => {
    const { features } = computeMatchFeatures(small, cfg);
    const perm = [6, 1, 0, 3, 5, 2, 4];
    const shuffled = perm.map((i) => small[i]);
    const f2 = computeMatchFeatures(shuffled, cfg).features;
    perm.forEach((orig, j) => expect(f2[j]).toEqual(features[orig]));
  });

  it('can continue from a previous state', () => {
    const all = computeMatchFeatures(small, cfg);
    const first = computeMatchFeatures(small.slice(0, 4), cfg);
    const rest = computeMatchFeatures(small.slice(4), cfg, JSON.parse(JSON.stringify(first.state)));
    expect(rest.features).toEqual(all.features.slice(4));
    expect(JSON.parse(JSON.stringify(rest.state))).toEqual(JSON.parse(JSON.stringify(all.state)));
    expect(() => computeMatchFeatures(small.slice(3), cfg, first.state)).toThrow(/not after/);
  });

  it('throws on invalid rows instead of silently mis-rating', () => {
    expect(() => computeMatchFeatures([{ ...small[0], home_score: null }], cfg)).toThrow(/match 0: home_score/);
    expect(() => computeMatchFeatures([{ ...small[0], date: 'nope' }], cfg)).toThrow(/match 0: date/);
  });
});

describe('Elo', () => {
  it('moves ratings in the right direction and is zero-sum', () => {
    const { state } = computeMatchFeatures([small[0]], cfg);
    expect(state.teams.A.elo).toBeGreaterThan(1500);
    expect(state.teams.B.elo).toBeLessThan(1500);
    expect(state.teams.A.elo + state.teams.B.elo).toBeCloseTo(3000, 9);
    // draw between equals: home side (expected to win thanks to home advantage) loses points
    expect(eloDelta(cfg, 1500, 1500, 1, 1)).toBeLessThan(0);
    // upset moves more than an expected win; bigger margins move more
    expect(Math.abs(eloDelta(cfg, 1400, 1700, 1, 0))).toBeGreaterThan(Math.abs(eloDelta(cfg, 1700, 1400, 1, 0)));
    expect(eloDelta(cfg, 1500, 1500, 4, 0)).toBeGreaterThan(eloDelta(cfg, 1500, 1500, 1, 0));
    const noMov = { ...cfg, elo: { ...cfg.elo, goalDiffMultiplier: false } };
    expect(eloDelta(noMov, 1500, 1500, 4, 0)).toBeCloseTo(eloDelta(noMov, 1500, 1500, 1, 0));
    // exact: k * (1 - E), E = 1/(1+10^(-60/400))
    expect(eloDelta(cfg, 1500, 1500, 1, 0)).toBeCloseTo(20 * (1 - 1 / (1 + Math.pow(10, -60 / 400))), 10);
  });
});

describe('featuresForFixture', () => {
  it('equals what computeMatchFeatures gives a next-day match', () => {
    const { state } = computeMatchFeatures(small, cfg);
    const fixtures = [
      { home_team: 'B', away_team: 'A' },
      { home_team: 'D', away_team: 'C', division: 'L' },
      { home_team: 'A', away_team: 'Newcomers' },
    ];
    for (const fx of fixtures) {
      const next = { ...fx, date: '2020-01-13', home_score: 0, away_score: 0, division: 'L' };
      const walked = computeMatchFeatures([...small, next], cfg).features.at(-1);
      expect(featuresForFixture(state, cfg, { ...fx, date: '2020-01-13' })).toEqual(walked);
      // date omitted → day after the last processed match
      expect(featuresForFixture(state, cfg, fx)).toEqual(walked);
      // state survives a JSON round trip
      expect(featuresForFixture(JSON.parse(JSON.stringify(state)), cfg, fx)).toEqual(walked);
    }
  });

  it('falls back gracefully for unknown teams', () => {
    expect(UNKNOWN_TEAM_FALLBACK).toMatch(/1500/);
    const { state } = computeMatchFeatures(small, cfg);
    const f = featuresForFixture(state, cfg, { home_team: 'Nobody FC', away_team: 'Ghosts United', date: '2020-02-01' });
    const known = featuresForFixture(state, cfg, { home_team: 'A', away_team: 'B', date: '2020-02-01' });
    expect(f.home_elo).toBe(1500);
    expect(f.away_elo).toBe(1500);
    expect(f.elo_diff).toBe(60);
    expect(f.home_form_gd).toBe(0);
    expect(f.home_matches_log1p).toBe(0);
    expect(f.home_rest_days).toBe(REST_DAYS_CAP);
    expect(f.home_form_ppg).toBe(f.away_form_ppg); // league average
    expect(f.home_form_ppg).toBeGreaterThan(1);
    expect(f.home_form_ppg).toBeLessThan(1.6);
    expect(f.home_team_home_win_rate).toBeGreaterThan(0);
    expect(f.home_team_home_win_rate).toBeLessThan(1);
    expect(known.home_elo).not.toBe(1500);
    // empty state and junk input never throw
    const e = featuresForFixture(emptyState(), cfg, { home_team: 'X', away_team: null });
    expect(Object.values(e).every(Number.isFinite)).toBe(true);
  });

  /** A transform fitted on the small history, carrying its head-to-head state for serving. */
  function fittedOnSmall() {
    const { features, state } = computeMatchFeatures(small, cfg);
    const train = small.map((m, i) => ({ ...m, ...features[i], outcome: outcomeLabel(m.home_score, m.away_score) }));
    const t = fitTransform(train, {
      target: 'outcome',
      features: { maxCategories: 20, include: [...HEAD_TO_HEAD_FEATURES, 'division'] },
      candidateColumns: [...HEAD_TO_HEAD_FEATURES, 'division', 'home_team', 'away_team', 'date', 'outcome'],
      headToHead: { config: cfg, state },
    });
    return { t, state };
  }

  it('serves through the fitted transform: inputSchema shows raw fields, the serving encoder adds features', () => {
    const { t, state } = fittedOnSmall();
    const loaded = JSON.parse(JSON.stringify(t));
    const schema = inputSchema(loaded);
    expect(schema.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['division', 'categorical', false],
      ['home_team', 'categorical', true],
      ['away_team', 'categorical', true],
      ['date', 'date', false],
    ]);
    const req = [
      { home_team: 'A', away_team: 'C', division: 'L' },
      { home_team: 'C', away_team: 'A', division: 'L', date: '2020-03-01' },
      { home_team: 'Nobody FC', away_team: 'A', division: 'L', home_elo: 9999 },
    ];
    const served = servingEncoder(loaded).encode(req);
    const direct = applyTransform(t, req.map((r) => ({ ...r, ...featuresForFixture(state, cfg, r) })));
    expect(served).toEqual(direct.matrix);
    expect(direct.cols).toBe(HEAD_TO_HEAD_FEATURES.length + 2);
  });

  it('fills a missing league from the home team\'s latest league, as training saw it', () => {
    const { t, state } = fittedOnSmall();
    const home = small[small.length - 1].home_team;
    const league = state.teams[home].group!;
    const encode = (rows: Record<string, unknown>[]) => servingEncoder(t).encode(rows);
    const encodeAs = (division: unknown) => applyTransform(t, [{ home_team: home, away_team: 'C', division, ...featuresForFixture(state, cfg, { home_team: home, away_team: 'C', division }) }]).matrix;
    expect(encode([{ home_team: home, away_team: 'C' }])).toEqual(encodeAs(league));
    expect(encode([{ home_team: home, away_team: 'C', division: '  ' }])).toEqual(encodeAs(league));
    expect(encode([{ home_team: home, away_team: 'C', division: 'Other league' }])).toEqual(encodeAs('Other league'));
    expect(encode([{ home_team: home, away_team: 'C', division: 'Other league' }])).not.toEqual(encodeAs(league));
  });
});

describe('real data: vega-datasets football.json', () => {
  it('elo_diff carries signal in the last season', () => {
    const matches = loadFootball();
    expect(matches.length).toBeGreaterThan(6400);
    const { features, state } = computeMatchFeatures(matches, cfg);
    expect(features).toHaveLength(matches.length);
    // zero-sum Elo across the whole history
    const teams = Object.values(state.teams);
    const total = teams.reduce((s, t) => s + t.elo, 0);
    expect(total).toBeCloseTo(teams.length * 1500, 6);

    const last = matches
      .map((m, i) => ({ m, f: features[i] }))
      .filter((x) => x.m.date >= '2016-07-01')
      .sort((a, b) => a.f.elo_diff - b.f.elo_diff);
    expect(last.length).toBeGreaterThan(1500);
    const half = Math.floor(last.length / 2);
    const homeWinRate = (xs: typeof last) => xs.filter((x) => outcomeLabel(x.m.home_score, x.m.away_score) === 'home').length / xs.length;
    const low = homeWinRate(last.slice(0, half));
    const high = homeWinRate(last.slice(half));
    expect(high - low).toBeGreaterThan(0.15);

    // serving parity on the real state: next-day fixture
    const fx = { home_team: 'Barcelona', away_team: 'R. Madrid', division: 'Primera Division' };
    const walked = computeMatchFeatures([...matches, { ...fx, date: '2017-05-29', home_score: 1, away_score: 1 }], cfg).features.at(-1);
    expect(featuresForFixture(state, cfg, fx)).toEqual(walked);
  });
});
