import { isUtf8 } from 'node:buffer';
import { envelopeSchema, parseEnvelope } from '@huleedu/ws-protocol';
import { WebSocket } from 'ws';
import { z } from 'zod';
import type { ClientSocket } from './client-socket.js';
import type { ServiceMetrics } from './metrics.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import type { ConnectionRegistry } from './registry.js';
import { dropSlowConsumer } from './slow-consumer.js';
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
   * Acts on a command for the service itself (`ws.disconnect`, see `user-commands.ts`). Such a
   * message is never forwarded to a browser, with or without a handler.
   */
  readonly onUserCommand?: UserCommandHandler;
}

/** Delivers one Redis payload (its raw bytes) to every local socket of a user. */
export type Deliver = (userId: string, payload: Buffer) => void;

// The shared envelope schema as zod compiles it: the same checks and messages, without zod's
// per-node dispatch on every payload (see docs/benchmarks.md for what validation costs).
const envelope = z.compile(envelopeSchema);

// Shared by every send: ws frames a Buffer as binary unless told otherwise.
const TEXT_FRAME = { binary: false } as const;

/**
 * The fan-out step. Each payload is validated once per instance (not once per socket), copied
 * once, and the same Buffer is written to every socket of the user as a text frame, so the bytes
 * a backend published (legacy Python `{"event","data"}` included) reach the browser unchanged.
 * Payloads that are not UTF-8 (a browser fails the connection on such a text frame) or not a
 * `{event, data}` envelope (the shared zod `envelopeSchema`, loose: extra fields pass) are dropped
 * with a warning and a metric, never forwarded. `data` itself is not checked here: a legacy
 * publisher's incomplete `data` still reaches the browser, whose client decides. A command for
 * the service itself (`ws.disconnect`) is handed to `onUserCommand` and never forwarded.
 */
export function createDelivery({
  registry,
  metrics,
  dropLog,
  maxBufferedBytes,
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
    const parsed = isUtf8(payload)
      ? parseEnvelope(payload.toString('utf8'), envelope)
      : ({ ok: false, reason: 'not UTF-8' } as const);
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
    // One copy for all sockets: ioredis may reuse the memory behind `payload` for later replies
    // while a slow socket still has this frame queued.
    const frame = Buffer.from(payload);
    let delivered = 0;
    for (let i = 0; i < sockets.length; i++) {
      const socket = sockets[i]!;
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount > maxBufferedBytes) {
        dropSlowConsumer(socket, maxBufferedBytes, metrics, dropLog, 'dropped slow consumer');
        continue;
      }
      socket.send(frame, TEXT_FRAME);
      delivered++;
    }
    metrics.framesDelivered += delivered;
  };
}
