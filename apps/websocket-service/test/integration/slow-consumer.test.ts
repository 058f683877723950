import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

/** The outbound limit of the service under test: small, so a few megabytes overflow it. */
const MAX_BUFFERED_BYTES = 64 * 1024;
/** One notification of about 32 KiB. */
const PAYLOAD = JSON.stringify({ event: 'bulk', data: { text: 'x'.repeat(32 * 1024) } });
/** Published at most (bounded): far more than the kernel's socket buffers and the limit hold. */
const MAX_MESSAGES = 2_000;

let redis: RedisHandle;
let service: ServiceProcess;
let publisher: Redis;

const token = (userId: string) => signToken(userId, { secret: SECRET, expiresInSeconds: 600 });

beforeAll(async () => {
  redis = await startRedis();
  service = await startServiceProcess({
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
  });
  publisher = new Redis(redis.url);
  await waitUntilReady(service);
});

afterEach(() => terminateClients());

afterAll(async () => {
  publisher?.disconnect();
  await service?.stop();
  await redis?.stop();
});

describe('slow consumer (a real service process)', () => {
  it('terminates a client that stops reading, and keeps delivering to the one that reads', async () => {
    const slow = connectClient(service.wsUrl(token('bulk-user')));
    const reader = connectClient(service.wsUrl(token('bulk-user')));
    for (const client of [slow, reader]) {
      await waitFor(() => client.controls.some((control) => control.event === 'ws.synced'), {
        message: 'ws.synced',
      });
    }
    // The slow client stops reading its TCP connection: what the service sends piles up in the
    // kernel's buffers, then in the service's outbound queue for it.
    slow.socket.pause();
    const series = 'huleedu_ws_server_closes_total{reason="slow_consumer"}';
    let published = 0;
    let dropped = false;
    while (!dropped && published < MAX_MESSAGES) {
      for (let i = 0; i < 20; i++) await publisher.publish('ws:bulk-user', PAYLOAD);
      published += 20;
      dropped = await metricValue(service, series).then(
        (value) => value === 1,
        () => false,
      );
    }
    expect(dropped).toBe(true);
    // Once it reads again it finds the connection gone without a close frame (1006), as a
    // browser would: its client reconnects and resumes.
    slow.socket.resume();
    expect(await slow.closed).toEqual({ code: 1006, reason: '' });
    // The reading client of the same user got every message and is still connected.
    await waitFor(() => reader.frames.length === published, {
      message: `all ${published} messages at the reading client`,
      timeoutMs: 30_000,
    });
    expect(reader.socket.readyState).toBe(reader.socket.OPEN);
    expect(await metricValue(service, series)).toBe(1);
  });
});
