// Text values under a source's rules, as training (data/ingest.ts) and serving (instance validation) read
// them: one function for both, so the two agree by construction; these pin what it reads.
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { typeTextColumns } from '../../../data/ingest.js';
import { DEFAULT_TEXT_RULES, isSlashDate, isoFromText, numberFromText, textRules } from '../../../data/text-values.js';
import { validateInstances } from '../../../serving/instance-validation.js';

describe('a number written as text', () => {
  it('is read with the source\'s separators, and nothing else is a number', () => {
    const us = { ...DEFAULT_TEXT_RULES, thousands: ',' };
    expect(['12', ' -3.5 ', '1e3', '1,234', '12,345.5'].map((s) => numberFromText(s, us))).toEqual([12, -3.5, 1000, 1234, 12345.5]);
    expect(['1,23', '12,34,567', 'n/a', '', 'Infinity', '0x10', '1.2.3'].map((s) => numberFromText(s, us))).toEqual(Array(7).fill(NaN));
    const eu = textRules({ decimal: ',', thousands: '.' });
    expect(['3,5', '1.234,5', '-0,25', '7'].map((s) => numberFromText(s, eu))).toEqual([3.5, 1234.5, -0.25, 7]);
    expect(numberFromText('3.5', eu)).toBeNaN();
    expect(numberFromText('1,234', DEFAULT_TEXT_RULES)).toBeNaN();
  });
});

describe('a date written in a format', () => {
  it('becomes ISO 8601, and a day that does not exist is no date', () => {
    expect(isoFromText('03/04/2017', '%d/%m/%Y')).toBe('2017-04-03');
    expect(isoFromText('03/04/2017', '%m/%d/%Y')).toBe('2017-03-04');
    expect(isoFromText('3.4.17 14:05', '%d.%m.%y %H:%M')).toBe('2017-04-03T14:05:00Z');
    expect(isoFromText('31/02/2017', '%d/%m/%Y')).toBeNull();
    expect(isoFromText('2017-04-03', '%d/%m/%Y')).toBeNull();
  });
});

describe('a date written with slashes or dots', () => {
  it('is one when its first two parts can be a day and a month in some order', () => {
    expect(['03/04/2017', '3.4.17', '31/12/2017', '12-31-2017 10:00'].map(isSlashDate)).toEqual([true, true, true, true]);
    expect(['2.0.12', '13/13/2017', '2017-04-03', '3/4', '1.2.345'].map(isSlashDate)).toEqual([false, false, false, false, false]);
  });
});

describe('training and serving', () => {
  it('read the same raw text to the same values', () => {
    const raw = ['1,234', 'n/a', '7.5', '', '12', '3', '4', '5', '6', '8', '9'];
    const { df, ingestion } = typeTextColumns(pl.DataFrame({ x: raw, c: raw.map((_, i) => (i % 2 ? 'a' : 'NA')) }), DEFAULT_TEXT_RULES, 'csv');
    const trained = df.getColumn('x').toArray();
    const schema = [{ name: 'x', kind: 'numeric' as const, required: false }, { name: 'c', kind: 'categorical' as const, required: false, categories: ['a'], closed: true }];
    const served = validateInstances(schema, raw.map((x, i) => ({ x, c: i % 2 ? 'a' : 'NA' })), { text: ingestion.text });
    expect(served.ok).toBe(true);
    if (!served.ok) return;
    expect(served.rows.map((r) => r.x)).toEqual(trained);
    // Missing tokens are missing on both sides; the caller's objects are not changed.
    expect(served.rows.map((r) => r.c)).toEqual(df.getColumn('c').toArray());
    expect(ingestion.coercions.map((c) => [c.column, c.change, c.count])).toEqual([
      ['x', 'missing token read as missing', 1], ['c', 'missing token read as missing', 6], ['x', 'read with "," as the thousands separator', 1],
    ]);
  });
});
