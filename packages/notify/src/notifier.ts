import {
  DEFAULT_CHANNEL_PREFIX,
  historyKeys,
  idempotencyKey,
  type NotificationType,
  userChannel,
} from '@huleedu/ws-protocol';
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
  type EnvelopeOptions,
  type PublishPayload,
  serializeEnvelope,
} from './envelope.js';
import { NotificationValidationError, NotifierError } from './errors.js';
import {
  assertIdempotencyKey,
  type HistoryOptions,
  type HistorySettings,
  historySettings,
  idempotentMessageId,
  newEpoch,
} from './history.js';
import { runPublishScript } from './publish-script.js';
import { assertChannelPrefix, assertHashTagSafe, assertUserId } from './user-id.js';

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
   * Each user's history (the delivery guarantee): every publish is stored in the user's bounded
   * history and published live in one atomic step (`lua/publish.lua`), so the service can replay
   * what a reconnecting tab missed. Default on, with {@link DEFAULT_HISTORY_MAX_LENGTH} messages
   * for {@link DEFAULT_HISTORY_TTL_SECONDS} seconds. `false`: plain PUBLISH/SPUBLISH, nothing
   * stored, nothing replayable (and no idempotency keys).
   */
  history?: HistoryOptions | false;
  /**
   * The service's `JWT_MAX_LIFETIME_SECONDS` (default 86,400, the service's default): how long
   * `disconnectUser`'s `issuedBefore` is kept in Redis. Must not be lower than the service's
   * setting, or old tokens pass again once the key has expired.
   */
  maxTokenLifetimeSeconds?: number;
}

/** Per-publish choices that concern delivery rather than the message. */
export interface DeliveryOptions {
  /**
   * Makes a retry safe: a publish whose key this user's history has seen within
   * `history.idempotencyTtlSeconds` publishes nothing and resolves to the first publish's
   * position with `duplicate: true`. 1 to 200 characters, no whitespace or control characters,
   * e.g. `batch-42:results-ready`. The message id is derived from it, so a retry has the same id.
   * Needs history (a notifier with `history: false` rejects it).
   */
  idempotencyKey?: string;
}

/** Options of {@link Notifier.publishUserNotification}: the message's shared fields and delivery. */
export interface PublishOptions extends EnvelopeOptions, DeliveryOptions {}

/** What a publish did. */
export interface PublishResult {
  /** The message's `id` in the envelope: a UUID (derived from the idempotency key when one was given). */
  id: string;
  /** The message's position in the user's history (1, 2, 3, ...); `null` when history is off. */
  position: number | null;
  /** The history's epoch the position belongs to; `null` when history is off. */
  epoch: string | null;
  /**
   * Subscribers that received it live: service instances holding a socket of the user (in a
   * cluster with classic PUBLISH, only those on the node that ran it). 0 when nobody listens, and
   * for a duplicate.
   */
  receivers: number;
  /** True when the idempotency key had been seen: nothing was published this time. */
  duplicate: boolean;
}

