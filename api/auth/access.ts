// Who may do what: every route names one capability (declared with the route, api/openapi.ts), and a role
// grants a set of them. The README's route → role table and the OpenAPI document's `x-roles` come from here.
import type { AuditAction } from '../../pipelines/contract.js';
import type { Role } from '../../registry/api-keys.js';

export const CAPABILITIES = {
  /** Read the registry, runs, schedules, backfills, the OpenAPI document. */
  read: 'read',
  /** Ask a model for predictions. */
  predict: 'predict',
  /** Define pipelines; start, cancel and backfill runs; manage schedules. */
  author: 'author',
  /** Feed back the outcomes of served predictions (ground truth). */
  feedback: 'feedback',
  /** Decide on a candidate that waits for approval. */
  approve: 'approve',
  /** Move aliases by hand, manage keys, read the audit log. */
  admin: 'admin',
} as const;
export type Capability = keyof typeof CAPABILITIES;

export const ROLE_CAPABILITIES: Record<Role, readonly Capability[]> = {
  viewer: ['read'],
  predictor: ['predict'],
  scientist: ['read', 'predict', 'author'],
  approver: ['read', 'approve'],
  reporter: ['feedback'],
  admin: ['read', 'predict', 'author', 'feedback', 'approve', 'admin'],
};

/** What a caller with `roles` may do (computed once per key or token, checked per request). */
export function capabilitiesOf(roles: readonly Role[]): ReadonlySet<Capability> {
  return new Set(roles.flatMap((r) => ROLE_CAPABILITIES[r]));
}

/** The roles that hold `capability`, in the order of ROLES. */
export function rolesWith(capability: Capability): Role[] {
  return (Object.keys(ROLE_CAPABILITIES) as Role[]).filter((r) => ROLE_CAPABILITIES[r].includes(capability));
}

/** A route's rule: what the caller must hold, and for a route that changes something, the audit row it leaves. */
export interface Access {
  needs: Capability;
  /**
   * The mutation's audit action and subject. The row is written once the handler answers 2xx, unless the
   * handler wrote it in the change's own transaction (auditedInTransaction).
   */
  audit?: { action: AuditAction; subject: (params: Record<string, string>) => string };
}
