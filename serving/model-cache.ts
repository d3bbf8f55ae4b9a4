// Keeps the models that aliases point at loaded and ready. Each replica re-reads its aliases every
// MODEL_REFRESH_MS; a moved alias is switched only after the new version has loaded and verified, so
// in-flight and new requests never see a half-loaded model. Other versions (asked for explicitly, or left
// behind by an alias move) are kept in a least-recently-used set of at most MODEL_CACHE_MAX_VERSIONS, so
// callers naming one version after another cannot make a replica hold every version in memory.
import type { Db } from '../db/client.js';
import type { InferenceEngine } from './model-loader.js';
import { loadPredictor, type Predictor } from './predictor.js';
import { aliasMetrics, getVersion, resolveAlias } from '../registry/models.js';
import { latestMonitorReports } from '../registry/monitor-reports.js';
import { dirDigest, readDirHashed, type ArtifactStore } from '../runtime/artifacts.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { ServingError } from './errors.js';
import { observedOutcomes, outcomeFeatureState } from './feature-state.js';

export interface ServedModel {
  model: string;
  version: number;
  predictor: Predictor;
}

interface AliasEntry { model: string; alias: string; version: number; served: ServedModel }

/** A version in the cache: its load, and once that has finished, what it loaded. */
interface Slot { loading: Promise<ServedModel>; served: ServedModel | null }

/**
 * How long an evicted (or replaced) model stays usable before it is disposed: a request that already
 * holds it finishes on it.
 */
const RETIRE_AFTER_MS = 5_000;

const keyOf = (model: string, version: number) => `${model}@${version}`;

