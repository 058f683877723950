import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOCK_SLACK_SECONDS,
  createNotifier,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  NotificationValidationError,
  type Notifier,
} from '../src/index.js';
import { type RecordingSubscriber, recordingSubscriber } from './subscriber.js';

let redis: RedisHandle;
let subscriber: RecordingSubscriber;
let notifier: Notifier;
let reader: Redis;

beforeAll(async () => {
  redis = await startRedis();
  subscriber = await recordingSubscriber(redis.url);
  await subscriber.subscribe('ws:t-logout', 'ws:t-password', 'ws:t-late', 'ws:t-old');
  await subscriber.ssubscribe('ws:t-sharded');
  notifier = createNotifier({ redis: redis.url });
  reader = new Redis(redis.url);
});

afterAll(async () => {
  await notifier?.close();
  await subscriber?.close();
  reader?.disconnect();
  await redis?.stop();
});

/** The messages received on `channel` so far, parsed. */
function received(channel: string): unknown[] {
  return subscriber.messages
    .filter((m) => m.channel === channel)
    .map((m) => JSON.parse(m.message) as unknown);
}

describe('disconnectUser', () => {
  it('publishes ws.disconnect on the user channel and stores nothing without issuedBefore', async () => {
    expect(await notifier.disconnectUser('t-logout', { reason: 'logout' })).toBe(1);
    await waitFor(() => received('ws:t-logout').length === 1, { message: 'the command' });
    expect(received('ws:t-logout')).toEqual([
      { event: 'ws.disconnect', data: { reason: 'logout' } },
    ]);
    expect(await reader.exists('{ws:t-logout}:revoked_before')).toBe(0);
  });

  it('keeps issuedBefore (whole seconds) as long as a token issued before it can be valid', async () => {
    const before = new Date(Date.now() - 1_500);
    const seconds = Math.floor(before.getTime() / 1000);
    await notifier.disconnectUser('t-password', {
      reason: 'password_changed',
      issuedBefore: before,
    });
    expect(await reader.get('{ws:t-password}:revoked_before')).toBe(String(seconds));
    const ttl = await reader.ttl('{ws:t-password}:revoked_before');
    const expected = seconds + DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + CLOCK_SLACK_SECONDS;
    expect(Math.abs(Date.now() / 1000 + ttl - expected)).toBeLessThanOrEqual(2);
    await waitFor(() => received('ws:t-password').length === 1, { message: 'the command' });
    expect(received('ws:t-password')).toEqual([
      { event: 'ws.disconnect', data: { reason: 'password_changed', issued_before: seconds } },
    ]);
  });

  it('never moves the key back to an older time or shortens it', async () => {
    const now = Math.floor(Date.now() / 1000);
    await notifier.disconnectUser('t-late', { reason: 'logout', issuedBefore: now });
    const ttl = await reader.ttl('{ws:t-late}:revoked_before');
    await notifier.disconnectUser('t-late', { reason: 'late_retry', issuedBefore: now - 600 });
    expect(await reader.get('{ws:t-late}:revoked_before')).toBe(String(now));
    expect(await reader.ttl('{ws:t-late}:revoked_before')).toBeGreaterThanOrEqual(ttl - 1);
  });

  it('stores nothing when every token issued before the time has expired already', async () => {
    const longAgo =
      Date.now() / 1000 - DEFAULT_MAX_TOKEN_LIFETIME_SECONDS - 2 * CLOCK_SLACK_SECONDS;
    await notifier.disconnectUser('t-old', { reason: 'cleanup', issuedBefore: longAgo });
    expect(await reader.exists('{ws:t-old}:revoked_before')).toBe(0);
    await waitFor(() => received('ws:t-old').length === 1, { message: 'the command' });
  });

  it('follows maxTokenLifetimeSeconds and the publish mode', async () => {
    const sharded = createNotifier({
      redis: redis.url,
      publishMode: 'sharded',
      maxTokenLifetimeSeconds: 600,
    });
    try {
      expect(
        await sharded.disconnectUser('t-sharded', { reason: 'disabled', issuedBefore: new Date() }),
      ).toBe(1);
      const ttl = await reader.ttl('{ws:t-sharded}:revoked_before');
      expect(ttl).toBeGreaterThan(600 + CLOCK_SLACK_SECONDS - 3);
      expect(ttl).toBeLessThanOrEqual(600 + CLOCK_SLACK_SECONDS);
      await waitFor(() => received('ws:t-sharded').length === 1, { message: 'the SPUBLISH' });
    } finally {
      await sharded.close();
    }
  });

  it.each([
    [{ reason: '' }, 'reason must be 1 to 64'],
    [{ reason: 'two words' }, 'reason must be 1 to 64'],
    [{ reason: 'logout', issuedBefore: new Date('nope') }, 'an invalid Date'],
    [{ reason: 'logout', issuedBefore: -1 }, 'got -1'],
    [{ reason: 'logout', issuedBefore: Date.now() / 1000 + 3600 }, 'is in the future'],
    [undefined, 'expected options'],
  ])('refuses %j before anything reaches Redis', async (options, message) => {
    const error = await notifier.disconnectUser('t-bad', options as never).catch((e) => e);
    expect(error).toBeInstanceOf(NotificationValidationError);
    expect(error).toMatchObject({ code: 'invalid_disconnect' });
    expect((error as Error).message).toContain(message);
    expect(await reader.exists('{ws:t-bad}:revoked_before')).toBe(0);
  });

  it('refuses to publish ws.disconnect as a message (it would be stored and replayed)', async () => {
    await expect(notifier.publish('t-bad', 'ws.disconnect', { reason: 'logout' })).rejects.toThrow(
      'use disconnectUser',
    );
  });

  it.each(['ws.resync', 'ws.synced', 'ws.anything'])(
    'refuses to publish %s: ws.* events are the service’s own',
    async (event) => {
      const error = await notifier
        .publish('t-bad', event, { reason: 'history_lost', position: 0, epoch: null })
        .catch((e) => e);
      expect(error).toBeInstanceOf(NotificationValidationError);
      expect(error).toMatchObject({ code: 'invalid_payload' });
      expect((error as Error).message).toContain('reserved for the service');
      expect(await reader.exists('{ws:t-bad}:history')).toBe(0);
    },
  );

  it('checks the user id and the lifetime option like everything else', async () => {
    await expect(notifier.disconnectUser('a b', { reason: 'logout' })).rejects.toMatchObject({
      code: 'invalid_user_id',
    });
    // A "}" would move the revocation key out of the channel's Redis Cluster slot.
    await expect(notifier.disconnectUser('a}b', { reason: 'logout' })).rejects.toMatchObject({
      code: 'invalid_user_id',
    });
    expect(() => createNotifier({ redis: redis.url, maxTokenLifetimeSeconds: 0 })).toThrowError(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