/** Publishes notifications to users' Redis channels. Create one per process and reuse it. */
export interface Notifier {
  /** The channel prefix in use. */
  readonly channelPrefix: string;
  /** PUBLISH or SPUBLISH. */
  readonly publishMode: PublishMode;
  /** The history retention in use, or `null` when history is off. */
  readonly history: HistorySettings | null;
  /**
   * Publishes a catalogue notification to every open tab of `userId`, and (history on) stores it
   * in the user's history first, atomically. The payload is checked at compile time and again at
   * run time; the shared fields (`category`, `priority`, `action_required`, `deadline`,
   * `correlation_id`, `timestamp`) are filled from the catalogue, `options` and the clock.
   * Resolves to a {@link PublishResult}. Rejects with `NotificationValidationError` (bad input,
   * nothing sent) or `NotifierError` (Redis failed; retry with the same `idempotencyKey` to
   * publish exactly once).
   */
  publishUserNotification<T extends NotificationType>(
    userId: string,
    type: T,
    payload: PublishPayload<T>,
    options?: PublishOptions,
  ): Promise<PublishResult>;
  /**
   * Publishes any event as `{event, data, id}`, for events outside the catalogue, the same way.
   * Only the envelope shape and `userId` are checked (plus complete `data` for a catalogue event
   * name). Resolves to a {@link PublishResult}.
   */
  publish(
    userId: string,
    event: string,
    data: Record<string, unknown>,
    options?: DeliveryOptions,
  ): Promise<PublishResult>;
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
 * Throws `NotifierError('invalid_options')` for unusable options, naming the option.
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
  const history = historySettings(options.history);
  if (history) Object.freeze(history);
  if (history) assertHashTagSafe(prefix, 'channelPrefix');
  if (history && keyPrefixOf(options.redis)) {
    throw new NotifierError(
      'invalid_options',
      `redis: the client has keyPrefix ${JSON.stringify(keyPrefixOf(options.redis))}, which ioredis would put before the history keys but not the channel, so the service would not find the history; pass a client without keyPrefix (or history: false)`,
    );
  }
  const connection = openConnection(options.redis);
  const route: Route = { connection, mode, durable: history !== null };
  let closed = false;

  async function send(
    userId: string,
    envelope: { event: string; data: object; id: string },
    delivery: DeliveryOptions | undefined,
  ): Promise<PublishResult> {
    const key = delivery?.idempotencyKey;
    if (key !== undefined) {
      assertIdempotencyKey(key);
      if (!history) {
        throw new NotificationValidationError(
          'invalid_idempotency_key',
          'idempotencyKey needs the history, which this notifier has turned off (history: false): a plain PUBLISH cannot tell a retry from a new message',
        );
      }
    }
    const channel = userChannel(userId, prefix);
    const id = key === undefined ? envelope.id : idempotentMessageId(channel, key);
    const identified = { ...envelope, id };
    const message = serializeEnvelope(identified);
    if (closed) throw new NotifierError('notifier_closed', 'this notifier has been closed');
    const sent = history
      ? publishDurably(route, history, { userId, prefix, channel, message, key })
      : publishLive(route, channel, message).then((receivers) => ({
          position: null,
          epoch: null,
          receivers,
          duplicate: false,
        }));
    const outcome = await withTimeout(sent, timeoutMs, () =>
      timeoutError(route, channel, timeoutMs),
    );
    return { id, ...outcome };
  }

