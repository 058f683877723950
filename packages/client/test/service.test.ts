import { signToken } from '@huleedu/auth';
import { createNotifier, type Notifier } from '@huleedu/notify';
import {
  type RedisHandle,
  type ServiceProcess,
  startRedis,
  startService,
  TEST_SECRET,
  waitFor,
} from '@huleedu/test-support';
import type { NotificationData } from '@huleedu/ws-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { lastInfo } from './support/recorder.js';

// The same client in Node (with the ws package) against the real service and a real Redis.
let redis: RedisHandle;
let service: ServiceProcess;
let notifier: Notifier;
beforeAll(async () => {
  redis = await startRedis();
  // A short ping interval, so that a dead peer is noticed within the tests' time.
  service = await startService({ redisUrl: redis.url, env: { WEBSOCKET_PING_INTERVAL: '5' } });
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

// disconnectUser as the client sees it: 1008 token_revoked is a close like any 1008, so the
// client fetches a fresh token and comes back; a revoked token handed out again is refused, and
// the client reports auth_failed and backs off.
const now = () => Math.floor(Date.now() / 1000);
/** A token for `userId` issued `ageSeconds` ago. */
const issued = (userId: string, ageSeconds: number) =>
  signToken(userId, { secret: TEST_SECRET, claims: { iat: now() - ageSeconds, exp: now() + 600 } });

describe('a user cut off with disconnectUser', () => {
  it('fetches a fresh token at once, reconnects with it and keeps receiving', async () => {
    const refreshes: boolean[] = [];
    const { client, recording } = testClient(service.url, {
      // The first token predates the revocation; the identity service hands out a new one.
      getToken: ({ refresh }) => {
        refreshes.push(refresh);
        return issued('revoked-teacher', refreshes.length === 1 ? 120 : 0);
      },
    });
    const received: unknown[] = [];
    client.on('class_created', (data) => received.push(data));
    client.connect();
    await waitFor(() => client.state === 'open');
    await waitFor(
      async () =>
        (await notifier.disconnectUser('revoked-teacher', {
          reason: 'password_changed',
          issuedBefore: new Date(),
        })) > 0,
    );
    await waitFor(() => client.state === 'open' && refreshes.length === 2);
    expect(lastInfo(recording, 'reconnecting')).toMatchObject({
      code: 1008,
      reason: 'token_revoked',
      delayMs: 0,
    });
    expect(refreshes).toEqual([false, true]);
    await waitFor(
      async () =>
        (
          await notifier.publishUserNotification('revoked-teacher', 'class_created', {
            class_id: 'class-1',
            message: 'still delivered',
          })
        ).receivers > 0,
    );
    await waitFor(() => received.length >= 1);
    expect(received[0]).toMatchObject({ message: 'still delivered' });
    expect(recording.errors).toEqual([]);
  });

  it('reports auth_failed when it only has the revoked token', async () => {
    const stale = issued('stale-teacher', 120);
    await notifier.disconnectUser('stale-teacher', { reason: 'logout', issuedBefore: new Date() });
    const { client, recording } = testClient(service.url, { getToken: () => stale });
    client.connect();
    await waitFor(() => recording.errors.some((e) => e.code === 'auth_failed'));
    client.close();
    const authFailed = recording.errors.find((e) => e.code === 'auth_failed');
    expect(authFailed).toMatchObject({ detail: 'token_revoked' });
  });
});
