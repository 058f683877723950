import { DEFAULT_CHANNEL_PREFIX, type NotificationType, userChannel } from '@huleedu/ws-protocol';
import { type Connection, openConnection, type RedisTarget } from './connection.js';
import {
  checkMaxTokenLifetime,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  type DisconnectOptions,
  disconnectRequest,
  runDisconnect,
} from './disconnect.js';
import {
  createNotificationEnvelope,
  createRawEnvelope,
  type PublishOptions,
  type PublishPayload,
  serializeEnvelope,
} from './envelope.js';
import { NotifierError } from './errors.js';
import { assertChannelPrefix, assertUserId } from './user-id.js';

/**
 * How a message reaches a user's channel.
 * - `classic`: PUBLISH. On a single Redis this is all there is; in a Redis Cluster every node
 *   relays every message to every other node.
 * - `sharded`: SPUBLISH (Redis 7+). In a cluster the message stays on the shard that owns the
 *   channel's slot, so each shard carries only its own users' traffic. Subscribers must use
 *   SSUBSCRIBE: a PUBLISHed message never reaches an SSUBSCRIBEr, nor the other way round.
 * - `both`: PUBLISH and SPUBLISH, for moving service instances from classic to sharded without a
 *   gap: each instance subscribes in one mode only, so each hears exactly one copy.
 */
export type PublishMode = (typeof publishModes)[number];

/** Every {@link PublishMode}. */
export const publishModes = ['classic', 'sharded', 'both'] as const;

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** A redis:// URL or `{ cluster: [urls] }` (owned: closed by `close()`), or an ioredis client (borrowed: never closed). */
  redis: RedisTarget;
  /** Channel prefix; a user's channel is `<prefix>:<userId>`. Default `ws`. */
  channelPrefix?: string;
  /** PUBLISH or SPUBLISH; must match how the service subscribes. Default `classic`. */
  publishMode?: PublishMode;
  /** A publish that Redis has not answered after this long rejects with `redis_timeout`. Default 10,000. */
  publishTimeoutMs?: number;
  /**
   * The service's `JWT_MAX_LIFETIME_SECONDS` (default 86,400, the service's default): how long
   * `disconnectUser`'s `issuedBefore` is kept in Redis. Must not be lower than the service's
   * setting, or old tokens pass again once the key has expired.
   */
  maxTokenLifetimeSeconds?: number;
}

/** Publishes notifications to users' Redis channels. Create one per process and reuse it. */
export interface Notifier {
  /** The channel prefix in use. */
  readonly channelPrefix: string;
  /** PUBLISH or SPUBLISH. */
  readonly publishMode: PublishMode;
  /**
   * Publishes a catalogue notification to every open tab of `userId`. The payload is checked at
   * compile time and again at run time; the shared fields (`category`, `priority`,
   * `action_required`, `deadline`, `correlation_id`, `timestamp`) are filled from the catalogue,
   * `options` and the clock. Resolves to the number of subscribers that received it (service
   * instances with a socket of that user; 0 means nobody is listening right now).
   * Rejects with `NotificationValidationError` (bad input) or `NotifierError` (Redis failed).
   */
  publishUserNotification<T extends NotificationType>(
    userId: string,
    type: T,
    payload: PublishPayload<T>,
    options?: PublishOptions,
  ): Promise<number>;
  /**
   * Publishes any event as `{event, data, id}`, for events outside the catalogue. Only the
   * envelope shape and `userId` are checked (plus complete `data` for a catalogue event name).
   * Resolves to the number of receiving subscribers.
   */
  publish(userId: string, event: string, data: Record<string, unknown>): Promise<number>;
  /**
   * Cuts a user off: every service instance closes every socket of `userId` at once with 1008
   * `token_revoked` (the client fetches a fresh token and reconnects). With `issuedBefore`,
   * tokens issued before it are refused at the handshake too, for as long as such a token could
   * still be valid. One atomic Redis step in the user's hash slot (`lua/disconnect.lua`).
   * Resolves to the number of service instances that held a socket of the user. Rejects with
   * `NotificationValidationError` (`invalid_user_id`, `invalid_disconnect`) or `NotifierError`.
   */
  disconnectUser(userId: string, options: DisconnectOptions): Promise<number>;
  /** Closes the connection if the notifier opened it. Later publishes reject with `notifier_closed`. */
  close(): Promise<void>;
}

