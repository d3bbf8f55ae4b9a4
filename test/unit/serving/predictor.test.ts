import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../data/prng.js';
import { PROBABILITY_DECIMALS, predictionsJsonWriter, predictionsOf } from '../../../serving/predictor.js';

describe('prediction output', () => {
  const classes = ['home', 'draw', 'away'];

  it('the JSON the API sends parses to exactly the prediction objects, edge values included', () => {
    const rand = mulberry32(11);
    const edge = [0, 1, 0.99999996, 0.99999994, 4.9e-8, 5.1e-8, 1e-12, 0.5, 0.1, 0.30000001, NaN, 1.0000001];
    const values = Float32Array.from({ length: 3 * 400 }, (_, i) => (i < edge.length ? edge[i] : rand() ** 3));
    const rows = values.length / 3;
    const parsed = JSON.parse(predictionsJsonWriter(classes)(values, rows));
    const objects = predictionsOf(values, rows, classes);
    // NaN is null in JSON, as JSON.stringify writes it.
    expect(parsed).toEqual(JSON.parse(JSON.stringify(objects)));
    expect(parsed[0]).toEqual({ label: 'draw', probabilities: { home: 0, draw: 1, away: 0.9999999 } });
    expect(parsed[1]).toEqual({ label: 'home', probabilities: { home: 0.9999999, draw: 0, away: 1e-7 } });
    expect(parsed[2]).toEqual({ label: 'draw', probabilities: { home: 0, draw: 0.5, away: 0.1 } });
    expect(parsed[3]).toEqual({ label: 'away', probabilities: { home: 0.3, draw: null, away: 1.0000001 } });
  });

  it('rounds probabilities to the documented decimals and labels the most probable class', () => {
    const [p] = predictionsOf(Float32Array.from([0.123456789, 0.6, 0.276543211]), 1, classes) as { label: string; probabilities: Record<string, number> }[];
    expect(PROBABILITY_DECIMALS).toBe(7);
    expect(p).toEqual({ label: 'draw', probabilities: { home: 0.1234568, draw: 0.6, away: 0.2765432 } });
  });

  it('regression values keep every digit, and escape nothing they should not', () => {
    const values = Float32Array.from([21.3, -0, -1e-9, 123456.7890625]);
    const json = predictionsJsonWriter(null)(values, 4);
    expect(JSON.parse(json)).toEqual(predictionsOf(values, 4, null).map((p) => JSON.parse(JSON.stringify(p))));
    expect(JSON.parse(json)[3].value).toBe(values[3]);
    const quoted = predictionsJsonWriter(['a "quoted"\n', 'b\\'])(Float32Array.from([0.2, 0.8]), 1);
    expect(JSON.parse(quoted)).toEqual([{ label: 'b\\', probabilities: { 'a "quoted"\n': 0.2, 'b\\': 0.8 } }]);
  });
});
