import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { HISTORY_ENTRY_FIELD, historyKeys, userChannel } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../src/errors.js';
import { benchUserId, readSentAt } from '../src/message.js';
import { readPublishReply } from '../src/publish-script.js';
import { createPublisher } from '../src/publisher.js';
import { readPositioned } from '../src/resume-tracking.js';

// The bench's durable publisher runs notify's shipped Lua script as another language would
// (SCRIPT LOAD, pipelined EVALSHA); what it writes and publishes must follow the contract.
let redis: RedisHandle;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('durable publisher', () => {
  it('publishes positioned messages live and keeps them in the user history, trimmed to the retention', async () => {
    const subscriber = new Redis(redis.url);
    const live: string[] = [];
    await subscriber.subscribe(userChannel(benchUserId(0)));
    subscriber.on('message', (_channel, message: string) => live.push(message));
    const publisher = createPublisher('durable', redis.url, {
      retention: { length: 3, ttlSeconds: 120 },
    });
    try {
      const sent = await publisher.burst(10, [0, 1]); // 5 messages each, round-robin
      expect(sent.published).toBe(10);
      await waitFor(() => live.length === 5);

      const positions = live.map((frame) => readPositioned(Buffer.from(frame)));
      const epoch = positions[0]!.epoch;
      expect(positions).toEqual([1, 2, 3, 4, 5].map((position) => ({ position, epoch })));
      expect(live.every((frame) => readSentAt(frame) !== undefined)).toBe(true);
      expect(publisher.positions().get(0)).toEqual({ position: 5, epoch });
      expect(publisher.positions().get(1)?.position).toBe(5);
      expect(publisher.positions().get(1)?.epoch).not.toBe(epoch); // each history its own epoch

      const keys = historyKeys(benchUserId(0));
      const entries = await client.xrange(keys.stream, '-', '+');
      expect(entries.map(([id]) => id)).toEqual(['3-0', '4-0', '5-0']);
      expect(entries[2]![1]).toEqual([HISTORY_ENTRY_FIELD, live[4]]);
      expect(await client.hgetall(keys.meta)).toEqual({ epoch, top: '5' });
      expect(await client.ttl(keys.stream)).toBeGreaterThan(100);
      expect(await client.ttl(keys.meta)).toBeGreaterThan(100);
    } finally {
      subscriber.disconnect();
      await publisher.close();
    }
  });

  it('keeps publishing at a steady rate until stopped', async () => {
    const publisher = createPublisher('durable', redis.url);
    try {
      const running = publisher.steady(500, [7], 10_000);
      await waitFor(() => (publisher.positions().get(7)?.position ?? 0) >= 20);
      const sent = await running.stop();
      expect(sent.published).toBeGreaterThanOrEqual(20);
      expect(publisher.positions().get(7)?.position).toBe(sent.published);
    } finally {
      await publisher.close();
    }
  });

  it('refuses a reply that is not the script contract with a clear error', () => {
    expect(() => readPublishReply('OK')).toThrow(BenchError);
    expect(() => readPublishReply([1, 2])).toThrow(/expected \[position, epoch, receivers/);
    expect(readPublishReply([3, 'e1', 2, 0])).toEqual({ position: 3, epoch: 'e1', receivers: 2 });
  });
});
