// The fitted feature pipeline as data: what the feature stage fits on the training split, saves beside the
// model, and the registry keeps on each model version (model_versions.transform, .input_schema); serving
// reads it to validate and encode requests. The code that fits and applies it is data/; the shapes are the
// contract's, so db/, the registry and the API type their JSON with them.
import type { Task } from './contract.js';
import type { HeadToHeadConfig } from './head-to-head-config.js';

export type ColumnKind = 'numeric' | 'categorical' | 'date' | 'boolean';

export interface NumericColumn {
  name: string;
  kind: 'numeric';
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Train split had missing values → a `<name>__missing` indicator output exists. */
  hadMissing: boolean;
}
export interface CategoricalColumn {
  name: string;
  kind: 'categorical';
  /** Kept train values, most frequent first (excluding `__missing__`). */
  categories: string[];
  /** Train split had missing values → a `<name>=__missing__` slot exists. */
  hadMissing: boolean;
  /** Every train value is in `categories` (none was folded into `__other__`): unseen values are then suspicious. */
  complete?: boolean;
}
/** What a date column becomes: each part is a few model inputs (see data/transform.ts). */
export const DATE_PARTS = ['year', 'month', 'weekday', 'dayOfYear', 'timeOfDay'] as const;
export type DatePart = (typeof DATE_PARTS)[number];
/** The parts of a date column fitted without a `parts` list (every model before parts existed). */
export const CALENDAR_DATE_PARTS: readonly DatePart[] = ['year', 'month', 'weekday', 'dayOfYear'];

export interface DateColumn {
  name: string;
  kind: 'date';
  /** The parts encoded, in DATE_PARTS order; absent: CALENDAR_DATE_PARTS. */
  parts?: DatePart[];
  yearMean: number;
  yearStd: number;
  /** Earliest / latest train date, 'YYYY-MM-DD'. */
  min: string;
  max: string;
  hadMissing: boolean;
}
export interface BooleanColumn {
  name: string;
  kind: 'boolean';
  /** Fraction of non-missing train values that were true (imputation value). */
  trueRate: number;
  hadMissing: boolean;
}
export type FittedColumn = NumericColumn | CategoricalColumn | DateColumn | BooleanColumn;

export interface TeamState {
  elo: number;
  played: number;
  homePlayed: number;
  homeWins: number;
  awayPlayed: number;
  awayWins: number;
  /** Calendar day of last match (days since 1970-01-01), null if none. */
  lastDay: number | null;
  /** Points (3/1/0) of the last ≤ formWindow matches, oldest first. */
  recentPoints: number[];
  /** Goal difference (own - opponent) of the last ≤ formWindow matches, oldest first. */
  recentGoalDiff: number[];
  /** Group (league) of the team's most recent match, null if unknown. */
  group: string | null;
}

export interface GroupStats {
  matches: number;
  homeWins: number;
  draws: number;
  awayWins: number;
}

export interface TeamRatingsState {
  version: 1;
  teams: Record<string, TeamState>;
  groups: Record<string, GroupStats>;
  overall: GroupStats;
  /** Last processed match date, 'YYYY-MM-DD' (null if no matches). */
  lastDate: string | null;
  matchesProcessed: number;
}

/**
 * Point-in-time head-to-head features carried by the transform (optional).
 * `applyTransform` does NOT derive them: training rows already contain them
 * (from `computeMatchFeatures`), and at serving time `servingEncoder` (serving/encoder.ts) computes them from `state` as it encodes each instance.
 */
export interface HeadToHeadBlock {
  config: HeadToHeadConfig;
  state: TeamRatingsState;
  /** The derived feature column names (not part of the request payload). */
  featureNames: string[];
}

export interface FittedTransform {
  version: 1;
  target: string;
  columns: FittedColumn[];
  /** Name of each matrix column, in order. */
  outputNames: string[];
  /** Number of training rows the transform was fitted on. */
  nTrainRows: number;
  headToHead?: HeadToHeadBlock;
}

export interface InputField {
  name: string;
  kind: ColumnKind;
  /** True when training data never had it missing. Optional fields are imputed. */
  required: boolean;
  /** Known categories (categorical). */
  categories?: string[];
  /**
   * The categories are the whole training vocabulary: a value outside them is rejected (422) unless the
   * caller asks for the `__other__` fallback. Absent/false: unknown values map to `__other__`.
   */
  closed?: boolean;
  /** A head-to-head team (home or away): one the ratings do not know is rated as a newcomer. */
  team?: boolean;
  /** Train range (numeric: numbers). */
  min?: number;
  max?: number;
  /** Train range (date: 'YYYY-MM-DD'). */
  minDate?: string;
  maxDate?: string;
}
/** The model signature used by the predict API. */
export type InputSchema = InputField[];

/**
 * What a text value of the source meant when the model was trained (data/text-values.ts reads values with
 * it in training and in serving alike): which tokens are missing, the number format, the date format.
 */
export interface TextRules {
  /** Values that mean missing ("" always does). */
  missing: string[];
  decimal: '.' | ',';
  /** Thousands separator, or null when numbers have none. */
  thousands: string | null;
  /** strftime-style format of text dates (%d/%m/%Y), or null for ISO 8601 only. */
  dateFormat: string | null;
  /** False for a typed source (SQL, Parquet, JSON), whose text was kept as stored; absent: trimmed (CSV). */
  trim?: boolean;
}

/** Everything needed to turn raw rows into model input; saved as JSON beside the model. */
export interface FittedFeatures {
  version: 1;
  task: Task;
  target: string;
  /** Class labels in model-output order (classification), else null. */
  classes: string[] | null;
  transform: FittedTransform;
  inputSchema: InputSchema;
  /** How the source's text was read; serving reads text values of a request the same way. Absent: defaults. */
  text?: TextRules;
}
