// The serving cache stays bounded: versions aliases point at are always kept, other versions (asked for
// with ?version=N, or left behind by an alias move) live in a least-recently-used set of at most
// maxVersions. The registry, the artifact store and model loading are stubbed: only the cache is tested.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../../db/client.js';
import type { ArtifactStore } from '../../../runtime/artifacts.js';
import { createLogger } from '../../../runtime/logger.js';
import { createMetrics } from '../../../runtime/metrics.js';
import { ModelCache } from '../../../serving/model-cache.js';
import type { Predictor } from '../../../serving/predictor.js';

const registry = vi.hoisted(() => ({
  /** alias → version, for model "m". */
  aliases: new Map<string, number>(),
  /** Versions that exist. */
  versions: 50,
  loads: [] as number[],
  disposed: [] as number[],
  /** Loads of these versions wait for the promise. */
  gates: new Map<number, Promise<void>>(),
}));

vi.mock('../../../registry/models.js', () => ({
  resolveAlias: async (_db: unknown, _model: string, alias: string) => registry.aliases.get(alias) ?? null,
  getVersion: async (_db: unknown, model: string, version: number) =>
    version <= registry.versions ? { model, version, artifactUri: `file:///models/${version}`, artifactSha256: 'digest' } : null,
  aliasMetrics: async () => [...registry.aliases].map(([alias, version]) => ({ model: 'm', alias, version, metrics: {}, promotion: null })),
}));

vi.mock('../../../runtime/artifacts.js', () => ({
  readDirHashed: async () => new Map(),
  dirDigest: () => 'digest',
}));

vi.mock('../../../serving/predictor.js', () => ({
  loadPredictor: async (dir: string) => {
    const version = Number(dir.split('/').pop());
    registry.loads.push(version);
    await registry.gates.get(version);
    return { model: { engine: 'js', fallbackReason: null }, dispose: () => registry.disposed.push(version) } as unknown as Predictor;
  },
}));

const artifacts = { localPath: async (uri: string) => new URL(uri).pathname } as unknown as ArtifactStore;
const metrics = createMetrics({ defaultMetrics: false });
const evictions = async () => (await metrics.modelCacheEvictions.get()).values[0]?.value ?? 0;
let cache: ModelCache;

function newCache(maxVersions: number): ModelCache {
  cache = new ModelCache({ db: {} as Db, artifacts, logger: createLogger('silent'), refreshMs: 60_000, metrics, maxVersions });
  return cache;
}

beforeEach(() => {
  registry.aliases = new Map([['production', 1]]);
  registry.loads = [];
  registry.disposed = [];
  registry.gates = new Map();
  metrics.modelCacheEvictions.reset();
});
afterEach(() => {
  cache?.stop();
  vi.useRealTimers();
});

