// OpenID Connect / JWT bearer tokens from an identity provider: signature checked against the provider's
// JWKS (fetched and cached by `jose`), issuer and audience required, roles read from a claim. Only when
// OIDC_ISSUER is set.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { ROLES, type Role } from '../../registry/api-keys.js';
import { capabilitiesOf, type Capability } from './access.js';

export interface OidcSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Claim holding the caller's roles or groups (a dotted path such as realm_access.roles). */
  rolesClaim: string;
  /** Claim naming the caller in audit rows. */
  nameClaim: string;
  /** Group → role, for providers whose groups are not this platform's role names. */
  roleMap: Record<string, Role>;
}

export interface OidcPrincipal {
  via: 'oidc';
  subject: string;
  actor: string;
  roles: readonly Role[];
  capabilities: ReadonlySet<Capability>;
}

/** `unavailable`: the provider's keys could not be read, which is no fault of the caller's token. */
export type OidcCheck = { ok: true; principal: OidcPrincipal } | { ok: false; reason: string; unavailable?: boolean };

/** A token shaped like a JWT (three base64url parts), so a key and a JWT never compete for one header. */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export class OidcVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly s: OidcSettings) {
    this.jwks = createRemoteJWKSet(new URL(s.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  async check(token: string): Promise<OidcCheck> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.s.issuer, audience: this.s.audience, clockTolerance: 30 }));
    } catch (err) {
      if (providerFault(err)) {
        return { ok: false, reason: 'the identity provider\'s keys could not be read; try again later', unavailable: true };
      }
      return { ok: false, reason: jwtRefusal(err as errors.JOSEError) };
    }
    const name = claimAt(payload, this.s.nameClaim) ?? payload.sub;
    if (typeof name !== 'string' || name === '') return { ok: false, reason: `the token has no ${this.s.nameClaim} claim to name the caller` };
    const roles = rolesOf(claimAt(payload, this.s.rolesClaim), this.s.roleMap);
    if (roles.length === 0) return { ok: false, reason: `the token's ${this.s.rolesClaim} claim grants no role of this platform (${ROLES.join(', ')})` };
    return { ok: true, principal: { via: 'oidc', subject: payload.sub ?? name, actor: `oidc:${name}`, roles, capabilities: capabilitiesOf(roles) } };
  }
}

/**
 * The provider's keys could not be had: a timeout, an error page or a body that is no JWKS (jose raises a
 * bare JOSEError or JWKSInvalid for those), or no answer at all. Anything else is about the token.
 */
function providerFault(err: unknown): boolean {
  return !(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid
    || Object.getPrototypeOf(err) === errors.JOSEError.prototype;
}

function jwtRefusal(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's ${err.claim} claim is not accepted here`;
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is not signed by a key of the identity provider';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token\'s signature does not verify';
  return 'the token is not a valid JWT for this platform';
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function rolesOf(claim: unknown, map: Record<string, Role>): Role[] {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/[\s,]+/) : [];
  const roles = new Set<Role>();
  for (const v of values) {
    if (typeof v !== 'string') continue;
    if (map[v]) roles.add(map[v]);
    else if ((ROLES as readonly string[]).includes(v)) roles.add(v as Role);
  }
  return [...roles];
}
