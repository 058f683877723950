import { createRequire } from 'node:module';
import {
  createDurablePublisher,
  durablePublishScript,
  type RedisHandle,
  startRedis,
  waitFor,
} from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishScriptPath } from '../src/index.js';

describe('the shipped publish script, found by package name', () => {
  it('is exported as @huleedu/notify/lua/publish.lua, the file publishScriptPath() names', () => {
    const exported = createRequire(import.meta.url).resolve('@huleedu/notify/lua/publish.lua');
    expect(exported).toBe(publishScriptPath());
    expect(durablePublishScript().path).toBe(publishScriptPath());
  });
});

describe("test-support's durable publisher runs this script as another language would", () => {
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
      expect(first).toMatchObject({ position: 1, receivers: 1, duplicate: false });
      expect(second).toEqual({ position: 2, epoch: first.epoch, receivers: 1, duplicate: false });
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
