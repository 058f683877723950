// The durable publish against a real redis-server: what lands in the user's history, how it is
// bounded, what a new epoch means, idempotent retries, the EVALSHA cache, and Redis failures.
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import {
  EPOCH_PATTERN,
  HISTORY_ENTRY_FIELD,
  historyKeys,
  idempotencyKey,
} from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNotifier,
  DEFAULT_HISTORY_MAX_LENGTH,
  DEFAULT_HISTORY_TTL_SECONDS,
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  NotificationValidationError,
  type Notifier,
  NotifierError,
} from '../src/index.js';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

const results = { batch_id: 'b1', results_count: 3, message: 'Results ready' };

let redis: RedisHandle;
let admin: Redis;
let subscriber: RecordingSubscriber;
let notifier: Notifier;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  subscriber = await recordingSubscriber(redis.url);
  notifier = createNotifier({ redis: redis.url });
});

afterAll(async () => {
  await notifier?.close();
  await subscriber?.close();
  admin?.disconnect();
  await redis?.stop();
});

/** The user's stream as [entry id, stored message] pairs. */
async function history(userId: string): Promise<[string, string][]> {
  const entries = await admin.xrange(historyKeys(userId).stream, '-', '+');
  return entries.map(([id, fields]) => {
    expect(fields[0]).toBe(HISTORY_ENTRY_FIELD);
    return [id, fields[1]!];
  });
}

/** Messages received live on `ws:<userId>`, as sent. */
/** Unix seconds now, rounded down. */
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Asserts that `key` expires `seconds` after a write made between `before` and `after` (unix
 * seconds), by its absolute expiry time (EXPIRETIME): no assumption about how long the test took.
 */
async function expectExpiry(key: string, seconds: number, before: number, after: number) {
  const at = Number(await admin.call('EXPIRETIME', key));
  expect(at, key).toBeGreaterThanOrEqual(before + seconds);
  expect(at, key).toBeLessThanOrEqual(after + 1 + seconds);
}

function live(userId: string): string[] {
  return subscriber.messages.filter((m) => m.channel === `ws:${userId}`).map((m) => m.message);
}

async function rejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

