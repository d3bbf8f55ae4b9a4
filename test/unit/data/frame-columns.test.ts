// The feature stage reads a DataFrame's columns as typed arrays; serving reads a request's values one by
// one. Both must fit and encode the same table to the same numbers, whatever the column types.
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { allRows } from '../../../data/column-data.js';
import { frameColumns } from '../../../data/frame-columns.js';
import { encodeColumns, fitColumns, fitTransform, type FitOptions } from '../../../data/transform.js';
import { servingEncoder } from '../../../serving/encoder.js';

const N = 400;
const airports = ['ORD', 'ATL', 'DFW', '', 'LAX'];
const df = pl.DataFrame({
  distance: Array.from({ length: N }, (_, i) => (i % 37 === 0 ? null : 100 + ((i * 53) % 2000))),
  legs: pl.Series('legs', Array.from({ length: N }, (_, i) => 1 + (i % 3))).cast(pl.Int64),
  origin: Array.from({ length: N }, (_, i) => (i % 41 === 0 ? null : airports[i % airports.length])),
  date: pl.Series('date', Array.from({ length: N }, (_, i) => (i % 43 === 0 ? null : new Date(Date.UTC(2001, 0, 1 + (i % 180), i % 24, (i * 7) % 60)))), pl.Datetime('ms')),
  day: pl.Series('day', Array.from({ length: N }, (_, i) => new Date(Date.UTC(2001, 0, 1 + (i % 90)))), pl.Date),
  night: Array.from({ length: N }, (_, i) => (i % 29 === 0 ? null : i % 4 === 0)),
});
const options: FitOptions = { target: 'y', features: { maxCategories: 3 }, candidateColumns: df.columns };

/** The frame's rows as a predict request sends them: dates as ISO text, numbers as numbers. */
function requestRows(): Record<string, unknown>[] {
  return (df.toRecords() as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => {
    if (v instanceof Date) return [k, v.toISOString()];
    if (typeof v === 'bigint') return [k, Number(v)];
    return [k, v];
  })));
}

describe('a DataFrame read column by column', () => {
  const fromFrame = fitColumns(frameColumns(df), allRows(N), options);

  it('fits the transform the rows fit', () => {
    expect(fromFrame).toEqual(fitTransform(requestRows(), options));
    expect(fromFrame.columns.map((c) => [c.name, c.kind])).toEqual([
      ['distance', 'numeric'], ['legs', 'numeric'], ['origin', 'categorical'], ['date', 'date'], ['day', 'date'], ['night', 'boolean'],
    ]);
  });

  it('encodes every row as the predict path encodes the same row', () => {
    const matrix = encodeColumns(fromFrame, frameColumns(df), allRows(N));
    expect(Array.from(matrix)).toEqual(Array.from(servingEncoder(fromFrame).encode(requestRows())));
  });

  it('encodes a subset of rows as those rows alone', () => {
    const index = Int32Array.from([399, 0, 42, 43, 200]);
    const whole = encodeColumns(fromFrame, frameColumns(df), allRows(N));
    const width = fromFrame.outputNames.length;
    const subset = encodeColumns(fromFrame, frameColumns(df), index);
    index.forEach((row, k) => expect(Array.from(subset.subarray(k * width, (k + 1) * width))).toEqual(Array.from(whole.subarray(row * width, (row + 1) * width))));
  });
});

describe('a column of zoned times', () => {
  it('encodes the clock time of its zone, as a request writes it', () => {
    const instants = Array.from({ length: 50 }, (_, i) => (i === 0 ? new Date('2024-03-10T03:30:00Z') : new Date(Date.UTC(2024, 2, 1 + i, (i * 5) % 24, (i * 13) % 60))));
    const zoned = pl.DataFrame([pl.Series('when', instants).cast(pl.Datetime('ms', 'America/New_York')), pl.Series('x', instants.map((_, i) => i))]);
    const t = fitColumns(frameColumns(zoned), allRows(50), { target: 'y', features: { maxCategories: 5 }, candidateColumns: ['when', 'x'] });
    // What a person in New York sends: the local date and time, no offset.
    const local = (zoned.select(pl.col('when').dt.strftime('%Y-%m-%dT%H:%M:%S'), pl.col('x')).toRecords() as Record<string, unknown>[]);
    expect(Array.from(encodeColumns(t, frameColumns(zoned), allRows(50)))).toEqual(Array.from(servingEncoder(t).encode(local)));
    // 2024-03-10 03:30 UTC is still Saturday 22:30 in New York.
    expect(local[0].when).toBe('2024-03-09T22:30:00');
  });
});

describe('date parts', () => {
  const names = (t: ReturnType<typeof fitTransform>, column: string) => t.outputNames.filter((n) => n.startsWith(`${column}__`));

  it('add the time of day when the training values carry one, and keep the calendar layout when not', () => {
    const t = fitColumns(frameColumns(df), allRows(N), options);
    expect(names(t, 'date')).toEqual([
      'date__year', 'date__month_sin', 'date__month_cos', ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `date__dow_${d}`),
      'date__doy_sin', 'date__doy_cos', 'date__time_sin', 'date__time_cos', 'date__missing',
    ]);
    const day = t.columns.find((c) => c.name === 'day');
    expect(day).not.toHaveProperty('parts');
    expect(names(t, 'day')).toHaveLength(12);
  });

  it('are the ones the spec asks for, in layout order', () => {
    const t = fitColumns(frameColumns(df), allRows(N), { ...options, features: { ...options.features, dateParts: { date: ['timeOfDay', 'weekday'] } } });
    expect(names(t, 'date')).toEqual([...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `date__dow_${d}`), 'date__time_sin', 'date__time_cos', 'date__missing']);
    // 18:00 is three quarters round the clock; a plain date is midnight.
    const enc = servingEncoder(t);
    const at = t.outputNames.indexOf('date__time_sin');
    const [evening, plain] = [{ date: '2001-03-05T18:00:00Z' }, { date: '2001-03-05' }].map((r) => enc.encode([r]));
    expect(evening[at]).toBeCloseTo(-1, 6);
    expect(plain[at]).toBeCloseTo(0, 6);
    expect(plain[at + 1]).toBeCloseTo(1, 6);
    // Monday 2001-03-05
    expect(evening[t.outputNames.indexOf('date__dow_mon')]).toBe(1);
  });
});
