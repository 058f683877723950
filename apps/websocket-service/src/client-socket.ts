import type { Socket } from 'node:net';
import { type RawData, WebSocket } from 'ws';
import { PING_FRAME } from './frames.js';
import { type SyncedSocket, type SyncState, syncStates } from './history/socket-state.js';
import type { InboundBucket } from './limits/inbound-budget.js';

/**
 * What the service does when ws emits an event on a socket: one object shared by every socket
 * (`ClientSocket.events`), instead of five listeners on each. A socket's listeners live in a
 * dictionary that grows with each event name, kept for as long as the socket is open.
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
export class ClientSocket extends WebSocket implements InboundBucket, SyncedSocket {
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
   * before a time can find this socket (see `revocation/sweep.ts`).
   */
  issuedAt: number | undefined = undefined;
  /** Whether the peer showed a sign of life since the last keepalive ping. */
  alive = true;
  /** When the keepalive last pinged this socket (`Date.now()`). */
  pingedAt = 0;
  /** Inbound frames this socket may still send now (its bucket: `limits/inbound-budget.ts`). */
  inboundTokens = 0;
  /** When {@link inboundTokens} was last counted (`performance.now()`). */
  inboundCountedAt = 0;
  // The history state (`history/socket-state.ts` owns it: read there what each field means).
  syncState: SyncState = syncStates.LIVE;
  position = 0;
  epoch = '';
  resumed = false;
  recent = 0;
  syncFrom = 0;
  syncFromEpoch = '';
  syncFromAsked = false;

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
