// The API role on several cores (API_PROCESSES > 1): this process, the primary, starts that many API
// processes with node:cluster (each runs app/api-process.ts and serves PORT; the primary hands new
// connections to them in turn) and keeps everything that must exist once: the embedded services, the
// migrations, the worker role. It gives each API process its configuration (parsed once, here) and the
// services to use, then relays what concerns all of them:
//   - GET /metrics, answered by whichever process a scrape reaches, with every process's metrics merged
//     here (runtime/process-metrics.ts);
//   - a key created or revoked on one process, which every other re-reads before the change is answered;
//   - their log lines, written to this process's logger (the platform log of `mlp up`, stdout in a container).
// A process that exits while the API runs is replaced (logged, with a growing delay if it keeps failing);
// stop() stops them all in order, each finishing its requests and flushing its prediction log.
// Alias moves need no relay: every process re-reads the aliases (MODEL_REFRESH_MS), as a replica does.
import cluster, { type Worker } from 'node:cluster';
import { symbols } from 'pino';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { ProcessMetricsMerge, type MetricsSnapshot } from '../runtime/process-metrics.js';
import { sourceProcessEntry } from '../runtime/source-thread.js';

/** What the primary tells an API process. */
export type ToApiProcess =
  | { type: 'mlp:serve'; order: ServeOrder }
  | { type: 'mlp:collect-metrics'; id: number }
  | { type: 'mlp:refresh-keys'; id: number }
  | { type: 'mlp:answer'; id: number; text?: string; error?: string }
  | { type: 'mlp:stop' };

/** What an API process tells the primary. */
export type FromApiProcess =
  | { type: 'mlp:hello' }
  | { type: 'mlp:log'; line: string }
  | { type: 'mlp:ready'; port: number }
  | { type: 'mlp:failed'; message: string }
  | { type: 'mlp:metrics-snapshot'; id: number; snapshot: MetricsSnapshot }
  | { type: 'mlp:keys-refreshed'; id: number; error?: string }
  | { type: 'mlp:scrape'; id: number }
  | { type: 'mlp:keys-changed'; id: number };

/** Everything an API process needs to serve, decided by the primary. */
export interface ServeOrder {
  /** 1..count: names the process (`api-<slot>`) in logs and in its process-level metrics. */
  slot: number;
  count: number;
  config: Config;
  /** The runtime role's login and the Temporal frontend, embedded ones included (started by the primary). */
  databaseUrl: string;
  temporalAddress: string;
  codeVersion: string;
  /** The primary logger's level: a process's lines are written by the primary's logger as they are. */
  logLevel: string;
}

export interface ApiProcesses {
  /** The port every API process serves (PORT, or the one the first bound when PORT is 0). */
  port: number;
  /** Has every API process re-read the API keys (after keys were written to the registry directly). */
  refreshKeys(): Promise<void>;
  /** Stops every API process, restarting none: each stops accepting connections, answers what it has, flushes its log. */
  stop(): Promise<void>;
}

/** How long a process has to stop before it is killed: under the 30 s Kubernetes and compose give the container. */
const STOP_GRACE_MS = 20_000;
/** How long a scrape waits for a process's metrics before using what it collected from it last. */
const COLLECT_TIMEOUT_MS = 2_000;
/** How long a process re-reading its keys may take before a key change is answered anyway. */
const KEYS_TIMEOUT_MS = 5_000;
/** A process that ran this long before it exited counts as having served: its replacement starts at once. */
const STABLE_AFTER_MS = 30_000;
/** Delays before replacing a process that exits again soon after starting, one after another, then the last. */
const RESTART_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

interface Slot {
  n: number;
  name: string;
  worker: Worker | null;
  ready: boolean;
  startedAt: number;
  /** Consecutive exits of this slot's process soon after it started. */
  earlyExits: number;
  /** Why its process said it failed to start, if it did. */
  failure: string | null;
  restart: NodeJS.Timeout | null;
}

/** One process, not the slot it serves in: the one that takes its place is another (runtime/process-metrics.ts). */
const mergeKey = (worker: Worker) => `worker-${worker.id}`;

