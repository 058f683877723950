import { signToken } from '@huleedu/auth';
import { createNotifier } from '@huleedu/notify';
import { startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
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

describe('sharded pub/sub on a standalone Redis 7', () => {
  it('delivers SPUBLISHed notifications and never classic PUBLISHes', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const service = await startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      WEBSOCKET_PUBSUB: 'sharded',
    });
    cleanup.push(() => service.stop());
    await waitUntilReady(service);
    const sharded = createNotifier({ redis: redis.url, publishMode: 'sharded' });
    // Without history: a durable classic publish would be stored, and the sharded message's
    // position gap would replay it from the history (correctly), which is not what this checks.
    const classic = createNotifier({ redis: redis.url, history: false });
    const admin = new Redis(redis.url);
    cleanup.push(
      () => sharded.close(),
      () => classic.close(),
      () => admin.disconnect(),
    );

    const tab = connectClient(
      service.wsUrl(signToken('teacher-sharded', { secret: SECRET, expiresInSeconds: 600 })),
    );
    await tab.opened;
    await waitFor(
      async () => {
        const reply = (await admin.call('PUBSUB', 'SHARDNUMSUB', 'ws:teacher-sharded')) as [
          string,
          number,
        ];
        return Number(reply[1]) === 1;
      },
      { message: 'the service to SSUBSCRIBE the user channel' },
    );

    expect((await classic.publish('teacher-sharded', 'classic_event', {})).receivers).toBe(0);
    const published = await sharded.publishUserNotification('teacher-sharded', 'class_created', {
      class_id: 'class-9',
      message: 'Class 9 created',
    });
    expect(published.receivers).toBe(1);
    await waitFor(() => tab.frames.length === 1, { message: 'the sharded notification' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tab.frames.map((f) => JSON.parse(f).event)).toEqual(['class_created']);
    expect(await metricValue(service, 'huleedu_ws_redis_subscribers')).toBe(1);
    expect(await metricValue(service, 'huleedu_ws_redis_subscribers_ready')).toBe(1);
  });
});
