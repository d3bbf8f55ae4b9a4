// A table's columns as typed arrays, the form the feature transform fits and encodes from: numbers and
// times as Float64Arrays, text (and anything else) as an Int32Array of codes into the column's distinct
// values. A DataFrame's columns take this form in ./frame-columns.ts; rows of plain objects (a predict
// request's shape, the head-to-head walk's output) here, so fitting and encoding have one implementation
// whatever the table came from. No dataframe library: the serving process loads this.

export type ColumnData =
  /** A numeric column: NaN where the value is missing (null or NaN). */
  | { type: 'number'; values: Float64Array }
  /** A Date/Datetime column: epoch milliseconds (its UTC day and time are the date as written), NaN where missing. */
  | { type: 'time'; values: Float64Array }
  /** Any other column: each row's index into `uniques` (its distinct non-null values), -1 for null. */
  | { type: 'coded'; codes: Int32Array; uniques: unknown[] };

export interface Columns {
  height: number;
  names: readonly string[];
  column(name: string): ColumnData;
}

/** Plain row objects as columns: every column coded by its distinct values (null/undefined → -1). */
export function rowColumns(rows: readonly Record<string, unknown>[], names: readonly string[] = Object.keys(rows[0] ?? {})): Columns {
  const cache = new Map<string, ColumnData>();
  return {
    height: rows.length,
    names,
    column(name) {
      let c = cache.get(name);
      if (!c) {
        c = codeValues(rows.length, (i) => rows[i][name]);
        cache.set(name, c);
      }
      return c;
    },
  };
}

function codeValues(n: number, valueAt: (i: number) => unknown): ColumnData {
  const index = new Map<unknown, number>();
  const uniques: unknown[] = [];
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = valueAt(i);
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    // A Date is an object: key it by its time so equal dates share a code.
    const key = v instanceof Date ? `\u0000date:${v.getTime()}` : v;
    let code = index.get(key);
    if (code === undefined) {
      code = uniques.length;
      index.set(key, code);
      uniques.push(v);
    }
    codes[i] = code;
  }
  return { type: 'coded', codes, uniques };
}

/** Columns already converted, by name, as a table to encode (its height is its index's business). */
export function recordColumns(columns: Record<string, ColumnData>): Columns {
  return { height: Number.NaN, names: Object.keys(columns), column: (name) => columns[name] };
}

/** `a`'s columns with `b`'s added (b wins on a name both have); both must have the same height. */
export function joinColumns(a: Columns, b: Columns): Columns {
  if (a.height !== b.height) throw new Error(`cannot join columns of ${a.height} and ${b.height} rows`);
  const fromB = new Set(b.names);
  return {
    height: a.height,
    names: [...a.names.filter((n) => !fromB.has(n)), ...b.names],
    column: (name) => (fromB.has(name) ? b.column(name) : a.column(name)),
  };
}

/** The column as codes into distinct values, whatever its type (numbers and times are coded in JS). */
export function codedColumn(c: ColumnData, timeValue: (ms: number) => unknown): { codes: Int32Array; uniques: unknown[] } {
  if (c.type === 'coded') return c;
  const values = c.values;
  const coded = codeValues(values.length, (i) => {
    const v = values[i];
    if (v !== v) return null;
    return c.type === 'time' ? timeValue(v) : v;
  });
  return coded as { codes: Int32Array; uniques: unknown[] };
}

/** A time's ISO form, as a category or a class label: the date alone at midnight (what a request sends for a day). */
export function isoOfMillis(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** Every row position 0..n-1, for fitting or encoding a whole table. */
export function allRows(n: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx;
}
