/**
 * Hand-written, allocation-light validation of prediction requests against a
 * model's input schema (see `inputSchema()` in ./transform.ts).
 *
 * This runs on the predict hot path, so there is no zod here: each instance is
 * checked field by field with `typeof` tests. Dates are read by data/dates.ts,
 * the same code the training pipeline uses.
 */
import { isoDateToDay } from '../data/dates.js';
import { isoFromText, numberFromText } from '../data/text-values.js';
import type { InputSchema, TextRules } from '../pipelines/fitted-features.js';

// ---------------------------------------------------------------------------
// Instance validation
// ---------------------------------------------------------------------------

export interface ValidationIssue {
  /** e.g. `instances[3].home_team` */
  path: string;
  /** Full human-readable message, already prefixed with the path, e.g.
   *  `instances[3].home_team: expected a string, got number`. */
  message: string;
}

/** What a predicted row's answer assumed: a fallback or a reading the caller may not have meant. */
export const ROW_WARNING_KINDS = ['unknown-team', 'unknown-category', 'out-of-range', 'missing-imputed', 'text-read'] as const;
export type RowWarningKind = (typeof ROW_WARNING_KINDS)[number];
export interface RowWarning {
  field: string;
  kind: RowWarningKind;
  message: string;
}

export type ValidationResult =
  | {
    ok: true; rows: Record<string, unknown>[];
    /** Per row, what its prediction assumed (undefined: nothing); null when no row has a warning. */
    warnings: (RowWarning[] | undefined)[] | null;
  }
  | { ok: false; issues: ValidationIssue[] };

/** Stop collecting after this many issues (keeps a 422 body small). */
export const MAX_VALIDATION_ISSUES = 50;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  }
  return typeof v;
}

const KIND_CODE = { numeric: 0, categorical: 1, date: 2, boolean: 3 } as const;

/**
 * Validate a predict request's `instances` against the model input schema.
 *
 * - `instances` must be a non-empty array of plain objects.
 * - required fields must be present and non-null; optional fields may be
 *   absent/null (the transform imputes them exactly as in training).
 * - numeric: finite number (strings, NaN, ±Infinity rejected)
 * - date: string parsing as an ISO date / timestamp
 * - categorical: string. A value outside a closed vocabulary (`closed`: training saw every value) is
 *   rejected unless `unknownCategories: 'other'`; open vocabularies and head-to-head team names map
 *   unseen values to `__other__` / the unknown-team fallback.
 * - boolean: boolean
 * - extra fields are ignored (and passed through untouched).
 *
 * On success the original row objects are returned, but for rows whose text had to be read (copies).
 */
export interface ValidationOptions {
  /** 'reject' (default): a value outside a closed vocabulary is an error; 'other': map it to `__other__`. */
  unknownCategories?: 'reject' | 'other';
  /**
   * How the training source's text was read (the model's FittedFeatures.text): text values are read the
   * same way here (a missing token is missing, "1,234" a number, a date in the source's format a date), so
   * a raw row of the training file predicts. Absent (older models): numbers must be JSON numbers.
   */
  text?: TextRules;
}

/** A text value's reading under the source's rules: missing tokens as a set, built once per model. */
const missingSets = new WeakMap<TextRules, Set<string>>();
function missingSet(rules: TextRules): Set<string> {
  let s = missingSets.get(rules);
  if (!s) missingSets.set(rules, (s = new Set(rules.missing)));
  return s;
}
const clip = (v: string) => (v.length > 40 ? v.slice(0, 40) + '…' : v);
const isBlankEdge = (v: string) => v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32;

