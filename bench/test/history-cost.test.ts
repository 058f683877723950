import { type RedisHandle, startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyMarkdown, marginalEntryBytes } from '../src/history-cost.js';
import { measureHistoryMemory } from '../src/history-memory.js';
import { measurePublishThroughput } from '../src/publish-throughput.js';

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

describe('publish throughput, durable vs plain', () => {
  it('times every round of both kinds and reports the medians', async () => {
    const retention = { length: 100, ttlSeconds: 60 };
    const throughput = await measurePublishThroughput(redis.url, [0, 1, 2, 3], 400, 3, retention);
    expect(throughput.plainRounds).toHaveLength(3);
    expect(throughput.durableRounds).toHaveLength(3);
    expect(throughput.plainPerSecond).toBeGreaterThan(0);
    expect(throughput.durablePerSecond).toBeGreaterThan(0);
    expect(throughput.ratio).toBeCloseTo(throughput.durablePerSecond / throughput.plainPerSecond);
    // Redis's own CPU: the script writes a stream entry and a hash field besides the PUBLISH.
    expect(throughput.plainRedisCpuUs).toBeGreaterThanOrEqual(0);
    expect(throughput.durableRedisCpuUs).toBeGreaterThan(throughput.plainRedisCpuUs);
    // 3 rounds of 400 durable messages over 4 users, plus the warm-up message: in the history.
    expect(Number(await client.hget('{ws:bench-user-0}:meta', 'top'))).toBe(301);
  });
});

describe('Redis memory per user', () => {
  it('grows with the entries held and stops at the retention length', async () => {
    const retention = { length: 30, ttlSeconds: 60 };
    const memory = await measureHistoryMemory(client, redis.url, [2, 30, 50], 3, retention);
    expect(memory.map((m) => [m.entries, m.held, m.users])).toEqual([
      [2, 2, 3],
      [30, 30, 3],
      [50, 30, 3],
    ]);
    // Redis 7 preallocates a stream node (4 KB), so 2 entries cost as much as a few; 30 do not.
    expect(memory[1]!.bytesPerUser).toBeGreaterThan(memory[0]!.bytesPerUser + 29 * 300);
    // Trimmed entries are freed a whole node at a time: a full history costs a bit more, bounded.
    expect(memory[2]!.bytesPerUser).toBeGreaterThanOrEqual(memory[1]!.bytesPerUser);
    expect(memory[2]!.bytesPerUser).toBeLessThan(memory[1]!.bytesPerUser + 10_000);
    expect(memory[0]!.bytesPerUser).toBeCloseTo(memory[0]!.streamBytes + memory[0]!.metaBytes);
    expect(memory[0]!.metaBytes).toBeGreaterThan(0);
    // One stored message is the bench notification plus its position and epoch.
    expect(memory[0]!.messageBytes).toBeGreaterThan(300);
    expect(marginalEntryBytes(memory.slice(0, 2))).toBeGreaterThan(memory[0]!.messageBytes / 2);
    expect(await client.dbsize()).toBe(0); // its keys are gone afterwards

    const text = historyMarkdown({ retention, publish: null, memory, delivery: null });
    expect(text).toContain('| 50 | 30 |');
    expect(text).toContain('Retention: 30 entries, TTL 60 s.');
  });
});
