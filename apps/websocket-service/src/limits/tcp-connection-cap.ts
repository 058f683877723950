import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Why the cap closed a TCP connection (label values of its counter). */
export type TcpDropReason = 'idle_evicted' | 'capacity';

/** Every {@link TcpDropReason}, for metrics that start each series at 0. */
export const tcpDropReasons: readonly TcpDropReason[] = ['idle_evicted', 'capacity'];

/** What {@link TcpConnectionCap} needs. */
export interface TcpConnectionCapOptions {
  /** TCP connections of every kind (idle, HTTP, WebSocket) the process holds at most. */
  readonly maxConnections: number;
  /** Told of every connection the cap closed. */
  readonly onDrop?: (reason: TcpDropReason, open: number) => void;
}

/**
 * A hard cap on the TCP connections one process holds, below its open-file limit, so accepting
 * never fails for want of a descriptor (which would reset health probes and every client alike).
 *
 * Connections that have not sent a request yet, or sit idle between keep-alive requests, cost
 * the attacker nothing and the service a descriptor each; the request timeout ends them after a
 * few seconds, but a fast enough flood holds thousands at once. At the cap, a new connection
 * takes the place of the oldest such idle one (closed without an answer), so a health probe or a
 * teacher's handshake, which sends its request at once, always gets in, and a flood only churns
 * through its own connections. Only when every connection is busy (WebSockets, requests in
 * flight) is the new one closed instead. Upgraded connections are never evicted: their number
 * is bounded by the connection budget (`WEBSOCKET_MAX_CONNECTIONS`), kept below this cap.
 */
export class TcpConnectionCap {
  readonly #options: TcpConnectionCapOptions;
  /** Every connection counted (a Set: eviction uncounts a socket before its close event). */
  readonly #open = new Set<Duplex>();
  /** Connections with no request in flight, oldest first (Sets keep insertion order). */
  readonly #idle = new Set<Duplex>();
  #dropped = 0;

  constructor(options: TcpConnectionCapOptions) {
    if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) {
      throw new Error(
        `maxConnections must be a positive integer, got ${String(options.maxConnections)}`,
      );
    }
    this.#options = options;
  }

  /** TCP connections held now. */
  get open(): number {
    return this.#open.size;
  }

  /** Connections the cap closed so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Counts the connections of `server` from now on. */
  attach(server: Server): void {
    const open = this.#open;
    const idle = this.#idle;
    // Handlers shared by every connection (`this` is the socket or the response): no closures.
    function onClose(this: Duplex): void {
      open.delete(this);
      idle.delete(this);
    }
    function onResponseDone(this: ServerResponse): void {
      const socket = this.req.socket;
      // Keep-alive: idle again until its next request (or its keep-alive timeout).
      if (open.has(socket) && !socket.destroyed) idle.add(socket);
    }
    server.on('connection', (socket: Socket) => {
      if (open.size >= this.#options.maxConnections && !this.#makeRoom()) {
        socket.destroy();
        this.#drop('capacity');
        return;
      }
      open.add(socket);
      idle.add(socket);
      // `on`, not `once`: a socket closes once, and `once` would add a wrapper per socket.
      socket.on('close', onClose);
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      idle.delete(request.socket);
      response.once('close', onResponseDone);
    });
    // A WebSocket (or a refused handshake, closed right after its answer): never idle again.
    server.on('upgrade', (request: IncomingMessage) => {
      idle.delete(request.socket);
    });
  }

  /** Closes the oldest idle connection; false when every connection is busy. */
  #makeRoom(): boolean {
    const oldest = this.#idle.values().next().value;
    if (oldest === undefined) return false;
    this.#idle.delete(oldest);
    this.#open.delete(oldest);
    oldest.destroy();
    this.#drop('idle_evicted');
    return true;
  }

  #drop(reason: TcpDropReason): void {
    this.#dropped++;
    this.#options.onDrop?.(reason, this.#open.size);
  }
}
