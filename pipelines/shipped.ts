// The pipeline definitions that ship with the platform, validated against the spec schema on load.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineSpecSchema, type PipelineSpec } from './spec.js';

const here = dirname(fileURLToPath(import.meta.url));

export const SHIPPED_PIPELINES = ['football', 'seattle-weather', 'flights'] as const;
/** The shipped pipelines that train in seconds: the ones tests and the fuzzer run (flights takes a minute or two). */
export const QUICK_SHIPPED_PIPELINES = ['football', 'seattle-weather'] as const satisfies readonly (typeof SHIPPED_PIPELINES)[number][];

export function loadShippedPipeline(file: (typeof SHIPPED_PIPELINES)[number]): PipelineSpec {
  // JSON beside the source in development, copied beside the compiled JS in images (see Dockerfile).
  const raw = JSON.parse(readFileSync(join(here, `${file}.json`), 'utf8'));
  return PipelineSpecSchema.parse(raw);
}
