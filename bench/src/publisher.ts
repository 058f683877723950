import { DEFAULT_CHANNEL_PREFIX, userChannel } from '@huleedu/ws-protocol';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { nowMs, sleep } from './clock.js';
import { BenchError } from './errors.js';
import { benchEnvelope, benchEnvelopeJson, benchUserId } from './message.js';
import {
  DEFAULT_RETENTION,
  type HistoryRetention,
  loadPublishScript,
  type PublishScript,
  readPublishReply,
} from './publish-script.js';

/** How many messages go to Redis in one pipeline before the publisher waits for the replies. */
const CHUNK = 1000;

/**
 * How a publisher sends the bench notification:
 * - `plain`: PUBLISH on `ws:<userId>`, what legacy backends do (the service and the relay);
 * - `durable`: EVALSHA of `@huleedu/notify`'s publish script: history + PUBLISH in one step;
 * - `emitter`: `@socket.io/redis-emitter` to the user's room (Socket.IO).
 */
export type PublishMode = 'plain' | 'durable' | 'emitter';

/** What a publishing phase did. */
export interface PublishSummary {
  published: number;
  /** Wall-clock ms of the first and last publish. */
  startedAt: number;
  finishedAt: number;
}

/** Where a user's history stood after the last durable publish to that user. */
export interface PublishedPosition {
  position: number;
  epoch: string;
}

/** A publishing phase running in the background until it is stopped. */
export interface SteadyPublishing {
  /** Stops after the batch in flight; resolves with what was published (rejects if it failed). */
  stop(): Promise<PublishSummary>;
}

/** Publishes targeted bench notifications, in a burst or at a fixed rate. */
export interface Publisher {
  readonly mode: PublishMode;
  /**
   * Publishes `count` messages as fast as Redis takes them (pipelined, `CHUNK` at a time), user
   * after user round-robin over `users`.
   */
  burst(count: number, users: readonly number[]): Promise<PublishSummary>;
  /** Publishes `rate` messages per second for `durationMs`, each stamped when it is sent. */
  fixedRate(rate: number, durationMs: number, users: readonly number[]): Promise<PublishSummary>;
  /** Publishes `rate` messages per second until stopped, or for at most `maxMs`. */
  steady(rate: number, users: readonly number[], maxMs: number): SteadyPublishing;
  /**
   * `durable` only: each user's last position and epoch, as the script returned them (users
   * never published to are absent). The load generator's sockets must end at these positions.
   */
  positions(): ReadonlyMap<number, PublishedPosition>;
  /** Messages Redis has taken so far, in every phase (one PUBLISH or EVALSHA each). */
  sent(): number;
  close(): Promise<void>;
}

/** Sends one batch of messages; resolves when Redis has taken them all. */
type SendBatch = (batch: Array<{ user: number; seq: number }>) => Promise<void>;

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  channelPrefix?: string;
  /** History kept by `durable` publishes (default: notify's defaults). */
  retention?: HistoryRetention;
}

function checkReplies(results: Array<[Error | null, unknown]>, command: string): void {
  const failed = results.find(([error]) => error);
  if (failed) throw new BenchError('publish_failed', `${command} failed: ${String(failed[0])}`);
}

/**
 * A publisher for one kind of server: the same JSON text on `ws:<userId>` for the service and
 * the relay (by PUBLISH or by the durable publish script), or the same notification through
 * `@socket.io/redis-emitter` to the user's room, as a Node backend would send it to Socket.IO.
 */