export async function startApiProcesses(opts: {
  config: Config; logger: Logger; databaseUrl: string; temporalAddress: string; codeVersion: string;
  /** API processes to start (API_PROCESSES, > 1). */
  count: number;
  /** This process's registry (the worker role's metrics when it runs here), merged into what /metrics serves. */
  primaryMetrics: Metrics;
}): Promise<ApiProcesses> {
  const { logger, count } = opts;
  // Round robin: the primary accepts each connection and hands it to the next process, so callers spread
  // evenly (the rate limits rely on it: api/rate-limit.ts processShare). Set before the first fork.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ ...sourceProcessEntry(new URL('./api-process.ts', import.meta.url)), args: [], serialization: 'advanced' });
  // A process's log lines go out exactly as it wrote them, through this logger's destination.
  const logStream = (logger as unknown as Record<symbol, { write(line: string): void }>)[symbols.streamSym];
  const merge = new ProcessMetricsMerge();
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    n: i + 1, name: `api-${i + 1}`, worker: null, ready: false, startedAt: 0, earlyExits: 0, failure: null, restart: null,
  }));
  let stopping = false;
  /** Set once every process has started: from then on, one that exits is replaced. */
  let serving = false;
  let port = 0;
  let readyAtStartup = 0;
  let settleStartup: (err: Error | null) => void = () => undefined;

  let nextId = 1;
  const pending = new Map<number, { worker: Worker; done: (reply: FromApiProcess | null) => void }>();
  /** Sends a request to one process; resolves with its reply, or null if it exits or does not answer in time. */
  const ask = (worker: Worker, request: (id: number) => ToApiProcess, timeoutMs: number): Promise<FromApiProcess | null> => new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (reply: FromApiProcess | null) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(reply);
    };
    pending.set(id, { worker, done });
    if (!worker.isConnected()) done(null);
    else worker.send(request(id));
  });
  const servingSlots = () => slots.filter((s): s is Slot & { worker: Worker } => s.ready && s.worker !== null && s.worker.isConnected());

  /**
   * Every process's metrics and this process's own, merged: what a scrape of any API process answers.
   * Scrapes that arrive while one merge runs share it: /metrics is open to scrapers by default, and each
   * merge asks every process, so a flood of scrapes must not multiply that work (nor finish out of order
   * and put an older snapshot in the sums).
   */
  let merging: Promise<string> | null = null;
  const mergedMetrics = (): Promise<string> => (merging ??= collectAndMerge().finally(() => {
    merging = null;
  }));
  const collectAndMerge = async (): Promise<string> => {
    const live = servingSlots();
    const [own, ...answers] = await Promise.all([
      opts.primaryMetrics.registry.getMetricsAsJSON(),
      ...live.map((s) => ask(s.worker, (id) => ({ type: 'mlp:collect-metrics', id }), COLLECT_TIMEOUT_MS)),
    ]);
    return merge.text([
      { process: 'primary', snapshot: own },
      ...live.map((s, i) => {
        const reply = answers[i];
        return { process: mergeKey(s.worker), snapshot: reply?.type === 'mlp:metrics-snapshot' ? reply.snapshot : null };
      }),
    ]);
  };

  /** Has every serving process but `except` re-read the keys. */
  const refreshKeysOf = async (except: Worker | null): Promise<string[]> => {
    const others = servingSlots().filter((s) => s.worker !== except);
    const replies = await Promise.all(others.map((s) => ask(s.worker, (id) => ({ type: 'mlp:refresh-keys', id }), KEYS_TIMEOUT_MS)));
    return others.flatMap((s, i) => {
      const r = replies[i];
      if (r?.type === 'mlp:keys-refreshed' && !r.error) return [];
      return [`${s.name}: ${r?.type === 'mlp:keys-refreshed' ? r.error : 'no answer'}`];
    });
  };

  const onMessage = (slot: Slot, worker: Worker, msg: FromApiProcess) => {
    switch (msg.type) {
      case 'mlp:hello': {
        const order: ServeOrder = {
          slot: slot.n, count, config: opts.config, databaseUrl: opts.databaseUrl, temporalAddress: opts.temporalAddress,
          codeVersion: opts.codeVersion, logLevel: logger.level,
        };
        worker.send({ type: 'mlp:serve', order } satisfies ToApiProcess);
        return;
      }
      case 'mlp:log':
        logStream.write(msg.line);
        return;
      case 'mlp:ready':
        slot.ready = true;
        port = msg.port;
        if (serving) logger.info({ process: slot.name, processPid: worker.process.pid }, 'API process started in place of the one that exited; serving');
        else if (++readyAtStartup === count) settleStartup(null);
        return;
      case 'mlp:failed':
        slot.failure = msg.message;
        return;
      case 'mlp:scrape':
        mergedMetrics().then(
          (text) => worker.isConnected() && worker.send({ type: 'mlp:answer', id: msg.id, text } satisfies ToApiProcess),
          (err: Error) => worker.isConnected() && worker.send({ type: 'mlp:answer', id: msg.id, error: err.message } satisfies ToApiProcess),
        );
        return;
      case 'mlp:keys-changed':
        void refreshKeysOf(worker).then((problems) => {
          if (problems.length) logger.warn({ problems }, 'API processes did not re-read the keys after a change; they will at their next refresh (API_KEY_REFRESH_MS)');
          if (worker.isConnected()) worker.send({ type: 'mlp:answer', id: msg.id } satisfies ToApiProcess);
        });
        return;
      case 'mlp:metrics-snapshot':
      case 'mlp:keys-refreshed':
        pending.get(msg.id)?.done(msg);
        return;
    }
  };

  const fork = (slot: Slot) => {
    slot.restart = null;
    slot.ready = false;
    slot.failure = null;
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on('message', (msg: FromApiProcess) => onMessage(slot, worker, msg));
    // An IPC error (a process gone mid-send) surfaces as its exit below.
    worker.on('error', (err) => logger.debug({ err, process: slot.name }, 'API process channel error'));
    // Handled once its channel has closed too: its last messages (log lines, why it failed) come first.
    worker.once('exit', (code, signal) => {
      if (worker.isConnected()) worker.once('disconnect', () => exited(code, signal));
      else exited(code, signal);
    });
    const exited = (code: number | null, signal: string | null) => {
      if (slot.worker === worker) {
        slot.worker = null;
        slot.ready = false;
      }
      for (const [, p] of pending) if (p.worker === worker) p.done(null);
      // Its counters as last collected stay in the sums (runtime/process-metrics.ts).
      merge.retire(mergeKey(worker));
      if (stopping) return;
      if (!serving) {
        settleStartup(new Error(`API process ${slot.name} exited before it served (${slot.failure ?? `exit code ${code}${signal ? `, signal ${signal}` : ''}`})`));
        return;
      }
      slot.earlyExits = Date.now() - slot.startedAt < STABLE_AFTER_MS ? slot.earlyExits + 1 : 0;
      const delayMs = slot.earlyExits === 0 ? 0 : RESTART_DELAYS_MS[Math.min(slot.earlyExits, RESTART_DELAYS_MS.length) - 1];
      logger.error({ process: slot.name, processPid: worker.process.pid, code, signal, reason: slot.failure ?? undefined, restartInMs: delayMs },
        'API process exited; starting another in its place');
      slot.restart = setTimeout(() => fork(slot), delayMs);
    };
  };

  const stopProcess = async (worker: Worker): Promise<void> => {
    if (worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (worker.isConnected()) worker.send({ type: 'mlp:stop' } satisfies ToApiProcess);
    else worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      logger.warn({ processPid: worker.process.pid, graceMs: STOP_GRACE_MS }, 'API process did not stop in time; killing it');
      worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const stop = async () => {
    stopping = true;
    for (const s of slots) if (s.restart) clearTimeout(s.restart);
    await Promise.all(slots.map((s) => (s.worker ? stopProcess(s.worker) : undefined)));
  };

  try {
    await new Promise<void>((resolve, reject) => {
      settleStartup = (err) => (err ? reject(err) : resolve());
      for (const slot of slots) fork(slot);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  serving = true;
  return {
    port,
    async refreshKeys() {
      const problems = await refreshKeysOf(null);
      if (problems.length) throw new Error(`API processes did not re-read the keys: ${problems.join('; ')}`);
    },
    stop,
  };
}