  return {
    channelPrefix: prefix,
    publishMode: mode,
    history,
    async publishUserNotification(userId, type, payload, publishOptions) {
      assertUserId(userId);
      if (history) assertHashTagSafe(userId, 'userId');
      return send(
        userId,
        createNotificationEnvelope(type, payload, publishOptions),
        publishOptions,
      );
    },
    async publish(userId, event, data, delivery) {
      assertUserId(userId);
      if (history) assertHashTagSafe(userId, 'userId');
      return send(userId, createRawEnvelope(event, data), delivery);
    },
    async disconnectUser(userId, disconnect) {
      if (closed) throw new NotifierError('notifier_closed', 'this notifier has been closed');
      assertUserId(userId);
      // The revocation key sits in the hash slot of the channel, whether history is on or not.
      assertHashTagSafe(userId, 'userId');
      assertHashTagSafe(prefix, 'channelPrefix');
      if (keyPrefixOf(options.redis)) {
        throw new NotifierError(
          'invalid_options',
          `redis: the client has keyPrefix ${JSON.stringify(keyPrefixOf(options.redis))}, which ioredis would put before the revocation key but not the channel, so the service would not find it; pass a client without keyPrefix`,
        );
      }
      const request = disconnectRequest(userId, disconnect, { prefix, maxTokenLifetimeSeconds });
      const disconnectRoute: Route = { ...route, durable: false, script: 'lua/disconnect.lua' };
      const run = runDisconnect(connection.client, request, mode).catch((error: unknown) => {
        throw redisError(disconnectRoute, request.channel, error);
      });
      return withTimeout(run, timeoutMs, () =>
        timeoutError(disconnectRoute, request.channel, timeoutMs),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await connection.close();
    },
  };
}

/** The `keyPrefix` of a caller-supplied ioredis client, if it has one. */
function keyPrefixOf(target: RedisTarget): string | undefined {
  if (typeof target !== 'object' || target === null || !('options' in target)) return undefined;
  const options = target.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
  const prefix = options.keyPrefix ?? options.redisOptions?.keyPrefix;
  return typeof prefix === 'string' && prefix !== '' ? prefix : undefined;
}

/** Where and how a notifier publishes, for sending and for error messages. */
interface Route {
  connection: Connection;
  mode: PublishMode;
  /** True when publishes go through lua/publish.lua (history on). */
  durable: boolean;
  /** Another script this send runs instead (`lua/disconnect.lua`), for error messages. */
  script?: string;
}

interface DurablePublish {
  userId: string;
  prefix: string;
  channel: string;
  message: string;
  key: string | undefined;
}

async function publishDurably(
  route: Route,
  history: HistorySettings,
  publish: DurablePublish,
): Promise<Omit<PublishResult, 'id'>> {
  const { stream, meta } = historyKeys(publish.userId, publish.prefix);
  const keys = [stream, meta];
  if (publish.key !== undefined)
    keys.push(idempotencyKey(publish.userId, publish.key, publish.prefix));
  try {
    return await runPublishScript(route.connection.client, {
      keys,
      args: [
        publish.channel,
        publish.message,
        route.mode,
        history.maxLength,
        history.ttlSeconds,
        newEpoch(),
        history.idempotencyTtlSeconds,
      ],
    });
  } catch (error) {
    throw redisError(route, publish.channel, error);
  }
}

async function publishLive(route: Route, channel: string, message: string): Promise<number> {
  try {
    const { client } = route.connection;
    if (route.mode === 'classic') return Number(await client.publish(channel, message));
    if (route.mode === 'sharded') return Number(await client.spublish(channel, message));
    const [classic, sharded] = await Promise.all([
      client.publish(channel, message),
      client.spublish(channel, message),
    ]);
    return Number(classic) + Number(sharded);
  } catch (error) {
    throw redisError(route, channel, error);
  }
}

/** What the notifier sends, in words: `PUBLISH`, or `the durable publish (lua/publish.lua, PUBLISH)`. */
function describeSend(route: Route): string {
  const command = { classic: 'PUBLISH', sharded: 'SPUBLISH', both: 'PUBLISH+SPUBLISH' }[route.mode];
  if (route.script !== undefined) return `the script ${route.script} (${command})`;
  return route.durable ? `the durable publish (lua/publish.lua, ${command})` : command;
}

function redisError(route: Route, channel: string, error: unknown): NotifierError {
  if (error instanceof NotifierError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  // ReplyError: Redis itself answered with an error (no TS typings in ioredis, hence the name),
  // e.g. NOPERM, or the script's own `ERR huleedu publish: ...`.
  if (error instanceof Error && error.name === 'ReplyError') {
    return new NotifierError(
      'redis_error',
      `Redis refused ${describeSend(route)} on ${channel}: ${detail}`,
      { cause: error },
    );
  }
  // ioredis reports "Reached the max retries per request limit"; the connection error behind it
  // (ECONNREFUSED, ETIMEDOUT, NOAUTH) is what a person can act on.
  const reason = route.connection.lastError()?.message ?? detail;
  return new NotifierError(
    'redis_unavailable',
    `could not send ${describeSend(route)} on ${channel}: Redis at ${route.connection.describe} is unavailable (${reason})`,
    { cause: error },
  );
}

function timeoutError(route: Route, channel: string, timeoutMs: number): NotifierError {
  const { connection } = route;
  const last = connection.lastError();
  return new NotifierError(
    'redis_timeout',
    `Redis at ${connection.describe} did not answer ${describeSend(route)} on ${channel} within ${timeoutMs} ms (connection ${connection.client.status}${last ? `; last connection error: ${last.message}` : ''}); the message may still be delivered later${route.durable ? ' (retry with the same idempotencyKey to publish it exactly once)' : ''}`,
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
