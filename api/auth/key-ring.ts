// The API keys an API replica accepts, held in memory: a request's key check is a map lookup, never a
// database round trip. Re-read every KEY_REFRESH_MS, so a key revoked on any replica stops working on every
// replica within that time (and at once on the replica that revoked it, in every one of its processes when
// it runs several: see `changed`). Last-used times are recorded in the same beat, in one statement.
import type { Db } from '../../db/client.js';
import { liveApiKeys, parseToken, recordKeyUse, secretMatches, type ApiKeyRow, type Role } from '../../registry/api-keys.js';
import type { Logger } from '../../runtime/logger.js';
import { capabilitiesOf, type Capability } from './access.js';

export interface KeyPrincipal {
  via: 'key';
  keyId: string;
  /** As audit rows and run records name the caller. */
  actor: string;
  roles: readonly Role[];
  capabilities: ReadonlySet<Capability>;
}

interface HeldKey {
  row: ApiKeyRow;
  expiresAtMs: number;
  principal: KeyPrincipal;
  /** Last use not yet recorded (ms since epoch), 0 when none. */
  usedAtMs: number;
}

export type KeyCheck = { ok: true; principal: KeyPrincipal } | { ok: false; reason: string };

export class KeyRing {
  private byId = new Map<string, HeldKey>();
  /** Tokens already checked against their key's hash: the hot path hashes a token once per refresh. */
  private verified = new Map<string, HeldKey>();
  private timer: NodeJS.Timeout | null = null;
  /** Refreshes started, and the latest one whose read is held: an older read never replaces a newer one. */
  private refreshesStarted = 0;
  private refreshHeld = 0;
  /** Has the other processes of this API re-read their keys (app/api-process.ts); none with one process. */
  private otherProcesses: (() => Promise<void>) | null = null;

  constructor(private readonly deps: { db: Db; logger: Logger; refreshMs: number }) {}

  /** Reads the keys now (and records pending last-used times). */
  async refresh(): Promise<void> {
    const seq = ++this.refreshesStarted;
    const flushed = new Map<string, number>();
    for (const [id, k] of this.byId) if (k.usedAtMs > 0) flushed.set(id, k.usedAtMs);
    const rows = await liveApiKeys(this.deps.db);
    // A refresh that began later (after a revocation, say) already holds a newer read.
    if (seq < this.refreshHeld) return;
    this.refreshHeld = seq;
    this.hold(rows, flushed);
    await recordKeyUse(this.deps.db, [...flushed].map(([id, ms]) => ({ id, at: new Date(ms) }))).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not record API key use'));
  }

  /**
   * After a key was created or revoked here: this process re-reads the keys, and so do the other processes
   * of the same API, before the change is answered. A revoked key is then refused by whichever process the
   * caller's next connection reaches.
   */
  async changed(): Promise<void> {
    await Promise.all([this.refresh(), this.otherProcesses?.()]);
  }

  /** How `changed` reaches the other processes of this API (its primary relays to them). */
  shareChangesWith(otherProcesses: () => Promise<void>): void {
    this.otherProcesses = otherProcesses;
  }

  /** Holds `rows` as the accepted keys (what refresh read; a test's keys). */
  hold(rows: ApiKeyRow[], flushed: ReadonlyMap<string, number> = new Map()): void {
    const next = new Map<string, HeldKey>();
    for (const row of rows) {
      next.set(row.id, {
        row, expiresAtMs: row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY, usedAtMs: 0,
        principal: { via: 'key', keyId: row.id, actor: `key:${row.name}`, roles: [row.role as Role], capabilities: capabilitiesOf([row.role as Role]) },
      });
    }
    // Uses made while the rows were read are recorded in the next beat.
    for (const [id, old] of this.byId) {
      const kept = next.get(id);
      if (kept && old.usedAtMs > (flushed.get(id) ?? 0)) kept.usedAtMs = old.usedAtMs;
    }
    this.byId = next;
    this.verified = new Map();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.deps.logger.warn({ err }, 'API key refresh failed; keeping the keys held'));
    }, this.deps.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  check(token: string, nowMs: number): KeyCheck {
    let held = this.verified.get(token);
    if (!held) {
      const parts = parseToken(token);
      if (!parts) return { ok: false, reason: 'the bearer token is not an API key of this platform' };
      const candidate = this.byId.get(parts.id);
      if (!candidate || !secretMatches(candidate.row, parts.secret)) return { ok: false, reason: 'unknown or revoked API key' };
      held = candidate;
      this.verified.set(token, held);
    }
    if (nowMs >= held.expiresAtMs) return { ok: false, reason: `API key ${held.row.id} expired at ${held.row.expiresAt!.toISOString()}` };
    held.usedAtMs = nowMs;
    return { ok: true, principal: held.principal };
  }
}
