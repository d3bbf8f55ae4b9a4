// The prediction log: a sample of requests and responses with the answering version and latency. The
// request path only pushes onto an in-memory queue; a timer hands batches to a writer thread
// (prediction-log-writer.ts), which builds and sends the INSERT. A slow or failing database therefore never
// delays or fails a prediction: when the queue is full, entries are dropped and counted.
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../../runtime/logger.js';
import { spawnSourceThread } from '../../runtime/source-thread.js';

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
export interface WriterRequest { id: number; batch: QueuedEntry[] }
export interface WriterReply { id: number; ok: boolean; n: number; error?: string }

const BATCH = 200;
const FLUSH_MS = 250;

export class PredictionLog {
  private queue: QueuedEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writer: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, () => void>();
  private flushing: Promise<void> | null = null;
  readonly stats = { written: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly deps: {
    databaseUrl: string; logger: Logger; sampleRate: number; maxQueue: number;
    random?: () => number; onDrop?: (n: number) => void;
  }) {}

  start(): void {
    if (this.timer || this.deps.sampleRate === 0) return;
    // A tick while a flush is still under way (a slow database) skips: the queue bound does the rest.
    this.timer = setInterval(() => {
      if (!this.flushing) void this.flush();
    }, FLUSH_MS);
    this.timer.unref();
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
        if (r.ok) this.stats.written += r.n;
        else {
          // Losing a sample is acceptable; blocking predictions or growing without bound is not.
          this.stats.failedBatches++;
          this.drop(r.n);
          this.deps.logger.warn({ entries: r.n, error: r.error }, 'prediction log batch not written; dropped');
        }
        this.pending.get(r.id)?.();
        this.pending.delete(r.id);
      });
      w.on('error', (err) => this.deps.logger.error({ err }, 'prediction log writer thread failed; it restarts on the next batch'));
      w.on('exit', () => {
        if (this.writer === w) this.writer = null;
        for (const done of this.pending.values()) done();
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
      sent.push(new Promise<void>((resolve) => this.pending.set(id, resolve)));
      this.writerThread().postMessage({ id, batch } satisfies WriterRequest);
    }
    await Promise.all(sent);
  }

  private drop(n: number): void {
    this.stats.dropped += n;
    this.deps.onDrop?.(n);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    await this.writer?.terminate();
    this.writer = null;
  }
}
