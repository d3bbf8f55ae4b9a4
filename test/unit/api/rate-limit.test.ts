// The per-key token bucket behind the API's rate limits: a burst, then a steady rate, a Retry-After that
// is enough, independent keys, an unlimited mode, and bounded memory under a flood of keys.
import { describe, expect, it } from 'vitest';
import { processShare, RateLimiter } from '../../../api/rate-limit.js';
import { loadConfig } from '../../../runtime/config.js';

/** `n` takes of `key` at `now`: how many were allowed, and the last answer. */
function takeMany(limiter: RateLimiter, key: string, n: number, now: number): { allowed: number; last: number } {
  let allowed = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = limiter.take(key, now);
    if (last === 0) allowed++;
  }
  return { allowed, last };
}

describe('RateLimiter', () => {
  it('allows the burst at once, then refuses with the seconds until the next token', () => {
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 5 });
    expect(takeMany(limiter, 'a', 5, 1000)).toEqual({ allowed: 5, last: 0 });
    // The next token comes in 0.5 s: Retry-After is a whole number of seconds, at least 1.
    expect(limiter.take('a', 1000)).toBe(1);
    const slow = new RateLimiter({ ratePerSecond: 2 / 60, burst: 1 }); // 2 per minute
    expect(slow.take('a', 0)).toBe(0);
    expect(slow.take('a', 0)).toBe(30);
    expect(slow.take('a', 10_000)).toBe(20);
    expect(slow.take('a', 29_500)).toBe(1);
    expect(slow.take('a', 30_000)).toBe(0);
  });

  it('a refused request takes nothing: waiting the Retry-After is enough', () => {
    const limiter = new RateLimiter({ ratePerSecond: 0.25, burst: 2 });
    takeMany(limiter, 'a', 2, 0);
    const wait = takeMany(limiter, 'a', 100, 0).last;
    expect(wait).toBe(4);
    expect(limiter.take('a', wait * 1000)).toBe(0);
  });

  it('refills at the rate, never beyond the burst', () => {
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 20 });
    expect(takeMany(limiter, 'a', 25, 0).allowed).toBe(20);
    expect(takeMany(limiter, 'a', 25, 500).allowed).toBe(5); // 0.5 s: 5 tokens
    expect(takeMany(limiter, 'a', 25, 1500).allowed).toBe(10); // 1 s more: 10 tokens
    expect(takeMany(limiter, 'a', 50, 60_000).allowed).toBe(20); // idle a minute: the burst, not 600
    // A clock that goes back (another caller's `now`) refills nothing and takes nothing extra.
    expect(limiter.take('a', 30_000)).toBe(1);
  });

  it('keeps the keys apart', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 3 });
    expect(takeMany(limiter, 'a', 10, 0).allowed).toBe(3);
    expect(takeMany(limiter, 'b', 10, 0).allowed).toBe(3);
    expect(limiter.take('a', 0)).toBe(1);
    expect(limiter.take('c', 0)).toBe(0);
  });

  it('ratePerSecond 0 allows everything and keeps nothing', () => {
    const limiter = new RateLimiter({ ratePerSecond: 0, burst: 1 });
    expect(limiter.unlimited).toBe(true);
    expect(takeMany(limiter, 'a', 10_000, 0)).toEqual({ allowed: 10_000, last: 0 });
    expect(limiter.take('b')).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('works on performance.now() when no time is given', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('stays within maxKeys under a flood of distinct keys, dropping refilled buckets first', () => {
    const limiter = new RateLimiter({ ratePerSecond: 100, burst: 10, maxKeys: 1000 });
    // A busy caller, then 100 000 one-off keys.
    expect(takeMany(limiter, 'busy', 10, 0).allowed).toBe(10);
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`k${i}`, 1 + i / 1000);
      largest = Math.max(largest, limiter.size);
    }
    expect(largest).toBe(1000);
    // Idle ones (refilled 10 ms after their one request here) were dropped: only recent keys are left.
    expect(limiter.size).toBeLessThanOrEqual(1000);
    expect(limiter.size).toBeGreaterThan(0);
    // Every key still gets its burst afterwards.
    expect(takeMany(limiter, 'fresh', 20, 200).allowed).toBe(10);
  });

  it('under more active keys than maxKeys, still bounded (the oldest start over with a full bucket)', () => {
    const limiter = new RateLimiter({ ratePerSecond: 0.001, burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`, 0);
    expect(limiter.size).toBeLessThanOrEqual(100);
    // The most recent keys are still limited.
    expect(limiter.take('k9999', 0)).toBeGreaterThan(0);
  });

  it('refuses nonsensical settings', () => {
    expect(() => new RateLimiter({ ratePerSecond: -1, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => new RateLimiter({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(/burst/);
  });
});

describe('rate limit settings', () => {
  it('default to 1000/s (burst 2000) for predict and 120/min (burst 30) for changes', () => {
    expect(loadConfig({}).rateLimits).toEqual({ predict: { ratePerSecond: 1000, burst: 2000 }, mutations: { ratePerSecond: 2, burst: 30 } });
  });

  it('read the environment; 0 turns a limit off', () => {
    const c = loadConfig({ RATE_LIMIT_PREDICT_PER_SECOND: '0', RATE_LIMIT_PREDICT_BURST: '5', RATE_LIMIT_MUTATIONS_PER_MINUTE: '30', RATE_LIMIT_MUTATIONS_BURST: '3' });
    expect(c.rateLimits).toEqual({ predict: { ratePerSecond: 0, burst: 5 }, mutations: { ratePerSecond: 0.5, burst: 3 } });
    expect(new RateLimiter(c.rateLimits.predict).unlimited).toBe(true);
    expect(() => loadConfig({ RATE_LIMIT_MUTATIONS_BURST: '0' })).toThrow(/RATE_LIMIT_MUTATIONS_BURST/);
  });
});

describe('the share of a limit each API process enforces (API_PROCESSES)', () => {
  it('divides the rate and the burst, so that processes taking turns allow about the configured limit together', () => {
    const limit = { ratePerSecond: 1000, burst: 2000 };
    expect(processShare(limit, 1)).toEqual(limit);
    expect(processShare(limit, 4)).toEqual({ ratePerSecond: 250, burst: 500 });
    // A caller whose requests alternate between two processes gets the configured burst, not twice it.
    const shares = [new RateLimiter(processShare({ ratePerSecond: 1, burst: 10 }, 2)), new RateLimiter(processShare({ ratePerSecond: 1, burst: 10 }, 2))];
    let allowed = 0;
    for (let i = 0; i < 40; i++) if (shares[i % 2].take('caller', 0) === 0) allowed++;
    expect(allowed).toBe(10);
  });

  it('keeps an unlimited limit unlimited and a burst of at least one request', () => {
    expect(new RateLimiter(processShare({ ratePerSecond: 0, burst: 5 }, 8)).unlimited).toBe(true);
    expect(processShare({ ratePerSecond: 2, burst: 3 }, 8)).toEqual({ ratePerSecond: 0.25, burst: 1 });
    expect(() => processShare({ ratePerSecond: 1, burst: 1 }, 0)).toThrow(/processes/);
  });
});
