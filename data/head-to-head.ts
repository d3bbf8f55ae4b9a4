/**
 * Point-in-time features for head-to-head match data (e.g. vega-datasets
 * football.json: date, division, home_team, away_team, home_score, away_score).
 *
 * Leakage rule: a match's features are computed ONLY from matches on strictly
 * earlier calendar dates. All matches of one date are featurized from the
 * state before that date, then the state is updated with all of them at once
 * (Elo deltas are computed from the pre-date ratings, so the result does not
 * depend on the order of matches within a date).
 *
 * The same `fixtureFeaturesInto` routine is used while walking history
 * (`computeMatchFeatures`) and at serving time (`FixtureFeatureSource`), so a
 * fixture featurized from the final state gets exactly the features the walk
 * would give a match on the next day.
 */
import type { GroupStats, TeamRatingsState, TeamState } from '../pipelines/fitted-features.js';
import type { HeadToHeadConfig } from '../pipelines/head-to-head-config.js';
import { dayToIso, valueToDay } from './dates.js';

// ---------------------------------------------------------------------------
// labels
// ---------------------------------------------------------------------------

export const OUTCOME_CLASSES = ['home', 'draw', 'away'] as const;
export type Outcome = (typeof OUTCOME_CLASSES)[number];

export function outcomeLabel(homeScore: number, awayScore: number): Outcome {
  return homeScore > awayScore ? 'home' : homeScore < awayScore ? 'away' : 'draw';
}

// ---------------------------------------------------------------------------
// features & constants
// ---------------------------------------------------------------------------

/** Feature names, in output order. */
export const HEAD_TO_HEAD_FEATURES = [
  'home_elo',
  'away_elo',
  'elo_diff', // home - away + homeAdvantage
  'elo_expected_home', // 1 / (1 + 10^(-elo_diff/400))
  'home_form_ppg', // points per game, last formWindow matches (any venue)
  'away_form_ppg',
  'home_form_gd', // goal difference per game, last formWindow matches
  'away_form_gd',
  'home_matches_log1p', // log1p(matches played so far)
  'away_matches_log1p',
  'home_team_home_win_rate', // smoothed toward league home-win rate
  'away_team_away_win_rate', // smoothed toward league away-win rate
  'home_rest_days', // days since last match, capped
  'away_rest_days',
] as const;
export type HeadToHeadFeatureName = (typeof HEAD_TO_HEAD_FEATURES)[number];

/** Days-since-last-match cap (also the value for teams with no previous match). */
export const REST_DAYS_CAP = 30;
/** Pseudo-count of the win-rate priors (team rates shrink toward the league rate). */
export const WIN_RATE_PRIOR_STRENGTH = 10;
/** Pseudo-count of the league-average priors (before a league has many matches). */
export const LEAGUE_PRIOR_STRENGTH = 20;
/** Typical top-flight football outcome frequencies, used as the league prior. */
export const LEAGUE_PRIOR = { home: 0.45, draw: 0.26, away: 0.29 } as const;

/**
 * UNKNOWN TEAM fallback (documented behaviour of `featuresForFixture` and of a
 * team's first match in `computeMatchFeatures`): a team never seen before gets
 * the initial Elo rating (cfg.elo.initial, default 1500), the league-average
 * form (points per game) and 0 goal difference, 0 matches played
 * (log1p = 0), the league's home/away win rate as its win-rate prior, and
 * REST_DAYS_CAP days since its last match. It never throws.
 */
export const UNKNOWN_TEAM_FALLBACK =
  'Unknown team: initial Elo rating (default 1500), league-average form (points per game) and 0 goal ' +
  'difference per game, 0 matches played, league-average home/away win rate as prior, and rest days = ' +
  `${REST_DAYS_CAP} (cap). Never an error.`;

// ---------------------------------------------------------------------------
// state (JSON-serializable)
// ---------------------------------------------------------------------------

export function emptyState(): TeamRatingsState {
  return {
    version: 1,
    teams: Object.create(null) as Record<string, TeamState>,
    groups: Object.create(null) as Record<string, GroupStats>,
    overall: { matches: 0, homeWins: 0, draws: 0, awayWins: 0 },
    lastDate: null,
    matchesProcessed: 0,
  };
}

function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

// ---------------------------------------------------------------------------
// core feature routine (shared by history walk and serving)
// ---------------------------------------------------------------------------

interface LeagueRates { home: number; draw: number; away: number; ppg: number }

function leagueRates(g: GroupStats): LeagueRates {
  const denom = g.matches + LEAGUE_PRIOR_STRENGTH;
  const home = (g.homeWins + LEAGUE_PRIOR_STRENGTH * LEAGUE_PRIOR.home) / denom;
  const draw = (g.draws + LEAGUE_PRIOR_STRENGTH * LEAGUE_PRIOR.draw) / denom;
  const away = (g.awayWins + LEAGUE_PRIOR_STRENGTH * LEAGUE_PRIOR.away) / denom;
  // average points per team per match
  const ppg = (3 * (home + away) + 2 * draw) / 2;
  return { home, draw, away, ppg };
}