/** A schema laid out for the loop below, built once per schema object: a loaded model's never changes. */
interface CompiledSchema {
  names: string[];
  kinds: number[];
  required: boolean[];
  /** Closed vocabularies (null where a field has none). */
  closed: (Set<string> | null)[];
  /** No vocabularies at all, for `unknownCategories: 'other'`. */
  open: null[];
  /** Every field's known categories, closed or not (null where a field has none): a value outside them is predicted with a fallback. */
  known: (Set<string> | null)[];
  /** Head-to-head team fields: an unknown team is rated as a newcomer. */
  team: boolean[];
  /** Each field's missing-imputed warning, made once: a row without an optional field shares it. */
  imputed: RowWarning[];
  /** Training range of numeric fields (±Infinity where unknown). */
  min: number[];
  max: number[];
}
const compiledSchemas = new WeakMap<InputSchema, CompiledSchema>();
function compileSchema(schema: InputSchema): CompiledSchema {
  let c = compiledSchemas.get(schema);
  if (!c) {
    c = {
      names: schema.map((f) => f.name),
      kinds: schema.map((f) => KIND_CODE[f.kind]),
      required: schema.map((f) => f.required),
      closed: schema.map((f) => (f.kind === 'categorical' && f.closed && f.categories ? new Set(f.categories) : null)),
      open: schema.map(() => null),
      known: schema.map((f) => (f.kind === 'categorical' && f.categories ? new Set(f.categories) : null)),
      team: schema.map((f) => f.team === true),
      imputed: schema.map((f) => Object.freeze({ field: f.name, kind: 'missing-imputed' as const, message: `${f.name}: missing; imputed as training imputed it` })),
      min: schema.map((f) => (f.kind === 'numeric' && f.min !== undefined ? f.min : -Infinity)),
      max: schema.map((f) => (f.kind === 'numeric' && f.max !== undefined ? f.max : Infinity)),
    };
    compiledSchemas.set(schema, c);
  }
  return c;
}

/** Adds an issue; true once enough have been collected to stop. */
function addIssue(issues: ValidationIssue[], path: string, msg: string): boolean {
  issues.push({ path, message: `${path}: ${msg}` });
  return issues.length >= MAX_VALIDATION_ISSUES;
}

