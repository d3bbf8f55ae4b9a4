// Promotion is exactly once, aliases stay consistent under races, approvals are durable, and a rollback
// reaches the serving API without a failed request.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moveAlias, registerVersion } from '../../registry/models.js';
import type { ModelLineage } from '../../pipelines/contract.js';
import type { FittedFeatures } from '../../pipelines/fitted-features.js';
import type { Role } from '../../registry/api-keys.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { quickFootballSpec } from '../support/specs.js';
import { waitFor } from '../support/wait.js';

let p: TestPlatform;
const crashAfterMove = new Set<string>();

/** The Authorization header of a key of `role` named `name`. */
const as = async (role: Role, name: string) => ({ authorization: `Bearer ${await p.keyFor(role, name)}` });

beforeAll(async () => {
  p = await createTestPlatform({
    // A worker dying right after the alias move committed, before Temporal recorded the activity's result.
    faults: (point, attempt) => {
      if (point === 'promote:after-move' && attempt === 1 && crashAfterMove.size > 0) throw new Error('worker crashed after the move committed');
    },
  });
});
afterAll(() => p?.stop());

async function aliasEvents(model: string) {
  const r = await p.db.execute(sql`select e.alias, e.from_version, e.to_version, e.actor, e.idempotency_key from alias_events e join models m on m.id = e.model_id where m.name = ${model} order by e.id`);
  return r.rows as { alias: string; from_version: number | null; to_version: number; actor: string; idempotency_key: string }[];
}

describe('registry races', () => {
  it('of many concurrent moves decided against the same champion, exactly one lands, with one audit row', async () => {
    for (let i = 1; i <= 8; i++) {
      await registerVersion(p.db, {
        model: 'race', task: 'classification', runWorkflowId: `race-run-${i}`, artifactUri: 'file:///nowhere', artifactSha256: 'x',
        metrics: { accuracy: 0.5 + i / 100 }, baselines: {}, champion: null, inputSchema: [],
        // Registry rows only: nothing loads these versions, so their transform and lineage are left empty.
        transform: {} as FittedFeatures, lineage: {} as ModelLineage,
      });
    }
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => moveAlias(p.db, {
      model: 'race', alias: 'production', toVersion: i + 1, actor: `run-${i + 1}`, reason: 'race', idempotencyKey: `promote:race-run-${i + 1}`, expectedFrom: null,
    })));
    const moved = results.filter((r) => r.moved);
    expect(moved).toHaveLength(1);
    const events = await aliasEvents('race');
    expect(events).toHaveLength(1);
    expect(events[0].to_version).toBe(moved[0].toVersion);
    const alias = await p.request('GET', '/v1/models');
    expect(alias.body.models.find((m: { name: string }) => m.name === 'race').aliases).toEqual({ production: moved[0].toVersion });
    for (const r of results.filter((x) => !x.moved)) expect((r as { reasons: string[] }).reasons[0]).toMatch(/production moved from vnone to v\d/);
  });

  it('two pipeline runs finishing together promote one model, and the audit says which', async () => {
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'twins' }));
    const [a, b] = await Promise.all([p.runPipeline('twins'), p.runPipeline('twins')]);
    if (a.error || b.error) throw a.error ?? b.error;
    const promoted = [a, b].filter((r) => r.result!.promotion.promoted);
    expect(promoted).toHaveLength(1);
    const events = await aliasEvents('twins');
    expect(events).toEqual([expect.objectContaining({ to_version: promoted[0].result!.modelVersion, idempotency_key: `promote:${promoted[0].workflowId}` })]);
    const loser = [a, b].find((r) => !r.result!.promotion.promoted)!;
    expect(loser.result!.promotion.reasons.join(' ')).toMatch(/moved from|does not beat production/);
  });

  it('a promote activity retried after a crash does not move the alias twice', async () => {
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'crashy' }));
    crashAfterMove.add('crashy');
    const run = await p.runPipeline('crashy');
    crashAfterMove.clear();
    if (run.error) throw run.error;
    expect(run.result!.promotion).toMatchObject({ promoted: true, toVersion: 1 });
    const history = await p.temporal.workflow.getHandle(run.workflowId).fetchHistory();
    const scheduled = new Map(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name]));
    const promoteAttempt = history.events!.find((e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'promote')!;
    expect(promoteAttempt.activityTaskStartedEventAttributes!.attempt).toBe(2);
    expect(await aliasEvents('crashy')).toHaveLength(1);
  });
});

