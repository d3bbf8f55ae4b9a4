// Probes, shared by the API and the worker: live (the process answers), startup (it finished starting:
// migrations applied, models preloaded), ready (every dependency answers now), and a detailed report.
import { Hono } from 'hono';

/** What runs models in this process, as /health reports it. */
export interface BackendReport {
  /**
   * The tfjs backend initialised in this process (tensorflow, wasm or cpu), or null while tfjs is not
   * loaded: an API whose models all run on the plain-JS forward pass never loads it.
   */
  tfjsBackend: string | null;
  /** API only: how many model versions loaded here each inference engine runs (`js`, `tfjs`). */
  inference?: Record<string, number>;
}

export interface HealthOptions {
  version: string;
  /** Read on each /health request: a model that falls back to tfjs loads it later. */
  backend: () => BackendReport;
  /** Each named check resolves when its component is healthy and throws saying why when not. */
  checks: Record<string, () => Promise<unknown>>;
  started: () => boolean;
  details?: () => Record<string, unknown>;
}

type Check = { ok: boolean; ms: number; error?: string };
const CHECK_TIMEOUT_MS = 2000;

async function timed(check: () => Promise<unknown>): Promise<Check> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)))]);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(opts: HealthOptions) {
  const app = new Hono();
  const runChecks = async () => {
    const names = Object.keys(opts.checks);
    const results = await Promise.all(names.map((n) => timed(opts.checks[n])));
    return Object.fromEntries(names.map((n, i) => [n, results[i]])) as Record<string, Check>;
  };

  app.get('/live', (c) => c.json({ status: 'ok' }));
  app.get('/startup', (c) => (opts.started() ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503)));
  app.get('/ready', async (c) => {
    const components = await runChecks();
    const failing = Object.entries(components).filter(([, v]) => !v.ok).map(([k]) => k);
    if (!opts.started()) failing.unshift('startup');
    return c.json({ status: failing.length ? 'unavailable' : 'ok', failing, components }, failing.length ? 503 : 200);
  });
  app.get('/', async (c) => {
    const components = await runChecks();
    const { tfjsBackend, inference } = opts.backend();
    return c.json({
      status: opts.started() && Object.values(components).every((v) => v.ok) ? 'ok' : 'degraded',
      version: opts.version,
      tfjsBackend,
      ...(inference ? { inference } : {}),
      components,
      ...(opts.details?.() ?? {}),
    });
  });
  return app;
}
