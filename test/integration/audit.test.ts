// The audit log is complete and append-only: every route that changes something, called by a key, leaves
// exactly one row naming that key's principal, with the request's ID; a refused change leaves none; and
// neither the runtime role nor the owner can rewrite or remove a row.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../registry/api-keys.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec, shippedSpec } from '../support/specs.js';
import { waitFor } from '../support/wait.js';

let p: TestPlatform;
const who = {} as Record<'sam' | 'ada' | 'root', { token: string; actor: string }>;

beforeAll(async () => {
  p = await createTestPlatform();
  const key = async (role: Role, name: string) => ({ token: await p.keyFor(role, name), actor: `key:${name}` });
  who.sam = await key('scientist', 'sam');
  who.ada = await key('approver', 'ada');
  who.root = { token: p.adminKey, actor: 'key:test-admin' };
});
afterAll(() => p?.stop());

type AuditRow = { actor: string; action: string; subject: string; details: Record<string, unknown>; request_id: string | null };
const lastId = async () => Number((await p.db.execute(sql`select coalesce(max(id), 0) as n from audit_log`)).rows[0].n);
// Rows callers caused: a run's own promotion writes rows as workflow:<id>, at its own pace.
const rowsAfter = async (id: number) => (await p.db.execute(sql`select actor, action, subject, details, request_id from audit_log where id > ${id} and actor not like 'workflow:%' order by id`)).rows as AuditRow[];

/** Why the database refused a statement (drizzle wraps the server's error), or 'accepted'. */
const refusal = (q: Promise<unknown>) => q.then(() => 'accepted', (e: Error & { cause?: Error }) => e.cause?.message ?? e.message);

/** Every action this file saw written, to compare with the document's list. */
const seen = new Set<string>();

/** Calls a mutating route as `caller`, expects `status`, and exactly one new audit row: returns it and the answer. */
async function mutate(caller: keyof typeof who, method: string, path: string, body: unknown, status: number, action: string) {
  const before = await lastId();
  const res = await p.request(method, path, body, { authorization: `Bearer ${who[caller].token}` });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  const rows = await rowsAfter(before);
  expect(rows, `${method} ${path}`).toHaveLength(1);
  expect(rows[0]).toMatchObject({ actor: who[caller].actor, action, request_id: res.headers.get('x-request-id') });
  seen.add(action);
  return { row: rows[0], res };
}

