// Features that learn from outcomes: a football model trained up to 2016-07-01 serves the 2016-17 season
// matchday by matchday, each matchday's results fed back (with their scores) before the next is asked for.
// The served ratings and form walk forward over the results, so the season's live log-loss and RPS match
// the pipeline's own re-featurised evaluation of that version on the same season (its champion figures in
// a run as of 2017-07-01) — without retraining and without touching the version's weights.
import { readFile } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundled } from '../../data/sources.js';
import type { TrainingPipelineResult } from '../../pipelines/contract.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';
import { waitFor } from '../support/wait.js';

interface Match { date: string; division: string; home_team: string; away_team: string; home_score: number | null; away_score: number | null }

let p: TestPlatform;
let offline: TrainingPipelineResult;
let season: Match[];

beforeAll(async () => {
  p = await createTestPlatform();
  expect((await p.request('POST', '/v1/pipelines', quickFootballSpec())).status).toBe(201);
  const first = await p.runPipeline('football', { asOf: '2016-07-01T00:00:00Z' });
  if (first.error) throw first.error;
  // The pipeline's own evaluation of v1 on 2016-17, re-featurised from every earlier result: a run as of
  // 2017-07-01 scores the production version (its champion) on that season, its held-out rows.
  const second = await p.runPipeline('football', { asOf: '2017-07-01T00:00:00Z', allowPromotion: false });
  if (second.error) throw second.error;
  offline = second.result!;
  const all = JSON.parse(await readFile(resolveBundled('football.json'), 'utf8')) as Match[];
  season = all.filter((m) => m.date >= '2016-07-01' && m.date < '2017-07-01' && m.home_score !== null && m.away_score !== null);
}, 300_000);
afterAll(() => p?.stop());

describe('a season served matchday by matchday with results fed back', () => {
  it('walks the serving state forward and scores as the re-featurised evaluation does', async () => {
    expect(offline.champion?.version).toBe(1);
    const reporter = { authorization: `Bearer ${await p.keyFor('reporter')}` };
    const before = await p.request('GET', '/v1/models/football/feature-state');
    expect(before.body).toMatchObject({ version: 1, resultsApplied: 0, outcomeId: 0 });
    expect(before.body.fittedThrough < '2016-07-01').toBe(true);
    const start = new Date(Date.now() - 1000).toISOString();
    const days = [...new Set(season.map((m) => m.date))].sort();
    let fed = 0;
    for (const day of days) {
      const fixtures = season.filter((m) => m.date === day);
      const predicted = await p.request('POST', '/v1/models/football/predict', {
        instances: fixtures.map((m) => ({ date: m.date, division: m.division, home_team: m.home_team, away_team: m.away_team })),
      });
      expect(predicted.status, JSON.stringify(predicted.body)).toBe(200);
      expect(predicted.body.version).toBe(1);
      const outcome = (m: Match) => (m.home_score! > m.away_score! ? 'home' : m.home_score! < m.away_score! ? 'away' : 'draw');
      const res = await p.request('POST', '/v1/models/football/feedback', {
        outcomes: fixtures.map((m) => ({
          key: { date: m.date, division: m.division, home_team: m.home_team, away_team: m.away_team },
          label: outcome(m), observed: { home_score: m.home_score!, away_score: m.away_score! },
        })),
      }, reporter);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.stored).toBe(fixtures.length);
      fed += fixtures.length;
      // The next matchday is asked for once the replica serves a state that includes this one.
      await waitFor(async () => {
        const s = await p.request('GET', '/v1/models/football/feature-state');
        return s.body.resultsApplied === fed ? s.body : undefined;
      }, `the state to include ${day}`, 20_000).then((s) => expect(s.through).toBe(day));
    }
    await p.predictionLog.flush();
    const quality = await p.request('GET', `/v1/models/football/quality?from=${encodeURIComponent(start)}`);
    const v1 = quality.body.versions.find((v: { version: number }) => v.version === 1);
    expect(v1).toMatchObject({ predictions: season.length, withOutcome: season.length, unknownLabels: 0 });
    const off = offline.champion!.metrics;
    console.log(`[feature-state] 2016-17, ${season.length} matches over ${days.length} matchdays: live log-loss ${v1.live.logLoss.toFixed(5)} vs re-featurised ${off.logLoss.toFixed(5)}, RPS ${v1.live.rankedProbabilityScore.toFixed(5)} vs ${off.rankedProbabilityScore.toFixed(5)}`);
    expect(Math.abs(v1.live.logLoss - off.logLoss)).toBeLessThan(0.005);
    expect(Math.abs(v1.live.rankedProbabilityScore - off.rankedProbabilityScore)).toBeLessThan(0.005);
    // The weights did not change: the version is the one trained, its artifact the one registered.
    const [row] = (await p.owner.execute(sql`SELECT count(*)::int AS n FROM model_versions mv JOIN models m ON m.id = mv.model_id WHERE m.name = 'football'`)).rows as { n: number }[];
    expect(row.n).toBe(2);
  }, 600_000);

  it('refuses an observation a model cannot use, with the reason', async () => {
    const reporter = { authorization: `Bearer ${await p.keyFor('reporter')}` };
    const unkeyed = await p.request('POST', '/v1/models/football/feedback', { outcomes: [{ key: { home_team: 'Arsenal' }, label: 'home', observed: { home_score: 1, away_score: 0 } }] }, reporter);
    expect(unkeyed.status).toBe(422);
    expect(unkeyed.body.error.message).toMatch(/an observed result is keyed by date, home_team, away_team/);
    const wrong = await p.request('POST', '/v1/models/football/feedback', {
      outcomes: [{ key: { date: '2017-08-12', home_team: 'Arsenal', away_team: 'Chelsea' }, label: 'home', observed: { goals: 3 } }],
    }, reporter);
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.message).toMatch(/observed: give exactly home_score and away_score/);
    const blank = await p.request('POST', '/v1/models/football/feedback', {
      outcomes: [{ key: { date: '2017-08-12', home_team: '  ', away_team: 'Chelsea' }, label: 'home', observed: { home_score: 1, away_score: 0 } }],
    }, reporter);
    expect(blank.status).toBe(422);
    expect(blank.body.error.message).toMatch(/home_team and away_team must name the teams/);
    const undated = await p.request('POST', '/v1/models/football/feedback', {
      outcomes: [{ key: { date: 'last Saturday', home_team: 'Arsenal', away_team: 'Chelsea' }, label: 'home', observed: { home_score: 1, away_score: 0 } }],
    }, reporter);
    expect(undated.status).toBe(422);
    expect(undated.body.error.message).toMatch(/date must be the match's day, YYYY-MM-DD/);
  });
});
