// Baseline for bench/serving.ts: the smallest Hono server on @hono/node-server that does what every
// predict request must do at the HTTP layer (route, check the bearer header against the one token it
// knows, read and parse the JSON body, check it has `instances`, serialise a JSON reply) and nothing else. Its reply is a constant object shaped like a
// one-row football prediction. Started by bench/serving.ts in its own process, like the API.
// Env: PORT (required), BENCH_TOKEN (the bearer token it accepts), HOST (default 127.0.0.1), BODY_LIMIT (bytes; when set, hono's bodyLimit middleware is
// mounted on /v1/* exactly as api/app.ts mounts it, to measure what it costs), BARE_PROCESSES (1-64, default 1: that
// many processes serve PORT through node:cluster, round robin, as the API does with API_PROCESSES, so the two scale
// on the same terms). Prints `listening <port> (<n> processes)` once every process listens.
import cluster from 'node:cluster';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';

const REPLY = {
  model: 'football',
  version: 1,
  alias: 'production',
  predictions: [{ label: 'home', probabilities: { home: 0.4791, draw: 0.2654, away: 0.2555 } }],
};

const app = new Hono();
const limit = Number(process.env.BODY_LIMIT ?? 0);
if (limit > 0) app.use('/v1/*', bodyLimit({ maxSize: limit, onError: (c) => c.json({ error: { code: 'payload_too_large' } }, 413) }));
app.get('/health', (c) => c.json({ status: 'ok' }));
// The same header the API parses, looked up the same way (a map of tokens); no role, rate or audit.
const tokens = new Map([[process.env.BENCH_TOKEN ?? '', true]]);
app.post('/v1/models/:name/predict', async (c) => {
  const auth = c.req.header('authorization');
  if (auth === undefined || auth.slice(0, 7).toLowerCase() !== 'bearer ' || !tokens.get(auth.slice(7).trim())) return c.json({ error: { code: 'unauthenticated' } }, 401);
  const type = c.req.header('content-type') ?? '';
  if (!type.includes('application/json')) return c.json({ error: { code: 'unsupported_media_type' } }, 415);
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return c.json({ error: { code: 'bad_request' } }, 400);
  }
  const instances = body && typeof body === 'object' ? (body as { instances?: unknown }).instances : undefined;
  if (!Array.isArray(instances) || instances.length === 0) return c.json({ error: { code: 'validation_failed' } }, 422);
  return c.json(REPLY);
});

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('serving-bare: set PORT to a free port');
  process.exit(2);
}
const processes = Number(process.env.BARE_PROCESSES ?? 1);
if (!Number.isInteger(processes) || processes < 1 || processes > 64) {
  console.error('serving-bare: BARE_PROCESSES is an integer from 1 to 64');
  process.exit(2);
}

if (processes > 1 && cluster.isPrimary) {
  // The same scheduling as app/api-processes.ts: the primary accepts and hands connections out in turn.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === processes) console.log(`listening ${port} (${processes} processes)`);
  });
  for (let i = 0; i < processes; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '127.0.0.1' }, (info) => {
    if (processes === 1) console.log(`listening ${info.port} (1 process)`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
