// API keys: who may call the API, with which role. A token is `mlp_<id>_<secret>`: the ID names the row
// (and shows in lists and audit rows), the secret is 256 random bits of which only the SHA-256 is stored.
// The token is returned once, at creation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { appendAudit, type Attribution } from './audit.js';

/** What a caller may do is its role's (api/auth/access.ts maps roles to the routes they may use). */
export const ROLES = ['viewer', 'predictor', 'scientist', 'approver', 'reporter', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
const TOKEN = /^mlp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export type ApiKeyRow = typeof apiKeys.$inferSelect;
/** A key as lists show it: never its hash. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'secretSha256' | 'role'> & { role: Role };

export class KeyError extends Error {
  constructor(readonly code: 'conflict' | 'not_found', message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The parts of a well-formed token, else null (it cannot be a key of this platform). */
export function parseToken(token: string): { id: string; secret: string } | null {
  const m = TOKEN.exec(token);
  return m ? { id: m[1], secret: m[2] } : null;
}

/** Whether `secret` is the one `row` was made with (constant time). */
export function secretMatches(row: Pick<ApiKeyRow, 'secretSha256'>, secret: string): boolean {
  const stored = Buffer.from(row.secretSha256, 'hex');
  const given = secretDigest(secret);
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/** A new key's ID, token and the digest stored for it. */
export function newKeyMaterial(): { id: string; token: string; secretSha256: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `mlp_${id}_${secret}`, secretSha256: secretDigest(secret).toString('hex') };
}

export async function createApiKey(
  db: Db,
  k: { name: string; role: Role; expiresAt?: Date | null },
  by: Attribution,
): Promise<{ key: ApiKeyInfo; token: string }> {
  const { id, token, secretSha256 } = newKeyMaterial();
  return db.transaction(async (tx) => {
    const [live] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.name, k.name), isNull(apiKeys.revokedAt)));
    if (live) throw new KeyError('conflict', `a key named "${k.name}" exists (${live.id}); revoke it first or choose another name`);
    const [row] = await tx.insert(apiKeys).values({
      id, name: k.name, role: k.role, secretSha256, createdBy: by.actor, expiresAt: k.expiresAt ?? null,
    }).returning();
    await appendAudit(tx, { ...by, action: 'key.created', subject: `key:${id}`, details: { name: k.name, role: k.role, expiresAt: k.expiresAt?.toISOString() ?? null } });
    return { key: withoutHash(row), token };
  });
}

/** Revokes a key (idempotent: a revoked key stays revoked, with its first revocation's time). */
export async function revokeApiKey(db: Db, id: string, by: Attribution): Promise<ApiKeyInfo> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    if (!row) throw new KeyError('not_found', `no key with ID "${id}"`);
    if (!row.revokedAt && row.role === 'admin') {
      // One admin revocation at a time (a lock of its own, so two cannot deadlock on each other's rows):
      // two revocations of the last two admin keys cannot both pass this check.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('api_keys:admin-revocation'))`);
      const admins = await tx.select({ id: apiKeys.id, expiresAt: apiKeys.expiresAt }).from(apiKeys).where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt))).for('update');
      const now = new Date();
      const others = admins.filter((a) => a.id !== id && (a.expiresAt === null || a.expiresAt > now));
      if (others.length === 0) {
        throw new KeyError('conflict', `${id} is the last admin key; create another admin key first (or, with database access, \`mlp keys bootstrap\`)`);
      }
    }
    const [after] = row.revokedAt
      ? [row]
      : await tx.update(apiKeys).set({ revokedAt: new Date(), revokedBy: by.actor }).where(eq(apiKeys.id, id)).returning();
    await appendAudit(tx, { ...by, action: 'key.revoked', subject: `key:${id}`, details: { name: row.name, role: row.role, alreadyRevoked: row.revokedAt !== null } });
    return withoutHash(after);
  });
}

export async function listApiKeys(db: Db): Promise<ApiKeyInfo[]> {
  const rows = await db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
  return rows.map(withoutHash);
}

/** Keys that can still authenticate (not revoked; expiry is checked per request). */
export function liveApiKeys(db: Db): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).where(isNull(apiKeys.revokedAt));
}

/** Records when keys were last used (batched by the key ring; a time only ever moves forward). */
export async function recordKeyUse(db: Db, uses: { id: string; at: Date }[]): Promise<void> {
  if (uses.length === 0) return;
  const values = sql.join(uses.map((u) => sql`(${u.id}, ${u.at.toISOString()}::timestamptz)`), sql`, `);
  await db.execute(sql`update api_keys k set last_used_at = v.at from (values ${values}) as v(id, at)
    where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.at)`);
}

function withoutHash(row: ApiKeyRow): ApiKeyInfo {
  const { secretSha256: _hash, role, ...info } = row;
  // Written only from ROLES (createApiKey's parameter).
  return { ...info, role: role as Role };
}
