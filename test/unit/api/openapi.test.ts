// The OpenAPI document is generated from the route definitions: it covers every /v1 route the app serves,
// with the schemas that validate its requests and describe its responses.
import { describe, expect, it } from 'vitest';
// First, as the CLI loads it: the pipeline spec's schemas then exist before @hono/zod-openapi extends zod.
import '../../../pipelines/spec.js';
import { createApp } from '../../../api/app.js';
import { testAccess } from '../../support/access.js';
import type { ApiDeps } from '../../../api/deps.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';

type Schema = { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; minItems?: number; oneOf?: Schema[]; anyOf?: Schema[] };
type Operation = {
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Schema }> }>;
};
type Document = { openapi: string; info: { version: string }; servers: { url: string }[]; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

// Only route registration and the document are exercised: no handler runs, so the services stay unused.
const { access, as } = testAccess();
const deps = { config: loadConfig({}), logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu', temporal: { schedule: {} }, access } as unknown as ApiDeps;
const app = createApp(deps, { version: 'test' });
const doc = await (await app.request('/openapi.json', { headers: as('viewer') })).json() as Document;

const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method} ${path}`, op })));
const operation = (method: string, path: string) => doc.paths[path][method];
/** A schema, following a reference to the components. */
const resolve = (s: Schema): Schema => (s.$ref ? doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] : s);

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with the API version and a server', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('test');
    expect(doc.servers).toEqual([{ url: '/' }]);
  });

  it('lists every /v1 route the app registers, with the same methods', () => {
    const served = new Set(app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    expect(served.size).toBeGreaterThan(25);
    expect(operations.map((o) => o.key).sort()).toEqual([...served].sort());
  });

  it('gives every route a schema for its success response, and the error body for its errors', () => {
    for (const { key, op } of operations) {
      const success = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
      expect(success.length, key).toBeGreaterThan(0);
      for (const status of success) {
        // A file download documents its media type as binary instead.
        const file = op.responses[status].content?.['application/vnd.apache.parquet']?.schema;
        if (file) {
          expect(file, `${key} ${status}`).toMatchObject({ type: 'string', format: 'binary' });
          continue;
        }
        // A chart is an image, its text SVG.
        const image = op.responses[status].content?.['image/svg+xml']?.schema;
        if (image) {
          expect(image, `${key} ${status}`).toMatchObject({ type: 'string' });
          continue;
        }
        const json = op.responses[status].content?.['application/json']?.schema;
        expect(json, `${key} ${status}`).toBeDefined();
        expect(resolve(json!).type ?? resolve(json!).anyOf ?? resolve(json!).oneOf, `${key} ${status}`).toBeDefined();
      }
      expect(op.responses['500']?.content?.['application/json']?.schema, key).toEqual({ $ref: '#/components/schemas/Error' });
    }
    const error = doc.components.schemas.Error;
    expect(error.required).toEqual(['error']);
    expect(error.properties!.error.required).toEqual(['code', 'message', 'details']);
  });

  it('documents the errors a JSON body can bring: 400, 413, 415 and 422', () => {
    for (const { key, op } of operations.filter((o) => o.op.requestBody)) {
      expect(Object.keys(op.responses), key).toEqual(expect.arrayContaining(['400', '413', '415', '422']));
    }
  });

  it('describes requests with the schemas that validate them', () => {
    const spec = resolve(operation('post', '/v1/pipelines').requestBody!.content['application/json'].schema);
    expect(spec.required).toEqual(expect.arrayContaining(['name', 'source', 'target']));
    expect(spec.properties!.source.oneOf ?? spec.properties!.source.anyOf).toHaveLength(3);
    expect(operation('post', '/v1/pipelines/{name}/runs').requestBody!.required).toBe(false);
    expect(operation('get', '/v1/runs').parameters!.map((p) => p.name)).toEqual(['pipeline', 'status', 'limit']);
    expect(operation('get', '/v1/models/{name}/versions/{version}').parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['path:name', 'path:version']);
  });

  it('describes responses with the schemas the handlers are typed by', () => {
    const run = operation('get', '/v1/runs/{workflowId}').responses['200'].content!['application/json'].schema!;
    expect(Object.keys(run.properties!.run.properties!)).toEqual(expect.arrayContaining(['workflowId', 'status', 'summary', 'live', 'webUiUrl']));
    const report = operation('get', '/v1/backfills/{id}/report').responses['200'].content!;
    expect(Object.keys(report).sort()).toEqual(['application/json', 'image/svg+xml', 'text/csv']);
  });

  it('documents the hand-written predict route: its query, body and response', () => {
    const predict = operation('post', '/v1/models/{name}/predict');
    expect(predict.parameters!.map((p) => p.name)).toEqual(['name', 'alias', 'version', 'unknownCategories']);
    const body = predict.requestBody!.content['application/json'].schema;
    expect(body.required).toEqual(['instances']);
    expect(body.properties!.instances.minItems).toBe(1);
    const response = predict.responses['200'].content!['application/json'].schema!;
    expect(response.required).toEqual(['model', 'version', 'alias', 'predictions']);
    expect(response.properties!.predictions.items!.anyOf ?? response.properties!.predictions.items!.oneOf).toHaveLength(2);
    expect(Object.keys(predict.responses)).toEqual(expect.arrayContaining(['404', '413', '415', '422', '503']));
  });
});
