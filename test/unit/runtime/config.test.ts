// Configuration: one schema, every setting documented in .env.example, and clear errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvSchema, loadConfig } from '../../../runtime/config.js';

const example = readFileSync(join(import.meta.dirname, '..', '..', '..', '.env.example'), 'utf8');
const exampleVars = Object.fromEntries(example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));

describe('config', () => {
  it('.env.example lists every setting the platform reads, and nothing else', () => {
    expect(Object.keys(exampleVars).sort()).toEqual(Object.keys(EnvSchema.shape).sort());
  });

  it('the example values are valid and give the embedded defaults', () => {
    const c = loadConfig(exampleVars);
    expect(c.database.url).toBeUndefined();
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.uiUrl).toBe('http://localhost:8233');
    expect(c.port).toBe(3000);
  });

  it('names every bad setting and points at .env.example', () => {
    expect(() => loadConfig({ PORT: 'eighty', PREDICTION_LOG_SAMPLE_RATE: '2' })).toThrow(/PORT: .*\n.*PREDICTION_LOG_SAMPLE_RATE: .*\nSee \.env\.example/s);
  });
});
