// Loads the committed histories (test/replay/histories/, written by scripts/record-histories.ts): the JSON
// form Temporal's tools share (`temporal workflow show --output json`), listed in manifest.json with the
// workflow ID each was recorded under.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils.js';

export const HISTORIES_DIR = join(import.meta.dirname, 'histories');

export interface RecordedHistory extends HistoryAndWorkflowId {
  name: string;
  what: string;
  workflowType: string;
}

export function loadHistories(): RecordedHistory[] {
  const manifest = JSON.parse(readFileSync(join(HISTORIES_DIR, 'manifest.json'), 'utf8')) as Record<string, { workflowId: string; what: string }>;
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && f !== 'manifest.json').map((f) => f.slice(0, -'.json'.length));
  const unlisted = files.filter((f) => !manifest[f]);
  const missing = Object.keys(manifest).filter((name) => !files.includes(name));
  if (unlisted.length || missing.length) {
    throw new Error(`test/replay/histories/manifest.json is out of step with its folder (not listed: ${unlisted.join(', ') || '-'}; no file: ${missing.join(', ') || '-'}); run npm run record:histories`);
  }
  return files.sort().map((name) => {
    const json = JSON.parse(readFileSync(join(HISTORIES_DIR, `${name}.json`), 'utf8')) as { events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] };
    const workflowType = json.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    if (!workflowType) throw new Error(`${name}.json does not start with a WorkflowExecutionStarted event`);
    return { name, what: manifest[name].what, workflowId: manifest[name].workflowId, workflowType, history: parseHistory(json) };
  });
}

/**
 * The SDK's historyFromJSON, or the same conversion with the protobufjs that @temporalio/proto's types
 * were built with. In this install npm gives @temporalio/common and @temporalio/proto separate copies of
 * protobufjs 8 (a protobufjs 7 sits at the top for @grpc/proto-loader), and the SDK helper then throws
 * "type must be a Type" from protojson's `instanceof` check; Worker.runReplayHistories would hit the same
 * error if handed the JSON itself.
 */
export function parseHistory(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (err) {
    if (!(err instanceof TypeError && /must be a Type/.test(err.message))) throw err;
    return alignedHistoryFromJSON(json);
  }
}

function alignedHistoryFromJSON(json: unknown): History {
  const fromHere = createRequire(import.meta.url);
  const fromCommon = createRequire(fromHere.resolve('@temporalio/common'));
  const fromProto = createRequire(fromCommon.resolve('@temporalio/proto'));
  const proto = fromCommon('@temporalio/proto');
  const { patchProtobufRoot } = fromCommon('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (root: unknown) => { lookupType(name: string): unknown } };
  const { fromJson } = fromProto('protobufjs/ext/protojson') as { fromJson: (type: unknown, json: unknown, options: object) => History | null };
  const history = fromJson(patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History'), json, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('invalid history JSON');
  return history;
}
