// The check of a pipeline before it is saved: a worker reads a sample of the source (the API reads no data
// itself) and the columns the spec names must be there. What cannot be known yet (a URL's content) is left
// to the run, which checks everything again.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import type { PipelineSpec } from '../../pipelines/spec.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { inspectSource } from '../launcher.js';

/** 422 naming each spec field whose column the source lacks, or the source's own refusal; 503 without a worker. */
/**
 * 'checked' when the source was read and has the columns; 'unchecked' when no worker could read it in time
 * (all busy training, or none running): the pipeline is saved and its first run checks it.
 */
export async function checkSource(deps: Pick<ApiDeps, 'temporal' | 'config' | 'logger'>, spec: PipelineSpec): Promise<'checked' | 'unchecked'> {
  let columns: string[] | null;
  try {
    ({ columns } = await inspectSource(deps, { source: spec.source }));
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
    if (cause instanceof ApplicationFailure && cause.nonRetryable) {
      throw new HttpError(422, 'validation_failed', `the source cannot be used: ${cause.message}`, { issues: [{ path: 'body.source', message: cause.message }] });
    }
    if (cause instanceof TimeoutFailure || err.cause instanceof TimeoutFailure) return 'unchecked';
    // A fault the worker would retry (the source database down, an unclassified error): not the spec's
    // fault, and its message may quote the source; the run will meet it again.
    deps.logger.warn({ err }, 'the source check failed');
    throw new HttpError(503, 'unavailable', 'the source could not be checked now (a fault on the worker\'s side); try again, or save with ?check=false and let the first run check it');
  }
  if (columns === null) return 'unchecked';
  const have = new Set(columns);
  const named: [string, string][] = [
    ...targetPaths(spec),
    ...(spec.timeColumn ? [['body.timeColumn', spec.timeColumn]] as [string, string][] : []),
    ...(spec.features.include ?? []).map((c, i) => [`body.features.include.${i}`, c] as [string, string]),
  ];
  const missing = named.filter(([, column]) => !have.has(column));
  if (missing.length === 0) return 'checked';
  const listed = columns.length > 30 ? `${columns.slice(0, 30).join(', ')}, … (${columns.length})` : columns.join(', ');
  const issues = missing.map(([path, column]) => ({ path, message: `column "${column}" is not in the source; its columns are: ${listed}` }));
  throw new HttpError(422, 'validation_failed', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

/** Where in the request body each column the target needs is named. */
function targetPaths(spec: PipelineSpec): [string, string][] {
  const from = spec.targetFrom;
  if (!from) return [['body.target', spec.target]];
  if (from.kind === 'threshold') return [['body.targetFrom.column', from.column]];
  return [['body.targetFrom.homeScore', from.homeScore], ['body.targetFrom.awayScore', from.awayScore]];
}