export function createPublisher(
  mode: PublishMode,
  redisUrl: string,
  options: PublisherOptions = {},
): Publisher {
  const channelPrefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {
    // Failures surface as rejected commands in the phase that sent them.
  });
  let seq = 0;
  const positions = new Map<number, PublishedPosition>();

  const sendPlain: SendBatch = async (batch) => {
    const pipeline = redis.pipeline();
    for (const { user, seq: n } of batch) {
      pipeline.publish(
        userChannel(benchUserId(user), channelPrefix),
        benchEnvelopeJson(n, nowMs()),
      );
    }
    checkReplies((await pipeline.exec()) ?? [], 'PUBLISH');
  };

  let script: Promise<PublishScript> | undefined;
  const sendDurable: SendBatch = async (batch) => {
    script ??= loadPublishScript(redis, options.retention ?? DEFAULT_RETENTION, channelPrefix);
    const loaded = await script;
    const pipeline = redis.pipeline();
    for (const { user, seq: n } of batch) {
      loaded.append(pipeline, benchUserId(user), benchEnvelopeJson(n, nowMs()));
    }
    const results = (await pipeline.exec()) ?? [];
    checkReplies(results, 'EVALSHA of the publish script');
    results.forEach(([, reply], i) => {
      const { position, epoch } = readPublishReply(reply);
      positions.set(batch[i]!.user, { position, epoch });
    });
  };

  const emitter = mode === 'emitter' ? new Emitter(redis) : undefined;
  const sendEmitter: SendBatch = async (batch) => {
    for (const { user, seq: n } of batch) {
      emitter!
        .to(userChannel(benchUserId(user), channelPrefix))
        .emit('notification', benchEnvelope(n, nowMs()));
    }
    // The emitter does not return its PUBLISH; a PING behind them resolves once Redis took them all.
    await redis.ping();
  };

  const sendBatch = { plain: sendPlain, durable: sendDurable, emitter: sendEmitter }[mode];
  let taken = 0;
  const send: SendBatch = async (batch) => {
    await sendBatch(batch);
    taken += batch.length;
  };

  const batchOf = (count: number, users: readonly number[]): Array<{ user: number; seq: number }> =>
    Array.from({ length: count }, () => {
      const n = seq++;
      return { user: users[n % users.length]!, seq: n };
    });

  const requireUsers = (users: readonly number[]): void => {
    if (users.length === 0)
      throw new BenchError('publish_failed', 'no connected user to publish to');
  };

  /**
   * Sends what is due at `rate` every millisecond (so a late timer catches up instead of lowering
   * the rate) until `total` went out, `stopped()` says so, or `deadline` passes.
   */
  const paced = async (
    rate: number,
    users: readonly number[],
    total: number,
    stopped: () => boolean,
    deadline: (startedAt: number) => number,
    onDeadline: (published: number, elapsedMs: number) => void,
  ): Promise<PublishSummary> => {
    requireUsers(users);
    const startedAt = nowMs();
    const endBy = deadline(startedAt);
    let published = 0;
    while (published < total && !stopped()) {
      const now = nowMs();
      if (now > endBy) {
        onDeadline(published, now - startedAt);
        break;
      }
      const due = Math.min(total, Math.floor(((now - startedAt) * rate) / 1000) + 1);
      if (due > published) {
        await send(batchOf(due - published, users));
        published = due;
      }
      await sleep(1);
    }
    return { published, startedAt, finishedAt: nowMs() };
  };

  return {
    mode,

    async burst(count, users) {
      requireUsers(users);
      const startedAt = nowMs();
      let published = 0;
      while (published < count) {
        const size = Math.min(CHUNK, count - published);
        await send(batchOf(size, users));
        published += size;
      }
      return { published, startedAt, finishedAt: nowMs() };
    },

    fixedRate(rate, durationMs, users) {
      const total = Math.round((rate * durationMs) / 1000);
      return paced(
        rate,
        users,
        total,
        () => false,
        (startedAt) => startedAt + durationMs * 3 + 10_000,
        (published, elapsedMs) => {
          throw new BenchError(
            'timeout',
            `fixed rate: only ${published} of ${total} messages went out in ${Math.round(elapsedMs)} ms`,
          );
        },
      );
    },

    steady(rate, users, maxMs) {
      let stopping = false;
      const running = paced(
        rate,
        users,
        Number.POSITIVE_INFINITY,
        () => stopping,
        (startedAt) => startedAt + maxMs,
        () => undefined,
      );
      running.catch(() => undefined); // reported by stop()
      return {
        stop() {
          stopping = true;
          return running;
        },
      };
    },

    positions: () => positions,

    sent: () => taken,

    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
