import type { ClientSocket } from './client-socket.js';
import type { ServiceMetrics } from './metrics.js';
import type { RateLimitedLog } from './rate-limited-log.js';

/**
 * Drops a socket whose outbound queue passed the limit: terminated, not closed, since a close
 * frame would queue behind the backlog the peer does not read; its memory is freed now and the
 * client sees 1006 and reconnects with backoff. Counted as `slow_consumer` and logged at a
 * bounded rate. The caller compares `bufferedAmount` with the limit itself (the hot path).
 */
export function dropSlowConsumer(
  socket: ClientSocket,
  limit: number,
  metrics: ServiceMetrics,
  dropLog: RateLimitedLog,
  message: string,
): void {
  const bufferedBytes = socket.bufferedAmount;
  socket.terminate();
  metrics.serverClosed('slow_consumer');
  dropLog.warn('slow_consumer', { userId: socket.userId, bufferedBytes, limit }, message);
}
