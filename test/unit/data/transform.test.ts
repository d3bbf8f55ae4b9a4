import { describe, it, expect } from 'vitest';
import { applyTransform, encodeColumns, fitColumns, fitTransform, inferColumnKinds, inputSchema, parseFittedTransform, type FeatureConfig } from '../../../data/transform.js';
import { type FittedTransform } from '../../../pipelines/fitted-features.js';
import { allRows, recordColumns } from '../../../data/column-data.js';

const features: FeatureConfig = { maxCategories: 20 };

function col(t: FittedTransform, m: Float32Array, row: number, name: string): number {
  const j = t.outputNames.indexOf(name);
  if (j < 0) throw new Error(`no output ${name}; have ${t.outputNames.join(',')}`);
  return m[row * t.outputNames.length + j];
}

describe('inferColumnKinds', () => {
  it('infers numeric, date, boolean and categorical', () => {
    const rows = [
      { a: 1, b: '2.5', c: '2020-01-02', d: true, e: 'x', f: '2020-01-02T10:00:00Z', g: null, h: 1 },
      { a: null, b: '-3e2', c: '2021-12-31', d: false, e: 'y', f: '2020-01-03', g: null, h: 'z' },
      { a: 3.5, b: '', c: null, d: 'false', e: '1', f: null, g: undefined, h: false },
    ];
    expect(inferColumnKinds(rows, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])).toEqual({
      a: 'numeric', b: 'numeric', c: 'date', d: 'boolean', e: 'categorical', f: 'date', g: 'categorical', h: 'categorical',
    });
  });
  it('rejects invalid calendar dates as dates', () => {
    expect(inferColumnKinds([{ c: '2021-02-30' }], ['c'])).toEqual({ c: 'categorical' });
  });
});

