// Features that learn from outcomes: a model with point-in-time head-to-head features (ratings, form) was
// fitted with the state its training data left. Results fed back with what happened (a match's scores)
// walk that state forward in date order, with the very routine training walks history with
// (computeMatchFeatures), so the next matchday is featurised as the held-out evaluation featurises it:
// from every result before its date. The model's weights do not change. The state is rebuilt from the
// stored outcomes alone, in one deterministic order, so every API replica serves the same state for the
// same outcomes; its version is the newest outcome it read.
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { predictionOutcomes } from '../db/schema.js';
import { computeMatchFeatures } from '../data/head-to-head.js';
import { valueToDay } from '../data/dates.js';
import type { FittedFeatures, TeamRatingsState } from '../pipelines/fitted-features.js';
import type { FeatureStateInfo } from './predictor.js';

/**
 * How many outcomes with an observation `model` has, and the newest one's ID: what a replica compares its
 * state's version with. Both: IDs are taken when a row is inserted, not when its transaction commits, so a
 * request that commits after a later one adds rows below the newest ID (the count still moves).
 */
export async function observedOutcomes(db: Db, model: string): Promise<{ count: number; newest: number }> {
  const [row] = await db.select({ count: sql<string>`count(*)`, newest: sql<string | null>`max(${predictionOutcomes.id})` }).from(predictionOutcomes)
    .where(and(eq(predictionOutcomes.model, model), isNotNull(predictionOutcomes.observed), isNotNull(predictionOutcomes.key)));
  return { count: Number(row?.count ?? 0), newest: Number(row?.newest ?? 0) };
}

/** The fitted state walked forward over every stored result after it; null when the model has no head-to-head features. */
export async function outcomeFeatureState(db: Db, model: string, fitted: FittedFeatures): Promise<{ state: TeamRatingsState; info: FeatureStateInfo } | null> {
  const h2h = fitted.transform.headToHead;
  if (!h2h) return null;
  const cfg = h2h.config;
  const rows = await db.select({ id: predictionOutcomes.id, keyFields: predictionOutcomes.keyFields, key: predictionOutcomes.key, observed: predictionOutcomes.observed })
    .from(predictionOutcomes).where(and(eq(predictionOutcomes.model, model), isNotNull(predictionOutcomes.observed), isNotNull(predictionOutcomes.key)));
  const fittedThrough = h2h.state.lastDate;
  const after = fittedThrough === null ? -Infinity : valueToDay(fittedThrough);
  let outcomeId = 0;
  const matches: Record<string, unknown>[] = [];
  // One result per match, however its key was spelled (a date with a time, with or without the league): the lowest ID's.
  rows.sort((a, b) => a.id - b.id);
  const seen = new Set<string>();
  for (const r of rows) {
    outcomeId = Math.max(outcomeId, r.id);
    const names = JSON.parse(r.keyFields!) as string[];
    const values = JSON.parse(r.key!) as string[];
    const key = Object.fromEntries(names.map((n, i) => [n, values[i]]));
    const home = key[cfg.homeTeam];
    const away = key[cfg.awayTeam];
    const date = key[cfg.date];
    const hs = r.observed?.[cfg.homeScore];
    const as = r.observed?.[cfg.awayScore];
    // Only a result the walk can take: both teams, a date after the fitted state's, two scores.
    if (home === undefined || away === undefined || date === undefined || home.trim() === '' || away.trim() === '') continue;
    const day = valueToDay(date);
    if (!(day > after) || !Number.isFinite(day)) continue;
    if (!Number.isInteger(hs) || !Number.isInteger(as) || hs! < 0 || as! < 0) continue;
    const match = JSON.stringify([day, home, away]);
    if (seen.has(match)) continue;
    seen.add(match);
    matches.push({
      [cfg.date]: date, [cfg.homeTeam]: home, [cfg.awayTeam]: away, [cfg.homeScore]: hs, [cfg.awayScore]: as,
      ...(cfg.group && key[cfg.group] !== undefined ? { [cfg.group]: key[cfg.group] } : {}),
    });
  }
  // One order whatever order the results came in: by date, then teams (the walk takes a date's matches at once).
  const text = (m: Record<string, unknown>, f: string) => String(m[f]);
  matches.sort((a, b) => valueToDay(a[cfg.date]) - valueToDay(b[cfg.date]) || (text(a, cfg.homeTeam) < text(b, cfg.homeTeam) ? -1 : text(a, cfg.homeTeam) > text(b, cfg.homeTeam) ? 1 : 0)
    || (text(a, cfg.awayTeam) < text(b, cfg.awayTeam) ? -1 : text(a, cfg.awayTeam) > text(b, cfg.awayTeam) ? 1 : 0));
  const { state } = computeMatchFeatures(matches, cfg, h2h.state);
  return { state, info: { fittedThrough, through: state.lastDate, resultsApplied: matches.length, outcomeId, outcomesRead: rows.length } };
}
