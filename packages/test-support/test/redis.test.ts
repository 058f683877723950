import { afterAll, describe, expect, it } from 'vitest';
import { portAcceptsConnections, type RedisHandle, startRedis, waitFor } from '../src/index.js';

describe('startRedis', () => {
  let redis: RedisHandle | undefined;
  afterAll(async () => redis?.stop());

  it('starts a real redis-server that can be stopped and started again on the same port', async () => {
    redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await portAcceptsConnections(redis.port)).toBe(true);
    await redis.stop();
    expect(await portAcceptsConnections(redis.port)).toBe(false);
    await redis.start();
    expect(await portAcceptsConnections(redis.port)).toBe(true);
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : 0), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('names what it waited for on timeout', async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, message: 'the moon' })).rejects.toThrow(
      'timed out after 50 ms waiting for the moon',
    );
  });
});
