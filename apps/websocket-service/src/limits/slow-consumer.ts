import type { ClientSocket } from '../client-socket.js';
import type { ServiceMetrics } from '../metrics.js';
import type { RateLimitedLog } from '../rate-limited-log.js';

/**
 * Drops a socket whose outbound queue passed the limit: terminated, not closed, since a close
 * frame would queue behind the backlog the peer does not read; its memory is freed now and the
 * client sees 1006 and reconnects with backoff. Counted as `slow_consumer` and logged at a
 * bounded rate. Callers use {@link withinOutboundLimit}.
 */
function dropSlowConsumer(
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

/**
 * Whether a frame may be queued on `socket`: true while its queued outbound bytes are within
 * `limit`; over it the socket is dropped as a slow consumer (see above) and this is false.
 * Every write to a client (notifications, replays, control messages, heartbeat answers) passes
 * here, so no reader that stopped draining can grow the service's memory.
 */
export function withinOutboundLimit(
  socket: ClientSocket,
  limit: number,
  metrics: ServiceMetrics,
  dropLog: RateLimitedLog,
  message = 'dropped slow consumer',
): boolean {
  if (socket.bufferedAmount <= limit) return true;
  dropSlowConsumer(socket, limit, metrics, dropLog, message);
  return false;
}

/**
 * Writes the prebuilt text `frame` (`frames.ts`) straight to `socket`'s TCP connection within
 * the outbound limit (see {@link withinOutboundLimit}); false, the socket dropped, over it. The
 * live path and the history's replays and control messages write this way: one buffer, no `ws`
 * cork per frame. The socket must be admitted (its `transport` known) and open.
 */
export function writeFrameWithinLimit(
  socket: ClientSocket,
  frame: Buffer,
  limit: number,
  metrics: ServiceMetrics,
  dropLog: RateLimitedLog,
): boolean {
  if (!withinOutboundLimit(socket, limit, metrics, dropLog)) return false;
  socket.transport!.write(frame);
  return true;
}
