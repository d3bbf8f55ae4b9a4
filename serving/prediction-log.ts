// The prediction log: a sample of requests and responses with the answering version and latency. The
// request path only pushes onto an in-memory queue; a timer hands batches to a writer thread
// (prediction-log-writer.ts), which builds and sends the INSERT, and deletes entries past the retention. A slow or failing database therefore never
// delays or fails a prediction: when the queue is full, entries are dropped and counted.
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../runtime/logger.js';
import { spawnSourceThread } from '../runtime/source-thread.js';

export interface PredictionLogEntry {
  model: string;
  version: number;
  alias: string | null;
  rows: number;
  latencyMs: number;
  /** The request body and the response exactly as sent, as JSON text: nothing is re-serialised. */
  requestJson: string;
  responseJson: string;
}

export interface QueuedEntry { entry: PredictionLogEntry; at: number }
export type WriterRequest =
  | { id: number; kind: 'write'; batch: QueuedEntry[] }
  | { id: number; kind: 'prune'; retentionDays: number };
/** n: entries written, or rows deleted by a prune. */
export interface WriterReply { id: number; ok: boolean; n: number; error?: string }

const BATCH = 200;
const FLUSH_MS = 250;
/** How often a replica deletes entries past the retention (every replica does; a pass finding nothing is cheap). */
const PRUNE_MS = 10 * 60_000;

export class PredictionLog {
  private queue: QueuedEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private writer: Worker | null = null;
  private nextId = 1;
  /** Callbacks of the requests the writer has not answered; called with null when the thread exits. */
  private readonly pending = new Map<number, (reply: WriterReply | null) => void>();
  private flushing: Promise<void> | null = null;
  private pruning: Promise<number> | null = null;
  readonly stats = { written: 0, dropped: 0, failedBatches: 0, pruned: 0 };

  constructor(private readonly deps: {
    databaseUrl: string; logger: Logger; sampleRate: number; maxQueue: number;
    /** Days an entry is kept; 0 (default) keeps everything. */
    retentionDays?: number;
    random?: () => number; onDrop?: (n: number) => void;
  }) {}

  start(): void {
    if (this.deps.sampleRate > 0 && !this.timer) {
      // A tick while a flush is still under way (a slow database) skips: the queue bound does the rest.
      this.timer = setInterval(() => {
        if (!this.flushing) void this.flush();
      }, FLUSH_MS);
      this.timer.unref();
    }
    // Pruning runs even when nothing is logged any more: rows from an earlier configuration still expire.
    if ((this.deps.retentionDays ?? 0) > 0 && !this.pruneTimer) {
      void this.prune();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_MS);
      this.pruneTimer.unref();
    }
  }

  /**
   * Deletes entries older than the retention, in the writer thread; resolves to how many went. A failure
   * is logged and retried at the next interval: it never reaches a caller.
   */
  prune(): Promise<number> {
    const days = this.deps.retentionDays ?? 0;
    if (days <= 0) return Promise.resolve(0);
    this.pruning ??= new Promise<number>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, (r) => {
        if (r?.ok) {
          this.stats.pruned += r.n;
          if (r.n > 0) this.deps.logger.info({ deleted: r.n, retentionDays: days }, 'prediction log entries past the retention deleted');
        } else if (r) this.deps.logger.warn({ error: r.error }, 'prediction log pruning failed; retrying at the next interval');
        resolve(r?.ok ? r.n : 0);
      });
      this.writerThread().postMessage({ id, kind: 'prune', retentionDays: days } satisfies WriterRequest);
    }).finally(() => (this.pruning = null));
    return this.pruning;
  }

  /** O(1), synchronous, never throws: safe on the hot path. */
  record(entry: PredictionLogEntry): void {
    if (this.deps.sampleRate === 0) return;
    if (this.deps.sampleRate < 1 && (this.deps.random ?? Math.random)() >= this.deps.sampleRate) return;
    if (this.queue.length >= this.deps.maxQueue) {
      this.drop(1);
      return;
    }
    this.queue.push({ entry, at: Date.now() });
  }

  /**
   * Hands everything queued to the writer and waits for it. What was recorded before the call is written
   * (or dropped) when it resolves, even if a flush was already under way: that one is waited for first.
   */
  flush(): Promise<void> {
    const current: Promise<void> = (this.flushing ?? Promise.resolve())
      .then(() => this.drain())
      .finally(() => {
        if (this.flushing === current) this.flushing = null;
      });
    this.flushing = current;
    return current;
  }

  private writerThread(): Worker {
    if (!this.writer) {
      const w = spawnSourceThread(new URL('./prediction-log-writer.ts', import.meta.url), { workerData: { databaseUrl: this.deps.databaseUrl } });
      w.unref();
      w.on('message', (r: WriterReply) => {
        this.pending.get(r.id)?.(r);
        this.pending.delete(r.id);
      });
      w.on('error', (err) => this.deps.logger.error({ err }, 'prediction log writer thread failed; it restarts on the next batch'));
      w.on('exit', () => {
        if (this.writer === w) this.writer = null;
        for (const done of this.pending.values()) done(null);
        this.pending.clear();
      });
      this.writer = w;
    }
    return this.writer;
  }

  private async drain(): Promise<void> {
    const sent: Promise<void>[] = [];
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH);
      const id = this.nextId++;
      sent.push(new Promise<void>((resolve) => this.pending.set(id, (r) => {
        if (r?.ok) this.stats.written += r.n;
        else if (r) {
          // Losing a sample is acceptable; blocking predictions or growing without bound is not.
          this.stats.failedBatches++;
          this.drop(r.n);
          this.deps.logger.warn({ entries: r.n, error: r.error }, 'prediction log batch not written; dropped');
        }
        resolve();
      })));
      this.writerThread().postMessage({ id, kind: 'write', batch } satisfies WriterRequest);
    }
    await Promise.all(sent);
  }

  private drop(n: number): void {
    this.stats.dropped += n;
    this.deps.onDrop?.(n);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = this.pruneTimer = null;
    // A pruning pass is not waited for: terminating the thread aborts its current DELETE, which rolls back.
    await this.flush();
    await this.writer?.terminate();
    this.writer = null;
  }
}
