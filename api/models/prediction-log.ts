// The prediction log: a sample of requests and responses with the answering version and latency. The
// request path only pushes onto an in-memory queue; a timer writes batches. A slow or failing database
// therefore never delays or fails a prediction: when the queue is full, entries are dropped and counted.
import type { Db } from '../../db/client.js';
import { sql } from 'drizzle-orm';
import type { Logger } from '../../runtime/logger.js';

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

// Small batches, often: building one insert must never stall the event loop that serves predictions.
const BATCH = 200;
const FLUSH_MS = 250;

export class PredictionLog {
  private queue: { entry: PredictionLogEntry; at: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  readonly stats = { written: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly deps: { db: Db; logger: Logger; sampleRate: number; maxQueue: number; random?: () => number; onDrop?: (n: number) => void }) {}

  start(): void {
    if (this.timer || this.deps.sampleRate === 0) return;
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** O(1), synchronous, never throws: safe on the hot path. */
  record(entry: PredictionLogEntry): void {
    if (this.deps.sampleRate === 0) return;
    if (this.deps.sampleRate < 1 && (this.deps.random ?? Math.random)() >= this.deps.sampleRate) return;
    if (this.queue.length >= this.deps.maxQueue) {
      this.stats.dropped++;
      this.deps.onDrop?.(1);
      return;
    }
    this.queue.push({ entry, at: Date.now() });
  }

  /** Writes what is queued; concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH);
      try {
        // The rows travel as one JSON array assembled from the stored JSON texts, and Postgres types them.
        const json = `[${batch.map(({ entry: e, at }) => `{"model":${JSON.stringify(e.model)},"version":${e.version},"alias":${JSON.stringify(e.alias)},"rows":${e.rows},"latency_ms":${e.latencyMs},"at":"${new Date(at).toISOString()}","request":${e.requestJson},"response":${e.responseJson}}`).join(',')}]`;
        await this.deps.db.execute(sql`
          INSERT INTO prediction_log (model, version, alias, rows, latency_ms, at, request, response)
          SELECT model, version, alias, rows, latency_ms, at, request, response
          FROM jsonb_to_recordset(${json}::jsonb)
            AS x(model text, version int, alias text, rows int, latency_ms float8, at timestamptz, request jsonb, response jsonb)`);
        this.stats.written += batch.length;
        await new Promise((r) => setImmediate(r));
      } catch (err) {
        // Losing a sample is acceptable; blocking predictions or growing without bound is not.
        this.stats.failedBatches++;
        this.stats.dropped += batch.length;
        this.deps.onDrop?.(batch.length);
        this.deps.logger.warn({ err, entries: batch.length }, 'prediction log batch not written; dropped');
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