describe('approval gate', () => {
  const approvalSpec = (name: string, seconds: number) => quickFootballSpec({ name, promotion: { ...quickFootballSpec().promotion, approval: { expiresAfterSeconds: seconds } } });

  async function startAndWaitForApproval(name: string) {
    const started = await p.request('POST', `/v1/pipelines/${name}/runs`, {});
    const id = started.body.run.workflowId as string;
    const run = await waitFor(async () => {
      const r = await p.request('GET', `/v1/runs/${encodeURIComponent(id)}`);
      return r.body.run.live?.progress?.stage === 'awaiting-approval' ? r.body.run : undefined;
    }, 'the run to wait for approval');
    return { id, run };
  }

  it('waits durably for a person, then promotes with the approver in the audit', async () => {
    await p.request('POST', '/v1/pipelines', approvalSpec('approved', 600));
    const { id, run } = await startAndWaitForApproval('approved');
    expect(Date.parse(run.live.progress.approvalExpiresAt)).toBeGreaterThan(Date.now() + 500_000);
    expect(await aliasEvents('approved')).toHaveLength(0);
    // Four eyes: whoever started the run (the test's admin key) may not decide on it, admin or not.
    const own = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'my own run looks fine' });
    expect(own.status).toBe(403);
    expect(own.body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/^key:test-admin started this run and may not decide on it/) });
    const res = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'looked at the calibration plot' }, await as('approver', 'alice'));
    expect(res.status).toBe(200);
    expect(res.body.approval).toMatchObject({ accepted: true, decision: 'approve', modelVersion: 1 });
    const result = await p.temporal.workflow.getHandle(id).result();
    expect(result.promotion.promoted).toBe(true);
    const events = await aliasEvents('approved');
    expect(events).toHaveLength(1);
    expect(events[0].actor).toMatch(/approved by key:alice/);
    const again = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'twice' }, await as('approver', 'alice'));
    expect(again.status).toBe(409);
  });

  it('holds whoever made a schedule to four eyes on the runs it starts', async () => {
    await p.request('POST', '/v1/pipelines', approvalSpec('scheduled-gate', 600));
    const created = await p.request('POST', '/v1/schedules', { pipeline: 'scheduled-gate', id: 'gate-weekly', cron: ['0 3 * * 1'], paused: true, allowPromotion: true });
    expect(created.status).toBe(201);
    expect((await p.request('POST', '/v1/schedules/gate-weekly/trigger')).status).toBe(202);
    const id = await waitFor(async () => {
      const runs = (await p.request('GET', '/v1/runs?pipeline=scheduled-gate')).body.runs as { workflowId: string }[];
      for (const r of runs) {
        const live = (await p.request('GET', `/v1/runs/${encodeURIComponent(r.workflowId)}`)).body.run.live;
        if (live?.progress?.stage === 'awaiting-approval') return r.workflowId;
      }
      return undefined;
    }, 'the scheduled run to wait for approval');
    const own = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'approve', reason: 'my schedule, my model' });
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/^key:test-admin started this run \(through its schedule or backfill\) and may not decide on it/);
    const other = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'reject', reason: 'not this week' }, await as('approver', 'alice'));
    expect(other.status).toBe(200);
    await p.temporal.workflow.getHandle(id).result();
    await p.request('DELETE', '/v1/schedules/gate-weekly');
  });

  it('a rejection leaves production alone and records why', async () => {
    await p.request('POST', '/v1/pipelines', approvalSpec('rejected', 600));
    const { id } = await startAndWaitForApproval('rejected');
    const res = await p.request('POST', `/v1/runs/${encodeURIComponent(id)}/approval`, { decision: 'reject', reason: 'draws look off' }, await as('approver', 'bob'));
    expect(res.status).toBe(200);
    const result = await p.temporal.workflow.getHandle(id).result();
    expect(result.promotion).toMatchObject({ promoted: false, reasons: ['rejected by key:bob: draws look off'] });
    expect(await aliasEvents('rejected')).toHaveLength(0);
  });

  it('an approval request expires', async () => {
    await p.request('POST', '/v1/pipelines', approvalSpec('expiring', 2));
    const run = await p.runPipeline('expiring');
    if (run.error) throw run.error;
    expect(run.result!.promotion).toMatchObject({ promoted: false, reasons: ['approval expired after 2 s without a decision'] });
  });

  it('refuses a decision for a run that is not waiting for one', async () => {
    const res = await p.request('POST', '/v1/runs/train:nope:2020-01-01:0/approval', { decision: 'approve', reason: 'ok then' });
    expect(res.status).toBe(404);
    const bad = await p.request('POST', '/v1/runs/x/approval', { decision: 'maybe', reason: 'hmm' });
    expect(bad.status).toBe(422);
  });
});

