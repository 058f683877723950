import { DEFAULT_CHANNEL_PREFIX, userChannel } from '@huleedu/ws-protocol';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { nowMs, sleep } from './clock.js';
import { BenchError } from './errors.js';
import { benchEnvelope, benchEnvelopeJson, benchUserId } from './message.js';

/** How many messages go to Redis in one pipeline before the publisher waits for the replies. */
const CHUNK = 1000;

/** What a publishing phase did. */
export interface PublishSummary {
  published: number;
  /** Wall-clock ms of the first and last publish. */
  startedAt: number;
  finishedAt: number;
}

/** Publishes targeted bench notifications, in a burst or at a fixed rate. */
export interface Publisher {
  /**
   * Publishes `count` messages as fast as Redis takes them (pipelined, `CHUNK` at a time), user
   * after user round-robin over `users`.
   */
  burst(count: number, users: readonly number[]): Promise<PublishSummary>;
  /** Publishes `rate` messages per second for `durationMs`, each stamped when it is sent. */
  fixedRate(rate: number, durationMs: number, users: readonly number[]): Promise<PublishSummary>;
  close(): Promise<void>;
}

/** Sends one batch of messages; resolves when Redis has taken them all. */
type SendBatch = (batch: Array<{ user: number; seq: number }>) => Promise<void>;

/**
 * A publisher for channel-per-user servers (the service and the reference relay): the same JSON
 * text PUBLISHed on `ws:<userId>` for both. For Socket.IO, the same notification goes through
 * `@socket.io/redis-emitter` to the user's room, as a Node backend would send it there.
 */
export function createPublisher(
  mode: 'channels' | 'socketio',
  redisUrl: string,
  channelPrefix: string = DEFAULT_CHANNEL_PREFIX,
): Publisher {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {
    // Failures surface as rejected commands in the phase that sent them.
  });
  let seq = 0;

  const sendChannels: SendBatch = async (batch) => {
    const pipeline = redis.pipeline();
    for (const { user, seq: n } of batch) {
      pipeline.publish(
        userChannel(benchUserId(user), channelPrefix),
        benchEnvelopeJson(n, nowMs()),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw new BenchError('publish_failed', `PUBLISH failed: ${String(failed[0])}`);
  };

  const emitter = mode === 'socketio' ? new Emitter(redis) : undefined;
  const sendSocketIo: SendBatch = async (batch) => {
    for (const { user, seq: n } of batch) {
      emitter!
        .to(userChannel(benchUserId(user), channelPrefix))
        .emit('notification', benchEnvelope(n, nowMs()));
    }
    // The emitter does not return its PUBLISH; a PING behind them resolves once Redis took them all.
    await redis.ping();
  };

  const send = mode === 'channels' ? sendChannels : sendSocketIo;

  const batchOf = (count: number, users: readonly number[]): Array<{ user: number; seq: number }> =>
    Array.from({ length: count }, () => {
      const n = seq++;
      return { user: users[n % users.length]!, seq: n };
    });

  const requireUsers = (users: readonly number[]): void => {
    if (users.length === 0)
      throw new BenchError('publish_failed', 'no connected user to publish to');
  };

  return {
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

    async fixedRate(rate, durationMs, users) {
      requireUsers(users);
      const total = Math.round((rate * durationMs) / 1000);
      const startedAt = nowMs();
      const deadline = startedAt + durationMs * 3 + 10_000;
      let published = 0;
      while (published < total) {
        const now = nowMs();
        if (now > deadline) {
          throw new BenchError(
            'timeout',
            `fixed rate: only ${published} of ${total} messages went out in ${Math.round(now - startedAt)} ms`,
          );
        }
        // Send what is due by now, so a late timer catches up instead of lowering the rate.
        const due = Math.min(total, Math.floor(((now - startedAt) * rate) / 1000) + 1);
        if (due > published) {
          await send(batchOf(due - published, users));
          published = due;
        }
        await sleep(1);
      }
      return { published, startedAt, finishedAt: nowMs() };
    },

    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
