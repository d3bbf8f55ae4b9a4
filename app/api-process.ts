// One process of an API that runs on several cores (API_PROCESSES > 1). node:cluster starts this file from
// the primary (app/api-processes.ts), which owns the embedded services and the worker role and sends this
// process what to serve with: the configuration it parsed, the database login and the Temporal address.
// The process assembles the API role alone (app/assemble.ts: no worker modules, so neither nodejs-polars
// nor tfjs), loads the production models, and only then listens on PORT, which it shares with the other
// API processes: it takes connections once it can answer them at full speed. It answers the primary's
// requests (its metrics, a key re-read), asks it for what spans all processes (the merged metrics a scrape
// gets, a key change the others must see), and writes its log through it.
// Stopping: the primary's order (or SIGTERM for this process alone) stops it as a single API process stops:
// no new connections, requests under way answered, prediction log flushed.
import cluster from 'node:cluster';
import type { ServerType } from '@hono/node-server';
import { pino } from 'pino';
import { processShare } from '../api/rate-limit.js';
import type { Config } from '../runtime/config.js';
import { createMetrics } from '../runtime/metrics.js';
import { assemblePlatform, type AssembledPlatform } from './assemble.js';
import type { FromApiProcess, ServeOrder, ToApiProcess } from './api-processes.js';
import { boundPort, closeServer, listen } from './http-server.js';

if (!cluster.isWorker) {
  console.error('app/api-process.ts is one process of a clustered API: `mlp api` or `mlp up` start it when API_PROCESSES > 1');
  process.exit(2);
}

/** How long this process waits for the primary (merged metrics: it collects for up to 2 s; a key change: 5 s). */
const PRIMARY_ANSWER_TIMEOUT_MS = 10_000;

let unsent = 0;
let allSent: (() => void) | null = null;
function send(msg: FromApiProcess): void {
  if (!process.connected) return;
  unsent++;
  process.send!(msg, undefined, {}, () => {
    if (--unsent === 0) allSent?.();
  });
}

let nextId = 1;
const answers = new Map<number, (answer: { text?: string; error?: string } | null) => void>();
/** Asks the primary; resolves with its answer, null when it does not answer within `timeoutMs`. */
function askPrimary(request: (id: number) => FromApiProcess, timeoutMs: number): Promise<{ text?: string; error?: string } | null> {
  return new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (answer: { text?: string; error?: string } | null) => {
      clearTimeout(timer);
      answers.delete(id);
      resolve(answer);
    };
    answers.set(id, done);
    send(request(id));
  });
}

let assembled: AssembledPlatform | null = null;
let server: ServerType | null = null;
let stopping: Promise<void> | null = null;

function stop(): Promise<void> {
  stopping ??= (async () => {
    if (server) await closeServer(server);
    await assembled?.stop();
    // The last log lines reach the primary before the channel closes with the process.
    if (unsent > 0) await new Promise<void>((resolve) => (allSent = resolve));
    process.exit(0);
  })();
  return stopping;
}

async function serve(order: ServeOrder): Promise<void> {
  const name = `api-${order.slot}`;
  // Lines go to the primary, which writes them with its own logger's destination; straight to stderr once
  // the primary is gone.
  const logger = pino({ level: order.logLevel, base: { role: 'api', process: name, processPid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, {
    write: (line: string) => (process.connected ? send({ type: 'mlp:log', line }) : process.stderr.write(line)),
  });
  try {
    if (order.slot === 1) {
      for (const [kind, limit] of Object.entries(order.config.rateLimits)) {
        if (limit.ratePerSecond > 0 && limit.burst < order.count) logger.warn({ kind, burst: limit.burst, processes: order.count }, 'the rate limit\'s burst is below the number of API processes: each allows at least one request at once, so together they allow one per process');
      }
    }
    const config: Config = {
      ...order.config,
      rateLimits: { predict: processShare(order.config.rateLimits.predict, order.count), mutations: processShare(order.config.rateLimits.mutations, order.count) },
      // One process deletes old prediction log entries: the others would only queue behind its row locks.
      predictionLog: { ...order.config.predictionLog, retentionDays: order.slot === 1 ? order.config.predictionLog.retentionDays : 0 },
    };
    const metrics = createMetrics({
      processLabels: { process: name },
      scrape: async () => {
        const answer = await askPrimary((id) => ({ type: 'mlp:scrape', id }), PRIMARY_ANSWER_TIMEOUT_MS);
        if (!answer || answer.error !== undefined || answer.text === undefined) throw new Error(`the API's metrics could not be merged: ${answer?.error ?? 'the primary process did not answer'}`);
        return answer.text;
      },
    });
    let started = false;
    assembled = await assemblePlatform({
      config, logger, databaseUrl: order.databaseUrl, temporalAddress: order.temporalAddress, roles: { api: true, worker: false },
      // The one process's ten connections, shared out: PostgreSQL's connection limit does not grow with the cores.
      dbPoolMax: Math.max(2, Math.ceil(10 / order.count)),
      metrics: { api: metrics, worker: metrics }, codeVersion: order.codeVersion, started: () => started,
    });
    const api = assembled.api!;
    api.keys.shareChangesWith(async () => {
      await askPrimary((id) => ({ type: 'mlp:keys-changed', id }), PRIMARY_ANSWER_TIMEOUT_MS);
    });
    const failed = await api.models.ensureLoaded();
    for (const f of failed) logger.error(f, 'production model could not be loaded');
    await api.models.updateGauges().catch(() => undefined);
    api.models.start();
    started = true;
    if (stopping) return;
    // Keys changed while this process assembled were relayed only to those already serving: read them now.
    await api.keys.refresh();
    server = await listen(api.app.fetch, config.port, config.host, 'PORT');
    const port = boundPort(server, config.port);
    send({ type: 'mlp:ready', port });
    logger.info({ port, ...api.backend() }, 'API process listening');

    onOrder = (msg) => {
      if (msg.type === 'mlp:collect-metrics') {
        metrics.registry.getMetricsAsJSON().then((snapshot) => send({ type: 'mlp:metrics-snapshot', id: msg.id, snapshot }), () => undefined);
      } else if (msg.type === 'mlp:refresh-keys') {
        api.keys.refresh().then(
          () => send({ type: 'mlp:keys-refreshed', id: msg.id }),
          (err: Error) => send({ type: 'mlp:keys-refreshed', id: msg.id, error: err.message }),
        );
      }
    };
  } catch (err) {
    logger.error({ err }, 'API process could not start');
    send({ type: 'mlp:failed', message: (err as Error).message });
    await assembled?.stop().catch(() => undefined);
    if (unsent > 0) await new Promise<void>((resolve) => (allSent = resolve));
    process.exit(1);
  }
}

/** What this process does with the primary's requests once it serves. */
let onOrder: (msg: ToApiProcess) => void = () => undefined;

process.on('message', (msg: ToApiProcess) => {
  switch (msg.type) {
    case 'mlp:serve': void serve(msg.order); return;
    case 'mlp:answer': answers.get(msg.id)?.({ text: msg.text, error: msg.error }); return;
    case 'mlp:stop': void stop(); return;
    default: onOrder(msg);
  }
});
// Ctrl-C reaches every process of the terminal's process group: the primary stops this one, in order.
process.on('SIGINT', () => undefined);
// Stopped alone (an operator, an OOM killer's warning): stop as the API stops; the primary starts another.
process.on('SIGTERM', () => void stop());
// If the primary is gone (killed), node:cluster ends this process at once: nothing hands it connections any more.
send({ type: 'mlp:hello' });