describe('fitTransform / applyTransform', () => {
  it('standardizes numerics with train mean/std; std 0 → 1; missing → mean + indicator', () => {
    const train = [{ x: 1, k: 5, y: 0 }, { x: 2, k: 5, y: 1 }, { x: 3, k: 5, y: 0 }, { x: null, k: 5, y: 1 }];
    const t = fitTransform(train, { target: 'y', features, candidateColumns: ['x', 'k', 'y'] });
    expect(t.outputNames).toEqual(['x', 'x__missing', 'k']);
    const x = t.columns[0];
    expect(x.kind === 'numeric' && x.mean).toBeCloseTo(2);
    expect(x.kind === 'numeric' && x.std).toBeCloseTo(Math.sqrt(2 / 3));
    const k = t.columns[1];
    expect(k.kind === 'numeric' && k.std).toBe(1);

    const { matrix, rows, cols } = applyTransform(t, [{ x: 3, k: 7 }, { x: null, k: 5 }, { k: 5, x: '1' }]);
    expect([rows, cols]).toEqual([3, 3]);
    expect(col(t, matrix, 0, 'x')).toBeCloseTo(1 / Math.sqrt(2 / 3), 5);
    expect(col(t, matrix, 0, 'x__missing')).toBe(0);
    expect(col(t, matrix, 0, 'k')).toBe(2);
    expect(col(t, matrix, 1, 'x')).toBe(0); // mean → 0 after standardizing
    expect(col(t, matrix, 1, 'x__missing')).toBe(1);
    expect(col(t, matrix, 2, 'x')).toBeCloseTo(-1 / Math.sqrt(2 / 3), 5); // numeric string coerced
  });

  it('reads an infinity in a typed number column as missing, in the fit and the encoding alike, and leaves the column as it was', () => {
    const values = Float64Array.from([1, Infinity, 3, -Infinity, NaN]);
    const data = recordColumns({ x: { type: 'number', values }, y: { type: 'number', values: Float64Array.from([0, 1, 0, 1, 0]) } });
    const t = fitColumns(data, allRows(5), { target: 'y', features: { maxCategories: 20, kinds: { x: 'numeric' } }, candidateColumns: ['x', 'y'] });
    const x = t.columns[0];
    expect(x.kind === 'numeric' && [x.mean, x.min, x.max, x.hadMissing]).toEqual([2, 1, 3, true]);
    const m = encodeColumns(t, data, allRows(5));
    const rows = Array.from({ length: 5 }, (_, i) => [m[i * 2], m[i * 2 + 1]]);
    // The same five rows as JSON (an infinity cannot be sent: null) encode the same.
    const { matrix } = applyTransform(t, [{ x: 1 }, { x: null }, { x: 3 }, { x: null }, { x: null }]);
    expect(rows.flat()).toEqual(Array.from(matrix));
    expect(rows.map((r) => r[1])).toEqual([0, 1, 0, 1, 1]);
    expect(Array.from(values)).toEqual([1, Infinity, 3, -Infinity, NaN]);
  });

  it('adds no missing indicator when train had no missing values (serving missing → mean)', () => {
    const t = fitTransform([{ x: 1 }, { x: 3 }], { target: 'y', features, candidateColumns: ['x'] });
    expect(t.outputNames).toEqual(['x']);
    expect(applyTransform(t, [{}]).matrix[0]).toBe(0);
  });

  it('one-hot encodes the top maxCategories values + __other__; unseen → other', () => {
    const train: Record<string, unknown>[] = [];
    const counts: Record<string, number> = { a: 5, b: 4, c: 3, d: 2, e: 1 };
    for (const [v, n] of Object.entries(counts)) for (let i = 0; i < n; i++) train.push({ c: v });
    const t = fitTransform(train, { target: 'y', features: { maxCategories: 3 }, candidateColumns: ['c'] });
    expect(t.outputNames).toEqual(['c=a', 'c=b', 'c=c', 'c=__other__']);
    const { matrix } = applyTransform(t, [{ c: 'b' }, { c: 'd' }, { c: 'never-seen' }, { c: null }]);
    expect(Array.from(matrix)).toEqual([
      0, 1, 0, 0,
      0, 0, 0, 1, // rare → other
      0, 0, 0, 1, // unseen → other
      0, 0, 0, 1, // missing not seen in train → other
    ]);
  });

  it('uses a __missing__ slot when train had missing categoricals; ties broken by value', () => {
    const t = fitTransform([{ c: 'z' }, { c: 'y' }, { c: null }], { target: 'y', features, candidateColumns: ['c'] });
    expect(t.outputNames).toEqual(['c=y', 'c=z', 'c=__missing__', 'c=__other__']);
    expect(Array.from(applyTransform(t, [{ c: undefined }]).matrix)).toEqual([0, 0, 1, 0]);
  });

  it('expands dates into year, month sin/cos, day-of-week one-hot and day-of-year sin/cos', () => {
    const t = fitTransform([{ d: '2020-01-01' }, { d: '2022-06-15' }], { target: 'y', features, candidateColumns: ['d'] });
    expect(t.outputNames).toEqual([
      'd__year', 'd__month_sin', 'd__month_cos',
      'd__dow_mon', 'd__dow_tue', 'd__dow_wed', 'd__dow_thu', 'd__dow_fri', 'd__dow_sat', 'd__dow_sun',
      'd__doy_sin', 'd__doy_cos',
    ]);
    // 2021-04-01 is a Thursday; year mean 2021 → 0
    const { matrix } = applyTransform(t, [{ d: '2021-04-01T23:30:00-05:00' }, { d: null }]);
    expect(col(t, matrix, 0, 'd__year')).toBe(0);
    expect(col(t, matrix, 0, 'd__month_sin')).toBeCloseTo(Math.sin((2 * Math.PI * 3) / 12), 5);
    expect(col(t, matrix, 0, 'd__month_cos')).toBeCloseTo(Math.cos((2 * Math.PI * 3) / 12), 5);
    expect(col(t, matrix, 0, 'd__dow_thu')).toBe(1);
    expect(col(t, matrix, 0, 'd__dow_mon') + col(t, matrix, 0, 'd__dow_sun')).toBe(0);
    expect(col(t, matrix, 0, 'd__doy_sin')).toBeCloseTo(Math.sin((2 * Math.PI * 90) / 365), 5);
    expect(col(t, matrix, 0, 'd__doy_cos')).toBeCloseTo(Math.cos((2 * Math.PI * 90) / 365), 5);
    // year std: years 2020, 2022 → std 1; 2020 → -1
    expect(applyTransform(t, [{ d: '2020-12-31' }]).matrix[0]).toBe(-1);
    // missing date (not seen in train) → all zeros
    expect(Array.from(matrix.subarray(12, 24)).every((v) => v === 0)).toBe(true);
  });

  it('encodes booleans 0/1 and never uses the target or excluded columns', () => {
    const train = [{ b: true, y: 1, id: 'a', n: 1 }, { b: false, y: 0, id: 'b', n: 2 }];
    const t = fitTransform(train, { target: 'y', features: { maxCategories: 20, exclude: ['id'] }, candidateColumns: ['id', 'y', 'b', 'n'] });
    expect(t.outputNames).toEqual(['b', 'n']);
    expect(Array.from(applyTransform(t, [{ b: true, n: 1.5 }, { b: 'false', n: 1.5 }]).matrix)).toEqual([1, 0, 0, 0]);
    const t2 = fitTransform(train, { target: 'y', features: { maxCategories: 20, include: ['n', 'y'] }, candidateColumns: ['id', 'y', 'b', 'n'] });
    expect(t2.outputNames).toEqual(['n']);
    expect(() => fitTransform(train, { target: 'y', features: { maxCategories: 20, include: ['nope'] }, candidateColumns: ['n'] })).toThrow(/nope/);
  });

  it('honours kind overrides', () => {
    const t = fitTransform([{ z: 1 }, { z: 2 }, { z: 2 }], { target: 'y', features: { maxCategories: 20, kinds: { z: 'categorical' } }, candidateColumns: ['z'] });
    expect(t.outputNames).toEqual(['z=2', 'z=1', 'z=__other__']);
  });

  it('JSON round trip gives identical matrices', () => {
    const train = Array.from({ length: 200 }, (_, i) => ({
      num: i % 7 === 0 ? null : i * 0.37,
      cat: ['red', 'green', 'blue', 'cyan'][i % 4],
      day: `2019-0${(i % 9) + 1}-1${i % 10}`,
      flag: i % 3 === 0,
      y: i % 2,
    }));
    const t = fitTransform(train, { target: 'y', features: { maxCategories: 3 }, candidateColumns: ['num', 'cat', 'day', 'flag', 'y'] });
    const loaded = parseFittedTransform(JSON.stringify(t));
    expect(loaded).toEqual(t);
    const rows = [...train, { num: 'abc', cat: 'purple', day: 'bad', flag: null }];
    expect(applyTransform(loaded, rows).matrix).toEqual(applyTransform(t, rows).matrix);
  });

  it('builds the input schema', () => {
    const t = fitTransform(
      [{ n: 1, c: 'a', d: '2020-01-01', b: true }, { n: 3, c: null, d: '2020-02-01', b: false }],
      { target: 'y', features, candidateColumns: ['n', 'c', 'd', 'b'] },
    );
    expect(inputSchema(t)).toEqual([
      { name: 'n', kind: 'numeric', required: true, min: 1, max: 3 },
      { name: 'c', kind: 'categorical', required: false, categories: ['a'], closed: true },
      { name: 'd', kind: 'date', required: true, minDate: '2020-01-01', maxDate: '2020-02-01' },
      { name: 'b', kind: 'boolean', required: true },
    ]);
  });

  it('encodes 100k rows, each exactly as it encodes alone', () => {
    // Speed is measured by bench/pipeline.ts (feature stage), not asserted here.
    const cats = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const rows = Array.from({ length: 100_000 }, (_, i) => ({
      a: i * 0.5, b: i % 13 === 0 ? null : (i * 7) % 101, c: cats[i % 50], d: i % 17 === 0 ? null : `2016-05-${String(1 + (i % 28)).padStart(2, '0')}`, e: i % 2 === 0, y: 0,
    }));
    const t = fitTransform(rows, { target: 'y', features, candidateColumns: ['a', 'b', 'c', 'd', 'e', 'y'] });
    const out = applyTransform(t, rows);
    expect(out.rows).toBe(100_000);
    expect(out.cols).toBe(t.outputNames.length);
    for (const i of [0, 1, 13, 17, 4_999, 50_000, 99_999]) {
      expect(out.matrix.subarray(i * out.cols, (i + 1) * out.cols)).toEqual(applyTransform(t, [rows[i]]).matrix);
    }
  });
});
