// Specs the tests create through the API, over data sets that ship with the project.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function shippedSpec(file: string): Record<string, any> {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'pipelines', file), 'utf8'));
}

/** The football spec with fewer epochs: the tests check behaviour, not the best model. */
export function quickFootballSpec(overrides: Record<string, unknown> = {}): Record<string, any> {
  const spec = shippedSpec('football.json');
  return { ...spec, model: { ...spec.model, epochs: 25 }, ...overrides };
}
