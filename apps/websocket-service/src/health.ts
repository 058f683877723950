/** What readiness depends on. */
export interface HealthSources {
  readonly redisConnected: () => boolean;
  readonly draining: () => boolean;
}

/** Why the instance is not ready. */
export type NotReadyReason = 'redis_disconnected' | 'draining' | 'workers_not_ready';

/** The readiness verdict and, when not ready, every reason. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly NotReadyReason[];
  /** Multi-process mode only: how many worker processes are ready, out of how many configured. */
  readonly workers?: { readonly ready: number; readonly expected: number };
}

/**
 * Ready means: the Redis subscriber is connected (notifications can flow) and the instance is
 * not shutting down. Liveness needs nothing beyond the process answering HTTP.
 */
export function checkReadiness(sources: HealthSources): Readiness {
  const reasons: NotReadyReason[] = [];
  if (!sources.redisConnected()) reasons.push('redis_disconnected');
  if (sources.draining()) reasons.push('draining');
  return { ready: reasons.length === 0, reasons };
}

/** The whole set of worker processes as the cluster primary last described it. */
export interface WorkerSetState {
  /** Workers whose last report (recent enough) said ready. */
  readonly readyWorkers: number;
  /** Configured workers (`WEBSOCKET_WORKERS`). */
  readonly workers: number;
  /** The primary is shutting the whole set down. */
  readonly draining: boolean;
}

/**
 * The readiness a worker answers on `/readyz`: a load balancer cannot choose the worker its
 * probe lands on, so one worker's answer must speak for the whole process. Ready only when this
 * worker is ready and every configured worker is. `cluster` is `undefined` until the primary
 * first reported (counted as no worker ready yet).
 */
export function withWorkerSetState(
  local: Readiness,
  cluster: WorkerSetState | undefined,
  expectedWorkers: number,
): Readiness {
  const readyWorkers = cluster?.readyWorkers ?? 0;
  const expected = cluster?.workers ?? expectedWorkers;
  const reasons = [...local.reasons];
  if (cluster?.draining === true && !reasons.includes('draining')) reasons.push('draining');
  if (readyWorkers < expected) reasons.push('workers_not_ready');
  return {
    ready: reasons.length === 0,
    reasons,
    workers: { ready: readyWorkers, expected },
  };
}
