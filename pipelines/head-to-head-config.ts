// The head-to-head feature config (point-in-time team ratings for match data): part of the pipeline spec,
// so it lives in the contract; the rating engine that reads it is data/head-to-head.ts.
import { z } from 'zod';
import { storableText } from './storable.js';

const columnName = () => storableText().min(1).max(200);

export const HeadToHeadConfigSchema = z.object({
  kind: z.literal('head-to-head'),
  date: columnName().default('date'),
  homeTeam: columnName().default('home_team'),
  awayTeam: columnName().default('away_team'),
  homeScore: columnName().default('home_score'),
  awayScore: columnName().default('away_score'),
  /** Column grouping teams into leagues (league averages are per group). A
   *  missing/blank value falls back to the team's last group, then overall.
   *  null disables grouping (one global league). */
  group: columnName().nullable().default('division'),
  elo: z
    .object({
      k: z.number().positive().default(20),
      homeAdvantage: z.number().default(60),
      initial: z.number().default(1500),
      goalDiffMultiplier: z.boolean().default(true),
    })
    .prefault({}),
  formWindow: z.number().int().min(1).max(100).default(5),
});
/** Fully-defaulted config (output of `HeadToHeadConfigSchema.parse`). */
export type HeadToHeadConfig = z.output<typeof HeadToHeadConfigSchema>;