describe('the history a publish writes', () => {
  it('numbers each user’s messages 1, 2, 3 in one epoch, and stores exactly what went out live', async () => {
    await subscriber.subscribe('ws:h-1');
    const first = await notifier.publishUserNotification('h-1', 'batch_results_ready', results);
    const second = await notifier.publish('h-1', 'essay_annotated', { essay_id: 'e1' });
    const third = await notifier.publish('h-1', 'essay_annotated', { essay_id: 'e2' });
    expect([first.position, second.position, third.position]).toEqual([1, 2, 3]);
    expect(first.epoch).toMatch(EPOCH_PATTERN);
    expect(second.epoch).toBe(first.epoch);
    expect(third.epoch).toBe(first.epoch);

    await waitFor(() => live('h-1').length === 3, { message: 'three live messages' });
    const stored = await history('h-1');
    expect(stored.map(([id]) => id)).toEqual(['1-0', '2-0', '3-0']);
    // Byte for byte what subscribers got, so a replayed message is the live one.
    expect(stored.map(([, message]) => message)).toEqual(live('h-1'));
    expect(JSON.parse(stored[0]![1])).toMatchObject({
      position: 1,
      epoch: first.epoch,
      event: 'batch_results_ready',
      id: first.id,
    });
    expect(await admin.hgetall(historyKeys('h-1').meta)).toEqual({
      epoch: first.epoch,
      top: '3',
    });
  });

  it('keeps users apart: each has its own positions and epoch', async () => {
    const a = await notifier.publish('h-2a', 'x', {});
    const b = await notifier.publish('h-2b', 'x', {});
    expect([a.position, b.position]).toEqual([1, 1]);
    expect(a.epoch).not.toBe(b.epoch);
  });

  it('applies the default retention: 100 messages, 24 h after the last one', async () => {
    expect(notifier.history).toEqual({
      maxLength: DEFAULT_HISTORY_MAX_LENGTH,
      ttlSeconds: DEFAULT_HISTORY_TTL_SECONDS,
      idempotencyTtlSeconds: DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    });
    expect([DEFAULT_HISTORY_MAX_LENGTH, DEFAULT_HISTORY_TTL_SECONDS]).toEqual([100, 86_400]);
    let before = 0;
    for (let i = 0; i < DEFAULT_HISTORY_MAX_LENGTH + 5; i++) {
      before = nowSeconds();
      await notifier.publish('h-3', 'x', { i });
    }
    const after = nowSeconds();
    const { stream, meta } = historyKeys('h-3');
    expect(await admin.xlen(stream)).toBe(100);
    // The oldest were trimmed: what is left is positions 6 to 105.
    const [oldest] = await admin.xrange(stream, '-', '+', 'COUNT', 1);
    expect(oldest?.[0]).toBe('6-0');
    for (const key of [stream, meta]) await expectExpiry(key, 86_400, before, after);
  });

  it('applies maxLength and ttlSeconds given to createNotifier', async () => {
    const short = createNotifier({ redis: redis.url, history: { maxLength: 3, ttlSeconds: 60 } });
    try {
      for (let i = 0; i < 4; i++) await short.publish('h-4', 'x', { i });
      const before = nowSeconds();
      await short.publish('h-4', 'x', { i: 4 });
      const after = nowSeconds();
      const { stream, meta } = historyKeys('h-4');
      expect((await history('h-4')).map(([id]) => id)).toEqual(['3-0', '4-0', '5-0']);
      for (const key of [stream, meta]) await expectExpiry(key, 60, before, after);
    } finally {
      await short.close();
    }
  });

  it('starts a new epoch at position 1 once the history has expired', async () => {
    const brief = createNotifier({ redis: redis.url, history: { ttlSeconds: 1 } });
    try {
      const before = await brief.publish('h-5', 'x', {});
      await brief.publish('h-5', 'x', {});
      await waitFor(async () => (await admin.exists(historyKeys('h-5').meta)) === 0, {
        timeoutMs: 5_000,
        message: 'the history to expire',
      });
      const after = await brief.publish('h-5', 'x', {});
      expect(after.position).toBe(1);
      expect(after.epoch).toMatch(EPOCH_PATTERN);
      // A reader holding position 2 of the old epoch can tell its position means nothing now.
      expect(after.epoch).not.toBe(before.epoch);
    } finally {
      await brief.close();
    }
  });

  it('history: false publishes a plain message and stores nothing', async () => {
    const plain = createNotifier({ redis: redis.url, history: false });
    try {
      await subscriber.subscribe('ws:h-6');
      const result = await plain.publish('h-6', 'legacy_style', { n: 1 });
      expect(result).toEqual({
        id: expect.any(String),
        position: null,
        epoch: null,
        receivers: 1,
        duplicate: false,
      });
      await waitFor(() => live('h-6').length === 1, { message: 'the plain message' });
      expect(Object.keys(JSON.parse(live('h-6')[0]!))).toEqual(['event', 'data', 'id']);
      expect(await admin.exists(historyKeys('h-6').stream, historyKeys('h-6').meta)).toBe(0);
      expect(plain.history).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

describe('idempotency keys', () => {
  it('a retry with the same key publishes nothing and returns the first position', async () => {
    await subscriber.subscribe('ws:i-1');
    const first = await notifier.publishUserNotification('i-1', 'batch_results_ready', results, {
      idempotencyKey: 'batch-b1:results',
    });
    const retry = await notifier.publishUserNotification('i-1', 'batch_results_ready', results, {
      idempotencyKey: 'batch-b1:results',
    });
    expect(first).toMatchObject({ position: 1, receivers: 1, duplicate: false });
    expect(retry).toEqual({
      id: first.id,
      position: 1,
      epoch: first.epoch,
      receivers: 0,
      duplicate: true,
    });
    // A different key is a different message.
    const other = await notifier.publish('i-1', 'x', {}, { idempotencyKey: 'another' });
    expect(other).toMatchObject({ position: 2, duplicate: false });

    await waitFor(() => live('i-1').length === 2, { message: 'two live messages' });
    expect(live('i-1').map((m) => JSON.parse(m).position)).toEqual([1, 2]);
    expect(JSON.parse(live('i-1')[0]!).id).toBe(first.id);
    expect(await admin.xlen(historyKeys('i-1').stream)).toBe(2);
  });

  it('remembers a key for idempotencyTtlSeconds, per user', async () => {
    const key = idempotencyKey('i-2', 'k-1');
    const before = nowSeconds();
    await notifier.publish('i-2', 'x', {}, { idempotencyKey: 'k-1' });
    await expectExpiry(key, DEFAULT_IDEMPOTENCY_TTL_SECONDS, before, nowSeconds());
    // The same key for another user is that user's own first message.
    expect(await notifier.publish('i-2b', 'x', {}, { idempotencyKey: 'k-1' })).toMatchObject({
      position: 1,
      duplicate: false,
    });

    const forgetful = createNotifier({ redis: redis.url, history: { idempotencyTtlSeconds: 1 } });
    try {
      await forgetful.publish('i-3', 'x', {}, { idempotencyKey: 'k' });
      await waitFor(async () => (await admin.exists(idempotencyKey('i-3', 'k'))) === 0, {
        timeoutMs: 5_000,
        message: 'the idempotency key to expire',
      });
      expect(await forgetful.publish('i-3', 'x', {}, { idempotencyKey: 'k' })).toMatchObject({
        position: 2,
        duplicate: false,
      });
    } finally {
      await forgetful.close();
    }
  });

  it.each([
    ['', 'idempotencyKey must not be empty'],
    ['two words', 'idempotencyKey contains " "'],
    ['x'.repeat(201), 'idempotencyKey too long (201 characters, maximum 200)'],
    [42, 'idempotencyKey expected a string, got number'],
  ])('refuses the idempotency key %j before sending anything', async (key, message) => {
    const error = await rejection(
      notifier.publish('i-4', 'x', {}, { idempotencyKey: key as string }),
      NotificationValidationError,
    );
    expect(error.code).toBe('invalid_idempotency_key');
    expect(error.message).toContain(message);
    expect(await admin.exists(historyKeys('i-4').meta)).toBe(0);
  });

  it('refuses a key when history is off, since a plain PUBLISH cannot honour it', async () => {
    const plain = createNotifier({ redis: redis.url, history: false });
    try {
      const error = await rejection(
        plain.publish('i-5', 'x', {}, { idempotencyKey: 'k' }),
        NotificationValidationError,
      );
      expect(error.code).toBe('invalid_idempotency_key');
      expect(error.message).toContain('history: false');
    } finally {
      await plain.close();
    }
  });
});

describe('options', () => {
  it.each([
    [{ maxLength: 0 }, 'history.maxLength: expected a whole number from 1 to 10000, got number 0'],
    [{ maxLength: 2.5 }, 'history.maxLength: expected a whole number from 1 to 10000'],
    [
      { ttlSeconds: 86_400_000 },
      'history.ttlSeconds: expected a whole number of seconds from 1 to 2592000, got number 86400000',
    ],
    [{ idempotencyTtlSeconds: '60' }, 'history.idempotencyTtlSeconds: expected a whole number'],
    [{ maxLen: 10 }, 'history.maxLen: unknown field'],
    [
      true,
      'history: expected an object { maxLength?, ttlSeconds?, idempotencyTtlSeconds? } or false',
    ],
  ])('refuses history %j with invalid_options naming the field', (history, message) => {
    let error: unknown;
    try {
      createNotifier({ redis: redis.url, history: history as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotifierError);
    expect((error as NotifierError).code).toBe('invalid_options');
    expect((error as NotifierError).message).toContain(message);
  });

  it('refuses a borrowed client with a keyPrefix, which would hide the history from the service', () => {
    const prefixed = new Redis(redis.url, { keyPrefix: 'app:', lazyConnect: true });
    try {
      expect(() => createNotifier({ redis: prefixed })).toThrowError(
        expect.objectContaining({
          code: 'invalid_options',
          message: expect.stringContaining('the client has keyPrefix "app:"'),
        }),
      );
      expect(createNotifier({ redis: prefixed, history: false }).history).toBeNull();
    } finally {
      prefixed.disconnect();
    }
  });

  it('refuses "}" in user ids and the prefix while history is on (it would split the Cluster slot)', async () => {
    const error = await rejection(notifier.publish('a}b', 'x', {}), NotificationValidationError);
    expect(error.code).toBe('invalid_user_id');
    expect(error.message).toContain('userId contains "}"');
    expect(() => createNotifier({ redis: redis.url, channelPrefix: 'ws}' })).toThrowError(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringContaining('channelPrefix contains "}"'),
      }),
    );
    const plain = createNotifier({ redis: redis.url, history: false });
    try {
      expect((await plain.publish('a}b', 'x', {})).receivers).toBe(0);
    } finally {
      await plain.close();
    }
  });
});

describe('the script cache', () => {
  it('runs the script with EVALSHA, and reloads it with EVAL after SCRIPT FLUSH', async () => {
    const calls = async (command: string) =>
      Number(
        new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await admin.info('commandstats'))?.[1] ??
          0,
      );
    await notifier.publish('s-1', 'x', {});
    const evalshaBefore = await calls('evalsha');
    const evalBefore = await calls('eval');
    await notifier.publish('s-1', 'x', {});
    expect(await calls('evalsha')).toBe(evalshaBefore + 1);
    expect(await calls('eval')).toBe(evalBefore);

    // A restarted Redis (or a new cluster node) has an empty script cache.
    await admin.script('FLUSH');
    expect((await notifier.publish('s-1', 'x', {})).position).toBe(3);
    expect(await calls('eval')).toBe(evalBefore + 1);
    expect((await notifier.publish('s-1', 'x', {})).position).toBe(4);
    expect(await calls('eval')).toBe(evalBefore + 1);
  });
});

describe('when Redis fails', () => {
  it('a Redis error inside the script is a redis_error naming the script and the cause', async () => {
    // Something else wrote a plain string where the user's history meta belongs.
    await admin.set(historyKeys('f-1').meta, 'not a hash');
    const error = await rejection(notifier.publish('f-1', 'x', {}), NotifierError);
    expect(error.code).toBe('redis_error');
    expect(error.message).toContain(
      'Redis refused the durable publish (lua/publish.lua, PUBLISH) on ws:f-1: WRONGTYPE',
    );
  });

  it('a Redis that does not answer rejects with redis_timeout; a retry with the key publishes once', async () => {
    const quick = createNotifier({ redis: redis.url, publishTimeoutMs: 300 });
    const pauser = new Redis(redis.url);
    try {
      await subscriber.subscribe('ws:f-2');
      await quick.publish('f-2', 'warm_up', {});
      await pauser.client('PAUSE', 1_500, 'ALL');
      const error = await rejection(
        quick.publish('f-2', 'during_pause', {}, { idempotencyKey: 'p-1' }),
        NotifierError,
      );
      // It gave up while Redis was still paused: the publish has not run yet, so nothing of it
      // has reached the subscriber.
      expect(live('f-2').filter((m) => m.includes('during_pause'))).toEqual([]);
      expect(error.code).toBe('redis_timeout');
      expect(error.message).toContain(
        'did not answer the durable publish (lua/publish.lua, PUBLISH) on ws:f-2 within 300 ms',
      );
      expect(error.message).toContain('retry with the same idempotencyKey');
      // Redis runs the queued publish once the pause ends; the backend's retry then finds it.
      const retry = await waitFor(
        () => quick.publish('f-2', 'during_pause', {}, { idempotencyKey: 'p-1' }).catch(() => null),
        { timeoutMs: 10_000, message: 'a retry to succeed after the pause' },
      );
      expect(retry).toMatchObject({ position: 2, duplicate: true });
      await waitFor(() => live('f-2').length === 2, { message: 'both messages live' });
      expect(live('f-2').filter((m) => m.includes('during_pause'))).toHaveLength(1);
    } finally {
      pauser.disconnect();
      await quick.close();
    }
  });
});