export class ModelCache {
  /**
   * model → alias → the loaded version it points at. An entry is set only once its model has loaded.
   * Nested rather than keyed by a joined string: the predict path looks it up without building a key.
   */
  private readonly aliases = new Map<string, Map<string, AliasEntry>>();
  /**
   * Every version loaded or loading here, least recently asked for first (a hit moves its key to the end).
   * The versions aliases point at are always kept; of the others at most `maxVersions`.
   */
  private readonly loaded = new Map<string, Slot>();
  /** The engine of each version in `loaded` that has finished loading. */
  private readonly engines = new Map<string, InferenceEngine>();
  /** Models evicted or replaced, awaiting disposal once requests that hold them are done. */
  private readonly retiring = new Map<ServedModel, NodeJS.Timeout>();
  private readonly maxVersions: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: {
    db: Db; artifacts: ArtifactStore; logger: Logger; refreshMs: number; metrics?: Metrics;
    /** Versions kept besides the ones aliases point at (MODEL_CACHE_MAX_VERSIONS); default 8. */
    maxVersions?: number;
  }) {
    this.maxVersions = Math.max(1, deps.maxVersions ?? 8);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.deps.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const slot of this.loaded.values()) void slot.loading.then((m) => m.predictor.dispose(), () => undefined);
    this.loaded.clear();
    this.engines.clear();
    for (const [served, timer] of this.retiring) {
      clearTimeout(timer);
      served.predictor.dispose();
    }
    this.retiring.clear();
  }

  /** Keys of the versions loaded here, least recently used first (for tests and diagnostics). */
  loadedVersions(): string[] {
    return [...this.loaded.keys()];
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
    this.adopt(entry.served);
  }

  /**
   * Makes `served` (which an alias now points at) the cache's copy of its version. Normally it already is;
   * it is not when its version was evicted while it loaded (then it goes back in) or evicted and loaded
   * again by another caller (then the alias's copy replaces that one, which is retired).
   */
  private adopt(served: ServedModel): void {
    const key = keyOf(served.model, served.version);
    const slot = this.loaded.get(key);
    if (slot?.served === served) return;
    if (slot?.served) this.retire(slot.served);
    // An unfinished load replaced here retires itself when it finishes (it is no longer `loaded`'s).
    this.loaded.set(key, { loading: Promise.resolve(served), served });
    this.engines.set(key, served.predictor.model.engine);
    const timer = this.retiring.get(served);
    if (timer) {
      clearTimeout(timer);
      this.retiring.delete(served);
    }
  }

  private setIfAbsent(entry: AliasEntry): AliasEntry {
    const existing = this.aliases.get(entry.model)?.get(entry.alias);
    if (existing) return existing;
    this.set(entry);
    return entry;
  }

  byVersion(model: string, version: number): Promise<ServedModel> {
    const key = keyOf(model, version);
    const hit = this.loaded.get(key);
    if (hit) {
      // Most recently used: to the end of the eviction order.
      this.loaded.delete(key);
      this.loaded.set(key, hit);
      return hit.loading;
    }
    const slot: Slot = { loading: this.load(model, version), served: null };
    this.loaded.set(key, slot);
    slot.loading.then(
      (m) => {
        if (this.loaded.get(key) === slot) {
          slot.served = m;
          this.engines.set(key, m.predictor.model.engine);
          // Just loaded for a caller about to use it: the most recently used (a slow load started long ago
          // must not be evicted the moment it finishes).
          this.loaded.delete(key);
          this.loaded.set(key, slot);
          this.evictBeyondLimit();
        } else {
          // Evicted or replaced while it loaded: whoever awaited it still gets it, then it goes.
          this.retire(m);
        }
      },
      // A failed load is not cached: the next request tries again.
      () => {
        if (this.loaded.get(key) === slot) this.loaded.delete(key);
      },
    );
    return slot.loading;
  }

  /**
   * Evicts the least recently used loaded versions no alias points at until at most `maxVersions` of them
   * are left. Runs when a load finishes (never on a hit), so loads that fail, such as of versions that do
   * not exist, evict nothing; loads still under way are neither counted nor evicted.
   */
  private evictBeyondLimit(): void {
    if (this.loaded.size <= this.maxVersions) return;
    const kept = new Set<string>();
    for (const byAlias of this.aliases.values()) for (const e of byAlias.values()) kept.add(keyOf(e.model, e.version));
    let others = 0;
    for (const [key, slot] of this.loaded) if (slot.served && !kept.has(key)) others++;
    for (const [key, slot] of this.loaded) {
      if (others <= this.maxVersions) break;
      if (!slot.served || kept.has(key)) continue;
      this.loaded.delete(key);
      this.engines.delete(key);
      others--;
      this.retire(slot.served);
      this.deps.metrics?.modelCacheEvictions.inc();
      this.deps.logger.debug({ model: slot.served.model, version: slot.served.version }, 'model version evicted from the serving cache');
    }
  }

  /** Disposes `served` once requests that hold it are done, unless an alias points at it by then. */
  private retire(served: ServedModel): void {
    if (this.retiring.has(served)) return;
    const timer = setTimeout(() => {
      this.retiring.delete(served);
      if (this.isAliased(served) || this.loaded.get(keyOf(served.model, served.version))?.served === served) return;
      served.predictor.dispose();
    }, RETIRE_AFTER_MS);
    timer.unref();
    this.retiring.set(served, timer);
  }

  private isAliased(served: ServedModel): boolean {
    const byAlias = this.aliases.get(served.model);
    if (byAlias) for (const e of byAlias.values()) if (e.served === served) return true;
    return false;
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
    const served = { model, version, predictor };
    // A replica that starts late serves the state every other replica serves: the results fed back so far.
    // Should that fail (the registry briefly down), it serves the fitted state and the next refresh retries.
    await this.updateFeatureState(served).catch((err) => this.deps.logger.warn({ err, model, version }, 'feature state not walked forward yet; serving the fitted state'));
    this.deps.logger.info({ model, version, engine, ...(fallbackReason ? { fallbackReason } : {}) }, 'model loaded for serving');
    return served;
  }

  /** Walks the served version's head-to-head state forward over the stored results (serving/feature-state.ts). */
  private async updateFeatureState(served: ServedModel): Promise<void> {
    if (!served.predictor.featureState) return;
    const next = await outcomeFeatureState(this.deps.db, served.model, served.predictor.fitted);
    // Two refreshes can overlap (a slow database): the state of more outcomes wins, whichever finishes last.
    if (!next || next.info.outcomesRead < (served.predictor.featureState?.outcomesRead ?? 0)) return;
    served.predictor.setFeatureState(next.state, next.info);
    if (next.info.resultsApplied > 0) this.deps.logger.info({ model: served.model, version: served.version, ...next.info }, 'feature state walked forward over fed-back results');
  }

  /** Versions loaded here whose feature state is older than the newest stored result of their model get it rebuilt. */
  private async refreshFeatureStates(): Promise<void> {
    const latest = new Map<string, { count: number; newest: number }>();
    for (const slot of this.loaded.values()) {
      const served = slot.served;
      const info = served?.predictor.featureState;
      if (!served || !info) continue;
      let stored = latest.get(served.model);
      if (stored === undefined) latest.set(served.model, (stored = await observedOutcomes(this.deps.db, served.model)));
      if (stored.newest !== info.outcomeId || stored.count !== info.outcomesRead) await this.updateFeatureState(served);
    }
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
    // The monitor's latest window per model, as stored: the shipped alert rules read these.
    const reports = await latestMonitorReports(this.deps.db);
    for (const g of [m.monitorBreach, m.monitorWindowEnd, m.monitorFindings, m.monitorFallbackRate, m.monitorDriftPsi, m.liveQuality, m.liveQualityDegradation]) g.reset();
    for (const report of reports) {
      const model = report.model;
      m.monitorBreach.set({ model }, report.breach ? 1 : 0);
      m.monitorWindowEnd.set({ model }, Date.parse(report.window.to) / 1000);
      m.monitorFallbackRate.set({ model }, report.fallbackRate);
      const byCheck = new Map<string, number>();
      for (const f of report.findings) byCheck.set(f.check, (byCheck.get(f.check) ?? 0) + 1);
      for (const [check, n] of byCheck) m.monitorFindings.set({ model, check }, n);
      for (const c of report.drift.columns) if (c.psi !== undefined && Number.isFinite(c.psi)) m.monitorDriftPsi.set({ model, column: c.column }, c.psi);
      const q = report.quality;
      if (q?.live) {
        for (const [metric, value] of Object.entries(q.live)) if (metric !== 'n' && Number.isFinite(value)) m.liveQuality.set({ model, version: String(q.version), metric }, value);
      }
      if (q?.degradation !== null && q?.degradation !== undefined) m.liveQualityDegradation.set({ model, metric: q.metric }, q.degradation);
    }
  }

  /**
   * Picks up alias moves: load the new version first, then switch. The earlier version stays loaded (a
   * request that started on one finishes on it), now among the versions no alias points at, which are
   * evicted least recently used first.
   */
  async refresh(): Promise<void> {
    await this.updateGauges().catch((err) => this.deps.logger.warn({ err }, 'model gauges not updated'));
    await this.refreshFeatureStates().catch((err) => this.deps.logger.warn({ err }, 'feature states not refreshed; serving the ones loaded'));
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
