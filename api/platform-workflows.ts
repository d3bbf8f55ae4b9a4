// The API acts only on workflows this platform started: Temporal namespaces are often shared, and a run,
// backfill or schedule route must not reach another application's executions by naming their IDs.
import { WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import type { ApiDeps } from './deps.js';
import { HttpError } from './errors.js';

/** A workflow of ours: one of the platform's workflow types, on the platform's task queue. */
export function isPlatformWorkflow(deps: Pick<ApiDeps, 'config'>, desc: WorkflowExecutionDescription, type: string): boolean {
  return desc.type === type && desc.taskQueue === deps.config.temporal.taskQueue;
}

/** A handle on workflow `id` when it is a platform workflow of `type`; else 404, as if it did not exist. */
export async function platformWorkflow(deps: Pick<ApiDeps, 'config' | 'temporal'>, id: string, type: string, noun: string): Promise<WorkflowHandle> {
  const handle = deps.temporal.workflow.getHandle(id);
  const notFound = () => new HttpError(404, 'not_found', `${noun} "${id}" does not exist`);
  let desc: WorkflowExecutionDescription;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound();
    throw err;
  }
  if (!isPlatformWorkflow(deps, desc, type)) throw notFound();
  return handle;
}
