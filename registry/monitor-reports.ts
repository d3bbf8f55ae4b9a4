// The monitor's reports, one per (model, window): the first write of a window stands, and a window judged
// again (a retried activity, a backfilled schedule) gets the stored report back instead of a second one.
import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { monitorReports } from '../db/schema.js';
import type { MonitorReport } from '../pipelines/contract.js';

/** Stores the report unless its window has one; returns the stored one and whether it is this one. */
export async function saveMonitorReport(db: Db, report: MonitorReport): Promise<{ report: MonitorReport; created: boolean }> {
  const windowFrom = new Date(report.window.from);
  const windowTo = new Date(report.window.to);
  const inserted = await db.insert(monitorReports)
    .values({ model: report.model, windowFrom, windowTo, version: report.version, breach: report.breach, report })
    .onConflictDoNothing().returning({ id: monitorReports.id });
  if (inserted.length > 0) return { report, created: true };
  const existing = await getMonitorReport(db, report.model, windowFrom, windowTo);
  if (!existing) throw new Error(`the report of ${report.model} for ${report.id} was neither written nor found`);
  return { report: existing, created: false };
}

export async function getMonitorReport(db: Db, model: string, from: Date, to: Date): Promise<MonitorReport | null> {
  const [row] = await db.select({ report: monitorReports.report }).from(monitorReports)
    .where(and(eq(monitorReports.model, model), eq(monitorReports.windowFrom, from), eq(monitorReports.windowTo, to))).limit(1);
  return row?.report ?? null;
}

/** A model's reports whose window ends in [from, to), newest first, at most `limit`. */
export async function listMonitorReports(db: Db, model: string, range: { from?: Date; to?: Date; limit: number }): Promise<MonitorReport[]> {
  const rows = await db.select({ report: monitorReports.report }).from(monitorReports)
    .where(and(
      eq(monitorReports.model, model),
      range.from ? gte(monitorReports.windowTo, range.from) : undefined,
      range.to ? lt(monitorReports.windowTo, range.to) : undefined,
    ))
    .orderBy(desc(monitorReports.windowTo), desc(monitorReports.windowFrom)).limit(range.limit);
  return rows.map((r) => r.report);
}

/** Each model's latest report (by window end): what the monitoring gauges show. */
export async function latestMonitorReports(db: Db): Promise<MonitorReport[]> {
  const rows = await db.selectDistinctOn([monitorReports.model], { report: monitorReports.report }).from(monitorReports)
    .orderBy(monitorReports.model, desc(monitorReports.windowTo), desc(sql`${monitorReports.id}`));
  return rows.map((r) => r.report);
}
