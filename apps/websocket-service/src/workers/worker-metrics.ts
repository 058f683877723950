import {
  AggregatorRegistry,
  Counter,
  Gauge,
  type PrometheusContentType,
  Registry,
} from 'prom-client';
import { METRIC_PREFIX } from '../metrics.js';
import type { MetricsExposition } from '../server.js';
import type { MetricsSnapshot } from './messages.js';

/** What the primary knows about its workers, read at scrape time. */
export interface PrimaryMetricSources {
  /** Configured workers (`WEBSOCKET_WORKERS`). */
  readonly configured: () => number;
  /** Workers that currently report ready. */
  readonly ready: () => number;
  /** Workers restarted after an unexpected exit since the primary started. */
  readonly restarts: () => number;
}

/**
 * `/metrics` for the whole multi-process service, built in the primary: every worker's snapshot
 * combined with prom-client's aggregators (`AggregatorRegistry.aggregate`: counters and gauges
 * summed per label set, process start time omitted, event-loop lag averaged, version taken from
 * the first), plus a few metrics only the primary knows (configured, ready, restarted workers).
 */
export class WorkerMetrics {
  readonly #own = new Registry();

  constructor(sources: PrimaryMetricSources) {
    const registers = [this.#own];
    new Gauge({
      name: `${METRIC_PREFIX}workers`,
      help: 'Worker processes configured (WEBSOCKET_WORKERS)',
      registers,
      collect() {
        this.set(sources.configured());
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}workers_ready`,
      help: 'Worker processes currently reporting ready',
      registers,
      collect() {
        this.set(sources.ready());
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}worker_restarts_total`,
      help: 'Worker processes restarted after an unexpected exit',
      registers,
      collect() {
        this.reset();
        this.inc(sources.restarts());
      },
    });
  }

  /** The Prometheus text for the given worker snapshots (one per worker that answered). */
  async render(snapshots: readonly MetricsSnapshot[]): Promise<MetricsExposition> {
    const aggregated = AggregatorRegistry.aggregate<PrometheusContentType>([...snapshots]);
    const merged = Registry.merge([aggregated, this.#own]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}

/** The `/metrics` answer when the whole cannot be gathered now (503, JSON, with the reason). */
export function metricsUnavailable(reason: string): MetricsExposition {
  return {
    status: 503,
    contentType: 'application/json',
    body: JSON.stringify({ error: 'metrics_unavailable', reason }),
  };
}