/** Default of {@link NotifierOptions.publishTimeoutMs}. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;

/**
 * Creates a notifier. With a URL it opens its own connection right away (failing publishes
 * quickly while Redis is down, see the README); with an ioredis client it uses that one.
 * Throws `NotifierError('invalid_options')` for unusable options.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const prefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
  assertChannelPrefix(prefix);
  const mode = options.publishMode ?? 'classic';
  if (!publishModes.includes(mode)) {
    throw new NotifierError(
      'invalid_options',
      `publishMode must be one of ${publishModes.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  }
  const timeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new NotifierError('invalid_options', 'publishTimeoutMs must be a positive number');
  }
  const maxTokenLifetimeSeconds = checkMaxTokenLifetime(
    options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  );
  const connection = openConnection(options.redis);
  let closed = false;

  async function send(userId: string, message: string): Promise<number> {
    if (closed) throw new NotifierError('notifier_closed', 'this notifier has been closed');
    const channel = userChannel(userId, prefix);
    return withTimeout(publishTo(connection, mode, channel, message), timeoutMs, () =>
      timeoutError(connection, mode, channel, timeoutMs),
    );
  }

  return {
    channelPrefix: prefix,
    publishMode: mode,
    async publishUserNotification(userId, type, payload, publishOptions) {
      assertUserId(userId);
      const envelope = createNotificationEnvelope(type, payload, publishOptions);
      return send(userId, serializeEnvelope(envelope));
    },
    async publish(userId, event, data) {
      assertUserId(userId);
      return send(userId, serializeEnvelope(createRawEnvelope(event, data)));
    },
    async disconnectUser(userId, disconnect) {
      if (closed) throw new NotifierError('notifier_closed', 'this notifier has been closed');
      assertUserId(userId);
      const request = disconnectRequest(userId, disconnect, { prefix, maxTokenLifetimeSeconds });
      const run = runDisconnect(connection.client, request, mode).catch((error: unknown) => {
        throw redisError(connection, mode, request.channel, error);
      });
      return withTimeout(run, timeoutMs, () =>
        timeoutError(connection, mode, request.channel, timeoutMs),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await connection.close();
    },
  };
}

async function publishTo(
  connection: Connection,
  mode: PublishMode,
  channel: string,
  message: string,
): Promise<number> {
  try {
    const { client } = connection;
    if (mode === 'classic') return Number(await client.publish(channel, message));
    if (mode === 'sharded') return Number(await client.spublish(channel, message));
    const [classic, sharded] = await Promise.all([
      client.publish(channel, message),
      client.spublish(channel, message),
    ]);
    return Number(classic) + Number(sharded);
  } catch (error) {
    throw redisError(connection, mode, channel, error);
  }
}

function commandName(mode: PublishMode): string {
  return { classic: 'PUBLISH', sharded: 'SPUBLISH', both: 'PUBLISH+SPUBLISH' }[mode];
}

function redisError(
  connection: Connection,
  mode: PublishMode,
  channel: string,
  error: unknown,
): NotifierError {
  const detail = error instanceof Error ? error.message : String(error);
  // ReplyError: Redis itself answered with an error (no TS typings in ioredis, hence the name).
  if (error instanceof Error && error.name === 'ReplyError') {
    return new NotifierError(
      'redis_error',
      `Redis refused ${commandName(mode)} on ${channel}: ${detail}`,
      { cause: error },
    );
  }
  // ioredis reports "Reached the max retries per request limit"; the connection error behind it
  // (ECONNREFUSED, ETIMEDOUT, NOAUTH) is what a person can act on.
  const reason = connection.lastError()?.message ?? detail;
  return new NotifierError(
    'redis_unavailable',
    `could not ${commandName(mode)} on ${channel}: Redis at ${connection.describe} is unavailable (${reason})`,
    { cause: error },
  );
}

function timeoutError(
  connection: Connection,
  mode: PublishMode,
  channel: string,
  timeoutMs: number,
): NotifierError {
  const last = connection.lastError();
  return new NotifierError(
    'redis_timeout',
    `Redis at ${connection.describe} did not answer ${commandName(mode)} on ${channel} within ${timeoutMs} ms (connection ${connection.client.status}${last ? `; last connection error: ${last.message}` : ''}); the message may still be delivered later`,
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
