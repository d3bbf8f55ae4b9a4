// Prometheus metrics (prom-client). One registry per process role; label sets are bounded: route
// templates (never raw paths), model names and versions, pipeline names and stage names. The ones updated
// on every request are hot-metrics.ts counters and histograms, bound to their label sets once.
// An API of several processes (API_PROCESSES) serves all of theirs merged at /metrics (process-metrics.ts):
// the application's series are summed across the processes; the process-level ones (CPU, memory, event
// loop, GC) carry a `process` label each process sets through `processLabels`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const ROW_BUCKETS = [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000];
/**
 * How the processes of a clustered API merge a gauge that mirrors the registry (what an alias points at and
 * how it scored): every process reads the same rows, so summing would count them once per process; the
 * largest is one of the equal values (during the moment a move is seen by some processes only, the larger).
 */
const REGISTRY_STATE = 'max' as const;

export interface MetricsOptions {
  /** prom-client's process-level metrics (process_*, nodejs_*); default on. */
  defaultMetrics?: boolean;
  /** Labels of the process-level metrics, e.g. `{ process: 'api-2' }`: which process of a clustered API they describe. */
  processLabels?: Record<string, string>;
  /** What GET /metrics serves; default this registry's text. A clustered API process asks its primary for every process's. */
  scrape?: () => Promise<string>;
}

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, ...(opts.processLabels ? { labels: opts.processLabels } : {}) });
  const r = [registry];
  const inFlight = { value: 0 };
  new Gauge({ name: 'http_requests_in_flight', help: 'HTTP requests being served', registers: r, collect() { this.set(inFlight.value); } });
  return {
    registry,
    /** The Prometheus text GET /metrics answers (content type: registry.contentType). */
    scrape: opts.scrape ?? (() => registry.metrics()),
    httpRequests: new HotCounter('http_requests_total', 'HTTP requests by route template, method and status', ['route', 'method', 'status'], registry),
    httpDuration: new HotHistogram('http_request_duration_seconds', 'HTTP request latency', ['route', 'method'], LATENCY_BUCKETS, registry),
    /** Requests being served; read into the gauge at scrape time. */
    httpInFlight: inFlight,
    predictions: new HotCounter('predictions_total', 'Predict requests answered, by model and version', ['model', 'version'], registry),
    predictionRows: new HotCounter('prediction_rows_total', 'Rows predicted, by model and version', ['model', 'version'], registry),
    predictionWarnings: new HotCounter('prediction_warnings_total', 'Warnings on predicted rows (a fallback or a reading the caller may not have meant: unknown-team, unknown-category, out-of-range, missing-imputed, text-read), by model and kind', ['model', 'kind'], registry),
    predictionDuration: new HotHistogram('prediction_duration_seconds', 'Time to read, validate, encode, score and serialise one predict request', ['model'], LATENCY_BUCKETS, registry),
    predictionRowsPerRequest: new HotHistogram('prediction_rows', 'Rows per predict request', ['model'], ROW_BUCKETS, registry),
    modelCacheEvictions: new Counter({ name: 'model_cache_evictions_total', help: 'Model versions evicted from the serving cache (least recently used beyond MODEL_CACHE_MAX_VERSIONS)', registers: r }),
    predictionLogDropped: new Counter({ name: 'prediction_log_dropped_total', help: 'Prediction log entries dropped (queue full or database unavailable)', registers: r }),
    runsStarted: new Counter({ name: 'pipeline_runs_started_total', help: 'Pipeline runs started', labelNames: ['pipeline'] as const, registers: r }),
    runsFinished: new Counter({ name: 'pipeline_runs_finished_total', help: 'Pipeline runs finished, by outcome and (for failures) stage', labelNames: ['pipeline', 'outcome', 'stage'] as const, registers: r }),
    stageDuration: new Histogram({ name: 'pipeline_stage_duration_seconds', help: 'Duration of a pipeline stage attempt', labelNames: ['pipeline', 'stage'] as const, buckets: STAGE_BUCKETS, registers: r }),
    modelMetric: new Gauge({ name: 'model_evaluation_metric', help: 'Held-out evaluation metrics of the model an alias points at', labelNames: ['model', 'alias', 'metric'] as const, registers: r, aggregator: REGISTRY_STATE }),
    aliasVersion: new Gauge({ name: 'model_alias_version', help: 'Version an alias points at', labelNames: ['model', 'alias'] as const, registers: r, aggregator: REGISTRY_STATE }),
    monitorBreach: new Gauge({ name: 'model_monitor_breach', help: 'Whether the latest monitored window of a model breached (1) or not (0)', labelNames: ['model'] as const, registers: r, aggregator: REGISTRY_STATE }),
    monitorWindowEnd: new Gauge({ name: 'model_monitor_window_end_seconds', help: 'End of the latest monitored window of a model (Unix seconds)', labelNames: ['model'] as const, registers: r, aggregator: REGISTRY_STATE }),
    monitorFindings: new Gauge({ name: 'model_monitor_findings', help: 'Findings of the latest monitored window, by check (ks, chiSquare, psi, fallbackRate, liveQuality, ...)', labelNames: ['model', 'check'] as const, registers: r, aggregator: REGISTRY_STATE }),
    monitorFallbackRate: new Gauge({ name: 'model_monitor_fallback_rate', help: 'Share of the latest window\'s predictions answered for a team or category the model never saw', labelNames: ['model'] as const, registers: r, aggregator: REGISTRY_STATE }),
    monitorDriftPsi: new Gauge({ name: 'model_monitor_drift_psi', help: 'Population stability index of a served input (or the prediction) in the latest window against training', labelNames: ['model', 'column'] as const, registers: r, aggregator: REGISTRY_STATE }),
    liveQuality: new Gauge({ name: 'model_live_quality', help: 'Live quality over the latest monitored window from fed-back outcomes, by metric', labelNames: ['model', 'version', 'metric'] as const, registers: r, aggregator: REGISTRY_STATE }),
    liveQualityDegradation: new Gauge({ name: 'model_live_quality_degradation', help: 'How much worse live quality is than offline on the pipeline\'s metric (positive: worse), latest window', labelNames: ['model', 'metric'] as const, registers: r, aggregator: REGISTRY_STATE }),
    promotionThreshold: new Gauge({ name: 'model_promotion_threshold', help: 'The pipeline promotion threshold, when it has one', labelNames: ['model', 'metric'] as const, registers: r, aggregator: REGISTRY_STATE }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
