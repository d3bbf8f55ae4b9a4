// A bounded fuzz run over the OpenAPI document: schemathesis (pinned, .tools/fuzz-venv) sends requests for
// every operation, as an admin, to a real API over a real socket, and no answer may be a 5xx. It runs
// through scripts/fuzz.ts (a process: tests import nothing of scripts/), the tool behind `npm run fuzz`,
// which runs the same longer on a platform of its own (docs/FUZZ.md).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShippedPipeline, QUICK_SHIPPED_PIPELINES } from '../../pipelines/shipped.js';
import { savePipeline } from '../../registry/pipelines.js';
import { projectRoot } from '../../runtime/project-root.js';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';

/** Test cases per operation and phase: about 2,400 requests, some 40 s on two cores (docs/FUZZ.md). */
const MAX_EXAMPLES = 15;
const SEED = 20_251_201;
/** Fewer requests than this means the run broke (no document, every request refused), not that all is well. */
const MIN_REQUESTS = 1500;

interface FuzzSummary {
  requests: number;
  operations: { total: number; tested: number };
  statuses: Record<string, number>;
  serverErrors: { method: string; url: string; status: number; requestId: string | null; requestBody: string | null; responseBody: string | null }[];
  errors: { title: string; count: number }[];
  workDir: string | null;
}

const SCHEMATHESIS = join(projectRoot, '.tools', 'fuzz-venv', 'bin', 'schemathesis');

describe('the API under a bounded fuzz run', () => {
  let p: TestPlatform;
  let baseUrl: string;
  let dir: string;

  beforeAll(async () => {
    // High rate limits: the fuzzer should reach the handlers, not the limiter (a 429 is no failure anyway).
    p = await createTestPlatform({
      env: {
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000', RATE_LIMIT_MUTATIONS_BURST: '1000000',
        RATE_LIMIT_PREDICT_PER_SECOND: '1000000', RATE_LIMIT_PREDICT_BURST: '1000000',
      },
    });
    // Something to read, run and predict with: the shipped pipelines (as `mlp up` saves them), a promoted model
    // of each (seconds) and a paused schedule. scripts/fuzz.ts hands their names and IDs to schemathesis.
    for (const name of QUICK_SHIPPED_PIPELINES) {
      const { pipeline } = await savePipeline(p.db, loadShippedPipeline(name), { actor: 'platform:test', requestId: null });
      const { error } = await p.runPipeline(pipeline.name, { allowPromotion: true });
      if (error) throw error;
    }
    const schedule = await p.request('POST', '/v1/schedules', { pipeline: loadShippedPipeline(QUICK_SHIPPED_PIPELINES[0]).name, interval: { every: '1 day' }, paused: true });
    if (schedule.status !== 201) throw new Error(`making a schedule answered ${schedule.status}: ${JSON.stringify(schedule.body)}`);
    baseUrl = await p.listen();
    dir = await mkdtemp(join(tmpdir(), 'mlp-fuzz-test-'));
  });

  afterAll(async () => {
    await p?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers no request with a 5xx', async () => {
    if (!existsSync(SCHEMATHESIS)) throw new Error(`schemathesis is not installed in ${join(projectRoot, '.tools', 'fuzz-venv')}: run \`node scripts/setup.mjs --test\``);
    const out = join(dir, 'fuzz.json');
    const args = ['--import', 'tsx', join(projectRoot, 'scripts', 'fuzz.ts'), '--base-url', baseUrl,
      '--max-examples', String(MAX_EXAMPLES), '--seed', String(SEED), '--workers', '1', '--request-timeout', '30', '--json', out];
    const run = await promisify(execFile)(process.execPath, args, {
      cwd: projectRoot, env: { ...process.env, MLP_FUZZ_API_KEY: p.adminKey }, timeout: 280_000, maxBuffer: 64 * 1024 * 1024,
    }).catch((err: { code?: number; stdout?: string; stderr?: string }) => err);
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    if (!existsSync(out)) throw new Error(`scripts/fuzz.ts wrote no result; its output:\n${output.slice(-5000)}`);
    const result = JSON.parse(await readFile(out, 'utf8')) as FuzzSummary;

    console.log(`[fuzz] ${result.requests} requests, ${result.operations.tested}/${result.operations.total} operations, by status ${JSON.stringify(result.statuses)}, ${result.serverErrors.length} 5xx`);
    const failing = result.serverErrors.map((e) => `${e.method} ${e.url} -> ${e.status} (x-request-id ${e.requestId ?? '-'})\n  body: ${e.requestBody ?? '-'}\n  answer: ${e.responseBody ?? '-'}`);
    expect(failing, `5xx answers (reports kept in ${result.workDir ?? '-'}; replay with npx tsx scripts/fuzz.ts --seed ${SEED} --max-examples ${MAX_EXAMPLES}):\n${failing.join('\n')}`).toEqual([]);
    const ran = `${result.requests} requests, ${result.operations.tested}/${result.operations.total} operations, statuses ${JSON.stringify(result.statuses)}, errors ${JSON.stringify(result.errors)}\n${output.slice(-3000)}`;
    expect(result.requests, ran).toBeGreaterThanOrEqual(MIN_REQUESTS);
    expect(result.operations.total, ran).toBeGreaterThan(20);
    expect(result.operations.tested, ran).toBe(result.operations.total);
    // The key worked throughout: most answers are not 401, and many are successes.
    const count = (pred: (status: number) => boolean) => Object.entries(result.statuses).filter(([s]) => pred(Number(s))).reduce((n, [, c]) => n + c, 0);
    expect(count((s) => s === 401), ran).toBeLessThan(result.requests / 20);
    expect(count((s) => s >= 200 && s < 300), ran).toBeGreaterThan(100);
  }, 290_000);
});
