// Every value a caller can send is bounded where the route declares it: each integer of a path, query,
// header or body fits a PostgreSQL integer, and each free string refuses NUL and lone surrogates (the
// storable-text check of pipelines/storable.ts). Walked over every route the app registers, so a new
// field without its bound fails here rather than as a database or gRPC error in production.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createApp } from '../../../api/app.js';
import { testAccess } from '../../support/access.js';
import type { ApiDeps } from '../../../api/deps.js';
import { INT32_MAX, INT32_MIN, isStorableText } from '../../../pipelines/storable.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';

const deps = { config: loadConfig({}), logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), backend: 'cpu', temporal: { schedule: {} }, access: testAccess().access } as unknown as ApiDeps;
const app = createApp(deps, { version: 'test' });

type Def = { type: string; [k: string]: unknown };
type Schema = z.ZodType & { _zod: { def: Def } };
type RouteDef = { method: string; path: string; request?: { params?: Schema; query?: Schema; headers?: Schema; body?: { content: Record<string, { schema: Schema }> } } };

/** Each string and number schema reachable from `schema`, with the path that leads to it. */
function* leaves(schema: Schema, path: string, seen = new Set<Schema>()): Generator<{ path: string; schema: Schema }> {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = schema._zod.def;
  const sub = (s: unknown, p: string) => leaves(s as Schema, p, seen);
  switch (def.type) {
    case 'string': case 'number':
      yield { path, schema };
      return;
    case 'object':
      for (const [key, value] of Object.entries(def.shape as Record<string, Schema>)) yield* sub(value, `${path}.${key}`);
      if (def.catchall) yield* sub(def.catchall, `${path}.*`);
      return;
    case 'array': yield* sub(def.element, `${path}[]`); return;
    case 'record': yield* sub(def.keyType, `${path}{key}`); yield* sub(def.valueType, `${path}{value}`); return;
    case 'union': for (const [i, o] of (def.options as Schema[]).entries()) yield* sub(o, `${path}|${i}`); return;
    case 'intersection': yield* sub(def.left, path); yield* sub(def.right, path); return;
    case 'tuple': for (const [i, o] of (def.items as Schema[]).entries()) yield* sub(o, `${path}[${i}]`); return;
    case 'pipe': yield* sub(def.in, path); return;
    case 'lazy': yield* sub((def.getter as () => Schema)(), path); return;
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'catch': case 'readonly': case 'nonoptional':
      yield* sub(def.innerType, path);
      return;
    case 'enum': case 'literal': case 'boolean': case 'unknown': case 'any': case 'null': case 'undefined': case 'never':
      return;
    default:
      throw new Error(`${path}: a ${def.type} schema in a request; teach this walker its bounds`);
  }
}

const routes = app.openAPIRegistry.definitions.filter((d) => d.type === 'route').map((d) => (d as unknown as { route: RouteDef }).route);
const requestLeaves = routes.flatMap((r) => {
  const parts: [string, Schema | undefined][] = [
    ['params', r.request?.params], ['query', r.request?.query], ['headers', r.request?.headers],
    ['body', r.request?.body?.content['application/json']?.schema],
  ];
  return parts.filter(([, s]) => s).flatMap(([where, s]) => [...leaves(s!, `${r.method.toUpperCase()} ${r.path} ${where}`)]);
});

describe('the request schemas of every route', () => {
  it('are found: each route with its parameters and bodies', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(requestLeaves.length).toBeGreaterThan(60);
  });

  it('bound every integer to a PostgreSQL integer', () => {
    const ints = requestLeaves.filter((l) => l.schema._zod.def.type === 'number' && (l.schema as unknown as z.ZodNumber).isInt);
    expect(ints.length).toBeGreaterThan(10);
    const unbounded = ints.filter((l) => {
      const n = l.schema as unknown as z.ZodNumber;
      return !(n.minValue! >= INT32_MIN && n.maxValue! <= INT32_MAX);
    }).map((l) => l.path);
    expect(unbounded).toEqual([]);
  });

  it('give every free string the storable-text check (formats such as dates are checked by their pattern)', () => {
    const strings = requestLeaves.filter((l) => l.schema._zod.def.type === 'string');
    const free = strings.filter((l) => !l.schema._zod.def.format);
    expect(free.length).toBeGreaterThan(30);
    const unchecked = free.filter((l) => !((l.schema._zod.def.checks ?? []) as { _zod: { def: { fn?: unknown } } }[]).some((c) => c._zod.def.fn === isStorableText)).map((l) => l.path);
    expect(unchecked).toEqual([]);
    // The formats refuse both by their patterns.
    for (const l of strings.filter((s) => s.schema._zod.def.format)) {
      expect(l.schema.safeParse('2020-01-01T00:00:00\u0000Z').success, l.path).toBe(false);
      expect(l.schema.safeParse('2020-01-01\ud800').success, l.path).toBe(false);
    }
  });
});
