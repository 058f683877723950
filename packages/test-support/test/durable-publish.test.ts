import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDurablePublisher, type RedisHandle, startRedis, waitFor } from '../src/index.js';

describe('createDurablePublisher', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  it('runs the publish script: positions 1, 2 in one epoch, stored and published live', async () => {
    const subscriber = new Redis(redis.url);
    const reader = new Redis(redis.url);
    const publisher = createDurablePublisher(redis.url);
    try {
      const heard: string[] = [];
      subscriber.on('message', (_channel, message: string) => heard.push(message));
      await subscriber.subscribe('ws:teacher-1');
      const first = await publisher.publish('teacher-1', { event: 'e', data: { n: 1 } });
      const second = await publisher.publish('teacher-1', { event: 'e', data: { n: 2 } });
      expect(first).toMatchObject({ position: 1, receivers: 1 });
      expect(second).toEqual({ position: 2, epoch: first.epoch, receivers: 1 });
      await waitFor(() => heard.length === 2);
      expect(JSON.parse(heard[1] ?? '')).toEqual({
        position: 2,
        epoch: first.epoch,
        published_ms: expect.any(Number),
        event: 'e',
        data: { n: 2 },
      });
      const stored = await reader.xrange('{ws:teacher-1}:history', '-', '+');
      expect(stored.map(([id]) => id)).toEqual(['1-0', '2-0']);
    } finally {
      await publisher.close();
      subscriber.disconnect();
      reader.disconnect();
    }
  });
});
