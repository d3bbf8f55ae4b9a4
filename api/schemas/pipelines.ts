// Pipelines: specs, versioned by content.
import { z } from '@hono/zod-openapi';
import { PipelineSpecSchema } from '../../pipelines/spec.js';
import { named, Timestamp, VersionText } from './common.js';

export const PipelineSpec = named(PipelineSpecSchema, 'PipelineSpec');

export const StoredPipeline = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  /** The spec as stored: parsed, with every default filled in. */
  spec: PipelineSpec,
  specHash: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
}).openapi('Pipeline');
export type StoredPipeline = z.infer<typeof StoredPipeline>;

export const CreatePipelineQuery = z.object({
  /**
   * false: save without checking the source first (a worker reads a sample to confirm the columns the spec
   * names; the run checks again in any case).
   */
  check: z.enum(['true', 'false']).default('true'),
});

export const GetPipelineQuery = z.object({
  /** A past version; default the latest. */
  version: VersionText.optional(),
});

export const PipelineList = z.object({ pipelines: z.array(StoredPipeline) });
export type PipelineList = z.infer<typeof PipelineList>;

export const PipelineSaved = z.object({
  pipeline: StoredPipeline,
  /** False when the spec equals the latest version's: nothing was added. */
  created: z.boolean(),
});
export type PipelineSaved = z.infer<typeof PipelineSaved>;

export const PipelineOne = z.object({ pipeline: StoredPipeline });
export type PipelineOne = z.infer<typeof PipelineOne>;
