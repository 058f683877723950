import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { WorkerSetState } from '../health.js';
import type { MetricsExposition } from '../server.js';

/**
 * The few messages the cluster primary and its workers exchange over Node's IPC channel, in one
 * place so both ends agree. Every type starts with `huleedu:` so they never collide with Node's
 * own cluster messages or a library's. Messages are small and bounded: a state report, an id,
 * or one metrics snapshot per scrape.
 */

/** Environment variable through which the primary gives a worker its slot (0..N-1). */
export const WORKER_SLOT_ENV = 'WEBSOCKET_WORKER_SLOT';

/** One worker's metrics, as `registry.getMetricsAsJSON()` returns them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Worker -> primary. */
export type WorkerMessage =
  /** Sent as soon as the worker listens, then periodically: a heartbeat with its readiness. */
  | { readonly type: 'huleedu:worker-state'; readonly port: number; readonly ready: boolean }
  /** A `/metrics` scrape landed on this worker: please gather every worker's metrics. */
  | { readonly type: 'huleedu:metrics-request'; readonly id: number }
  /** This worker's answer to a `metrics-collect`. */
  | {
      readonly type: 'huleedu:metrics-snapshot';
      readonly id: number;
      readonly metrics?: MetricsSnapshot;
      readonly error?: string;
    };

/** Primary -> worker. */
export type PrimaryMessage =
  /** The whole set's readiness, sent to every worker when it changes and to each newcomer. */
  | { readonly type: 'huleedu:cluster-state'; readonly state: WorkerSetState }
  /** Send your metrics snapshot for gathering `id`. */
  | { readonly type: 'huleedu:metrics-collect'; readonly id: number }
  /** The answer to the worker's `metrics-request` `id`: what `/metrics` should respond. */
  | {
      readonly type: 'huleedu:metrics-result';
      readonly id: number;
      readonly exposition: MetricsExposition;
    };

const workerTypes = new Set<string>([
  'huleedu:worker-state',
  'huleedu:metrics-request',
  'huleedu:metrics-snapshot',
]);
const primaryTypes = new Set<string>([
  'huleedu:cluster-state',
  'huleedu:metrics-collect',
  'huleedu:metrics-result',
]);

function typeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/** Whether an IPC message is one of ours from a worker (anything else is ignored). */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return workerTypes.has(typeOf(value) ?? '');
}

/** Whether an IPC message is one of ours from the primary (anything else is ignored). */
export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return primaryTypes.has(typeOf(value) ?? '');
}