function formPpg(t: TeamState | undefined, window: number, leaguePpg: number): number {
  if (!t) return leaguePpg;
  let s = 0;
  const pts = t.recentPoints;
  const k = Math.min(pts.length, window);
  for (let i = pts.length - k; i < pts.length; i++) s += pts[i];
  // pad missing history with the league average
  return (s + (window - k) * leaguePpg) / window;
}

function formGd(t: TeamState | undefined, window: number): number {
  if (!t) return 0;
  let s = 0;
  const gd = t.recentGoalDiff;
  const k = Math.min(gd.length, window);
  for (let i = gd.length - k; i < gd.length; i++) s += gd[i];
  return s / window; // padded with 0
}

function restDays(t: TeamState | undefined, day: number): number {
  if (!t || t.lastDay === null || !Number.isFinite(day)) return REST_DAYS_CAP;
  return Math.max(0, Math.min(REST_DAYS_CAP, day - t.lastDay));
}

function expectedHome(eloDiff: number): number {
  return 1 / (1 + Math.pow(10, -eloDiff / 400));
}

/** Writes a fixture's features into `out` in HEAD_TO_HEAD_FEATURES order. */
function fixtureFeaturesInto(
  cfg: HeadToHeadConfig,
  home: TeamState | undefined,
  away: TeamState | undefined,
  lg: LeagueRates,
  day: number,
  out: Float64Array,
): void {
  const initial = cfg.elo.initial;
  const w = cfg.formWindow;
  const homeElo = home ? home.elo : initial;
  const awayElo = away ? away.elo : initial;
  const eloDiff = homeElo - awayElo + cfg.elo.homeAdvantage;
  out[0] = homeElo;
  out[1] = awayElo;
  out[2] = eloDiff;
  out[3] = expectedHome(eloDiff);
  out[4] = formPpg(home, w, lg.ppg);
  out[5] = formPpg(away, w, lg.ppg);
  out[6] = formGd(home, w);
  out[7] = formGd(away, w);
  out[8] = Math.log1p(home ? home.played : 0);
  out[9] = Math.log1p(away ? away.played : 0);
  out[10] = ((home ? home.homeWins : 0) + WIN_RATE_PRIOR_STRENGTH * lg.home) / ((home ? home.homePlayed : 0) + WIN_RATE_PRIOR_STRENGTH);
  out[11] = ((away ? away.awayWins : 0) + WIN_RATE_PRIOR_STRENGTH * lg.away) / ((away ? away.awayPlayed : 0) + WIN_RATE_PRIOR_STRENGTH);
  out[12] = restDays(home, day);
  out[13] = restDays(away, day);
}

function featureRecord(out: Float64Array): Record<HeadToHeadFeatureName, number> {
  const rec = {} as Record<HeadToHeadFeatureName, number>;
  HEAD_TO_HEAD_FEATURES.forEach((name, i) => (rec[name] = out[i]));
  return rec;
}

function fixtureFeatures(
  cfg: HeadToHeadConfig,
  home: TeamState | undefined,
  away: TeamState | undefined,
  league: GroupStats,
  day: number,
): Record<HeadToHeadFeatureName, number> {
  const out = new Float64Array(HEAD_TO_HEAD_FEATURES.length);
  fixtureFeaturesInto(cfg, home, away, leagueRates(league), day, out);
  return featureRecord(out);
}

/** The league a fixture is played in: its own, else the home team's latest, else none (overall). */
function leagueOf(group: string | null, home: TeamState | undefined): string | null {
  return group ?? home?.group ?? null;
}

/** League stats for a fixture: its league if known to the state, else overall. */
function leagueFor(state: TeamRatingsState, group: string | null, home: TeamState | undefined): GroupStats {
  const g = leagueOf(group, home);
  if (g !== null) {
    const stats = own(state.groups, g);
    if (stats) return stats;
  }
  return state.overall;
}

