import { OPEN } from './frames.js';
import type { SocketCursor } from './registry.js';

/** The part of a socket the keepalive sweep uses. */
export interface KeepaliveSocket {
  alive: boolean;
  /** When this socket was last pinged (`Date.now()`); written by the sweep. */
  pingedAt: number;
  readonly readyState: number;
  /** Sends a protocol ping (see `ClientSocket.sendPing`). */
  sendPing(): void;
  terminate(): void;
}

/** What {@link startKeepalive} needs. */
export interface KeepaliveOptions<Socket extends KeepaliveSocket> {
  /** How often each socket is pinged, ms. */
  readonly intervalMs: number;
  /** How many sockets there are now (sizes each slice of the sweep). */
  readonly count: () => number;
  /** Walks the sockets a slice at a time (`ConnectionRegistry.cursor`). */
  readonly cursor: SocketCursor<Socket>;
  /** Called for each peer terminated because it did not answer the previous ping. */
  readonly onDeadPeer?: (socket: Socket) => void;
  /** How often a slice is visited, ms (default {@link KEEPALIVE_TICK_MS}, at most `intervalMs`). */
  readonly tickMs?: number;
}

/** Default {@link KeepaliveOptions.tickMs}: ten slices a second. */
export const KEEPALIVE_TICK_MS = 100;

/**
 * How late a tick may run before this process counts as stalled (on top of the tick itself and
 * at most half the interval): pongs that arrived during a shorter stall answer pings sent a
 * whole interval earlier, so they were read long ago.
 */
const STALL_GRACE_MS = 1_000;

/**
 * Protocol-level ping/pong with one timer for all sockets, spread over the interval: every tick
 * visits the next slice of the sockets, sized so that every socket is visited once per
 * `intervalMs`, and a new pass starts at most once per interval. A visited socket that showed no
 * sign of life (pong or any frame) since it was pinged, at least half an interval ago, is
 * terminated; the others are pinged. Pinging all sockets at once would stall the event loop for
 * one write per socket, and every message due meanwhile would wait; a slice is a small fraction
 * of that.
 * A dead peer is therefore gone within two intervals (three after a stall of this process),
 * without a timer per socket.
 * Returns a function that stops the sweep.
 */
export function startKeepalive<Socket extends KeepaliveSocket>(
  options: KeepaliveOptions<Socket>,
): () => void {
  const { intervalMs, cursor } = options;
  const tickMs = Math.min(intervalMs, options.tickMs ?? KEEPALIVE_TICK_MS);
  const stallMs = tickMs + Math.min(intervalMs / 2, STALL_GRACE_MS);
  // A peer has half an interval to answer a ping (a healthy one answers in milliseconds): a
  // socket whose place in the walk moved forward (users before it left) is not judged early.
  const answerMs = intervalMs / 2;
  let lastTick = Date.now();
  let passStartedAt = lastTick;
  let passDone = false;
  let now = lastTick;
  const dead: Socket[] = [];
  const visit = (socket: Socket): void => {
    if (socket.readyState !== OPEN) return;
    if (!socket.alive) {
      if (now - socket.pingedAt >= answerMs) dead.push(socket);
      return;
    }
    socket.alive = false;
    socket.pingedAt = now;
    socket.sendPing();
  };
  const tick = (): void => {
    // A tick that runs late means this process stalled (CPU starvation, a long GC pause): the
    // pongs that came in meanwhile are still unread, and judging peers now would terminate
    // healthy ones. Such a tick only pings; the slice is judged on its next visit.
    now = Date.now();
    const stalled = now - lastTick > stallMs;
    lastTick = now;
    // One pass over all sockets per interval, however few there are.
    if (passDone) {
      if (now - passStartedAt < intervalMs) return;
      passDone = false;
      passStartedAt = now;
    }
    const quota = Math.ceil((options.count() * tickMs) / intervalMs);
    if (cursor(quota, visit) < quota) passDone = true;
    // Terminated after the visit, so the registry is not changed under the iteration.
    if (!stalled) {
      for (const socket of dead) {
        socket.terminate();
        options.onDeadPeer?.(socket);
      }
    }
    dead.length = 0;
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}
