// Keeps the models that aliases point at loaded and ready. Each replica re-reads its aliases every
// MODEL_REFRESH_MS; a moved alias is switched only after the new version has loaded and verified, so
// in-flight and new requests never see a half-loaded model.
import type { Db } from '../db/client.js';
import type { InferenceEngine } from './model-loader.js';
import { loadPredictor, type Predictor } from './predictor.js';
import { aliasMetrics, getVersion, resolveAlias } from '../registry/models.js';
import { dirDigest, readDirHashed, type ArtifactStore } from '../runtime/artifacts.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { ServingError } from './errors.js';

export interface ServedModel {
  model: string;
  version: number;
  predictor: Predictor;
}

interface AliasEntry { model: string; alias: string; version: number; served: ServedModel }

export class ModelCache {
  /**
   * model → alias → the loaded version it points at. An entry is set only once its model has loaded.
   * Nested rather than keyed by a joined string: the predict path looks it up without building a key.
   */
  private readonly aliases = new Map<string, Map<string, AliasEntry>>();
  private readonly loaded = new Map<string, Promise<ServedModel>>();
  /** The engine of each version in `loaded` that has finished loading. */
  private readonly engines = new Map<string, InferenceEngine>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { db: Db; artifacts: ArtifactStore; logger: Logger; refreshMs: number; metrics?: Metrics }) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.deps.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.loaded.values()) void p.then((m) => m.predictor.dispose(), () => undefined);
    this.loaded.clear();
    this.engines.clear();
  }

  /** Aliases this replica serves, their versions and the engine that runs each (for /health). */
  servedAliases(): { model: string; alias: string; version: number; engine: InferenceEngine }[] {
    return this.entries().map(({ model, alias, version, served }) => ({ model, alias, version, engine: served.predictor.model.engine }));
  }

  /** How many model versions loaded here each inference engine runs (for /health). */
  inference(): Record<InferenceEngine, number> {
    const counts: Record<InferenceEngine, number> = { js: 0, tfjs: 0 };
    for (const engine of this.engines.values()) counts[engine]++;
    return counts;
  }

  /** What `alias` serves when it is already resolved and loaded here, without a promise; else undefined. */
  current(model: string, alias: string): ServedModel | undefined {
    return this.aliases.get(model)?.get(alias)?.served;
  }

  async byAlias(model: string, alias: string): Promise<ServedModel> {
    const known = this.current(model, alias);
    if (known) return known;
    const version = await resolveAlias(this.deps.db, model, alias);
    if (version === null) throw new ServingError('no_model', `model "${model}" has no "${alias}" version; run its pipeline or move the alias first`);
    const served = await this.byVersion(model, version);
    // A refresh may have set a newer version meanwhile; keep it.
    return this.setIfAbsent({ model, alias, version, served }).served;
  }

  private entries(): AliasEntry[] {
    return [...this.aliases.values()].flatMap((byAlias) => [...byAlias.values()]);
  }

  private set(entry: AliasEntry): void {
    let byAlias = this.aliases.get(entry.model);
    if (!byAlias) this.aliases.set(entry.model, (byAlias = new Map()));
    byAlias.set(entry.alias, entry);
  }

  private setIfAbsent(entry: AliasEntry): AliasEntry {
    const existing = this.aliases.get(entry.model)?.get(entry.alias);
    if (existing) return existing;
    this.set(entry);
    return entry;
  }

  byVersion(model: string, version: number): Promise<ServedModel> {
    const key = `${model}@${version}`;
    let p = this.loaded.get(key);
    if (!p) {
      const loading = this.load(model, version);
      this.loaded.set(key, loading);
      loading.then(
        (m) => {
          if (this.loaded.get(key) === loading) this.engines.set(key, m.predictor.model.engine);
        },
        // A failed load is not cached: the next request tries again.
        () => this.loaded.delete(key),
      );
      p = loading;
    }
    return p;
  }

  private async load(model: string, version: number): Promise<ServedModel> {
    const row = await getVersion(this.deps.db, model, version);
    if (!row) throw new ServingError('no_version', `model "${model}" has no version ${version}`);
    let predictor: Predictor;
    try {
      const dir = await this.deps.artifacts.localPath(row.artifactUri);
      // One pass over the files: each is read and hashed once; the registered digest (sha256Dir's) and
      // checksum.json are both checked from those hashes, and the model is built from the bytes checked.
      const files = await readDirHashed(dir);
      if (dirDigest([...files.values()]) !== row.artifactSha256) {
        throw new ServingError('unavailable', `the artifact of ${model} v${version} does not match its registered checksum; it will not be served`);
      }
      predictor = await loadPredictor(dir, files);
    } catch (err) {
      if (err instanceof ServingError) throw err;
      // A missing or unreadable artifact: the caller learns which version, the log says why (paths stay there).
      this.deps.logger.error({ err, model, version }, 'model could not be loaded for serving');
      throw new ServingError('unavailable', `${model} v${version} could not be loaded on this replica; it will not be served (the API logs say why)`);
    }
    const { engine, fallbackReason } = predictor.model;
    this.deps.logger.info({ model, version, engine, ...(fallbackReason ? { fallbackReason } : {}) }, 'model loaded for serving');
    return { model, version, predictor };
  }

  /**
   * Makes sure every version that `alias` points at in the registry is loaded here (loading any that is
   * not), with one registry read. Used before the replica reports started, so first requests do not pay
   * the load, and by /health/ready. A version the alias has just moved to is loaded at once, so readiness
   * does not flap while the next refresh switches to it. Returns what could not be loaded.
   */
  async ensureLoaded(alias = 'production'): Promise<{ model: string; version: number; error: string }[]> {
    const failed: { model: string; version: number; error: string }[] = [];
    for (const row of await aliasMetrics(this.deps.db)) {
      if (row.alias !== alias) continue;
      try {
        const served = await this.byVersion(row.model, row.version);
        this.setIfAbsent({ model: row.model, alias, version: row.version, served });
      } catch (err) {
        failed.push({ model: row.model, version: row.version, error: (err as Error).message });
      }
    }
    return failed;
  }

  /** Gauges of what each alias points at and how that version scored. */
  async updateGauges(): Promise<void> {
    const m = this.deps.metrics;
    if (!m) return;
    const rows = await aliasMetrics(this.deps.db);
    m.aliasVersion.reset();
    m.modelMetric.reset();
    m.promotionThreshold.reset();
    for (const r of rows) {
      m.aliasVersion.set({ model: r.model, alias: r.alias }, r.version);
      for (const [metric, value] of Object.entries(r.metrics)) if (metric !== 'n' && Number.isFinite(value)) m.modelMetric.set({ model: r.model, alias: r.alias, metric }, value);
      if (r.promotion?.threshold !== undefined && r.promotion.metric) m.promotionThreshold.set({ model: r.model, metric: r.promotion.metric }, r.promotion.threshold);
    }
  }

  /**
   * Picks up alias moves: load the new version first, then switch. Earlier versions stay loaded, so a
   * request that started on one finishes on it.
   */
  async refresh(): Promise<void> {
    await this.updateGauges().catch((err) => this.deps.logger.warn({ err }, 'model gauges not updated'));
    for (const entry of this.entries()) {
      try {
        const version = await resolveAlias(this.deps.db, entry.model, entry.alias);
        if (version === null || version === entry.version) continue;
        const served = await this.byVersion(entry.model, version);
        const previous = entry.version;
        this.set({ ...entry, version, served });
        this.deps.logger.info({ model: entry.model, alias: entry.alias, from: previous, to: version }, 'alias moved; now serving the new version');
      } catch (err) {
        this.deps.logger.warn({ err, model: entry.model, alias: entry.alias }, 'alias refresh failed; still serving the loaded version');
      }
    }
  }
}
