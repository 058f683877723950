import { isReservedEvent } from '@huleedu/ws-protocol';
import type { ClientSocket } from './client-socket.js';
import { OPEN, textFrame } from './frames.js';
import { acceptLive, liveVerdicts } from './history/socket-state.js';
import type { LiveHistory } from './history/sync.js';
import { writeFrameWithinLimit } from './limits/slow-consumer.js';
import type { ServiceMetrics } from './metrics.js';
import { dropReservedEvent, parsePayload } from './payload.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import type { ConnectionRegistry } from './registry.js';
import { isUserCommand, type UserCommandHandler } from './user-commands.js';

/** What {@link createDelivery} needs. */
export interface DeliveryOptions {
  readonly registry: ConnectionRegistry<ClientSocket>;
  readonly metrics: ServiceMetrics;
  /** Where drops are logged, at a bounded rate (a broken publisher can send thousands a second). */
  readonly dropLog: RateLimitedLog;
  /**
   * A socket whose queued outbound bytes exceed this when a frame is due is dropped as a slow
   * consumer instead of growing the service's memory without bound.
   */
  readonly maxBufferedBytes: number;
  /**
   * The history (absent with `WEBSOCKET_HISTORY=off`: every message is sent to every socket as
   * it comes, positioned or not).
   */
  readonly history?: LiveHistory;
  /**
   * Acts on a command for the service itself (`ws.disconnect`, see `user-commands.ts`). Such a
   * message is never forwarded to a browser, with or without a handler.
   */
  readonly onUserCommand?: UserCommandHandler;
}

/** Delivers one Redis payload (its raw bytes) to every local socket of a user. */
export type Deliver = (userId: string, payload: Buffer) => void;

const { SEND, DUPLICATE, GAP } = liveVerdicts;

/**
 * The fan-out step. Each payload is validated once per instance (not once per socket), framed
 * once (`frames.ts`: header and payload in one new Buffer), and that same frame is written to the
 * TCP connection of every socket of the user, so the bytes
 * a backend published (legacy Python `{"event","data"}` included) reach the browser unchanged.
 * Payloads that are not UTF-8 (a browser fails the connection on such a text frame) or not a
 * `{event, data}` envelope (the shared zod `envelopeSchema`, loose: extra fields pass) are dropped
 * with a warning and a metric, never forwarded. `data` itself is not checked here: a legacy
 * publisher's incomplete `data` still reaches the browser, whose client decides.
 *
 * With history, a positioned message (a whole `position` >= 1 and a string `epoch`) reaches a
 * socket only in order: `acceptLive` (`history/socket-state.ts`) answers send, duplicate, gap
 * (the user's history is read to fill it, `history/sync.ts`) or hold, and while a user's history
 * is being read the message is held back from all its sockets. Messages without a position
 * (legacy raw PUBLISH) are sent as they come and counted.
 *
 * A command for the service itself (`ws.disconnect`) is handed to `onUserCommand` and never
 * forwarded; any other `ws.*` event (the service's own namespace) is dropped, counted and logged.
 */
export function createDelivery({
  registry,
  metrics,
  dropLog,
  maxBufferedBytes,
  history,
  onUserCommand,
}: DeliveryOptions): Deliver {
  return (userId, payload) => {
    metrics.redisMessages++;
    const sockets = registry.socketsOf(userId);
    if (sockets === undefined) {
      // The user's last socket left before the UNSUBSCRIBE reached Redis.
      metrics.unroutedMessages++;
      return;
    }
    const parsed = parsePayload(payload);
    if (!parsed.ok) {
      metrics.malformedPayloads++;
      dropLog.warn(
        'malformed_payload',
        { userId, reason: parsed.reason, bytes: payload.length },
        'dropped malformed notification payload',
      );
      return;
    }
    if (isUserCommand(parsed.envelope)) {
      onUserCommand?.(userId, parsed.envelope);
      return;
    }
    // Only the service speaks `ws.*` to browsers: a client would take such a message from a
    // publisher for the service's own control message.
    if (isReservedEvent(parsed.envelope.event)) {
      dropReservedEvent(metrics, dropLog, userId, parsed.envelope.event);
      return;
    }
    const { position, epoch } = parsed.envelope;
    const positioned =
      typeof epoch === 'string' && typeof position === 'number' && Number.isInteger(position);
    if (!positioned || position < 1) {
      metrics.unpositionedMessages++;
    } else if (history !== undefined) {
      if (history.hold(userId, position, epoch)) return;
      // One latency observation per message, after its last socket write.
      if (deliverInOrder(sockets, payload, position, epoch, history, userId) > 0) {
        metrics.deliveredLive(parsed.envelope.published_ms);
      }
      return;
    }
    // One frame (a copy) for all sockets: ioredis may reuse the memory behind `payload` for later
    // replies while a slow socket still has this frame queued.
    if (send(sockets, textFrame(payload)) > 0) metrics.deliveredLive(parsed.envelope.published_ms);
  };

  /** Sends `frame` to every open socket of a user; returns how many got it. */
  function send(sockets: readonly ClientSocket[], frame: Buffer): number {
    let delivered = 0;
    for (let i = 0; i < sockets.length; i++) {
      const socket = sockets[i]!;
      if (socket.readyState !== OPEN) continue;
      if (write(socket, frame)) delivered++;
    }
    metrics.framesDelivered += delivered;
    return delivered;
  }

  /**
   * Sends a positioned message to each socket it is next for (see the function comment); returns
   * how many got it.
   */
  function deliverInOrder(
    sockets: readonly ClientSocket[],
    payload: Buffer,
    position: number,
    epoch: string,
    live: LiveHistory,
    userId: string,
  ): number {
    let frame: Buffer | undefined;
    let delivered = 0;
    let gap = false;
    for (let i = 0; i < sockets.length; i++) {
      const socket = sockets[i]!;
      if (socket.readyState !== OPEN) continue;
      const verdict = acceptLive(socket, position, epoch);
      if (verdict === SEND) {
        frame ??= textFrame(payload);
        if (write(socket, frame)) delivered++;
      } else if (verdict === DUPLICATE) {
        metrics.duplicatesDropped++;
      } else if (verdict === GAP) {
        gap = true;
      }
    }
    metrics.framesDelivered += delivered;
    if (gap) live.gap(userId);
    return delivered;
  }

  /** Writes one frame within the outbound-buffer limit; false (socket dropped) over it. */
  function write(socket: ClientSocket, frame: Buffer): boolean {
    return writeFrameWithinLimit(socket, frame, maxBufferedBytes, metrics, dropLog);
  }
}
