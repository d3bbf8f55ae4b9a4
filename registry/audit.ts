// The audit log: one row per accepted mutation, appended in the same transaction as the change when the
// change is in this database, right after it when the change is in Temporal (a schedule, a run's start).
// Rows are never updated or deleted (grants and a trigger, db/migrations/0004_auth_audit.sql).
import { and, desc, eq, gte, like, lt, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import type { AuditAction, AuditDetails } from '../pipelines/contract.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Who asked, for the row of the change they make: the authenticated principal and the request. */
export interface Attribution {
  actor: string;
  requestId: string | null;
}

export interface AuditEntry extends Attribution {
  action: AuditAction;
  /** What the action touched, as kind:name (pipeline:football, schedule:…, key:…, model:…). */
  subject: string;
  details?: AuditDetails;
}

export async function appendAudit(db: Db | Tx, e: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({ actor: e.actor, action: e.action, subject: e.subject, details: e.details ?? {}, requestId: e.requestId });
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  /** Exact subject, or a prefix ending in `*` (schedule:*). */
  subject?: string;
  since?: string;
  until?: string;
  /** Rows with an id below this one (the previous page's nextBefore). */
  before?: number;
  limit: number;
}

/** Newest first, one page; `nextBefore` continues it. */
export async function listAudit(db: Db, q: AuditQuery) {
  const where: SQL[] = [];
  if (q.actor) where.push(eq(auditLog.actor, q.actor));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.subject) where.push(q.subject.endsWith('*') ? like(auditLog.subject, `${escapeLike(q.subject.slice(0, -1))}%`) : eq(auditLog.subject, q.subject));
  if (q.since) where.push(gte(auditLog.at, new Date(q.since)));
  if (q.until) where.push(lte(auditLog.at, new Date(q.until)));
  if (q.before !== undefined) where.push(lt(auditLog.id, q.before));
  const rows = await db.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return { entries: page, nextBefore: rows.length > q.limit ? page[page.length - 1].id : null };
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
