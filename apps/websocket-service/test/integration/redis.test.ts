import { signToken } from '@huleedu/auth';
import { freePort, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  httpGet,
  metricValue,
  SECRET,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  terminateClients();
  for (const step of cleanup.splice(0).reverse()) await step();
});

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

async function numsub(client: Redis, channel: string): Promise<number> {
  return Number(((await client.pubsub('NUMSUB', channel)) as [string, number])[1]);
}

describe('Redis outages', () => {
  it('starts without Redis (alive, not ready), and becomes ready when Redis appears', async () => {
    const port = await freePort();
    const service = await startServiceProcess({ WEBSOCKET_REDIS_URL: `redis://127.0.0.1:${port}` });
    cleanup.push(() => service.stop());

    expect(await httpGet(service.httpUrl('/healthz'))).toEqual({
      status: 200,
      body: '{"status":"ok"}',
    });
    const notReady = await httpGet(service.httpUrl('/readyz'));
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not_ready',
      reasons: ['redis_disconnected'],
    });
    expect(await metricValue(service, 'huleedu_ws_redis_connected')).toBe(0);
    // Still alive a moment later: a missing Redis is not a crash.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await httpGet(service.httpUrl('/healthz'))).status).toBe(200);

    const redis = await startRedis({ port });
    cleanup.push(() => redis.stop());
    await waitUntilReady(service);
    expect(await metricValue(service, 'huleedu_ws_redis_connected')).toBe(1);

    const tab = connectClient(service.wsUrl(token('late-redis')));
    await tab.opened;
    const publisher = new Redis(redis.url);
    cleanup.push(() => publisher.disconnect());
    await waitFor(async () => (await numsub(publisher, 'ws:late-redis')) === 1, {
      message: 'subscribed',
    });
    await publisher.publish('ws:late-redis', '{"event":"hello","data":{}}');
    await waitFor(() => tab.frames.length === 1, { message: 'delivered' });
  });

  it('keeps sockets open across a Redis restart and resubscribes every channel', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const service = await startServiceProcess({ WEBSOCKET_REDIS_URL: redis.url });
    cleanup.push(() => service.stop());
    await waitUntilReady(service);

    const users = ['r-alice', 'r-bob', 'r-carol'];
    const tabs = users.map((u) => connectClient(service.wsUrl(token(u))));
    await Promise.all(tabs.map((t) => t.opened));
    let publisher = new Redis(redis.url);
    await waitFor(async () => (await numsub(publisher, 'ws:r-carol')) === 1, {
      message: 'subscribed',
    });
    publisher.disconnect();

    await redis.stop();
    await waitFor(async () => (await httpGet(service.httpUrl('/readyz'))).status === 503, {
      message: 'not ready while Redis is down',
    });
    // A user who connects during the outage is told to try again later: the token cannot be
    // checked against revocations. Once Redis is back it gets in and is subscribed.
    const refused = connectClient(service.wsUrl(token('r-during')));
    expect(await refused.closed).toEqual({ code: 1013, reason: 'not_ready' });

    await redis.start();
    await waitUntilReady(service);
    const during = connectClient(service.wsUrl(token('r-during')));
    await during.opened;
    publisher = new Redis(redis.url);
    cleanup.push(() => publisher.disconnect());
    await waitFor(async () => (await numsub(publisher, 'ws:r-during')) === 1, {
      message: 'the user who tried during the outage subscribed',
    });
    for (const user of [...users, 'r-during']) {
      expect(await numsub(publisher, `ws:${user}`), user).toBe(1);
      await publisher.publish(`ws:${user}`, `{"event":"after_restart","data":{"user":"${user}"}}`);
    }
    await waitFor(() => tabs.every((t) => t.frames.length === 1) && during.frames.length === 1, {
      message: 'messages published after the restart delivered',
    });
    for (const [i, tab] of tabs.entries()) {
      expect(JSON.parse(tab.frames[0]!).data.user).toBe(users[i]);
      expect(tab.socket.readyState).toBe(tab.socket.OPEN);
    }
    expect(await metricValue(service, 'huleedu_ws_subscribed_channels')).toBe(4);
    expect(service.logLines().map((l) => l.msg)).toContain(
      'redis subscriber disconnected; reconnecting',
    );
  });
});
