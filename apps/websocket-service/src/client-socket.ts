import type { Socket } from 'node:net';
import { type RawData, WebSocket } from 'ws';
import { PING_FRAME } from './frames.js';
import type { InboundBucket } from './inbound-budget.js';

/**
 * Where a socket stands with the history (when the service keeps one):
 * - `SYNCING`: admitted, its `ws.synced`/`ws.resync` not sent yet; positioned live messages are
 *   not sent to it (the history read that syncs it covers them);
 * - `LIVE`: synced; it gets the positioned message after {@link ClientSocket.position} next;
 * - `ADOPT`: its history could not be read (`history_unavailable` sent): it takes the next
 *   positioned live message, whatever its position, and is live again from there.
 */
export const syncStates = { SYNCING: 0, LIVE: 1, ADOPT: 2 } as const;
/** One of {@link syncStates}. */
export type SyncState = (typeof syncStates)[keyof typeof syncStates];

/**
 * What the service does when ws emits an event on a socket: one object shared by every socket
 * (`ClientSocket.events`), instead of five listeners on each. A socket's listeners live in a
 * dictionary that grows with each event name, about 0.2 KiB per idle socket for five.
 */
export interface SocketEvents {
  message(socket: ClientSocket, data: RawData, isBinary: boolean): void;
  ping(socket: ClientSocket, data: Buffer): void;
  pong(socket: ClientSocket): void;
  close(socket: ClientSocket): void;
  error(socket: ClientSocket, error: Error): void;
}

/**
 * One browser connection. ws builds these for us (the server's `WebSocket` option), so the little
 * state the service needs per socket lives on the socket itself: no side map, no closure per
 * socket, no copy of the request or the token.
 */
export class ClientSocket extends WebSocket implements InboundBucket {
  /**
   * The TCP connection under this WebSocket, for prebuilt frames (`frames.ts`): written to only
   * while the socket is OPEN, after ws's own writes, so frames never interleave.
   */
  transport: Socket | undefined = undefined;
  /**
   * Where ws's `message`, `ping`, `pong`, `close` and `error` events go (set when the upgrade
   * completes). Listeners added with `on` still get them as well.
   */
  events: SocketEvents | undefined = undefined;
  /** The authenticated user (the token's `sub`); empty until the socket is admitted. */
  userId = '';
  /** Epoch ms after which the token is no longer accepted (`exp` plus clock tolerance). */
  expiresAt = 0;
  /**
   * The token's `iat`, epoch seconds (`undefined`: it had none), so a revocation of tokens issued
   * before a time can find this socket (see `revocation-sweep.ts`).
   */
  issuedAt: number | undefined = undefined;
  /** Whether the peer showed a sign of life since the last keepalive ping. */
  alive = true;
  /** When the keepalive last pinged this socket (`Date.now()`). */
  pingedAt = 0;
  /** Inbound frames this socket may still send now (its token bucket, see `inbound-budget.ts`). */
  inboundTokens = 0;
  /** When {@link inboundTokens} was last counted (`performance.now()`). */
  inboundCountedAt = 0;
  /** History: see {@link syncStates}. Sockets of a service without history stay `LIVE`. */
  syncState: SyncState = syncStates.LIVE;
  /**
   * History: the position of the last positioned message this socket has (sent to it, or, while
   * syncing a resume, the one the client said it had).
   */
  position = 0;
  /** History: the epoch of {@link position}; `''` when none is known (then the position is 0). */
  epoch = '';
  /** History, while syncing: true for a resume, false for a first connect. */
  resumed = false;
  /** History, while syncing a first connect: how many recent messages to replay. */
  recent = 0;
  /**
   * History, while syncing a first connect: the position of the first positioned live message
   * held back from it (0: none yet). It was published after the socket was admitted, so the
   * socket gets it (and what followed) from the history although a first connect replays only
   * `recent` otherwise.
   */
  syncFrom = 0;
  /** History: the epoch of {@link syncFrom}. */
  syncFromEpoch = '';
  /** History: whether the read in flight asked for the entries from {@link syncFrom}. */
  syncFromAsked = false;

  /**
   * History: a positioned live message is being held back from this socket while it syncs. A
   * first connect notes the first one: it was published after the socket was admitted, so it
   * must reach the socket from the history (see {@link syncFrom}).
   */
  noteHeldBack(position: number, epoch: string): void {
    if (this.syncState !== syncStates.SYNCING || this.resumed || this.syncFrom !== 0) return;
    this.syncFrom = position;
    this.syncFromEpoch = epoch;
  }

  /** Hands ws's events to {@link events} first, then to any listener. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const events = this.events;
    if (events !== undefined) {
      switch (event) {
        case 'message':
          events.message(this, args[0] as RawData, args[1] as boolean);
          break;
        case 'ping':
          events.ping(this, args[0] as Buffer);
          break;
        case 'pong':
          events.pong(this);
          break;
        case 'close':
          events.close(this);
          break;
        case 'error':
          events.error(this, args[0] as Error);
          break;
        default:
          return super.emit(event, ...args);
      }
      // An 'error' nobody else listens to is handled: EventEmitter would throw it.
      if (this.listenerCount(event) === 0) return true;
    }
    return super.emit(event, ...args);
  }

  /**
   * Sends an empty protocol ping: the prebuilt frame written to the TCP connection (one shared
   * two-byte buffer for every socket), or ws's `ping()` before the transport is known.
   */
  sendPing(): void {
    if (this.transport === undefined) this.ping();
    else this.transport.write(PING_FRAME);
  }
}
