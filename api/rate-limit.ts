// Per-key token buckets: each key (a caller) may make `burst` requests at once, then `ratePerSecond` on
// average. It runs on the predict hot path: a request of a known key costs one Map lookup and some
// arithmetic, no allocation. Memory is bounded: a bucket that has refilled is the same as no bucket and is
// dropped when the map grows, so a flood of distinct keys cannot grow it without bound.

export interface RateLimit {
  /** Sustained requests per second per key; 0 means no limit. */
  ratePerSecond: number;
  /** Requests a key may make at once (the bucket's size). */
  burst: number;
}

interface Bucket {
  /** Tokens left at `updated` (a request takes one). */
  tokens: number;
  /** performance.now() of the last refill. */
  updated: number;
}

/**
 * The part of `limit` each of `processes` API processes enforces (API_PROCESSES): the rate and the burst
 * divided among them, so that together they allow about the configured limit. The buckets stay per process
 * rather than shared because sharing would put a round trip to another process on every request; dividing
 * is exact for a caller whose connections spread over the processes, which node:cluster hands new
 * connections to in turn. A caller that sends everything over one keep-alive connection reaches one process
 * and gets its share only (a tighter limit). A burst is at least one request, so a configured burst below
 * the number of processes allows up to that number at once (app/api-process.ts warns at start).
 */
export function processShare(limit: RateLimit, processes: number): RateLimit {
  if (!(Number.isInteger(processes) && processes >= 1)) throw new RangeError(`processes must be an integer >= 1, got ${processes}`);
  return { ratePerSecond: limit.ratePerSecond / processes, burst: Math.max(1, limit.burst / processes) };
}

/** Buckets kept before idle ones are dropped (about 100 bytes each). */
const DEFAULT_MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Tokens per millisecond; 0: unlimited. */
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxKeys: number;

  constructor(limit: RateLimit & { maxKeys?: number }) {
    const { ratePerSecond, burst, maxKeys = DEFAULT_MAX_KEYS } = limit;
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond >= 0)) throw new RangeError(`ratePerSecond must be a finite number >= 0, got ${ratePerSecond}`);
    if (ratePerSecond > 0 && !(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`burst must be a finite number >= 1, got ${burst}`);
    if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) throw new RangeError(`maxKeys must be an integer >= 1, got ${maxKeys}`);
    this.perMs = ratePerSecond / 1000;
    this.burst = burst;
    this.maxKeys = maxKeys;
  }

  /** Whether every request is allowed (ratePerSecond 0). */
  get unlimited(): boolean {
    return this.perMs === 0;
  }

  /** Buckets held (for tests and diagnostics). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one request for `key` at `now` (milliseconds, performance.now()'s clock). Returns 0 when it is
   * allowed, else the whole seconds (>= 1) until it would be: the Retry-After of a 429. A refused request
   * takes nothing, so retrying after that many seconds succeeds.
   */
  take(key: string, now?: number): number {
    if (this.perMs === 0) return 0;
    const t = now ?? performance.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.sweep(t);
      b = { tokens: this.burst, updated: t };
      this.buckets.set(key, b);
    } else if (t > b.updated) {
      b.tokens = Math.min(this.burst, b.tokens + (t - b.updated) * this.perMs);
      b.updated = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  /**
   * Drops the buckets that have refilled (a full bucket limits nothing). If more than nine tenths of
   * `maxKeys` are still busy, the oldest are dropped too: those keys start again with a full bucket, which
   * only happens when more than that many keys are active at once. Leaving a tenth free keeps sweeps rare
   * (at most one per maxKeys / 10 new keys), so a flood of new keys costs amortised O(1) each.
   */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.updated) * this.perMs >= this.burst) this.buckets.delete(key);
    }
    const keep = Math.floor(this.maxKeys * 0.9);
    if (this.buckets.size <= keep) return;
    let excess = this.buckets.size - keep;
    for (const key of this.buckets.keys()) {
      if (excess-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
