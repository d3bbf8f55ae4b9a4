// The prediction log's blob and IDs: what goes in comes back out, column by column, whatever the
// alignment of the bytes PostgreSQL hands back; IDs are unique, parse back, and refuse what is not one.
import { describe, expect, it } from 'vitest';
import { decodePredictionBatch, PredictionBatchBuilder } from '../../../serving/prediction-batch.js';
import { parsePredictionId, PredictionIds } from '../../../serving/prediction-ids.js';

const fields = [
  { name: 'date', kind: 'date' as const },
  { name: 'home_team', kind: 'categorical' as const },
  { name: 'rest_days', kind: 'numeric' as const },
  { name: 'neutral', kind: 'boolean' as const },
];

describe('a prediction batch', () => {
  it('round-trips rows of several requests: inputs as sent (missing kept missing), outputs, warnings, times and counters', () => {
    const b = new PredictionBatchBuilder(fields, 3);
    b.add(1000, 7, [{ date: '2017-08-12', home_team: 'Arsenal', rest_days: 4, neutral: false }, { home_team: 'Chelsea', rest_days: null, extra: 'x' }], Float32Array.of(0.5, 0.3, 0.2, 0.1, 0.1, 0.8), Uint8Array.of(0, 5));
    b.add(2000, 42, [{ date: '2017-08-13', home_team: 'Arsenal', rest_days: '2.5', neutral: true }], Float32Array.of(0.2, 0.2, 0.6), null);
    const blob = b.encode();
    // As pg returns it: a Buffer inside a larger pool, at an odd offset.
    const pool = Buffer.alloc(blob.length + 3);
    pool.set(blob, 3);
    const d = decodePredictionBatch(pool.subarray(3));
    expect(d.rows).toBe(3);
    expect([...d.at]).toEqual([1000, 1000, 2000]);
    expect([...d.seq]).toEqual([7, 8, 42]);
    const text = (j: number, r: number) => { const c = (d.values[j] as Int32Array)[r]; return c < 0 ? null : d.dictionaries[j]![c]; };
    expect([0, 1, 2].map((r) => text(0, r))).toEqual(['2017-08-12', null, '2017-08-13']);
    expect([0, 1, 2].map((r) => text(1, r))).toEqual(['Arsenal', 'Chelsea', 'Arsenal']);
    expect(d.dictionaries[1]).toEqual(['Arsenal', 'Chelsea']);
    expect([...d.values[2]]).toEqual([4, NaN, 2.5]);
    expect([...d.values[3]]).toEqual([0, NaN, 1]);
    expect([...d.output]).toEqual([...Float32Array.of(0.5, 0.3, 0.2, 0.1, 0.1, 0.8, 0.2, 0.2, 0.6)]);
    expect([...d.warnings]).toEqual([0, 5, 0]);
    expect(d.fields).toEqual(fields);
  });

  it('is a few bytes a row, not the JSON of the request', () => {
    const b = new PredictionBatchBuilder(fields, 3);
    for (let i = 0; i < 1000; i++) b.add(i, i, [{ date: '2017-08-12', home_team: `Team ${i % 100}`, rest_days: i % 7, neutral: false }], Float32Array.of(0.5, 0.3, 0.2), null);
    // 8 (time) + 8 (counter) + 4 + 4 + 8 + 8 (fields) + 12 (output) + 1 (warnings) = 53 bytes a row, and a dictionary.
    expect(b.encode().length).toBeLessThan(1000 * 53 + 2000);
  });

  it('refuses a blob of a format it does not know', () => {
    const head = new TextEncoder().encode(JSON.stringify({ v: 2, rows: 0, fields: [], outputs: 1, dictionaries: [] }));
    const blob = new Uint8Array(8 + head.length);
    new DataView(blob.buffer).setUint32(0, head.length, true);
    blob.set(head, 4);
    expect(() => decodePredictionBatch(blob)).toThrow(/prediction batch format 2 is not one this version reads/);
  });
});

describe('prediction IDs', () => {
  it('are unique within a process and across processes, and parse back to their token and counter', () => {
    const a = new PredictionIds();
    const b = new PredictionIds();
    expect(a.token).not.toBe(b.token);
    const first = a.take(3);
    expect(a.take(1)).toBe(first + 3);
    const ids = [0, 1, 2].map((i) => a.id(first + i));
    expect(new Set([...ids, b.id(b.take(1))]).size).toBe(4);
    expect(parsePredictionId(a.id(123_456_789))).toEqual({ token: a.token, seq: 123_456_789 });
  });

  it('refuse anything that is not one', () => {
    for (const bad of ['', 'abc', 'k3x9q2m0ab', 'k3x9q2m0ab.', 'K3X9Q2M0AB.1', 'k3x9q2m0ab.-1', 'k3x9q2m0ab.1.2', 'k3x9q2m0a.1', `k3x9q2m0ab.${'z'.repeat(12)}`]) {
      expect(parsePredictionId(bad), bad).toBeNull();
    }
    expect(() => new PredictionIds('short')).toThrow();
  });
});