describe('ModelCache', () => {
  it('keeps at most maxVersions explicit versions, never evicts an alias version, and reloads an evicted one', async () => {
    const c = newCache(3);
    expect((await c.byAlias('m', 'production')).version).toBe(1);
    for (let v = 2; v <= 9; v++) {
      expect((await c.byVersion('m', v)).version).toBe(v);
      const others = c.loadedVersions().filter((k) => k !== 'm@1');
      expect(others.length).toBeLessThanOrEqual(3);
      expect(c.loadedVersions()).toContain('m@1');
    }
    expect(c.loadedVersions()).toEqual(['m@1', 'm@7', 'm@8', 'm@9']);
    expect(c.inference()).toEqual({ js: 4, tfjs: 0 });
    expect(await evictions()).toBe(5);
    // The alias version was loaded once and is still what the alias serves, without a promise.
    expect(registry.loads.filter((v) => v === 1)).toHaveLength(1);
    expect(c.current('m', 'production')?.version).toBe(1);

    // An evicted version loads again when asked for.
    const loadsBefore = registry.loads.length;
    expect((await c.byVersion('m', 2)).version).toBe(2);
    expect(registry.loads.length).toBe(loadsBefore + 1);
    expect(c.loadedVersions()).toEqual(['m@1', 'm@8', 'm@9', 'm@2']);
  });

  it('evicts the least recently used: a hit moves a version to the back', async () => {
    const c = newCache(2);
    await c.byVersion('m', 2);
    await c.byVersion('m', 3);
    await c.byVersion('m', 2); // 3 is now the least recently used
    await c.byVersion('m', 4);
    expect(c.loadedVersions()).toEqual(['m@2', 'm@4']);
    expect(registry.loads).toEqual([2, 3, 4]);
  });

  it('a load that fails (a version that does not exist) evicts nothing', async () => {
    const c = newCache(2);
    await c.byVersion('m', 2);
    await c.byVersion('m', 3);
    for (let v = 100; v < 110; v++) await expect(c.byVersion('m', v)).rejects.toThrow(/has no version/);
    expect(c.loadedVersions()).toEqual(['m@2', 'm@3']);
    expect(await evictions()).toBe(0);
  });

  it('a version an alias moved away from becomes evictable; the one it moved to is kept', async () => {
    const c = newCache(1);
    await c.ensureLoaded('production');
    registry.aliases.set('production', 5);
    await c.refresh();
    expect(c.current('m', 'production')?.version).toBe(5);
    // Version 1 is now an ordinary version: the next explicit load pushes it out, 5 stays.
    await c.byVersion('m', 2);
    await c.byVersion('m', 3);
    expect(c.loadedVersions().sort()).toEqual(['m@3', 'm@5']);
    expect(c.current('m', 'production')?.version).toBe(5);
  });

  it('disposes an evicted model only after a grace period, so a request holding it finishes on it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = newCache(1);
    const held = await c.byVersion('m', 2);
    await c.byVersion('m', 3);
    expect(c.loadedVersions()).toEqual(['m@3']);
    expect(registry.disposed).toEqual([]);
    expect(held.predictor).toBeDefined();
    vi.advanceTimersByTime(10_000);
    expect(registry.disposed).toEqual([2]);
  });

  it('a slow alias load is not evicted by the explicit loads that finished meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = newCache(1);
    registry.aliases.set('staging', 4);
    let release!: () => void;
    registry.gates.set(4, new Promise<void>((r) => { release = r; }));
    const alias = c.byAlias('m', 'staging');
    await c.byVersion('m', 6);
    await c.byVersion('m', 7);
    expect(c.loadedVersions()).toEqual(['m@4', 'm@7']); // 4 still loading: neither counted nor evicted
    release();
    expect((await alias).version).toBe(4);
    expect(c.current('m', 'staging')?.version).toBe(4);
    // When 4 finished it was not yet the alias's: the newest, it pushed 7 out, and then became the alias's.
    expect(c.loadedVersions()).toEqual(['m@4']);
    // Later explicit loads never push the alias version out, and it is never disposed.
    for (let v = 10; v < 14; v++) await c.byVersion('m', v);
    vi.advanceTimersByTime(10_000);
    expect(c.loadedVersions()).toEqual(['m@4', 'm@13']);
    expect(registry.disposed).not.toContain(4);
    expect(registry.disposed.sort((a, b) => a - b)).toEqual([6, 7, 10, 11, 12]);
  });

  it('a model evicted just before its alias is set goes back into the cache and is not disposed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = newCache(1);
    // The race, played by hand: version 4 loaded for an alias, then evicted by another load that finished
    // before the alias was set (possible when the cache holds a single version).
    const four = await c.byVersion('m', 4);
    await c.byVersion('m', 5);
    expect(c.loadedVersions()).toEqual(['m@5']);
    (c as unknown as { set(e: { model: string; alias: string; version: number; served: typeof four }): void })
      .set({ model: 'm', alias: 'staging', version: 4, served: four });
    expect(c.loadedVersions()).toEqual(['m@5', 'm@4']);
    expect(c.inference()).toEqual({ js: 2, tfjs: 0 });
    vi.advanceTimersByTime(10_000);
    expect(registry.disposed).toEqual([]);
    expect(await c.byVersion('m', 4)).toBe(four);
  });
});