describe('every mutating route', () => {
  it('leaves exactly one audit row naming the caller, for pipelines, runs, approvals and cancellations', async () => {
    const spec = quickFootballSpec({ name: 'audited', promotion: { ...quickFootballSpec().promotion, approval: { expiresAfterSeconds: 600 } } });
    const saved = await mutate('sam', 'POST', '/v1/pipelines', spec, 201, 'pipeline.saved');
    expect(saved.row).toMatchObject({ subject: 'pipeline:audited', details: { version: 1, created: true } });
    // Saving the same spec again is accepted (200) and recorded as such.
    expect((await mutate('sam', 'POST', '/v1/pipelines', spec, 200, 'pipeline.saved')).row.details).toMatchObject({ version: 1, created: false });

    const started = await mutate('sam', 'POST', '/v1/pipelines/audited/runs', {}, 201, 'run.started');
    const id: string = started.res.body.run.workflowId;
    expect(started.row).toMatchObject({ subject: `run:${id}`, details: { pipeline: 'audited', pipelineVersion: 1 } });
    await waitFor(async () => ((await p.request('GET', `/v1/runs/${encodeURIComponent(id)}`)).body.run.live?.progress?.stage === 'awaiting-approval' ? true : undefined), 'the approval gate');
    const run = await p.request('GET', `/v1/runs/${encodeURIComponent(id)}`);
    expect(run.body.run.startedBy).toBe('key:sam');
    const decided = await mutate('ada', 'POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'checked the calibration' }, 200, 'run.decided');
    expect(decided.row).toMatchObject({ subject: `run:${id}`, details: { decision: 'approve', reason: 'checked the calibration', modelVersion: 1 } });
    await p.temporal.workflow.getHandle(id).result();

    // A run cancelled while it collects: one row, and its record ends failed, type Cancelled.
    const second = await p.request('POST', '/v1/pipelines/audited/runs', {}, { authorization: `Bearer ${who.sam.token}` });
    const secondId: string = second.body.run.workflowId;
    await waitFor(async () => ((await p.request('GET', `/v1/runs/${encodeURIComponent(secondId)}`)).body.run.status === 'running' ? true : undefined), 'the run record');
    await mutate('sam', 'POST', `/v1/runs/${encodeURIComponent(secondId)}/cancel`, undefined, 202, 'run.cancelled');
    await expect(p.temporal.workflow.getHandle(secondId).result()).rejects.toThrow();
    const cancelled = await waitFor(async () => {
      const r = await p.request('GET', `/v1/runs/${encodeURIComponent(secondId)}`);
      return r.body.run.status === 'failed' ? r.body.run : undefined;
    }, 'the cancelled run record');
    expect(cancelled.failure).toMatchObject({ type: 'Cancelled', message: 'the run was cancelled' });
    expect(cancelled.live.status).toBe('CANCELLED');
    // Cancelling it again changes nothing and writes nothing.
    const before = await lastId();
    expect((await p.request('POST', `/v1/runs/${encodeURIComponent(secondId)}/cancel`, undefined, { authorization: `Bearer ${who.sam.token}` })).status).toBe(409);
    expect(await rowsAfter(before)).toEqual([]);
  });

  it('leaves exactly one row for each schedule change, with the state before and after', async () => {
    await p.request('POST', '/v1/pipelines', { ...shippedSpec('seattle-weather.json'), model: { ...shippedSpec('seattle-weather.json').model, epochs: 5 } });
    const created = await mutate('sam', 'POST', '/v1/schedules', { pipeline: 'seattle-temp', id: 'audited-weekly', cron: ['0 3 * * 1'], paused: true, allowPromotion: false }, 201, 'schedule.created');
    expect(created.row).toMatchObject({ subject: 'schedule:audited-weekly', details: { pipeline: 'seattle-temp', after: { paused: true, allowPromotion: false } } });
    const updated = await mutate('sam', 'PATCH', '/v1/schedules/audited-weekly', { overlap: 'buffer_one' }, 200, 'schedule.updated');
    expect(updated.row.details).toMatchObject({ before: { policies: { overlap: 'skip' } }, after: { policies: { overlap: 'buffer_one' } } });
    expect((await mutate('sam', 'POST', '/v1/schedules/audited-weekly/unpause', { note: 'go' }, 200, 'schedule.unpaused')).row.details)
      .toMatchObject({ note: 'go', before: { paused: true }, after: { paused: false } });
    expect((await mutate('sam', 'POST', '/v1/schedules/audited-weekly/pause', { note: 'hold' }, 200, 'schedule.paused')).row.details)
      .toMatchObject({ note: 'hold', before: { paused: false }, after: { paused: true } });
    await mutate('sam', 'POST', '/v1/schedules/audited-weekly/trigger', undefined, 202, 'schedule.triggered');
    const backfilled = await mutate('sam', 'POST', '/v1/schedules/audited-weekly/backfill', { start: '2016-06-01T00:00:00Z', end: '2016-06-08T00:00:00Z' }, 202, 'schedule.backfilled');
    expect(backfilled.row.details).toMatchObject({ start: '2016-06-01T00:00:00.000Z', end: '2016-06-08T00:00:00.000Z' });
    // More action times than a schedule backfill may ask for: refused before Temporal hears of it, no row.
    const before = await lastId();
    const tooMany = await p.request('POST', '/v1/schedules/audited-weekly/backfill', { start: '1990-01-01T00:00:00Z', end: '2016-01-01T00:00:00Z' }, { authorization: `Bearer ${who.sam.token}` });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.details.issues[0].path).toBe('body.end');
    expect(await rowsAfter(before)).toEqual([]);
    expect((await mutate('sam', 'DELETE', '/v1/schedules/audited-weekly', undefined, 200, 'schedule.deleted')).row.details).toMatchObject({ before: { paused: true } });
  });

  it('leaves exactly one row for a backfill, an alias move, a batch job, and a key created and revoked', async () => {
    const backfill = await mutate('sam', 'POST', '/v1/pipelines/seattle-temp/backfills', { start: '2014-01-01', end: '2015-01-01', step: 'season', concurrency: 1 }, 201, 'backfill.started');
    expect(backfill.row).toMatchObject({ subject: `backfill:${backfill.res.body.backfill.id}`, details: { partitions: 2, existing: false } });
    await p.temporal.workflow.getHandle(backfill.res.body.backfill.id).result();

    const moved = await mutate('root', 'POST', '/v1/models/audited/aliases/staging', { version: 1, reason: 'try it on staging' }, 200, 'alias.moved');
    expect(moved.row).toMatchObject({ subject: 'model:audited', details: { alias: 'staging', before: null, after: 1, reason: 'try it on staging' } });

    // A batch scoring job of the football model on its own matches: one row when it starts.
    const scored = await mutate('sam', 'POST', '/v1/models/audited/batch-predictions', { source: { kind: 'bundled', dataset: 'football' }, chunkRows: 5000 }, 201, 'batch.started');
    expect(scored.row).toMatchObject({ subject: `batch:${scored.res.body.job.id}`, details: { model: 'audited', version: 1, source: 'bundled', chunkRows: 5000 } });
    await p.temporal.workflow.getHandle(scored.res.body.job.id).result();

    // Outcomes fed back for a prediction: one row for the request, written with the outcomes.
    const predicted = await p.request('POST', '/v1/models/audited/predict', { instances: [{ home_team: 'Arsenal', away_team: 'Chelsea' }] }, { authorization: `Bearer ${who.root.token}` });
    const fed = await mutate('root', 'POST', '/v1/models/audited/feedback', { outcomes: [{ predictionId: predicted.body.predictions[0].id, label: 'home' }] }, 200, 'feedback.recorded');
    expect(fed.row).toMatchObject({ subject: 'model:audited', details: { outcomes: 1, stored: 1, duplicates: 0, conflicts: 0 } });

    const monitored = await mutate('sam', 'PUT', '/v1/models/audited/monitor', { paused: true }, 200, 'monitor.scheduled');
    expect(monitored.row).toMatchObject({ subject: 'model:audited', details: { windowMinutes: 1440, paused: true, created: true } });
    const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };
    const judged = await mutate('sam', 'POST', '/v1/models/audited/monitor/windows', { ...window, wait: false }, 202, 'monitor.window-requested');
    expect(judged.row).toMatchObject({ subject: 'model:audited', details: { window, workflowId: judged.res.body.workflowId } });
    await mutate('sam', 'DELETE', '/v1/models/audited/monitor', undefined, 200, 'monitor.unscheduled');

    const created = await mutate('root', 'POST', '/v1/keys', { name: 'ci-bot', role: 'predictor' }, 201, 'key.created');
    const keyId: string = created.res.body.key.id;
    expect(created.row).toMatchObject({ subject: `key:${keyId}`, details: { name: 'ci-bot', role: 'predictor' } });
    // The token is in the answer, never in the log.
    expect(JSON.stringify(created.row)).not.toContain((created.res.body.token as string).slice('mlp_0123456789abcdef_'.length));
    await mutate('root', 'DELETE', `/v1/keys/${keyId}`, undefined, 200, 'key.revoked');
  });

  it('covers every audit action the document names, but the retry of a failed partition', async () => {
    const doc = (await p.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { 'x-audit-action'?: string }>> };
    const named = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op['x-audit-action'])).filter(Boolean);
    // backfill.partition-retried needs a failed partition: test/integration/backfills.test.ts retries one.
    expect(named.filter((a) => !seen.has(a!) && a !== 'backfill.partition-retried')).toEqual([]);
  });

  it('leaves no row for a change refused by role, by validation or by state', async () => {
    const before = await lastId();
    expect((await p.request('POST', '/v1/models/audited/aliases/production', { version: 1, reason: 'not mine to move' }, { authorization: `Bearer ${who.sam.token}` })).status).toBe(403);
    expect((await p.request('POST', '/v1/pipelines', { name: 'Bad Name' }, { authorization: `Bearer ${who.sam.token}` })).status).toBe(422);
    expect((await p.request('POST', '/v1/pipelines/nothing-here/runs', {}, { authorization: `Bearer ${who.sam.token}` })).status).toBe(404);
    // The last admin key cannot be revoked: nobody could manage keys any more.
    const last = await p.request('DELETE', `/v1/keys/${p.adminKey.slice('mlp_'.length, 'mlp_'.length + 16)}`);
    expect(last.status).toBe(409);
    expect(last.body.error.message).toMatch(/is the last admin key; create another admin key first/);
    expect(await rowsAfter(before)).toEqual([]);
  });
});

