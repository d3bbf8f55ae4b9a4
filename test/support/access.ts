// The trust boundary for tests that build the API over stub services: a key ring holding one key per role
// (no database), and the access control every route passes, with limits high enough never to bite.
import { AccessControl } from '../../api/auth/access-control.js';
import { KeyRing } from '../../api/auth/key-ring.js';
import { RateLimiter } from '../../api/rate-limit.js';
import type { Db } from '../../db/client.js';
import { newKeyMaterial, ROLES, type ApiKeyRow, type Role } from '../../registry/api-keys.js';
import { createLogger } from '../../runtime/logger.js';

export function testAccess(opts: { gatewaySecret?: string } = {}) {
  const logger = createLogger('silent');
  // The audit rows routes write, kept here: the only database call the access control makes.
  const audited: Record<string, unknown>[] = [];
  const db = { insert: () => ({ values: async (row: Record<string, unknown>) => void audited.push(row) }) } as unknown as Db;
  const keys = new KeyRing({ db, logger, refreshMs: 60_000 });
  const tokens = {} as Record<Role, string>;
  const rows: ApiKeyRow[] = ROLES.map((role) => {
    const m = newKeyMaterial();
    tokens[role] = m.token;
    return {
      id: m.id, name: `test-${role}`, role, secretSha256: m.secretSha256, createdBy: 'test', createdAt: new Date(),
      expiresAt: null, revokedAt: null, revokedBy: null, lastUsedAt: null,
    };
  });
  keys.hold(rows);
  const access = new AccessControl({
    db, logger, keys, oidc: null, gatewaySecret: opts.gatewaySecret ?? null,
    limits: { predict: new RateLimiter({ ratePerSecond: 0, burst: 1 }), mutations: new RateLimiter({ ratePerSecond: 0, burst: 1 }) },
  });
  /** The Authorization header of `role`'s key. */
  const as = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` });
  return { access, keys, tokens, as, audited };
}
