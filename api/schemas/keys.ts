// API keys and the audit log on the wire.
import { z } from '@hono/zod-openapi';
import { AUDIT_ACTIONS } from '../../pipelines/contract.js';
import { INT32_MAX } from '../../pipelines/storable.js';
import { KEY_NAME, ROLES } from '../../registry/api-keys.js';
import { InstantInput, Text, Timestamp } from './common.js';

export const KeyIdParams = z.object({ id: Text().regex(/^[0-9a-f]{16}$/, 'a key ID: 16 hexadecimal digits') });

export const CreateKeyBody = z.object({
  name: Text().regex(KEY_NAME, '1-100 letters, digits, _ . @ or -, starting with a letter or digit'),
  role: z.enum(ROLES),
  /** When the key stops working; default: never (revoke it instead). */
  expiresAt: InstantInput.optional(),
}).strict();

export const ApiKeyInfo = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdBy: z.string(),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
  revokedBy: z.string().nullable(),
  lastUsedAt: Timestamp.nullable(),
}).openapi('ApiKey');

export const CreatedKey = z.object({
  key: ApiKeyInfo,
  /** The bearer token: shown once, never stored (only its hash is). */
  token: z.string(),
}).openapi('CreatedApiKey');
export type CreatedKey = z.infer<typeof CreatedKey>;

export const KeyList = z.object({ keys: z.array(ApiKeyInfo) });
export type KeyList = z.infer<typeof KeyList>;
export const RevokedKey = z.object({ key: ApiKeyInfo });
export type RevokedKey = z.infer<typeof RevokedKey>;

export const AuditQuery = z.object({
  actor: Text().max(200).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  /** Exact subject (pipeline:football), or a prefix ending in * (schedule:*). */
  subject: Text().max(1000).optional(),
  since: InstantInput.optional(),
  until: InstantInput.optional(),
  /** The previous page's nextBefore. */
  before: z.coerce.number().int().min(1).max(INT32_MAX).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const AuditEntry = z.object({
  id: z.number().int(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  details: z.record(z.string(), z.unknown()),
  requestId: z.string().nullable(),
  at: Timestamp,
}).openapi('AuditEntry');

export const AuditPage = z.object({ entries: z.array(AuditEntry), nextBefore: z.number().int().nullable() });
export type AuditPage = z.infer<typeof AuditPage>;
