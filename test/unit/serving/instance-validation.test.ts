import { describe, it, expect } from 'vitest';
import { validateInstances } from '../../../serving/instance-validation.js';
import { isoDateToDay } from '../../../data/dates.js';
import type { InputSchema } from '../../../pipelines/fitted-features.js';

const schema: InputSchema = [
  { name: 'home_team', kind: 'categorical', required: true, categories: ['A', 'B'] },
  { name: 'date', kind: 'date', required: false },
  { name: 'temp', kind: 'numeric', required: true },
  { name: 'neutral', kind: 'boolean', required: false },
];

describe('validateInstances', () => {
  const closedSchema: InputSchema = [{ name: 'weather', kind: 'categorical', required: true, categories: ['sun', 'rain'], closed: true }];

  it('rejects a value outside a closed vocabulary, naming the field and the known values', () => {
    const r = validateInstances(closedSchema, [{ weather: 'sun' }, { weather: 'hail' }]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues).toHaveLength(1);
      expect(r.issues[0].path).toBe('instances[1].weather');
      expect(r.issues[0].message).toMatch(/unknown category "hail"; known: sun, rain/);
    }
  });

  it('maps it to __other__ instead when the caller asks for that', () => {
    expect(validateInstances(closedSchema, [{ weather: 'hail' }], { unknownCategories: 'other' }).ok).toBe(true);
  });

  it('accepts valid rows, unknown categories, missing optional fields and extra fields', () => {
    const instances = [
      { home_team: 'A', date: '2017-05-01', temp: 12.5, neutral: false },
      { home_team: 'Never Seen FC', temp: 0, extra: 'ignored' },
      { home_team: 'B', date: '2017-05-01T19:45:00+01:00', temp: -3, neutral: null },
    ];
    const r = validateInstances(schema, instances);
    expect(r.ok && r.rows).toBe(instances);
    // Each row says what its answer assumed: the unknown category, and every optional field it lacked.
    expect(r.ok && r.warnings).toEqual([
      undefined,
      [
        { field: 'home_team', kind: 'unknown-category', message: 'home_team: "Never Seen FC" was never seen in training; encoded as __other__' },
        { field: 'date', kind: 'missing-imputed', message: 'date: missing; imputed as training imputed it' },
        { field: 'neutral', kind: 'missing-imputed', message: 'neutral: missing; imputed as training imputed it' },
      ],
      [{ field: 'neutral', kind: 'missing-imputed', message: 'neutral: missing; imputed as training imputed it' }],
    ]);
  });

  it('has no warnings at all when every row is as training saw them (the fast path allocates nothing)', () => {
    const r = validateInstances(schema, [{ home_team: 'A', date: '2017-05-01', temp: 1, neutral: true }]);
    expect(r).toEqual({ ok: true, rows: [{ home_team: 'A', date: '2017-05-01', temp: 1, neutral: true }], warnings: null });
  });

  it('warns of a number outside the training range, an unknown team, and text read as a number or a date', () => {
    const ranged: InputSchema = [
      { name: 'home_team', kind: 'categorical', required: true, categories: ['Arsenal', 'Chelsea'], team: true },
      { name: 'wind', kind: 'numeric', required: true, min: 0, max: 9.5 },
      { name: 'day', kind: 'date', required: true },
    ];
    const text = { missing: ['NA'], decimal: ',' as const, thousands: null, dateFormat: '%d/%m/%Y' };
    const r = validateInstances(ranged, [
      { home_team: 'Arsenal', wind: 9.5, day: '2017-05-01' },
      { home_team: 'Real Madrid', wind: 12, day: '2017-05-01' },
      { home_team: 'Chelsea', wind: '3,5', day: '01/05/2017' },
      { home_team: 'Chelsea', wind: -0.5, day: '2017-05-01' },
    ], { text });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings![0]).toBeUndefined();
    expect(r.warnings![1]).toEqual([
      { field: 'home_team', kind: 'unknown-team', message: expect.stringMatching(/^home_team: "Real Madrid" is not a team the model knows; rated as a newcomer/) },
      { field: 'wind', kind: 'out-of-range', message: 'wind: 12 is outside the training range 0..9.5; the model extrapolates' },
    ]);
    expect(r.warnings![2]).toEqual([
      { field: 'wind', kind: 'text-read', message: 'wind: the text "3,5" was read as the number 3.5' },
      { field: 'day', kind: 'text-read', message: 'day: the text "01/05/2017" was read as the date 2017-05-01' },
    ]);
    expect(r.warnings![3]).toEqual([{ field: 'wind', kind: 'out-of-range', message: 'wind: -0.5 is outside the training range 0..9.5; the model extrapolates' }]);
    expect(r.rows[2]).toEqual({ home_team: 'Chelsea', wind: 3.5, day: '2017-05-01' });
  });

  it('rejects non-arrays, empty arrays and non-object items', () => {
    expect(validateInstances(schema, { home_team: 'A' })).toMatchObject({ ok: false, issues: [{ path: 'instances' }] });
    const empty = validateInstances(schema, []);
    expect(empty.ok).toBe(false);
    if (!empty.ok) expect(empty.issues[0].message).toMatch(/^instances: expected a non-empty array/);
    const bad = validateInstances(schema, [[1, 2], null]);
    expect(bad.ok === false && bad.issues.map((i) => i.message)).toEqual([
      'instances[0]: expected an object, got array',
      'instances[1]: expected an object, got null',
    ]);
  });

  it('names the offending field in each message', () => {
    const r = validateInstances(schema, [
      { home_team: 'A', temp: 1 },
      { home_team: 'A', temp: 1 },
      { home_team: 'A', temp: 1 },
      { home_team: 7, temp: '12', date: '2017-13-01', neutral: 'yes' },
      { temp: NaN },
      { home_team: null, temp: Infinity, date: 20170501 },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.message)).toEqual([
      'instances[3].home_team: expected a string, got number',
      'instances[3].date: expected an ISO date string (YYYY-MM-DD), got "2017-13-01"',
      'instances[3].temp: expected a finite number, got string',
      'instances[3].neutral: expected a boolean, got string',
      'instances[4].home_team: required field is missing',
      'instances[4].temp: expected a finite number, got NaN',
      'instances[5].home_team: required field is null',
      'instances[5].date: expected an ISO date string (YYYY-MM-DD), got number',
      'instances[5].temp: expected a finite number, got Infinity',
    ]);
    expect(r.issues[0].path).toBe('instances[3].home_team');
  });

  it('caps the number of issues', () => {
    const r = validateInstances(schema, Array.from({ length: 1000 }, () => ({})));
    expect(r.ok === false && r.issues.length).toBe(50);
  });
});

describe('isoDateToDay', () => {
  it('parses ISO dates and timestamps by calendar date as written', () => {
    expect(isoDateToDay('1970-01-02')).toBe(1);
    expect(isoDateToDay('2000-12-31')).toBe(Date.UTC(2000, 11, 31) / 86_400_000);
    expect(isoDateToDay('2016-02-29')).toBe(Date.UTC(2016, 1, 29) / 86_400_000);
    expect(isoDateToDay('2016-02-29T23:59:59.123-08:00')).toBe(isoDateToDay('2016-02-29'));
    // Ten-character strings take the digit-by-digit path, the others the regex: both must refuse these.
    for (const bad of ['2017-02-29', '2017-1-01', '17-01-01', '2017-01-01T25:00', 'yesterday', '', '2017/01/01', '2017-01-0x',
      '201a-01-01', '2017-00-10', '2017-01-32', '+017-01-01', '2017-01-1 ', ' 2017-01-1', '2017-01-01Z', '20170101  ']) {
      expect(isoDateToDay(bad)).toBeNaN();
    }
  });
});