function groupValue(v: unknown): string | null {
  if (typeof v === 'string') return v.trim().length ? v : null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** World Football Elo margin-of-victory multiplier. */
export function goalDiffMultiplier(goalDiff: number): number {
  const gd = Math.abs(goalDiff);
  if (gd <= 1) return 1;
  if (gd === 2) return 1.5;
  return (11 + gd) / 8;
}

/**
 * Zero-sum Elo update for one match. Returns the delta added to the home
 * rating (the same amount is subtracted from the away rating).
 */
export function eloDelta(cfg: HeadToHeadConfig, homeElo: number, awayElo: number, homeScore: number, awayScore: number): number {
  const e = expectedHome(homeElo - awayElo + cfg.elo.homeAdvantage);
  const s = homeScore > awayScore ? 1 : homeScore < awayScore ? 0 : 0.5;
  const g = cfg.elo.goalDiffMultiplier ? goalDiffMultiplier(homeScore - awayScore) : 1;
  return cfg.elo.k * g * (s - e);
}

// ---------------------------------------------------------------------------
// history walk
// ---------------------------------------------------------------------------

interface ParsedMatch {
  idx: number;
  day: number;
  home: string;
  away: string;
  hs: number;
  as: number;
  group: string | null;
}

function teamName(v: unknown, i: number, field: string): string {
  if (typeof v === 'string' && v.trim().length) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new Error(`match ${i}: ${field} must be a non-empty string, got ${JSON.stringify(v)}`);
}

function score(v: unknown, i: number, field: string): number {
  const x = typeof v === 'string' && v.trim().length ? Number(v) : v;
  if (typeof x === 'number' && Number.isFinite(x) && x >= 0) return x;
  throw new Error(`match ${i}: ${field} must be a finite non-negative number, got ${JSON.stringify(v)}`);
}

function newTeam(cfg: HeadToHeadConfig): TeamState {
  return {
    elo: cfg.elo.initial,
    played: 0,
    homePlayed: 0,
    homeWins: 0,
    awayPlayed: 0,
    awayWins: 0,
    lastDay: null,
    recentPoints: [],
    recentGoalDiff: [],
    group: null,
  };
}

function pushRecent(arr: number[], v: number, window: number): void {
  arr.push(v);
  if (arr.length > window) arr.splice(0, arr.length - window);
}

/**
 * Walk matches in date order and return, for each match (same order as the
 * input), features computed only from matches on strictly earlier dates, plus
 * the state after all matches. Input should be sorted by date ascending; it is
 * (stably) sorted internally anyway. Throws on rows with missing/invalid
 * teams, scores or dates (the clean stage removes those).
 *
 * Pass `initialState` to continue from an earlier state (e.g. featurize the
 * validation split from the state after the training split).
 */
export function computeMatchFeatures(
  matches: readonly Record<string, unknown>[],
  cfg: HeadToHeadConfig,
  initialState?: TeamRatingsState,
): { features: Record<string, number>[]; state: TeamRatingsState } {
  const state: TeamRatingsState = initialState ? structuredClone(initialState) : emptyState();
  if (initialState) {
    // ensure null prototypes so team names like "__proto__" are safe to assign
    state.teams = Object.assign(Object.create(null) as Record<string, TeamState>, state.teams);
    state.groups = Object.assign(Object.create(null) as Record<string, GroupStats>, state.groups);
  }
  const lastDay0 = state.lastDate === null ? -Infinity : valueToDay(state.lastDate);

  const parsed: ParsedMatch[] = matches.map((m, i) => {
    const day = valueToDay(m[cfg.date]);
    if (Number.isNaN(day)) throw new Error(`match ${i}: ${cfg.date} must be an ISO date, got ${JSON.stringify(m[cfg.date])}`);
    if (day <= lastDay0) {
      throw new Error(`match ${i}: date ${dayToIso(day)} is not after the state's last date ${state.lastDate}`);
    }
    return {
      idx: i,
      day,
      home: teamName(m[cfg.homeTeam], i, cfg.homeTeam),
      away: teamName(m[cfg.awayTeam], i, cfg.awayTeam),
      hs: score(m[cfg.homeScore], i, cfg.homeScore),
      as: score(m[cfg.awayScore], i, cfg.awayScore),
      group: cfg.group ? groupValue(m[cfg.group]) : null,
    };
  });
  const order = parsed.slice().sort((a, b) => a.day - b.day || a.idx - b.idx);

  const features = new Array<Record<string, number>>(matches.length);
  const w = cfg.formWindow;
  const deltas: number[] = [];

  let start = 0;
  while (start < order.length) {
    const day = order[start].day;
    let end = start;
    while (end < order.length && order[end].day === day) end++;

    // 1) features for the whole date from the pre-date state
    for (let i = start; i < end; i++) {
      const m = order[i];
      const home = own(state.teams, m.home);
      const away = own(state.teams, m.away);
      features[m.idx] = fixtureFeatures(cfg, home, away, leagueFor(state, m.group, home), day);
    }
    // 2) Elo deltas from pre-date ratings (order-independent within a date)
    deltas.length = 0;
    for (let i = start; i < end; i++) {
      const m = order[i];
      const he = own(state.teams, m.home)?.elo ?? cfg.elo.initial;
      const ae = own(state.teams, m.away)?.elo ?? cfg.elo.initial;
      deltas.push(eloDelta(cfg, he, ae, m.hs, m.as));
    }
    // 3) apply updates
    for (let i = start; i < end; i++) {
      const m = order[i];
      const d = deltas[i - start];
      const home = own(state.teams, m.home) ?? (state.teams[m.home] = newTeam(cfg));
      const away = own(state.teams, m.away) ?? (state.teams[m.away] = newTeam(cfg));
      home.elo += d;
      away.elo -= d;
      const gd = m.hs - m.as;
      const hPts = gd > 0 ? 3 : gd === 0 ? 1 : 0;
      const aPts = gd < 0 ? 3 : gd === 0 ? 1 : 0;
      home.played++;
      away.played++;
      home.homePlayed++;
      away.awayPlayed++;
      if (gd > 0) home.homeWins++;
      if (gd < 0) away.awayWins++;
      home.lastDay = day;
      away.lastDay = day;
      pushRecent(home.recentPoints, hPts, w);
      pushRecent(away.recentPoints, aPts, w);
      pushRecent(home.recentGoalDiff, gd, w);
      pushRecent(away.recentGoalDiff, -gd, w);
      if (m.group !== null) {
        home.group = m.group;
        away.group = m.group;
      }
      const g = m.group ?? home.group;
      const targets: GroupStats[] = [state.overall];
      if (g !== null) targets.push(own(state.groups, g) ?? (state.groups[g] = { matches: 0, homeWins: 0, draws: 0, awayWins: 0 }));
      for (const s of targets) {
        s.matches++;
        if (gd > 0) s.homeWins++;
        else if (gd < 0) s.awayWins++;
        else s.draws++;
      }
    }
    state.matchesProcessed += end - start;
    state.lastDate = dayToIso(day);
    start = end;
  }
  return { features, state };
}

// ---------------------------------------------------------------------------
// serving
// ---------------------------------------------------------------------------

/**
 * Head-to-head features of new fixtures from a fitted state, for the predict path. The state's teams and
 * leagues arrive as JSON records (dictionary-mode objects, where an own-property lookup costs about as much
 * as computing the features); here they are Maps built once per loaded model, with each league's rates
 * computed once. The numbers are those of the history walk: the same fixtureFeaturesInto, on the same state.
 */
export class FixtureFeatureSource {
  private readonly teams: Map<string, TeamState>;
  private readonly leagues: Map<string, LeagueRates>;
  private readonly overall: LeagueRates;
  /** Day used when a fixture has no valid date: the day after the state's last match. */
  private readonly defaultDay: number;

  constructor(state: TeamRatingsState, readonly cfg: HeadToHeadConfig) {
    this.teams = new Map(Object.entries(state.teams));
    this.leagues = new Map(Object.entries(state.groups).map(([g, stats]) => [g, leagueRates(stats)]));
    this.overall = leagueRates(state.overall);
    this.defaultDay = state.lastDate === null ? NaN : valueToDay(state.lastDate) + 1;
  }

  /**
   * Writes the fixture's HEAD_TO_HEAD_FEATURES into `out` (in that order). Returns the value its league
   * column should be encoded with: the fixture's own, or, when that is missing, the home team's latest
   * league (what training would have seen).
   */
  featuresInto(fixture: Record<string, unknown>, out: Float64Array): unknown {
    const cfg = this.cfg;
    let day = valueToDay(fixture[cfg.date]);
    if (day !== day) day = this.defaultDay;
    const homeName = groupValue(fixture[cfg.homeTeam]);
    const awayName = groupValue(fixture[cfg.awayTeam]);
    const home = homeName === null ? undefined : this.teams.get(homeName);
    const away = awayName === null ? undefined : this.teams.get(awayName);
    const rawGroup = cfg.group ? fixture[cfg.group] : null;
    const group = cfg.group ? groupValue(rawGroup) : null;
    const g = leagueOf(group, home);
    const lg = (g !== null ? this.leagues.get(g) : undefined) ?? this.overall;
    fixtureFeaturesInto(cfg, home, away, lg, day, out);
    return group === null && home?.group ? home.group : rawGroup;
  }
}

/**
 * Features for a new fixture from a state (after all known matches). Fields
 * are read with the config's column names (e.g. `home_team`, `away_team`,
 * `date`, `division`). When the date is absent/invalid, the day after the
 * state's last match is used. Unknown teams → UNKNOWN_TEAM_FALLBACK.
 */
export function featuresForFixture(
  state: TeamRatingsState,
  cfg: HeadToHeadConfig,
  fixture: Record<string, unknown>,
): Record<string, number> {
  // Built per call: the state may still be walked forward after this (serving keeps one per loaded model).
  const out = new Float64Array(HEAD_TO_HEAD_FEATURES.length);
  new FixtureFeatureSource(state, cfg).featuresInto(fixture, out);
  return featureRecord(out);
}
