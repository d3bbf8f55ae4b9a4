// The OpenAPI document covers every /v1 route the app serves and carries the validating schemas.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import type { ApiDeps } from '../../../api/deps.js';
import { openApiDocument } from '../../../api/openapi.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';

describe('openapi.json', () => {
  const doc = openApiDocument('test');

  it('lists every /v1 route the app registers, with the same methods', () => {
    // Only route registration is exercised: no handler runs, so the service dependencies stay unused.
    const deps = { config: loadConfig({}), logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu', temporal: { schedule: {} } } as unknown as ApiDeps;
    const app = createApp(deps, { version: 'test' });
    const served = new Set(app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('describes request bodies with the schemas that validate them', () => {
    const spec = (doc.paths['/v1/pipelines'].post as any).requestBody.content['application/json'].schema;
    expect(spec.required).toEqual(expect.arrayContaining(['name', 'source', 'target']));
    expect(spec.properties.source.oneOf ?? spec.properties.source.anyOf).toHaveLength(3);
    const predict = doc.paths['/v1/models/{name}/predict'].post as any;
    expect(predict.parameters.map((p: { name: string }) => p.name)).toEqual(['name', 'alias', 'version', 'unknownCategories']);
    expect(predict.requestBody.content['application/json'].schema.properties.instances.minItems).toBe(1);
  });
});
