// Run in its own process by test/integration/temporal-connection.test.ts: makes namespaced Temporal calls
// through the platform's connection (or, with `sdk`, the SDK's plain one) and prints whether promise hooks
// are on afterwards. With no hook installed, code after an await runs with execution async ID 0.
import { executionAsyncId } from 'node:async_hooks';
import { Client, Connection } from '@temporalio/client';
import { connectTemporal } from '../../runtime/temporal-connection.js';

const [address, kind] = process.argv.slice(2);
const connection = kind === 'sdk' ? await Connection.connect({ address }) : await connectTemporal(address, 'default', { tls: false });
const client = new Client({ connection, namespace: 'default' });
await connection.workflowService.describeNamespace({ namespace: 'default' });
for await (const _ of client.workflow.list({ pageSize: 1 })) break;
const afterAwait = async () => {
  await null;
  return executionAsyncId();
};
console.log(JSON.stringify({ promiseHooks: (await afterAwait()) !== 0, namespaceHeader: connection.options.metadata?.['temporal-namespace'] ?? null }));
await connection.close();