describe('the audit log', () => {
  it('cannot be rewritten or emptied by the runtime role, nor rows changed by the owner', async () => {
    const id = await lastId();
    expect(id).toBeGreaterThan(0);
    expect(await refusal(p.db.execute(sql`update audit_log set actor = 'nobody' where id = ${id}`))).toMatch(/permission denied/);
    expect(await refusal(p.db.execute(sql`delete from audit_log where id = ${id}`))).toMatch(/permission denied/);
    expect(await refusal(p.db.execute(sql`truncate audit_log`))).toMatch(/permission denied/);
    expect(await refusal(p.db.execute(sql`update alias_events set actor = 'nobody'`))).toMatch(/permission denied/);
    // The trigger holds for the owner too.
    expect(await refusal(p.owner.execute(sql`update audit_log set actor = 'nobody' where id = ${id}`))).toMatch(/append-only/);
    expect(await refusal(p.owner.execute(sql`delete from audit_log where id = ${id}`))).toMatch(/append-only/);
    const [row] = (await p.db.execute(sql`select actor from audit_log where id = ${id}`)).rows as { actor: string }[];
    expect(row.actor).not.toBe('nobody');
  });

  it('the runtime role may not change the schema', async () => {
    expect(await refusal(p.db.execute(sql`create table sneaky (id int)`))).toMatch(/permission denied/);
    expect(await refusal(p.db.execute(sql`alter table runs add column sneaky int`))).toMatch(/must be owner/);
    expect(await refusal(p.db.execute(sql`drop trigger audit_log_append_only on audit_log`))).toMatch(/must be owner/);
  });

  it('is read by admins, filtered and paged', async () => {
    const page = await p.request('GET', '/v1/audit?actor=key:sam&limit=3');
    expect(page.status).toBe(200);
    expect(page.body.entries).toHaveLength(3);
    expect(page.body.entries.every((e: { actor: string }) => e.actor === 'key:sam')).toBe(true);
    const next = await p.request('GET', `/v1/audit?actor=key:sam&limit=3&before=${page.body.nextBefore}`);
    expect(next.body.entries[0].id).toBeLessThan(page.body.entries[2].id);
    const schedules = await p.request('GET', '/v1/audit?subject=schedule:*');
    expect(new Set(schedules.body.entries.map((e: { action: string }) => e.action.split('.')[0]))).toEqual(new Set(['schedule']));
    expect((await p.request('GET', '/v1/audit', undefined, { authorization: `Bearer ${who.sam.token}` })).status).toBe(403);
  });
});
