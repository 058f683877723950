import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import type { NotificationData } from '@huleedu/ws-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { lastInfo } from './support/recorder.js';
import { type ServiceHandle, startService, TEST_SECRET } from './support/service.js';

// The same client in Node (with the ws package) against the real service and a real Redis.
let redis: RedisHandle;
let service: ServiceHandle;
let notifier: Notifier;
beforeAll(async () => {
  redis = await startRedis();
  service = await startService({ redisUrl: redis.url });
  notifier = createNotifier({ redis: redis.url });
});
afterAll(async () => {
  closeTestClients();
  await notifier?.close();
  await service?.stop();
  await redis?.stop();
});

describe('against the real service (Node)', () => {
  it('receives a notification published with @huleedu/notify, typed', async () => {
    const { client } = testClient(service.url, {
      getToken: () => signToken('node-teacher', { secret: TEST_SECRET }),
    });
    const received: NotificationData<'class_created'>[] = [];
    client.on('class_created', (data) => received.push(data));
    client.connect();
    await waitFor(() => client.state === 'open');
    await waitFor(
      async () =>
        (
          await notifier.publishUserNotification('node-teacher', 'class_created', {
            class_id: 'class-9',
            message: 'Class 9B created',
          })
        ).receivers > 0,
    );
    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({
      class_id: 'class-9',
      category: 'class_management',
      priority: 'standard',
    });
  });

  it('answers pings: a short heartbeat keeps the connection', async () => {
    const { client, recording } = testClient(service.url, {
      getToken: () => signToken('node-heartbeat', { secret: TEST_SECRET }),
      heartbeatIntervalMs: 100,
    });
    client.connect();
    await waitFor(() => client.state === 'open');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(client.state).toBe('open');
    expect(recording.states.filter((s) => s.state === 'reconnecting')).toEqual([]);
  });

  it('reads the refusal reason and reports auth_failed after a refused fresh token', async () => {
    const { client, recording } = testClient(service.url, {
      getToken: () => signToken('node-intruder', { secret: 'some-other-secret-0123456789abcdef' }),
    });
    client.connect();
    await waitFor(() => recording.errors.some((e) => e.code === 'auth_failed'));
    client.close();
    expect(recording.states.find((s) => s.state === 'reconnecting')?.info).toMatchObject({
      code: 1008,
      reason: 'token_invalid_signature',
    });
    expect(lastInfo(recording, 'reconnecting')?.error?.code).toBe('auth_failed');
  });
});
