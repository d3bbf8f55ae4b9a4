// What every activity needs, passed in by the worker (the one place that wires real dependencies).
import type { SourceAccess } from '../data/sources.js';
import type { Db } from '../db/client.js';
import type { ArtifactStore } from '../runtime/artifacts.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { FaultInjector } from './failures.js';

export interface ActivityDeps {
  db: Db;
  /**
   * How sources reach their data: `sql` through their own pool, logged in as the read-only source role (never
   * `db`'s); files under the allowed roots; URLs to public or allowlisted addresses; and their limits.
   */
  sources: Omit<SourceAccess, 'logger'>;
  artifacts: ArtifactStore;
  logger: Logger;
  /** Identifies the code that trained a model, for lineage. */
  codeVersion: string;
  faults?: FaultInjector;
  /** Where and how a breached monitoring window is announced (runtime/config.ts); null or absent: it is not. */
  monitorWebhook?: { url: string; secret: string; timeoutMs: number } | null;
  /** The worker's Prometheus metrics; omitted in unit tests of single activities. */
  metrics?: Metrics;
}
