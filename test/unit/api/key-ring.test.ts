// The key ring a replica holds: a refresh that read the table before a revocation never puts the revoked
// key back after a later refresh held the revocation, whatever order the reads finish in.
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../../api/auth/key-ring.js';
import type { Db } from '../../../db/client.js';
import { newKeyMaterial, type ApiKeyRow } from '../../../registry/api-keys.js';
import { createLogger } from '../../../runtime/logger.js';

function keyRow(name: string): { row: ApiKeyRow; token: string } {
  const m = newKeyMaterial();
  return {
    token: m.token,
    row: { id: m.id, name, role: 'viewer', secretSha256: m.secretSha256, createdBy: 'test', createdAt: new Date(), expiresAt: null, revokedAt: null, revokedBy: null, lastUsedAt: null },
  };
}

/** A database whose reads of the live keys answer what the test says, when the test says. */
function scriptedDb() {
  const reads: { rows: ApiKeyRow[]; release: () => void }[] = [];
  const db = {
    select: () => ({ from: () => ({ where: () => new Promise<ApiKeyRow[]>((resolve) => reads.push({ rows: [], release() { resolve(this.rows); } })) }) }),
    execute: async () => ({ rows: [] }),
  } as unknown as Db;
  return { db, reads };
}

describe('a key ring refresh', () => {
  it('that read before a revocation does not undo a later refresh that holds it', async () => {
    const { db, reads } = scriptedDb();
    const ring = new KeyRing({ db, logger: createLogger('silent'), refreshMs: 60_000 });
    const k = keyRow('probe');
    ring.hold([k.row]);
    expect(ring.check(k.token, Date.now()).ok).toBe(true);

    const slow = ring.refresh(); // reads the table while the key is live...
    const fast = ring.refresh(); // ...this one after its revocation
    reads[0].rows = [k.row];
    reads[1].rows = [];
    reads[1].release();
    await fast;
    expect(ring.check(k.token, Date.now())).toEqual({ ok: false, reason: 'unknown or revoked API key' });
    reads[0].release();
    await slow;
    expect(ring.check(k.token, Date.now())).toEqual({ ok: false, reason: 'unknown or revoked API key' });
  });
});
