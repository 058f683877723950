import { freePort, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createNotifier, NotifierError } from '../src/index.js';
import { recordingSubscriber } from './subscriber.js';

// "Bounded time" is enforced by each test's timeout: a publish that hangs fails the test.
describe('when Redis is down', () => {
  it('an owned connection rejects with redis_unavailable naming the address and the cause', async () => {
    const port = await freePort();
    const notifier = createNotifier({ redis: `redis://127.0.0.1:${port}` });
    try {
      const error = await notifier.publish('teacher-1', 'x', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotifierError);
      expect((error as NotifierError).code).toBe('redis_unavailable');
      expect((error as NotifierError).message).toContain(`redis://127.0.0.1:${port}`);
      expect((error as NotifierError).message).toContain('ECONNREFUSED');
    } finally {
      await notifier.close();
    }
  }, 15_000);

  it('masks the password of the URL in errors', async () => {
    const port = await freePort();
    const notifier = createNotifier({ redis: `redis://:s3cret@127.0.0.1:${port}` });
    try {
      const error = (await notifier
        .publish('teacher-1', 'x', {})
        .catch((e: unknown) => e)) as Error;
      expect(error.message).not.toContain('s3cret');
      expect(error.message).toContain(':***@127.0.0.1');
    } finally {
      await notifier.close();
    }
  }, 15_000);

  it('never echoes the password of a URL it cannot parse', () => {
    for (const [redis, shown] of [
      ['redis://user:s3cret@host:port', 'redis://***@host:port'],
      ['redis://:s3cr@t@host:6379x', 'redis://***@host:6379x'],
      ['redis://user:s3cret@[bad-host]:6379', 'redis://***@[bad-host]:6379'],
      // Parses, as a URL of scheme "user:": refused by its scheme, with nothing else echoed.
      ['user:s3cret@host:6379', 'expected a redis:// or rediss:// URL'],
    ] as const) {
      for (const target of [redis, { cluster: ['redis://127.0.0.1:6379', redis] }]) {
        let error: unknown;
        try {
          createNotifier({ redis: target });
        } catch (thrown) {
          error = thrown;
        }
        expect(error, redis).toBeInstanceOf(NotifierError);
        expect((error as NotifierError).code).toBe('invalid_options');
        expect((error as Error).message).not.toContain('s3cr');
        expect((error as Error).message).toContain(shown);
      }
    }
  });

  it('a borrowed client that keeps retrying is cut off by publishTimeoutMs', async () => {
    const port = await freePort();
    // ioredis defaults: 20 retries per request, reconnecting forever.
    const client = new Redis(`redis://127.0.0.1:${port}`);
    client.on('error', () => {});
    const notifier = createNotifier({ redis: client, publishTimeoutMs: 500 });
    try {
      await expect(notifier.publish('teacher-1', 'x', {})).rejects.toMatchObject({
        code: 'redis_timeout',
        message: expect.stringContaining(
          'did not answer the durable publish (lua/publish.lua, PUBLISH) on ws:teacher-1 within 500 ms',
        ),
      });
    } finally {
      await notifier.close();
      client.disconnect();
    }
  }, 15_000);

  it('an owned connection recovers once Redis is back', async () => {
    const redis = await startRedis();
    const notifier = createNotifier({ redis: redis.url });
    try {
      const before = await notifier.publish('teacher-1', 'before', {});
      expect(before).toMatchObject({ position: 1 });
      await redis.stop();
      await expect(notifier.publish('teacher-1', 'during', {})).rejects.toMatchObject({
        code: 'redis_unavailable',
      });
      await redis.start();
      const subscriber = await recordingSubscriber(redis.url);
      try {
        await subscriber.subscribe('ws:teacher-1');
        // The owned client reconnects in the background (backoff capped at 2 s).
        const result = await waitFor(
          () => notifier.publish('teacher-1', 'after', {}).catch(() => null),
          { timeoutMs: 15_000, message: 'a publish to succeed after the restart' },
        );
        // Redis restarted without its data: the history starts over, in a new epoch.
        expect(result).toMatchObject({ position: 1, receivers: 1 });
        expect(result.epoch).not.toBe(before.epoch);
        await waitFor(
          () => subscriber.messages.some((m) => JSON.parse(m.message).event === 'after'),
          {
            message: 'the subscriber to receive the message published after the restart',
          },
        );
      } finally {
        await subscriber.close();
      }
    } finally {
      await notifier.close();
      await redis.stop();
    }
  }, 40_000);
});
