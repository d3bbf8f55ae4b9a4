import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';

type Check = { ok: boolean; ms: number; error?: string };

async function timed(check: () => Promise<unknown>): Promise<Check> {
  const t0 = performance.now();
  try {
    await Promise.race([check(), new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 2 s')), 2000).unref())]);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: (err as Error).message };
  }
}

export function healthRoutes(deps: ApiDeps, version: string) {
  const app = new Hono();
  const checks = async () => ({
    postgres: await timed(() => deps.db.execute(sql`select 1`)),
    temporal: await timed(() => deps.temporal.connection.workflowService.getSystemInfo({})),
  });

  app.get('/live', (c) => c.json({ status: 'ok' }));
  app.get('/startup', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const components = await checks();
    const failing = Object.entries(components).filter(([, v]) => !v.ok).map(([k]) => k);
    return c.json({ status: failing.length ? 'unavailable' : 'ok', failing, components }, failing.length ? 503 : 200);
  });
  app.get('/', async (c) => {
    const components = await checks();
    return c.json({
      status: Object.values(components).every((v) => v.ok) ? 'ok' : 'degraded',
      version,
      tfjsBackend: deps.backend,
      components,
      serving: deps.serving.servedAliases(),
    });
  });
  return app;
}
