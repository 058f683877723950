/** What readiness depends on. */
export interface HealthSources {
  readonly redisConnected: () => boolean;
  readonly draining: () => boolean;
}

/** Why the instance is not ready. */
export type NotReadyReason = 'redis_disconnected' | 'draining';

/** The readiness verdict and, when not ready, every reason. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly NotReadyReason[];
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
