// Reading a text table a data scientist can trust: every column starts as text, and each becomes a number,
// a date or stays text by what its values are under the source's rules (data/text-values.ts, which serving
// reads requests with too). Nothing is changed silently: every value made missing and every separator read
// is counted in the ingestion report, with a few examples.
import pl from 'nodejs-polars';
import type { IngestionReport } from '../pipelines/contract.js';
import type { TextRules } from '../pipelines/fitted-features.js';
import type { ReadOptions } from '../pipelines/spec.js';
import { dtypeName } from './frame-columns.js';
import { PipelineInputError } from './pipeline-error.js';
import { isSlashDate, isoFromText, looksGroupedByComma, numberFromText, textRules } from './text-values.js';

/** A column is read as numbers (or dates) when at least this share of its present values are. */
const TYPED_SHARE = 0.9;
const EXAMPLES = 3;

/** The text of a file in `encoding`, as polars reads it (UTF-8, no byte-order mark). */
export function decodeText(bytes: Buffer, encoding: ReadOptions['encoding'] = 'utf-8'): Buffer {
  if (encoding === 'utf-8') return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const text = new TextDecoder(encoding).decode(bytes);
  return Buffer.from(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, 'utf8');
}

/** Reads CSV text into typed columns and says how. */
export function readCsvText(bytes: Buffer, read: ReadOptions = {}): { df: pl.DataFrame; ingestion: IngestionReport } {
  const text = decodeText(bytes, read.encoding);
  // Polars' errors can quote the file (a column name, a value): the caller logs them, never shows them.
  const df = pl.readCSV(text, { sep: read.delimiter ?? ',', hasHeader: read.header ?? true, inferSchemaLength: 0, raiseIfEmpty: false, quoteChar: '"' });
  return typeTextColumns(df, textRules(read), 'csv');
}

/** Types the text columns of `df` under `rules`; blank rows are left out. */
export function typeTextColumns(input: pl.DataFrame, baseRules: TextRules, format: IngestionReport['format']): { df: pl.DataFrame; ingestion: IngestionReport } {
  const rules = { ...baseRules };
  const coercions: IngestionReport['coercions'] = [];
  const columnTypes: Record<string, string> = {};
  const note = (column: string, change: string, values: string[]) => {
    if (values.length) coercions.push({ column, change, count: values.length, examples: [...new Set(values)].slice(0, EXAMPLES).map((v) => (v.length > 40 ? `${v.slice(0, 40)}…` : v)) });
  };

  // Missing first: trimmed, and tokens such as n/a read as missing.
  let df = input;
  const tokens = new Set(rules.missing.filter((t) => t !== ''));
  const isText = (c: string) => ['String', 'Utf8'].includes(dtypeName(df.getColumn(c).dtype));
  for (const c of df.columns.filter(isText)) {
    const hits: string[] = [];
    const cleaned = (df.getColumn(c).toArray() as (string | null)[]).map((v) => {
      if (v === null) return null;
      const t = v.trim();
      if (t === '') return null;
      if (tokens.has(t)) {
        hits.push(t);
        return null;
      }
      return t;
    });
    note(c, 'missing token read as missing', hits);
    df = df.withColumn(pl.Series(c, cleaned, pl.Utf8));
  }
  // Rows with nothing in them are blank lines, not data.
  let blank = 0;
  if (df.width > 0 && df.height > 0) {
    const nulls = df.columns.map((c) => df.getColumn(c).isNull().toArray() as boolean[]);
    const keep = Array.from({ length: df.height }, (_, r) => !nulls.every((col) => col[r]));
    blank = keep.filter((k) => !k).length;
    if (blank > 0) df = df.filter(pl.Series('keep', keep));
  }

  // A thousands separator nobody declared (1,234), decided once for the whole file so every column, and
  // serving, read a comma the same way: only when a column shows the comma cannot be a decimal comma (a
  // point decimal elsewhere in it, 12.5, or a value with two groups, 1,234,567) and every comma in every text
  // column groups digits. "1,500" alone could be 1.5: it stays unread, reported.
  const textColumns = df.columns.filter(isText);
  const presentOf = new Map(textColumns.map((c) => [c, (df.getColumn(c).toArray() as (string | null)[]).filter((v): v is string => v !== null)]));
  if (rules.thousands === null && rules.decimal === '.') {
    const commas = [...presentOf.values()].flatMap((vs) => vs.filter((v) => v.includes(',') && /\d/.test(v)));
    const proven = [...presentOf.values()].some((vs) => vs.some(looksGroupedByComma) && vs.some((v) => /^[-+]?\d*\.\d+$/.test(v) || /^[-+]?\d{1,3}(?:,\d{3}){2,}/.test(v)));
    if (proven && commas.every(looksGroupedByComma)) rules.thousands = ',';
  }

  for (const c of df.columns) {
    const s = df.getColumn(c);
    const dtype = dtypeName(s.dtype);
    if (dtype !== 'String' && dtype !== 'Utf8') {
      columnTypes[c] = dtype;
      continue;
    }
    const values = s.toArray() as (string | null)[];
    const present = presentOf.get(c)!;
    if (present.length === 0) {
      columnTypes[c] = 'text';
      continue;
    }
    const numbers = present.map((v) => numberFromText(v, rules));
    const readable = numbers.filter((x) => !Number.isNaN(x)).length;
    if (readable / present.length >= TYPED_SHARE) {
      if (rules.thousands === ',' && baseRules.thousands === null) note(c, 'read with "," as the thousands separator', present.filter(looksGroupedByComma));
      note(c, 'not a number: read as missing', present.filter((_, i) => Number.isNaN(numbers[i])));
      const all = values.map((v) => (v === null ? null : numberFromText(v, rules)));
      const parsed = all.map((x) => (x === null || Number.isNaN(x) ? null : x));
      const integral = parsed.every((x) => x === null || (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER));
      df = df.withColumn(pl.Series(c, parsed, integral ? pl.Int64 : pl.Float64));
      columnTypes[c] = 'number';
      continue;
    }
    // Dates in a declared format, or a refusal to guess day and month.
    if (rules.dateFormat) {
      const isos = present.map((v) => isoFromText(v, rules.dateFormat!));
      if (isos.filter((x) => x !== null).length / present.length >= TYPED_SHARE) {
        note(c, `not a date in ${rules.dateFormat}: read as missing`, present.filter((_, i) => isos[i] === null));
        df = df.withColumn(pl.Series(c, values.map((v) => (v === null ? null : isoFromText(v, rules.dateFormat!))), pl.Utf8));
        columnTypes[c] = 'date';
        continue;
      }
    } else if (present.filter(isSlashDate).length / present.length >= TYPED_SHARE) {
      const example = present.find(isSlashDate)!;
      throw new PipelineInputError('InvalidSpec',
        `column "${c}" holds dates written like "${example}", which can be day/month or month/day: set source.read.dateFormat, e.g. "%d/%m/%Y" or "%m/%d/%Y"`,
        { column: c, rule: 'dateFormat' });
    }
    columnTypes[c] = 'text';
  }
  return { df, ingestion: { format, blankRowsIgnored: blank, columnTypes, coercions, text: rules } };
}
