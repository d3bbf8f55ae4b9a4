// The API's trust boundary: who is calling (an API key, or an OIDC token when configured), whether their
// role may use the route, how fast they may go, and the audit row of what they changed. Every route passes
// through `requireAccess` (registered with the route by api/openapi.ts), the predict route through
// `authorize` directly (one layer less on the hot path).
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Db } from '../../db/client.js';
import type { AuditDetails } from '../../pipelines/contract.js';
import { appendAudit, type Attribution } from '../../registry/audit.js';
import type { Logger } from '../../runtime/logger.js';
import { HttpError } from '../errors.js';
import type { ApiEnv } from '../observability.js';
import type { RateLimiter } from '../rate-limit.js';
import type { Access, Capability } from './access.js';
import type { KeyPrincipal, KeyRing } from './key-ring.js';
import { looksLikeJwt, type OidcPrincipal, type OidcVerifier } from './oidc.js';

export type Principal = KeyPrincipal | OidcPrincipal;

const BEARER = /^bearer /i;

/** Actor names the platform writes itself: no caller, not even through the gateway, may claim them. */
const GATEWAY_ACTOR = /^[A-Za-z0-9][\w.@-]{0,99}$/;

const CHALLENGE = { 'www-authenticate': 'Bearer realm="mlp"' };

export interface AccessControlDeps {
  db: Db;
  logger: Logger;
  keys: KeyRing;
  oidc: OidcVerifier | null;
  limits: { predict: RateLimiter; mutations: RateLimiter };
  /** The shared secret of a trusted gateway, which alone may name the acting person in X-Actor. */
  gatewaySecret: string | null;
}

export class AccessControl {
  private readonly gatewaySecret: Buffer | null;

  constructor(private readonly deps: AccessControlDeps) {
    this.gatewaySecret = deps.gatewaySecret ? Buffer.from(deps.gatewaySecret) : null;
  }

  /**
   * The caller, allowed to use a route needing `capability` ('any': any authenticated caller), within its
   * rate: else 401, 403 or 429.
   * Synchronous for API keys (the predict path); a JWT's check may wait for the provider's keys.
   */
  authorize(c: Context<ApiEnv>, capability: Capability | 'any', rate: 'predict' | 'mutations' | null): Principal | Promise<Principal> {
    const header = c.req.header('authorization');
    if (header === undefined || header === '') {
      throw new HttpError(401, 'unauthenticated', 'this route needs credentials: send Authorization: Bearer <API key or token> (create a key with `mlp keys create`)', undefined, CHALLENGE);
    }
    // Checked in place, without copies: this runs on every prediction.
    if (header.length < 8 || !BEARER.test(header)) {
      throw new HttpError(401, 'unauthenticated', 'the Authorization header must be "Bearer <API key or token>"', undefined, CHALLENGE);
    }
    const token = header.charCodeAt(7) === 32 || header.charCodeAt(header.length - 1) <= 32 ? header.slice(7).trim() : header.slice(7);
    if (this.deps.oidc && looksLikeJwt(token)) {
      return this.deps.oidc.check(token).then((r) => {
        if (!r.ok) throw new HttpError(r.unavailable ? 503 : 401, r.unavailable ? 'unavailable' : 'unauthenticated', r.reason, undefined, r.unavailable ? undefined : CHALLENGE);
        return this.admit(c, r.principal, capability, rate, r.principal.subject);
      });
    }
    const r = this.deps.keys.check(token, Date.now());
    if (!r.ok) throw new HttpError(401, 'unauthenticated', r.reason, undefined, CHALLENGE);
    return this.admit(c, r.principal, capability, rate, r.principal.keyId);
  }

  private admit(c: Context<ApiEnv>, principal: Principal, capability: Capability | 'any', rate: 'predict' | 'mutations' | null, rateKey: string): Principal {
    if (capability !== 'any' && !principal.capabilities.has(capability)) {
      throw new HttpError(403, 'forbidden', `${principal.actor} (${principal.roles.join(', ')}) may not do this; it needs a role with "${capability}"`);
    }
    if (rate) {
      const wait = this.deps.limits[rate].take(rateKey);
      if (wait > 0) throw new HttpError(429, 'rate_limited', `too many ${rate === 'predict' ? 'predictions' : 'changes'} from ${principal.actor}; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
    }
    // A prediction records nothing under an actor: no X-Actor to weigh, no principal to keep.
    if (rate === 'predict') return principal;
    const acting = this.gatewayActor(c, principal);
    c.set('principal', acting);
    return acting;
  }

  /**
   * X-Actor names the person behind a trusted gateway's key (the gateway authenticated them). From anyone
   * else it is refused, not ignored: a caller who sends it expects it recorded.
   */
  private gatewayActor(c: Context<ApiEnv>, principal: Principal): Principal {
    const named = c.req.header('x-actor');
    if (named === undefined) return principal;
    const secret = c.req.header('x-gateway-secret');
    const trusted = this.gatewaySecret !== null && secret !== undefined && secret.length === this.gatewaySecret.length
      && timingSafeEqual(Buffer.from(secret), this.gatewaySecret);
    if (!trusted) throw new HttpError(403, 'forbidden', 'X-Actor is accepted only from the trusted gateway (TRUSTED_GATEWAY_SECRET); the actor recorded is the authenticated caller, so drop the header');
    if (!GATEWAY_ACTOR.test(named)) throw new HttpError(400, 'bad_request', 'X-Actor must be 1-100 letters, digits, _ . @ or -, starting with a letter or digit (names with ":" are the platform\'s own)');
    return { ...principal, actor: named };
  }

  /** A mutation's audit row, when its handler did not write it in its own transaction. */
  audit(c: Context<ApiEnv>, access: NonNullable<Access['audit']>): Promise<void> {
    const extra = c.get('audit');
    return appendAudit(this.deps.db, {
      ...attribution(c), action: access.action,
      subject: extra?.subject ?? access.subject(c.req.param() as Record<string, string>),
      details: extra?.details,
    });
  }
}

/** The middleware of a route's access rule (api/openapi.ts adds it in front of every declared route). */
export function requireAccess(access: Access): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const control = c.get('access');
    await control.authorize(c, access.needs, c.req.method === 'GET' || c.req.method === 'HEAD' ? null : 'mutations');
    if (access.audit) c.set('auditRule', access.audit);
    await next();
    if (access.audit && c.res.status >= 200 && c.res.status < 300 && !c.get('audited')) await control.audit(c, access.audit);
  };
}

/**
 * Writes the route's audit row now, right after a change made outside the registry (in Temporal), so a
 * failure of what the handler does next (reading the new state back) cannot lose it; the rule then writes
 * nothing more for this request.
 */
export async function recordChange(c: Context<ApiEnv>, what: { subject?: string; details?: AuditDetails }): Promise<void> {
  const rule = c.get('auditRule');
  if (!rule) throw new Error(`recordChange on ${c.req.method} ${c.req.routePath}, a route without an audit rule`);
  c.set('audit', what);
  await c.get('access').audit(c, rule);
  c.set('audited', true);
}

/** Who made a change, for its audit row and the records it writes. Only inside an authorized route. */
export function attribution(c: Context<ApiEnv>): Attribution {
  return { actor: c.get('principal').actor, requestId: c.get('requestId') };
}
