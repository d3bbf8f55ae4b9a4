// Starting a pipeline run: the one path used by the API (and so the CLI) to launch trainingPipeline.
import { randomBytes } from 'node:crypto';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Config } from '../../runtime/config.js';
import type { StoredPipeline } from '../../registry/pipelines.js';
import { SEARCH_ATTRIBUTES, trainingWorkflowId, type TrainingPipelineInput, type Trigger } from '../../workflows/shared.js';

export interface StartedRun {
  workflowId: string;
  runId: string;
  asOf: string;
  webUiUrl: string | null;
}

export async function startPipelineRun(
  deps: { temporal: Client; config: Config },
  pipeline: StoredPipeline,
  opts: { asOf?: string; trigger: Trigger; allowPromotion: boolean; actor: string; taskQueue?: string },
): Promise<StartedRun> {
  const asOf = new Date(opts.asOf ?? Date.now()).toISOString();
  const workflowId = trainingWorkflowId(pipeline.name, asOf, randomBytes(4).toString('hex'));
  const input: TrainingPipelineInput = {
    pipeline: pipeline.name, pipelineVersion: pipeline.version, spec: pipeline.spec, asOf,
    trigger: opts.trigger, allowPromotion: opts.allowPromotion, actor: opts.actor,
  };
  const handle = await deps.temporal.workflow.start('trainingPipeline', {
    taskQueue: opts.taskQueue ?? deps.config.temporal.taskQueue,
    workflowId,
    args: [input],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SEARCH_ATTRIBUTES.pipeline.key, value: pipeline.name },
      { key: SEARCH_ATTRIBUTES.asOf.key, value: new Date(asOf) },
    ]),
    staticSummary: `Train ${pipeline.name} v${pipeline.version} as of ${asOf.slice(0, 10)} (${opts.trigger})`,
    staticDetails: `Pipeline **${pipeline.name}** version ${pipeline.version}, spec ${pipeline.specHash}. Started by ${opts.actor}. Promotion ${opts.allowPromotion ? 'allowed' : 'disabled'}.`,
  });
  return { workflowId, runId: handle.firstExecutionRunId, asOf, webUiUrl: webUiLink(deps.config, workflowId, handle.firstExecutionRunId) };
}

export function webUiLink(config: Config, workflowId: string, runId?: string | null): string | null {
  const base = config.temporal.uiUrl;
  if (!base) return null;
  const path = `${base}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${path}/${runId}/history` : path;
}
