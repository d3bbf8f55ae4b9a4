// The prediction log: what the monitor reads about served predictions (serving/prediction-batch.ts): each
// predicted row's ID, its inputs as sent, the model's output and what the answer assumed. The request path
// only pushes onto an in-memory queue (a copy of the output, the request text it already has); a timer
// hands batches to a writer thread (prediction-log-writer.ts), which reads the requests' fields into
// columns, writes one blob per model version and flush, and deletes batches past the retention. A slow or
// failing database therefore never delays or fails a prediction: when the queue is full, entries are
// dropped and counted.
import type { Worker } from 'node:worker_threads';
import type { InputSchema } from '../pipelines/fitted-features.js';
import type { Logger } from '../runtime/logger.js';
import { spawnSourceThread } from '../runtime/source-thread.js';
import type { BatchField } from './prediction-batch.js';
import { PredictionIds } from './prediction-ids.js';
import { ROW_WARNING_KINDS, type RowWarning } from './instance-validation.js';

export interface PredictionLogEntry {
  model: string;
  version: number;
  /** The version's input schema: the fields logged, in its order. */
  schema: InputSchema;
  /** Model output values per row (classes, or 1 for a regression). */
  outputs: number;
  rows: number;
  /** The counter of the first row's prediction ID (the rest follow). */
  firstSeq: number;
  /** The request body as received: the writer thread reads the instances' fields from it. */
  requestJson: string;
  /** The rows as validation read them, when that changed any (text read under the source's rules): logged instead of the body's. */
  rowsRead?: Record<string, unknown>[] | null;
  /** The model output, rows × outputs (copied when logged: the caller may reuse the buffer). */
  output: Float32Array;
  /** Per row, what its answer assumed (instance-validation.ts); null: nothing. */
  warnings: (RowWarning[] | undefined)[] | null;
}

/** What crosses to the writer thread for one logged request. */
export interface QueuedEntry {
  model: string;
  version: number;
  /** Which announced field list (a `schema` request) the request's fields are read with. */
  fieldsId: number;
  at: number;
  firstSeq: number;
  requestJson: string;
  output: Float32Array;
  /** Per row, a bit per ROW_WARNING_KINDS; null: no row had one. */
  warnings: Uint8Array | null;
}
export type WriterRequest =
  | { id: number; kind: 'fields'; fieldsId: number; fields: BatchField[]; outputs: number }
  | { id: number; kind: 'write'; batch: QueuedEntry[] }
  | { id: number; kind: 'prune'; retentionDays: number };
/** n: rows written, or batches deleted by a prune. */
export interface WriterReply { id: number; ok: boolean; n: number; error?: string }

/** Entries handed to the writer per message; the writer makes one blob per model version of each. */
const BATCH = 2000;
const FLUSH_MS = 250;
/** Request text handed to the writer per message (a backlog of large bodies is sent in several). */
const MESSAGE_BYTES = 16 * 1024 * 1024;
/** How often a replica deletes entries past the retention (every replica does; a pass finding nothing is cheap). */
const PRUNE_MS = 10 * 60_000;
const WARNING_BIT = new Map(ROW_WARNING_KINDS.map((k, i) => [k, 1 << i]));

/** Each row's warnings as one byte of bits. */
function warningBits(warnings: (RowWarning[] | undefined)[], rows: number): Uint8Array {
  const bits = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) for (const w of warnings[i] ?? []) bits[i] |= WARNING_BIT.get(w.kind)!;
  return bits;
}

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
  /** This process's prediction IDs: every predicted row gets one, logged or not. */
  readonly ids = new PredictionIds();
  /** Field lists announced to the writer thread, by schema object (a loaded version's never changes). */
  private fieldsIds = new WeakMap<InputSchema, number>();
  private nextFieldsId = 1;
  /** Every field list announced, so that a writer thread started after one died learns them all again. */
  private readonly fieldLists = new Map<number, { fields: BatchField[]; outputs: number }>();

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

  /** Synchronous, never throws, no work beyond a copy of the output: safe on the hot path. */
  record(entry: PredictionLogEntry): void {
    if (this.deps.sampleRate === 0) return;
    if (this.deps.sampleRate < 1 && (this.deps.random ?? Math.random)() >= this.deps.sampleRate) return;
    if (this.queue.length >= this.deps.maxQueue) {
      this.drop(1);
      return;
    }
    this.queue.push({
      model: entry.model, version: entry.version, fieldsId: this.fieldsIdOf(entry.schema, entry.outputs), at: Date.now(), firstSeq: entry.firstSeq,
      // Serialised only once the entry is kept: a request not logged costs nothing here.
      requestJson: entry.rowsRead ? JSON.stringify({ instances: entry.rowsRead }) : entry.requestJson, output: entry.output.slice(0, entry.rows * entry.outputs),
      warnings: entry.warnings === null ? null : warningBits(entry.warnings, entry.rows),
    });
  }

  /** The writer thread learns a version's fields once; entries name them by number. */
  private fieldsIdOf(schema: InputSchema, outputs: number): number {
    let id = this.fieldsIds.get(schema);
    if (id === undefined) {
      id = this.nextFieldsId++;
      this.fieldsIds.set(schema, id);
      const list = { fields: schema.map((f) => ({ name: f.name, kind: f.kind })), outputs };
      this.fieldLists.set(id, list);
      // Messages to the thread arrive in order: this one before any batch that names it.
      this.writerThread().postMessage({ id: 0, kind: 'fields', fieldsId: id, ...list } satisfies WriterRequest);
    }
    return id;
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
      const w = spawnSourceThread(new URL('./prediction-log-writer.ts', import.meta.url), { workerData: { databaseUrl: this.deps.databaseUrl, token: this.ids.token } });
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
      // A thread started after another died knows no field lists: every one queued entries may name.
      for (const [fieldsId, list] of this.fieldLists) w.postMessage({ id: 0, kind: 'fields', fieldsId, ...list } satisfies WriterRequest);
    }
    return this.writer;
  }

  private async drain(): Promise<void> {
    const sent: Promise<void>[] = [];
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const id = this.nextId++;
      sent.push(new Promise<void>((resolve) => this.pending.set(id, (r) => {
        if (r?.ok) {
          this.stats.written += r.n;
          if (r.n < batch.length) this.drop(batch.length - r.n);
        }
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

  /** The next message's entries: at most BATCH of them, and at most MESSAGE_BYTES of request text. */
  private takeBatch(): QueuedEntry[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < BATCH && (n === 0 || bytes + this.queue[n].requestJson.length <= MESSAGE_BYTES)) {
      bytes += this.queue[n].requestJson.length;
      n++;
    }
    return this.queue.splice(0, n);
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
