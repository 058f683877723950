/** The part of a socket the keepalive sweep uses. */
export interface KeepaliveSocket {
  alive: boolean;
  readonly readyState: number;
  ping(): void;
  terminate(): void;
}

/** What {@link startKeepalive} needs. */
export interface KeepaliveOptions<Socket extends KeepaliveSocket> {
  readonly intervalMs: number;
  /** Visits every admitted socket; the sweep does not add or remove sockets while visiting. */
  readonly forEachSocket: (visit: (socket: Socket) => void) => void;
  /** Called for each peer terminated because it did not answer the previous ping. */
  readonly onDeadPeer?: (socket: Socket) => void;
}

const OPEN = 1;

/**
 * Protocol-level ping/pong with one timer for all sockets: each sweep terminates the peers that
 * showed no sign of life (pong or any frame) since the previous sweep, then pings the rest. A
 * dead peer is therefore gone within two intervals (three after a stall of this process), without a
 * timer per socket.
 * Returns a function that stops the sweep.
 */
export function startKeepalive<Socket extends KeepaliveSocket>(
  options: KeepaliveOptions<Socket>,
): () => void {
  let lastSweep = Date.now();
  const sweep = (): void => {
    // A sweep that runs late means this process stalled (CPU starvation, a long GC pause): the
    // pongs that came in meanwhile are still unread, and judging peers now would terminate
    // healthy ones. Such a sweep only pings; the next punctual one judges.
    const now = Date.now();
    const stalled = now - lastSweep > options.intervalMs * 1.5;
    lastSweep = now;
    const dead: Socket[] = [];
    options.forEachSocket((socket) => {
      if (socket.readyState !== OPEN) return;
      if (!socket.alive) {
        if (!stalled) dead.push(socket);
        return;
      }
      socket.alive = false;
      socket.ping();
    });
    // Terminated after the visit, so the registry is not changed under the iteration.
    for (const socket of dead) {
      socket.terminate();
      options.onDeadPeer?.(socket);
    }
  };
  const timer = setInterval(sweep, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