describe('rollback while serving', () => {
  it('moves production back to an earlier version and the API follows within the refresh delay, with no failed request', async () => {
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'served' }));
    const first = await p.runPipeline('served');
    await p.request('POST', '/v1/pipelines', quickFootballSpec({ name: 'served', model: { ...quickFootballSpec().model, seed: 99, hiddenLayers: [24] } }));
    const second = await p.runPipeline('served');
    if (first.error || second.error) throw first.error ?? second.error;
    const manual = await p.request('POST', '/v1/models/served/aliases/production', { version: 2, reason: 'try the wider model' }, { ...await as('admin', 'carol'), 'idempotency-key': 'carol-1' });
    expect(manual.status).toBe(200);
    expect(manual.body).toMatchObject({ moved: true, fromVersion: 1, toVersion: 2, replayed: false });
    const retried = await p.request('POST', '/v1/models/served/aliases/production', { version: 2, reason: 'try the wider model' }, { ...await as('admin', 'carol'), 'idempotency-key': 'carol-1' });
    expect(retried.body).toMatchObject({ moved: true, fromVersion: 1, toVersion: 2, replayed: true });
    const reused = await p.request('POST', '/v1/models/served/aliases/production', { version: 1, reason: 'back again' }, { ...await as('admin', 'carol'), 'idempotency-key': 'carol-1' });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/idempotency key "carol-1" was already used for another alias move/) });

    const base = await p.listen();
    const body = JSON.stringify({ instances: [{ home_team: 'Arsenal', away_team: 'Chelsea' }] });
    const seen: { at: number; status: number; version?: number }[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        const res = await fetch(`${base}/v1/models/served/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}` }, body });
        const json = await res.json() as { version?: number };
        seen.push({ at: Date.now(), status: res.status, version: json.version });
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await waitFor(async () => (seen.some((s) => s.version === 2) ? true : undefined), 'v2 to be served');
    const rolledBackAt = Date.now();
    const rollback = await p.request('POST', '/v1/models/served/aliases/production', { version: 1, reason: 'v2 is worse on live traffic' }, await as('admin', 'carol'));
    expect(rollback.body).toMatchObject({ moved: true, fromVersion: 2, toVersion: 1 });
    await waitFor(async () => (seen.some((s) => s.at > rolledBackAt && s.version === 1) ? true : undefined), 'v1 to be served again', 10_000);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);

    const switched = seen.find((s) => s.at > rolledBackAt && s.version === 1)!;
    // Documented delay: one MODEL_REFRESH_MS (200 ms in tests, 2 s by default) plus the model load.
    expect(switched.at - rolledBackAt).toBeLessThan(2000);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    // Once switched, nothing answers with the rolled-back version any more.
    expect(seen.filter((s) => s.at > switched.at + 50 && s.version !== 1)).toEqual([]);
    const history = await p.request('GET', '/v1/models/served/aliases/history');
    expect(history.body.events.map((e: { toVersion: number; actor: string }) => [e.toVersion, e.actor.split(' ')[0]])).toEqual([[1, expect.stringMatching(/^workflow:/)], [2, 'key:carol'], [1, 'key:carol']]);
  });
});
