// The pipeline definitions that ship with the platform, validated against the spec schema on load.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineSpecSchema, type PipelineSpec } from './spec.js';

const here = dirname(fileURLToPath(import.meta.url));

export const SHIPPED_PIPELINES = ['football', 'seattle-weather'] as const;

export function loadShippedPipeline(file: (typeof SHIPPED_PIPELINES)[number]): PipelineSpec {
  // JSON beside the source in development, copied beside the compiled JS in images (see Dockerfile).
  const raw = JSON.parse(readFileSync(join(here, `${file}.json`), 'utf8'));
  return PipelineSpecSchema.parse(raw);
}