export function validateInstances(schema: InputSchema, instances: unknown, opts: ValidationOptions = {}): ValidationResult {
  const issues: ValidationIssue[] = [];

  if (!Array.isArray(instances)) {
    addIssue(issues, 'instances', `expected a non-empty array of objects, got ${describe(instances)}`);
    return { ok: false, issues };
  }
  if (instances.length === 0) {
    addIssue(issues, 'instances', 'expected a non-empty array of objects, got an empty array');
    return { ok: false, issues };
  }

  const compiled = compileSchema(schema);
  const nFields = schema.length;
  const { names, kinds, required, known, team, imputed, min, max } = compiled;
  let warnings: (RowWarning[] | undefined)[] | null = null;
  const warn = (i: number, field: string, kind: RowWarningKind, message: string) => {
    warnings ??= new Array<RowWarning[] | undefined>(instances.length);
    (warnings[i] ??= []).push({ field, kind, message: `${field}: ${message}` });
  };
  const closed = opts.unknownCategories === 'other' ? compiled.open : compiled.closed;

  const text = opts.text;
  const missing = text ? missingSet(text) : null;
  // Rows whose text had to be read (a token made missing, a number or date converted): copies, so the
  // caller's objects stay as sent; `out` is made only when one is needed.
  let out: Record<string, unknown>[] | null = null;
  const convert = (i: number, obj: Record<string, unknown>, name: string, value: unknown) => {
    out ??= (instances as Record<string, unknown>[]).slice();
    if (out[i] === obj) out[i] = { ...obj };
    out[i][name] = value;
  };
  outer: for (let i = 0; i < instances.length; i++) {
    const row = instances[i] as unknown;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      if (addIssue(issues, `instances[${i}]`, `expected an object, got ${describe(row)}`)) break;
      continue;
    }
    const obj = row as Record<string, unknown>;
    for (let j = 0; j < nFields; j++) {
      const name = names[j];
      let v = Object.prototype.hasOwnProperty.call(obj, name) ? obj[name] : undefined;
      if (missing !== null && typeof v === 'string' && (missing.has(v) || (text!.trim !== false && v.length > 0 && isBlankEdge(v) && missing.has(v.trim())))) {
        convert(i, obj, name, null);
        v = null;
      }
      if (v === undefined || v === null) {
        if (required[j]) {
          if (addIssue(issues, `instances[${i}].${name}`, v === null ? 'required field is null' : 'required field is missing')) break outer;
        } else {
          warnings ??= new Array<RowWarning[] | undefined>(instances.length);
          (warnings[i] ??= []).push(imputed[j]);
        }
        continue;
      }
      let err: string | null = null;
      switch (kinds[j]) {
        case 0:
          if (typeof v === 'string' && text) {
            // As training read the column: a number under the source's rules (missing tokens were read
            // above). Other text is refused rather than imputed: a caller's typo must not pass silently.
            const x = numberFromText(v, text);
            if (Number.isNaN(x)) err = `expected a number, got ${JSON.stringify(clip(v))}`;
            else {
              convert(i, obj, name, x);
              // "2" or "2.50" is the number JavaScript reads too; "3,5" or "1.234" under the source's rules is
              // a reading the caller may not have meant.
              if (Number(v.trim()) !== x) warn(i, name, 'text-read', `the text ${JSON.stringify(clip(v))} was read as the number ${x}`);
              if (x < min[j] || x > max[j]) warn(i, name, 'out-of-range', `${x} is outside the training range ${min[j]}..${max[j]}; the model extrapolates`);
            }
          } else if (typeof v !== 'number' || !Number.isFinite(v)) err = `expected a finite number, got ${describe(v)}`;
          else if (v < min[j] || v > max[j]) warn(i, name, 'out-of-range', `${v} is outside the training range ${min[j]}..${max[j]}; the model extrapolates`);
          break;
        case 1:
          // Training read text trimmed (data/ingest.ts): so does serving, for a model trained on read text.
          if (text && text.trim !== false && typeof v === 'string' && v.length > 0 && isBlankEdge(v)) {
            v = v.trim();
            convert(i, obj, name, v);
          }
          if (typeof v !== 'string') err = `expected a string, got ${describe(v)}`;
          else if (closed[j] !== null && !closed[j]!.has(v)) {
            const vocabulary = [...closed[j]!];
            err = `unknown category ${JSON.stringify(clip(v))}; known: ${vocabulary.slice(0, 10).join(', ')}${vocabulary.length > 10 ? `, … (${vocabulary.length})` : ''} (add ?unknownCategories=other to map it to __other__)`;
          } else if (known[j] !== null && !known[j]!.has(v)) {
            if (team[j]) warn(i, name, 'unknown-team', `${JSON.stringify(clip(v))} is not a team the model knows; rated as a newcomer (the teams it knows are in its version's schema)`);
            else warn(i, name, 'unknown-category', `${JSON.stringify(clip(v))} was never seen in training; encoded as __other__`);
          }
          break;
        case 2:
          if (typeof v !== 'string') err = `expected an ISO date string (YYYY-MM-DD), got ${describe(v)}`;
          else if (Number.isNaN(isoDateToDay(v))) {
            const iso = text?.dateFormat ? isoFromText(v, text.dateFormat) : null;
            if (iso !== null) {
              convert(i, obj, name, iso);
              warn(i, name, 'text-read', `the text ${JSON.stringify(clip(v))} was read as the date ${iso}`);
            } else err = `expected an ISO date string (YYYY-MM-DD)${text?.dateFormat ? ` or a date in ${text.dateFormat}` : ''}, got ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
          }
          break;
        case 3:
          if (typeof v !== 'boolean') err = `expected a boolean, got ${describe(v)}`;
          break;
      }
      if (err !== null && addIssue(issues, `instances[${i}].${name}`, err)) break outer;
    }
  }

  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, rows: out ?? (instances as Record<string, unknown>[]), warnings };
}
